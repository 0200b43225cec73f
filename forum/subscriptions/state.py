"""Whether an event takes registrations now, and what its page says beside the button.

One answer for the page's head, its form and the service that refuses a sign-up, so the
button never says "Register" when registering puts you on a waiting list, and an event
whose last session is over takes nobody (its page says it has ended and shows what it
keeps public: recordings and materials).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, Subscription
from forum.models.participants import SUBSCRIPTION_STATUSES
from forum.webinars import seats


@dataclass(frozen=True)
class RegistrationState:
    """`kind`: open | seats (a limit, seats left) | full (waiting list) | ended | recordings
    (ended, but the officer offers its recordings to new registrants) | closed."""

    kind: str
    button: str  # what the button does, in its own words
    text: str  # the line beside it ("" when there is nothing to say)
    detail: str = ""  # what follows it, in plain weight
    left: int | None = None
    limit: int | None = None
    waiting: int = 0

    @property
    def takes_registrations(self) -> bool:
        return self.kind in ("open", "seats", "full", "recordings")


def has_ended(event: Event, at: datetime | None = None) -> bool:
    """The last (not cancelled) session is over."""
    end = event.ends_at
    return end is not None and end <= (at or clock.now())


def registration_state(event: Event, at: datetime | None = None) -> RegistrationState:
    if event.status != "published":
        return RegistrationState("closed", "", _("Registration for this event is closed."))
    if has_ended(event, at):
        if event.recordings_signup:  # seats and the waiting list no longer matter
            return RegistrationState(
                "recordings",
                _("Register for the recordings"),
                _("This event has ended."),
                _("Register to get its recordings and materials by mail."),
            )
        return RegistrationState("ended", "", _("This event has ended, so it takes no more registrations."))
    register = _("Subscribe") if event.is_eforum else _("Register")
    counts = seats.counts(event) if event.kind == "series" and event.seat_limit is not None else None
    if counts is None or counts.limit is None:
        return RegistrationState("open", register, "")
    if counts.full:
        if counts.waiting:
            note = ngettext(
                "%(num)d waiting. Seats go to the waiting list in order as they free up.",
                "%(num)d waiting. Seats go to the waiting list in order as they free up.",
                counts.waiting,
            )
        else:
            note = _("Seats go to the waiting list in order as they free up.")
        return RegistrationState(
            "full",
            _("Join the waiting list"),
            _("This series is full."),
            note,
            0,
            counts.limit,
            counts.waiting,
        )
    return RegistrationState(
        "seats",
        register,
        _("%(left)d of %(limit)d seats left.", left=counts.left, limit=counts.limit),
        "",
        counts.left,
        counts.limit,
    )


def status_counts(event: Event) -> dict[str, int]:
    """Registrations by status (every status present, 0 when none): the subscribers page's
    summary and the overview's registrations and waiting list, in one query."""
    rows = db.session.execute(
        select(Subscription.status, func.count())
        .where(Subscription.event_id == event.id)
        .group_by(Subscription.status)
    ).all()
    counts = dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
    counts.update({status: n for status, n in rows})
    return counts
