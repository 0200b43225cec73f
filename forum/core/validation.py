"""Input rules every door shares (web forms, JSON API, CSV import, inbound mail), so a value
refused by one is refused by all.

Control characters: a single-line value (a title, a name, a phone number) holds none, because
it ends up in mail headers, iCalendar lines and CSV exports where CR/LF starts a new header or
property (header injection) and NUL is refused by PostgreSQL. Multi-line text (descriptions,
bios, posts) keeps tab, LF and CR and refuses the rest of C0, DEL and the C1 range.

Integers: ids and positions are PostgreSQL `integer` columns; a bigger number from a URL or a
JSON body would make the database raise, so they are bounded here first.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

import idna
from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError, validate
from werkzeug.routing import IntegerConverter
from wtforms import Field, Form
from wtforms.validators import ValidationError as FormValidationError

#: PostgreSQL `integer` (and SQLite's rowid is wider): ids and positions never exceed it.
MAX_DB_INT = 2**31 - 1

_SINGLE_LINE_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_MULTI_LINE_CLASS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SINGLE_LINE_BAD = re.compile(f"[{_SINGLE_LINE_CLASS}]")
_MULTI_LINE_BAD = re.compile(f"[{_MULTI_LINE_CLASS}]")
#: The same rules as JSON Schema patterns (ECMA and Python read these escapes alike).
SINGLE_LINE_PATTERN = f"^[^{_SINGLE_LINE_CLASS}]*$"
MULTI_LINE_PATTERN = f"^[^{_MULTI_LINE_CLASS}]*$"
SINGLE_LINE_MESSAGE = _l("Use one line of text: line breaks and other control characters are not allowed.")
MULTI_LINE_MESSAGE = _l("Remove the control characters (such as NUL); line breaks and tabs are fine.")


def control_character_problem(value: str, multiline: bool = False) -> str | None:
    """The message for a value that holds characters its kind of field refuses, else None."""
    pattern = _MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD
    if pattern.search(value):
        return str(MULTI_LINE_MESSAGE if multiline else SINGLE_LINE_MESSAGE)  # in the language in force
    return None


def single_line(value: str) -> str:
    """For text taken as it comes (a display name in a mail header): control characters
    become spaces and runs of white space one space."""
    return " ".join(_SINGLE_LINE_BAD.sub(" ", value).split())


# --- email addresses ------------------------------------------------------------------------------

UTF8_LOCAL_PART_MESSAGE = _l(
    "This list's mail server cannot deliver to addresses with accented or non-Latin "
    "letters before the @ (it does not offer SMTPUTF8); please use another address."
)


class EmailError(ValueError):
    """An address a person typed that cannot be used; the message says why, readably."""


def _always() -> bool:
    return True


def normalize_email(raw: str, utf8_local_parts: Callable[[], bool] = _always) -> str:
    """The address as we store and mail it (email-validator's normal form: an IDN domain in
    U-labels, whichever form was typed), or EmailError. Every door (web forms, JSON API, CSV
    import, CLI) calls this, so an address one takes, all take.

    `utf8_local_parts` says whether a non-ASCII local part can be delivered (the relay's
    SMTPUTF8, `forum.mail.relay`); it is only asked when the local part is not ASCII."""
    raw = (raw or "").strip()
    if not raw:
        raise EmailError(_("Enter an email address."))
    local = raw.rpartition("@")[0]
    try:
        utf8 = local.isascii() or utf8_local_parts()
        return validate_email(raw, check_deliverability=False, allow_smtputf8=utf8).normalized
    except EmailNotValidError as exc:
        if not local.isascii() and "before the @-sign" in str(exc):
            raise EmailError(str(UTF8_LOCAL_PART_MESSAGE)) from None
        raise EmailError(email_problem(exc)) from None


def email_problem(exc: EmailNotValidError) -> str:
    """Why an address was refused, in the reader's language.

    email-validator words its reasons in English only (some fifty of them, with the offending
    characters). An English reader gets that precise reason; any other reader gets the same
    diagnosis (no @, the part before it, the part after it, too long) from our catalogs, rather
    than an English sentence inside a French or Spanish page."""
    detail = str(exc)
    locale = get_locale()
    if locale is None or locale.language == "en":
        return detail
    if "too long" in detail:
        return _("This email address is too long.")
    if "@-sign" not in detail and "at-sign" not in detail:
        return _("This is not a valid email address.")
    if "must have an @-sign" in detail or "at-sign" in detail:
        return _("An email address needs an @ sign, as in name@example.org.")
    if "before the @-sign" in detail:
        return _("The part before the @ is not valid.")
    return _("The part after the @ (the domain, such as example.org) is not valid.")


def unicode_domain(address: str) -> str:
    """The address with an IDN domain in U-labels (email-validator's normal form, how we
    store addresses); the local part as it is; an invalid IDN as written."""
    local, at, domain = address.strip().strip("<>").rpartition("@")
    if not at:
        return address.strip()
    domain = domain.rstrip(".")
    if not domain.isascii() or "xn--" in domain.lower():
        with contextlib.suppress(idna.IDNAError, UnicodeError):  # not a valid IDN: kept as written
            domain = idna.decode(domain, uts46=True)
    return f"{local}@{domain}"


def email_key(address: str) -> str:
    """The identity of an address for lookups: lower-cased, an IDN domain in its U-label form,
    so `anna@xn--bcher-kva.example` and `Anna@BÜCHER.example` are the same person (mail
    from a client that writes A-labels finds the registration made with U-labels)."""
    return unicode_domain(address).lower()


def ascii_domain(address: str) -> str:
    """The address with its domain as A-labels (what a header or an SMTP command carries);
    the local part as it is. An invalid IDN raises EmailError."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except (idna.IDNAError, UnicodeError) as exc:
        raise EmailError(_("%(address)s has an invalid domain (%(reason)s)", address=repr(address), reason=exc)) from None


