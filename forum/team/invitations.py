"""Inviting someone to an event with a role: the grant and a mail with a signed link, in one
transaction. The link lets an officer without a password set one (or use single sign-on); it
names the officer and carries the start of their current password hash, so it stops working
once a password is set, and expires after `INVITE_DAYS`."""

from __future__ import annotations

from flask_babel import gettext as _

from forum.core import tokens
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.models import Event, Officer
from forum.team import roles

PURPOSE = "officer-invite"
INVITE_DAYS = 7


class InvitationError(ValueError):
    """An invitation link that cannot be used; the message says why."""


def invite(event: Event, email: str, role: str, *, by: Officer | None, name: str = "") -> Officer:
    """Grant `role` on `event` to the officer with this address (made if new) and mail them."""
    officer = roles.invite(event, email, role, by=by, name=name)
    link = external_url("team.accept", token=tokens.make_token(PURPOSE, [officer.id, _stamp(officer)]))
    message = build_message(
        to=officer.email,
        language=officer.language,
        subject=f"Invitation: {event.title}",
        template="team_invitation",
        context={
            "event": event,
            "officer": officer,
            "role": roles.ROLE_LABELS[role],
            "by": by,
            "link": link if not officer.password_hash else "",
            "days": INVITE_DAYS,
        },
    )
    enqueue(
        message, kind="officer_invite", key=f"officer-invite:{event.id}:{officer.id}:{role}:{_stamp(officer)}"
    )
    return officer


def _stamp(officer: Officer) -> str:
    return officer.password_hash[-12:]


def read(token: str) -> Officer:
    """The invited officer whose link this is, while it may still be used."""
    try:
        payload = tokens.read_token(PURPOSE, token, INVITE_DAYS * 24 * 3600)
    except tokens.TokenError as exc:
        raise InvitationError(str(exc)) from None
    officer = db.session.get(Officer, payload[0]) if isinstance(payload, list) and len(payload) == 2 else None
    if officer is None or not officer.is_active or payload[1] != _stamp(officer):
        raise InvitationError(_("This invitation has been used already. Sign in with your password."))
    return officer
