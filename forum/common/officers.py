"""Officer accounts and API tokens: revoking a token, deactivating and reactivating an officer.

Both doors (`flask forum revoke-token` / `deactivate-officer` and the /manage/officers page)
call these, so a token revoked or an officer deactivated is the same change either way. A
deactivated officer cannot sign in, an open session of theirs ends at its next request (the
session loader refuses them), and their tokens are deleted: a reactivated officer gets new
ones, so a token that leaked with the account does not come back with it.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from forum.core.extensions import db
from forum.models import ApiToken, Officer


class OfficerError(ValueError):
    """A change that cannot be made; the message says why, for the page or the CLI."""


def tokens_of(officer: Officer) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.officer_id == officer.id).order_by(ApiToken.id)))


def revoke_token(token: ApiToken) -> str:
    """Delete one token: the next request with it is a 401. Returns what was revoked."""
    what = f"token {token.id}{f' ({token.name})' if token.name else ''} of {token.officer.email}"
    db.session.delete(token)
    return what


def revoke_tokens(officer: Officer, name: str | None = None, token_id: int | None = None) -> int:
    """Revoke the officer's tokens: all, those with `name`, or the one with `token_id`."""
    chosen = [
        t for t in tokens_of(officer) if (name is None or t.name == name) and (token_id is None or t.id == token_id)
    ]
    if not chosen:
        raise OfficerError(_("%(email)s has no such token.", email=officer.email))
    for token in chosen:
        revoke_token(token)
    return len(chosen)


def deactivate(officer: Officer, by: Officer | None = None) -> int:
    """Deactivate an officer and revoke all their tokens; returns the tokens revoked.

    Refused for oneself (signed in) and for the last active officer: nobody could sign in
    to undo it."""
    if by is not None and by.id == officer.id:
        raise OfficerError(_("You cannot deactivate your own account; ask another officer."))
    if not officer.active:
        raise OfficerError(_("%(email)s is already deactivated.", email=officer.email))
    others = db.session.scalar(
        select(func.count()).select_from(Officer).where(Officer.active.is_(True), Officer.id != officer.id)
    )
    if not others:
        raise OfficerError(_("%(email)s is the last active officer; nobody could sign in after.", email=officer.email))
    officer.active = False
    tokens = tokens_of(officer)
    for token in tokens:
        revoke_token(token)
    return len(tokens)


def reactivate(officer: Officer) -> None:
    if officer.active:
        raise OfficerError(_("%(email)s is active already.", email=officer.email))
    officer.active = True