# --- marshmallow (JSON API) ---------------------------------------------------------------------


class _ControlCharacters(validate.Regexp):
    """A marshmallow validator that apispec documents as a `pattern` (it is a Regexp), but
    checks with `control_character_problem` (Python's `$` would let a final newline through)."""

    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline
        super().__init__(MULTI_LINE_PATTERN if multiline else SINGLE_LINE_PATTERN)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and (problem := control_character_problem(value, self.multiline)):
            raise ValidationError(problem)
        return value


#: For the JSON API's input schemas: `fields.String(validate=[api_single_line, ...])`.
api_single_line = _ControlCharacters(multiline=False)
api_multi_line = _ControlCharacters(multiline=True)

#: Letters of Latin-1 that every IDNA and SMTPUTF8 reader takes (no x or ÷), for the document.
_LATIN = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
_MAIL_ATOM = f"[A-Za-z0-9{_LATIN}!#$%&'*+/=?^_`{{|}}~-]+"
_MAIL_LABEL = f"[A-Za-z0-9{_LATIN}](?:[A-Za-z0-9{_LATIN}-]{{0,61}}[A-Za-z0-9{_LATIN}])?"
#: What the OpenAPI document says an address looks like: ASCII or with accented Latin letters
#: (IDN domains, UTF-8 local parts); the server checks with `normalize_email`, like the forms.
EMAIL_PATTERN = f"^{_MAIL_ATOM}(?:\\.{_MAIL_ATOM})*@{_MAIL_LABEL}(?:\\.{_MAIL_LABEL})*\\.[A-Za-z]{{2,63}}$"


class ApiEmail(validate.Regexp):
    """An address field of the JSON API: documented with EMAIL_PATTERN, checked with
    `normalize_email` (the web forms' rule), so the API takes what the forms take."""

    def __init__(self, utf8_local_parts: Callable[[], bool] = _always, optional: bool = False) -> None:
        self.utf8_local_parts, self.optional = utf8_local_parts, optional
        super().__init__(f"^$|{EMAIL_PATTERN}" if optional else EMAIL_PATTERN)

    def __call__(self, value: Any) -> Any:
        if self.optional and value == "":
            return value
        if not isinstance(value, str) or value != value.strip():
            raise ValidationError(_("“%(value)s” is not an email address.", value=value))
        try:
            normalize_email(value, self.utf8_local_parts)
        except EmailError as exc:
            raise ValidationError(_("“%(value)s” is not an email address: %(reason)s", value=value, reason=exc)) from None
        return value


# --- WTForms (web forms) ------------------------------------------------------------------------


class SingleLine:
    """A WTForms validator: the field refuses control characters (line breaks included)."""

    field_flags: dict[str, Any] = {}

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and (problem := control_character_problem(field.data)):
            raise FormValidationError(problem)


class MultiLine:
    """A WTForms validator for text areas: line breaks and tabs pass, other controls do not."""

    field_flags: dict[str, Any] = {}

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and (problem := control_character_problem(field.data, True)):
            raise FormValidationError(problem)


#: Field types (WTForms `field.type`) whose browser input is one line.
SINGLE_LINE_TYPES = frozenset(
    {"StringField", "EmailField", "URLField", "SearchField", "TelField", "PasswordField"}
)


def check_text_fields(form: Form) -> bool:
    """Apply SingleLine / MultiLine to every visible text field of `form` (and its subforms);
    add the message to the field's errors. True when nothing was refused.

    Run by `CheckedForm.validate` for every form of the site."""
    ok = True
    for field in form:
        sub = getattr(field, "form", None)
        if isinstance(sub, Form):
            ok = check_text_fields(sub) and ok
            continue
        entries = getattr(field, "entries", None)
        if entries is not None:
            for entry in entries:
                if isinstance(getattr(entry, "form", None), Form):
                    ok = check_text_fields(entry.form) and ok
            continue
        if not isinstance(field.data, str):
            continue
        multiline = field.type == "TextAreaField"
        if not multiline and field.type not in SINGLE_LINE_TYPES:
            continue
        problem = control_character_problem(field.data, multiline)
        if problem and problem not in field.errors:
            field.errors = [*field.errors, problem]  # type: ignore[list-item]
            ok = False
    return ok


class EmailAddress:
    """A WTForms validator: the field holds an address `normalize_email` takes (the same rule
    as the JSON API's `ApiEmail`); empty passes (add Optional/DataRequired as needed)."""

    field_flags: dict[str, Any] = {}

    def __init__(self, utf8_local_parts: Callable[[], bool] = _always) -> None:
        self.utf8_local_parts = utf8_local_parts

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            normalize_email(field.data, self.utf8_local_parts)
        except EmailError as exc:
            raise FormValidationError(_("Enter an email address like name@example.org. %(reason)s", reason=exc)) from None


class CheckedForm(FlaskForm):
    """The base of every form: after its own validators, `check_text_fields` runs, so a new
    text field refuses control characters without anyone remembering to add a validator."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        return check_text_fields(self) and valid


# --- URLs -----------------------------------------------------------------------------------------


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: 0..MAX_DB_INT, so /panelists/99999999999 is a plain 404
    instead of a database error (a 500 on PostgreSQL). The regex already stops at ten digits,
    so a longer number matches no route at all (404) rather than failing only in `to_python`,
    which werkzeug reports as a 405 when another method's route has the same shape."""

    regex = r"\d{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)
