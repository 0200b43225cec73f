"""Subscriptions: register once, double opt-in, delivery modes, leaving, CSV import.

Every door (web form, JSON API, officer pages, CLI import) goes through these
functions, so the rules live in one place:

* one Participant per address (normalised by email-validator; identity `email_key`);
* a new address confirms once by mail; a confirmed address joins further events at
  once ("register once");
* the caller never learns whether an address was known: what differs goes by mail;
* mail is only enqueued, in the caller's transaction, with idempotency keys that also
  work as rate limits (one confirmation per hour, one "already subscribed" per day).
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import selectinload

from . import calendar, clock, links, subjects
from .extensions import db
from .mail.compose import address, build_message, list_message
from .mail.outbox import Outgoing, enqueue, enqueue_many
from .models import DELIVERY_MODES, Event, OutboundMessage, Participant, Post, Subscription
from .timezones import is_zone
from .tokens import read_token

LIVE_STATUSES = ("pending", "active")


class SubscriptionError(ValueError):
    """Input a person can fix (bad address, unknown mode, no consent); `field` says where."""

    def __init__(self, message: str, field: str = "email"):
        super().__init__(message)
        self.field = field


# --- addresses and participants --------------------------------------------------------


def normalize_email(raw: str) -> str:
    """The address as we store and mail it; raises SubscriptionError with a readable reason."""
    raw = (raw or "").strip()
    if not raw:
        raise SubscriptionError("Enter an email address.")
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise SubscriptionError(str(exc)) from None


def email_key(email: str) -> str:
    """Identity of an address: the normalised address lower-cased (local parts too)."""
    return email.lower()


def find_participant(raw_email: str) -> Participant | None:
    """The participant for an address as typed, or None (also for an invalid address)."""
    try:
        email = normalize_email(raw_email)
    except SubscriptionError:
        return None
    return db.session.scalar(select(Participant).where(Participant.email_key == email_key(email)))


def get_or_create_participant(email: str, name: str = "") -> Participant:
    """One row per address; a name is only filled in while the address is unconfirmed.

    A stranger typing someone's address must not be able to rename a confirmed person.
    """
    participant = db.session.scalar(select(Participant).where(Participant.email_key == email_key(email)))
    if participant is None:
        participant = Participant(email=email, email_key=email_key(email), name=name.strip())
        db.session.add(participant)
        db.session.flush()
    elif name.strip() and participant.confirmed_at is None:
        participant.name = name.strip()
    return participant


def check_mode(mode: str | None) -> str:
    mode = (mode or "each").strip().lower()
    if mode not in DELIVERY_MODES:
        raise SubscriptionError(
            f"“{mode}” is not a delivery mode; use one of {', '.join(DELIVERY_MODES)}.", field="mode"
        )
    return mode


# --- subscribing and confirming -------------------------------------------------------


def subscribe(
    event: Event,
    raw_email: str,
    *,
    name: str = "",
    mode: str = "each",
    conduct_accepted: bool = False,
    source: str = "web",
) -> Subscription:
    """Handle a sign-up; the caller shows the same "check your inbox" answer whatever happens.

    New or unconfirmed address -> pending + confirmation mail (once per hour).
    Confirmed address, new to this event -> active + welcome mail (register once).
    Already active -> a short "you're already subscribed" mail (once per day), nothing changed.
    """
    email = normalize_email(raw_email)
    mode = check_mode(mode)
    if event.conduct_url and not conduct_accepted:  # the box is only shown when there is one
        raise SubscriptionError("Please accept the code of conduct to join.", field="conduct")
    participant = get_or_create_participant(email, name)
    subscription = db.session.scalar(
        select(Subscription).where(
            Subscription.participant_id == participant.id, Subscription.event_id == event.id
        )
    )
    if subscription is not None and subscription.status == "active":
        send_already_subscribed(subscription)
        return subscription
    if subscription is None:
        subscription = Subscription(participant=participant, event=event, source=source)
        db.session.add(subscription)
    subscription.mode = mode
    subscription.conduct_accepted_at = clock.now() if event.conduct_url else None
    subscription.conduct_url = event.conduct_url or ""
    if participant.confirmed_at is not None:
        activate(subscription)
    else:
        subscription.status = "pending"
        subscription.unsubscribed_at = None
        db.session.flush()
        send_confirmation(subscription)
    return subscription


def activate(subscription: Subscription, *, welcome: bool = True) -> None:
    """pending/unsubscribed -> active, with the welcome mail (and invite) in the same transaction."""
    now = clock.now()
    left_at = subscription.unsubscribed_at
    subscription.status = "active"
    subscription.confirmed_at = now
    subscription.unsubscribed_at = None
    subscription.hard_bounces = 0
    if subscription.participant.confirmed_at is None:
        subscription.participant.confirmed_at = now
    db.session.flush()
    if welcome:
        send_welcome(subscription, rejoin_after=left_at)


def read_confirm_token(token: str) -> Subscription | None:
    """The subscription a confirmation link names; TokenError when tampered or expired."""
    sub_id = read_token("confirm", token, links.token_max_age("confirm"))
    return db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None


def confirm(subscription: Subscription) -> bool:
    """Confirm a pending subscription; True if it is active afterwards.

    Idempotent (a second click changes nothing); a subscription that was left in the
    meantime is not brought back by an old confirmation mail.
    """
    if subscription.status == "pending":
        activate(subscription)
    return subscription.status == "active"


# --- mail -----------------------------------------------------------------------------


def _hour_key(at: datetime) -> str:
    return at.strftime("%Y%m%d%H")


def confirmation(subscription: Subscription) -> Outgoing:
    """The double opt-in mail; the key's hour makes repeats within an hour a no-op."""
    participant, event = subscription.participant, subscription.event
    msg = build_message(
        to=address(participant.email, participant.name),
        subject=subjects.subject("Confirm your subscription" if event.is_eforum else "Confirm your registration", event),
        template="confirm",
        context={
            "event": event,
            "participant": participant,
            "subscription": subscription,
            "confirm_url": links.confirm_url(subscription),
            "valid_hours": links.token_max_age("confirm") // 3600,
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    key = f"confirm:{subscription.id}:{_hour_key(clock.now())}"
    return Outgoing(msg, key, event_id=event.id, subscription_id=subscription.id)


def send_confirmation(subscription: Subscription) -> None:
    _enqueue(confirmation(subscription), "confirm")


def _enqueue(item: Outgoing, kind: str) -> None:
    """Queue one of this module's single messages (built as an EmailMessage, never bytes)."""
    assert isinstance(item.message, EmailMessage)
    enqueue(
        item.message, kind=kind, key=item.key, event_id=item.event_id, subscription_id=item.subscription_id
    )


def welcome_message(subscription: Subscription) -> EmailMessage:
    """The welcome mail, turned into a calendar invite for webinar series by calendar.py."""
    event = subscription.event
    msg = list_message(
        event=event,
        subscription=subscription,
        subject=subjects.subject("Welcome", event),
        template="welcome",
        context={
            "list_address": event.list_address(current_app.config["LIST_DOMAIN"]),
            "invites": calendar.invite_sessions(subscription),
        },
        automated=True,
    )
    return calendar.invite_for_welcome(msg, subscription)


def welcome(subscription: Subscription, rejoin_after: datetime | None = None) -> Outgoing:
    """One welcome per subscription, and one more for each re-join after a leave."""
    occasion = f"rejoin-{rejoin_after.isoformat()}" if rejoin_after else "first"
    return Outgoing(
        welcome_message(subscription),
        f"welcome:{subscription.id}:{occasion}",
        event_id=subscription.event_id,
        subscription_id=subscription.id,
    )


def send_welcome(subscription: Subscription, rejoin_after: datetime | None = None) -> None:
    """The welcome (carrying the next session's invite) and one invite mail per later session."""
    _enqueue(welcome(subscription, rejoin_after), "welcome")
    calendar.send_session_invites(subscription, calendar.later_invite_sessions(subscription))


def send_already_subscribed(subscription: Subscription) -> None:
    """Tell an active subscriber (only them, by mail) that someone signed them up again."""
    event = subscription.event
    msg = list_message(
        event=event,
        subscription=subscription,
        subject=subjects.subject("Already subscribed" if event.is_eforum else "Already registered", event),
        template="already_subscribed",
        automated=True,
    )
    enqueue(
        msg,
        kind="already-subscribed",
        key=f"already:{subscription.id}:{clock.now():%Y%m%d}",
        event_id=event.id,
        subscription_id=subscription.id,
    )


def send_fresh_link(raw_email: str) -> None:
    """Mail a new preferences link to a known address; unknown ones get nothing (and no hint)."""
    participant = find_participant(raw_email)
    if participant is None:
        return
    msg = build_message(
        to=address(participant.email, participant.name),
        subject="Your link to manage your subscriptions",
        template="fresh_link",
        context={
            "participant": participant,
            "preferences_url": links.preferences_url(participant),
            "valid_days": links.token_max_age("preferences") // 86400,
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    enqueue(msg, kind="fresh-link", key=f"fresh-link:{participant.id}:{_hour_key(clock.now())}")


# --- preferences and leaving -----------------------------------------------------------


def read_participant_token(token: str) -> Participant | None:
    pid = read_token("preferences", token, links.token_max_age("preferences"))
    return db.session.get(Participant, pid) if isinstance(pid, int) else None


def read_unsubscribe_token(token: str) -> Subscription | None:
    sub_id = read_token("unsubscribe", token, links.token_max_age("unsubscribe"))
    return db.session.get(Subscription, sub_id) if isinstance(sub_id, int) else None


def live_subscriptions(participant: Participant) -> list[Subscription]:
    return [s for s in participant.subscriptions if s.status in LIVE_STATUSES]


def change_mode(subscription: Subscription, mode: str) -> None:
    subscription.mode = check_mode(mode)


def set_profile(participant: Participant, *, name: str, timezone: str | None) -> None:
    """Name and preferred zone (an IANA name, or empty for "the event's zone")."""
    if timezone and not is_zone(timezone):
        raise SubscriptionError(f"“{timezone}” is not a known time zone.", field="timezone")
    participant.name = name.strip()
    participant.timezone = timezone or None


def unsubscribe(subscription: Subscription) -> None:
    """Leave one event; idempotent (a second click keeps the first time)."""
    if subscription.status in ("unsubscribed",):
        return
    subscription.status = "unsubscribed"
    subscription.unsubscribed_at = clock.now()


def unsubscribe_all(participant: Participant) -> int:
    """Leave every event; returns how many subscriptions ended."""
    left = 0
    for subscription in live_subscriptions(participant):
        unsubscribe(subscription)
        left += 1
    return left


# --- erasing ("delete my data") --------------------------------------------------------

#: What an erased participant and their archived posts are called from now on.
FORMER_PARTICIPANT = "Former participant"
#: email_key prefix of an erased participant: it has no "@", so no typed address can match it.
ERASED_KEY_PREFIX = "erased:"
#: Outbox states a message can still leave from (see mail/sender.py CLAIMABLE).
UNSENT_STATUSES = ("queued", "retry", "sending")


def is_erased(participant: Participant) -> bool:
    """True once erase_participant() has run: old signed links then show the "removed" page."""
    return participant.email_key.startswith(ERASED_KEY_PREFIX)


def erase_participant(participant: Participant) -> None:
    """Forget a person at their own request, in the caller's transaction.

    Their subscriptions end (kept as "unsubscribed" rows so officers' counts and the
    outbox's idempotency keys stay as they were), mail not yet sent to them is cancelled,
    their address, name, zone and feed link are replaced by a placeholder whose key can
    never equal a real address (so the address can join again from scratch), and their
    archived posts stay (replies refer to them) under "Former participant". Held posts
    are rejected without mail: there is nobody left to tell. Idempotent.
    """
    if is_erased(participant):
        return
    old_key = participant.email_key
    now = clock.now()
    sub_ids = [s.id for s in participant.subscriptions]
    for subscription in participant.subscriptions:
        unsubscribe(subscription)
    db.session.flush()
    _cancel_unsent_mail(old_key, sub_ids)
    _anonymise_posts(participant.id, old_key, now)
    participant.email = ""
    participant.email_key = f"{ERASED_KEY_PREFIX}{participant.id}:{secrets.token_hex(8)}"
    participant.name = FORMER_PARTICIPANT
    participant.timezone = None
    participant.confirmed_at = None
    participant.feed_token = secrets.token_urlsafe(24)
    db.session.flush()


def _cancel_unsent_mail(old_key: str, sub_ids: list[int]) -> None:
    """Unsent rows to the address never leave; every row to them (sent ones too) loses the
    address and the text, and keeps only its key and status (idempotency, statistics)."""
    to_them = func.lower(OutboundMessage.recipient) == old_key
    if sub_ids:
        to_them = or_(to_them, OutboundMessage.subscription_id.in_(sub_ids))
    db.session.execute(
        update(OutboundMessage)
        .where(to_them, OutboundMessage.status.in_(UNSENT_STATUSES))
        .values(
            status="cancelled",
            recipient="",
            message=None,
            last_error="Cancelled: the recipient erased their data.",
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(OutboundMessage)
        .where(to_them, OutboundMessage.status.in_(("sent", "failed")))
        .values(recipient="", envelope_from="", message=None, last_error=None),
        execution_options={"synchronize_session": False},
    )


def _anonymise_posts(participant_id: int, old_key: str, now: datetime) -> None:
    """Their posts keep their text and place in threads but lose the name and address."""
    theirs = or_(Post.participant_id == participant_id, func.lower(Post.author_email) == old_key)
    db.session.execute(
        update(Post)
        .where(theirs, Post.status == "held")
        .values(status="rejected", rejected_at=now, reject_reason="The author erased their data."),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Post).where(theirs).values(author_name=FORMER_PARTICIPANT, author_email=""),
        execution_options={"synchronize_session": False},
    )
    db.session.expire_all()


def resubscribe(subscription: Subscription) -> None:
    """Undo a leave from the signed link: a confirmed person is active again at once."""
    if subscription.status == "active":
        return
    if subscription.participant.confirmed_at is not None:
        activate(subscription)
    else:
        subscription.status = "pending"
        subscription.unsubscribed_at = None
        db.session.flush()
        send_confirmation(subscription)


# --- CSV import -------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, and every skipped row with its line number and reason."""

    added: int = 0
    already: int = 0
    rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.added} added, {self.already} already on the list, "
            f"{len(self.bad)} skipped (of {self.rows} rows)"
        )


@dataclass
class _Row:
    line: int
    email: str
    key: str
    name: str
    mode: str


HEADER_NAMES = {"email", "name", "mode"}


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells), blank lines skipped."""
    reader = csv.reader(lines)
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if cells and any(c.strip() for c in cells):
            yield line, cells


def _columns(first: list[str]) -> tuple[dict[str, int], bool]:
    """Column positions from a header row, or positional (email,name,mode) when there is none."""
    lowered = [c.strip().lower() for c in first]
    if "email" in lowered:
        return {name: lowered.index(name) for name in HEADER_NAMES if name in lowered}, True
    return {"email": 0, "name": 1, "mode": 2}, False


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    pos = columns.get(name)
    return cells[pos].strip() if pos is not None and pos < len(cells) else ""


def _parse_rows(lines: Iterable[str], default_mode: str, report: ImportReport) -> Iterator[_Row]:
    """Valid-looking rows, streamed; bad ones go to the report with their line numbers."""
    columns: dict[str, int] | None = None
    for line, cells in _records(lines):
        if columns is None:
            columns, is_header = _columns(cells)
            if is_header:
                continue
        report.rows += 1
        try:
            email = normalize_email(_cell(cells, columns, "email"))
            mode = check_mode(_cell(cells, columns, "mode") or default_mode)
        except SubscriptionError as exc:
            report.bad.append((line, str(exc)))
            continue
        yield _Row(line, email, email_key(email), _cell(cells, columns, "name")[:200], mode)


def _batches(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_rows(
    event: Event,
    lines: Iterable[str],
    *,
    confirmed: bool = False,
    mode: str = "each",
    batch_size: int = 1000,
    on_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a CSV (header `email[,name][,mode]`, or those columns without a header).

    Streams `lines` and inserts in batches, committing after each, so memory does not
    grow with the file. Never duplicates a participant (matched on email_key). With
    `confirmed`, the officer vouches for the addresses: they are active at once and
    marked confirmed, and no mail goes out. Otherwise unconfirmed addresses get a
    pending subscription and a confirmation mail; already-confirmed ones join at once
    with a welcome mail, as if they had subscribed on the web.
    """
    default_mode = check_mode(mode)
    report = ImportReport()
    # Subscriptions made by this run have ids above the mark: a row that meets one is a
    # repeat within the file. This keeps memory flat (no set of every address seen).
    mark = db.session.scalar(select(func.max(Subscription.id))) or 0
    for batch in _batches(_parse_rows(lines, default_mode, report), batch_size):
        _store_batch(event, _drop_repeats(batch, report), confirmed, report, mark)
        db.session.commit()
        if on_batch:
            on_batch(report)
    db.session.commit()
    report.bad.sort()
    return report


def _drop_repeats(batch: list[_Row], report: ImportReport) -> list[_Row]:
    """Repeats inside one batch; repeats across batches are caught in _store_batch."""
    seen: set[str] = set()
    kept = []
    for row in batch:
        if row.key in seen:
            report.bad.append((row.line, f"{row.email} appears earlier in the file."))
        else:
            seen.add(row.key)
            kept.append(row)
    return kept


def _store_batch(event: Event, batch: list[_Row], confirmed: bool, report: ImportReport, mark: int) -> None:
    now = clock.now()
    keys = [row.key for row in batch]
    known = dict(
        db.session.execute(
            select(Participant.email_key, Participant.id).where(Participant.email_key.in_(keys))
        ).all()
    )
    fresh = [row for row in batch if row.key not in known]
    if fresh:
        created = db.session.execute(
            insert(Participant).returning(Participant.email_key, Participant.id),
            [
                {
                    "email": r.email,
                    "email_key": r.key,
                    "name": r.name,
                    "confirmed_at": now if confirmed else None,
                }
                for r in fresh
            ],
        ).all()
        known.update(dict(created))
    if confirmed:
        db.session.execute(
            update(Participant)
            .where(Participant.id.in_(list(known.values())), Participant.confirmed_at.is_(None))
            .values(confirmed_at=now),
            execution_options={"synchronize_session": False},
        )
    subscribed = {
        participant_id: sub_id > mark and source == "import"
        for participant_id, sub_id, source in db.session.execute(
            select(Subscription.participant_id, Subscription.id, Subscription.source).where(
                Subscription.event_id == event.id, Subscription.participant_id.in_(list(known.values()))
            )
        )
    }
    confirmed_before = set()
    if not confirmed:
        confirmed_before = set(
            db.session.scalars(
                select(Participant.id).where(
                    Participant.id.in_(list(known.values())), Participant.confirmed_at.is_not(None)
                )
            )
        )
    new_rows = []
    for r in batch:
        if known[r.key] not in subscribed:
            new_rows.append(r)
        elif subscribed[known[r.key]]:
            report.bad.append((r.line, f"{r.email} appears earlier in the file."))
        else:
            report.already += 1
    if not new_rows:
        return
    active = {known[r.key] for r in new_rows if confirmed or known[r.key] in confirmed_before}
    ids = db.session.execute(
        insert(Subscription).returning(Subscription.id, Subscription.participant_id),
        [
            {
                "participant_id": known[r.key],
                "event_id": event.id,
                "mode": r.mode,
                "status": "active" if known[r.key] in active else "pending",
                "source": "import",
                "confirmed_at": now if known[r.key] in active else None,
            }
            for r in new_rows
        ],
    ).all()
    report.added += len(new_rows)
    if not confirmed:
        _mail_batch([sub_id for sub_id, _ in ids])


def _mail_batch(sub_ids: list[int]) -> None:
    """Confirmation or welcome mail for each new subscription, queued in bulk."""
    subs = db.session.scalars(
        select(Subscription)
        .where(Subscription.id.in_(sub_ids))
        .options(selectinload(Subscription.participant))
    ).all()
    enqueue_many((confirmation(s) for s in subs if s.status == "pending"), kind="confirm")
    active = [s for s in subs if s.status == "active"]
    enqueue_many((welcome(s) for s in active), kind="welcome")
    for sub in active:
        calendar.send_session_invites(sub, calendar.later_invite_sessions(sub))
