"""“Delete my address and my data”: forgetting a participant at their own request.

Apart from subscriptions.py because it reaches into other areas' rows (the outbox,
archived posts) and has its own rules about what stays (counts, idempotency keys, the
place of posts in threads) and what goes (address, name, zone, text of mail).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, or_, update

from forum.calendars import leaving
from forum.core import clock
from forum.core.extensions import db
from forum.models import Certificate, FormAnswer, OutboundMessage, Participant, PathwayFollow, Post
from forum.subscriptions.service import unsubscribe

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
    _forget_records(participant.id, sub_ids)
    participant.email = ""
    participant.email_key = f"{ERASED_KEY_PREFIX}{participant.id}:{secrets.token_hex(8)}"
    participant.name = FORMER_PARTICIPANT
    participant.timezone = None
    participant.confirmed_at = None
    participant.feed_token = secrets.token_urlsafe(24)
    db.session.flush()


def _forget_records(participant_id: int, sub_ids: list[int]) -> None:
    """Certificates carry the name as printed: they go (their codes then verify nothing, as
    a verification page must not show a name the person asked us to forget). Pathways they
    followed stop. Attendance and evaluation answers stay, tied to the anonymous rows, so
    the program's counts and results do not change. Every answer to registration questions
    goes (sensitive ones included): they describe the person."""
    db.session.execute(
        delete(FormAnswer).where(FormAnswer.participant_id == participant_id),
        execution_options={"synchronize_session": False},
    )
    if sub_ids:
        db.session.execute(
            delete(Certificate).where(Certificate.subscription_id.in_(sub_ids)),
            execution_options={"synchronize_session": False},
        )
    db.session.execute(
        update(PathwayFollow)
        .where(PathwayFollow.participant_id == participant_id, PathwayFollow.status != "left")
        .values(status="left", left_at=clock.now(), next_due_at=None),
        execution_options={"synchronize_session": False},
    )


def _cancel_unsent_mail(old_key: str, sub_ids: list[int]) -> None:
    """Unsent rows to the address never leave (except the calendar CANCELs that leaving just
    queued: without them the sessions stay in their calendar); every row to them (sent
    ones too) loses the address and the text, and keeps only its key and status."""
    to_them = func.lower(OutboundMessage.recipient) == old_key
    if sub_ids:
        to_them = or_(to_them, OutboundMessage.subscription_id.in_(sub_ids))
    db.session.execute(
        update(OutboundMessage)
        .where(
            to_them,
            OutboundMessage.status.in_(UNSENT_STATUSES),
            # the last mail they get: it clears our sessions from their calendar
            OutboundMessage.kind != leaving.MAIL_KIND,
        )
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
