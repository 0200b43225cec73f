"""The accessibility statement: what the site does for disabled participants, what it does
not yet do, and whom to ask for an accommodation (a caption file, a sign-language
interpreter, materials ahead of a session). Public bodies in the EU and the US must publish
one; every organisation running training should.

Stored as two site settings beside the branding (forum/common/branding.py's table), written
by the site administrator; until then a default statement describes what this software
does, so the footer link never leads to an empty page.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from forum.core.extensions import db
from forum.models import SiteSetting

STATEMENT_KEY = "accessibility_statement"
CONTACT_KEY = "accessibility_contact"
MAX_STATEMENT_CHARS = 20_000


class StatementError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Statement:
    text: str  # Markdown, the officer's own (never translated by us)
    contact: str  # an address for accommodation requests; the organisation's, not a person's list address
    is_default: bool


def default_text() -> str:
    """What this software does, in the reader's language, until an officer writes their own."""
    return _(
        "We want everyone to be able to take part in our e-forums and webinars.\n\n"
        "- Every page aims to meet the Web Content Accessibility Guidelines (WCAG) 2.2 at level AA: "
        "it works with the keyboard alone, with screen readers, when zoomed to 400 percent and on a phone.\n"
        "- Times are shown in your own time zone, and every mail has a plain-text version.\n"
        "- Recordings may come with captions and a transcript; the mail that announces a "
        "recording says when captions are not ready yet.\n"
        "- E-forums work entirely by email: you can read and take part without this website.\n\n"
        "If something stands in your way, or you need an accommodation (captions, a sign-language "
        "interpreter, materials before a session), write to us and we will answer within "
        "three working days."
    )


def current() -> Statement:
    rows = {
        row.key: row.value
        for row in db.session.scalars(select(SiteSetting).where(SiteSetting.key.in_((STATEMENT_KEY, CONTACT_KEY))))
    }
    text = (rows.get(STATEMENT_KEY) or "").strip()
    return Statement(text=text or default_text(), contact=rows.get(CONTACT_KEY) or "", is_default=not text)


def save(text: str, contact: str) -> Statement:
    """Store the statement (empty text: back to the default) and the contact (the caller commits)."""
    text = (text or "").strip()
    contact = (contact or "").strip()
    if len(text) > MAX_STATEMENT_CHARS:
        raise StatementError(_("The statement is longer than %(n)d characters.", n=MAX_STATEMENT_CHARS), "statement")
    if contact:
        try:
            contact = validate_email(contact, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise StatementError(_("Give an email address such as access@example.org."), "contact") from exc
    for key, value in ((STATEMENT_KEY, text), (CONTACT_KEY, contact)):
        SiteSetting.put(key, value)
    db.session.flush()
    return current()
