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

import re
from typing import Any

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
SINGLE_LINE_MESSAGE = "Use one line of text: line breaks and other control characters are not allowed."
MULTI_LINE_MESSAGE = "Remove the control characters (such as NUL); line breaks and tabs are fine."


def control_character_problem(value: str, multiline: bool = False) -> str | None:
    """The message for a value that holds characters its kind of field refuses, else None."""
    pattern = _MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD
    if pattern.search(value):
        return MULTI_LINE_MESSAGE if multiline else SINGLE_LINE_MESSAGE
    return None


def single_line(value: str) -> str:
    """For text taken as it comes (a display name in a mail header): control characters
    become spaces and runs of white space one space."""
    return " ".join(_SINGLE_LINE_BAD.sub(" ", value).split())


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
