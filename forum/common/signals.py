"""Signals: how one area tells the others about a change without importing them.

A lower layer sends, a higher one listens (Indico's `signals` are the model): `mail` says a
bounce made a subscription undeliverable and `subscriptions` acts on it; `events` says an
event's seat limit changed and `subscriptions` seats the waiting list. Receivers run in the
sender's transaction (they never commit), so the change and its consequences land together.
Receivers are connected when their module is imported; `forum.create_app` and the scheduler
import every area, so a receiver is never missing in a process that can send the signal.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: An event's fields changed through `events.service` (sender: the Event; `changes`: a dict of
#: field name to (before, after)). Calendars, seats and caches listen.
event_changed = _signals.signal("event-changed")

#: The sender is about to claim what is due (sender: the app; `budget_seconds`: how long
#: receivers may work). Sent on a thread of the sender's own (its own app context and database
#: session), which runs beside the claims: `forum.common.fanout` writes pending fan-outs' copies
#: here, committed step by step, so a post accepted a moment ago goes out in this run, its
#: first copies while the rest are written.
sending_due = _signals.signal("sending-due")

#: Seats may have come free in an event (sender: the Event; a raised seat limit).
#: `forum.subscriptions` seats the next ones on the waiting list and returns them (a list of
#: Subscriptions: `webinars.seats.set_limit` gathers the receivers' return values).
seats_freed = _signals.signal("seats-freed")

#: Hard bounces counted against a subscription brought it to BOUNCE_LIMIT (sender: the
#: Subscription, still live; `hard`: True; `limit`: the limit). `forum.subscriptions` disables
#: it through `leave` (its calendar CANCELs, a freed seat), in the sender's transaction.
bounce_counted = _signals.signal("bounce-counted")

#: Subscriptions written in bulk, past the ORM (sender: the Event; `ids`: their ids), e.g. a
#: CSV import's batch. Webhooks listen (forum/team/webhooks.py); the batch's transaction is open.
subscriptions_added = _signals.signal("subscriptions-added")

#: An event was duplicated through `events.service.duplicate_event` (sender: the original
#: Event; `copy`: the new draft, flushed). Registration copies its questions.
event_duplicated = _signals.signal("event-duplicated")

#: An officer action that no single watched row shows, or that many rows would show as many
#: entries (sender: the area's name, e.g. "ce"; `action`, `event_id`, `summary`, `changes`
#: as field -> [before, after], `covers`: kinds of watched rows this one entry sums up, such as
#: "attendance" for a report import). `forum.team.audit` writes exactly one audit row for it
#: in the sender's transaction; areas below `team` send this instead of importing it.
officer_action = _signals.signal("officer-action")
