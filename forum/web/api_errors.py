"""The JSON API's error answers in the client's language (`Accept-Language`).

What the app itself says goes through gettext where it is raised (services, doors, the
schemas' own validators), so it arrives here already in the request's language. What
marshmallow and webargs say by themselves ("Missing data for required field.", "Not a
valid integer.", "Must be greater than or equal to 1.") is English inside the library, so
the API's error handler reads every message of an error answer and, when it is one of
those, answers the catalog's wording instead, with the library's values put back in.
The shape stays the same: status, `code`, `status` and the field names under `errors`
are what clients branch on, and they never change with the language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

#: The English messages marshmallow 4, webargs and this app's field-level defaults produce, as
#: their English text with `%(name)s` where the library puts a value. The msgid *is* the
#: English text (so nothing is matched by a second copy), and `library_messages()` in the tests
#: checks every message the library can give is here.
LIBRARY_MESSAGES: tuple[LazyString, ...] = (
    # schemas and every field
    _l("Missing data for required field."),
    _l("Field may not be null."),
    _l("Invalid value."),
    _l("Invalid type."),
    _l("Unknown field."),
    _l("Invalid input type."),
    _l("Invalid input."),
    _l("Invalid JSON body."),
    # field types
    _l("Not a valid integer."),
    _l("Not a valid number."),
    _l("Number too large."),
    _l("Special numeric values (nan or infinity) are not permitted."),
    _l("Not a valid string."),
    _l("Not a valid utf-8 string."),
    _l("Not a valid boolean."),
    _l("Not a valid list."),
    _l("Not a valid tuple."),
    _l("Not a valid mapping type."),
    _l("Not a valid date."),
    _l("Not a valid datetime."),
    _l("Not a valid time."),
    _l("Not a valid naive datetime."),
    _l("Not a valid aware datetime."),
    _l("Not a valid naive time."),
    _l("Not a valid aware time."),
    _l("Not a valid period of time."),
    _l("Not a valid email address."),
    _l("Not a valid URL."),
    _l("Not a valid UUID."),
    _l("Not a valid IP address."),
    _l("Not a valid IPv4 address."),
    _l("Not a valid IPv6 address."),
    _l("Not a valid IP interface."),
    _l("Not a valid IPv4 interface."),
    _l("Not a valid IPv6 interface."),
    _l('"%(input)s" cannot be formatted as a date.'),
    _l('"%(input)s" cannot be formatted as a datetime.'),
    _l('"%(input)s" cannot be formatted as a time.'),
    _l("%(input)s cannot be formatted as a timedelta."),
    _l("Must be one of: %(choices)s."),
    # validators
    _l("Must be equal to %(other)s."),
    _l("String does not match expected pattern."),
    _l("Shorter than minimum length %(min)s."),
    _l("Longer than maximum length %(max)s."),
    _l("Length must be between %(min)s and %(max)s."),
    _l("Length must be %(equal)s."),
    _l("One or more of the choices you made was not in: %(choices)s."),
    _l("One or more of the choices you made was in: %(values)s."),
    _l("Must be greater than or equal to %(min)s."),
    _l("Must be greater than %(min)s."),
    _l("Must be less than or equal to %(max)s."),
    _l("Must be less than %(max)s."),
    _l("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    _l("Must be greater than or equal to %(min)s and less than %(max)s."),
    _l("Must be greater than %(min)s and less than or equal to %(max)s."),
    _l("Must be greater than %(min)s and less than %(max)s."),
    # this app's field-level defaults (WallTime's error_messages: marshmallow formats them)
    _l("Give the wall time as YYYY-MM-DDTHH:MM (a real date, years 1900-2199), e.g. 2025-09-09T10:00."),
    _l("Give the wall time without an offset (e.g. 2025-09-09T10:00); the zone goes in `timezone`."),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@lru_cache(maxsize=1)
def _patterns() -> tuple[dict[str, LazyString], tuple[tuple[re.Pattern[str], LazyString], ...]]:
    """(exact English text -> message, [(regex of a text with values, message)]), built once."""
    exact: dict[str, LazyString] = {}
    with_values: list[tuple[re.Pattern[str], LazyString]] = []
    for message in LIBRARY_MESSAGES:
        english: str = message._args[0]
        if _PLACEHOLDER.search(english) is None:
            exact[english] = message
            continue
        pieces = _PLACEHOLDER.split(english)  # text, name, text, name, ..., text
        regex = "".join(
            re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.+?)" for i, piece in enumerate(pieces)
        )
        with_values.append((re.compile(f"^{regex}$", re.DOTALL), message))
    # The most specific first: "Must be ... %(min)s." would also match the longer "Must be ...
    # 1 and less than or equal to 9." with its values read as one.
    with_values.sort(key=lambda pair: -len(_PLACEHOLDER.sub("", pair[1]._args[0])))
    return exact, tuple(with_values)


def translate_message(text: Any) -> Any:
    """One message in the language in force: a library's English text in the catalog's wording
    (its values kept), a lazy string read now, anything else as it is."""
    if isinstance(text, LazyString):
        return str(text)
    if not isinstance(text, str):
        return text
    exact, with_values = _patterns()
    if text in exact:
        return str(exact[text])
    for regex, message in with_values:
        found = regex.match(text)
        if found:
            return str(message) % found.groupdict()
    return text


def translate_errors(errors: Any) -> Any:
    """`errors` (flask-smorest's `{location: {field: [message, ...]}}`, nested for lists and
    dicts) with every message translated and every key kept."""
    if isinstance(errors, dict):
        return {key: translate_errors(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [translate_errors(value) for value in errors]
    return translate_message(errors)


def messages_of(errors: Any) -> Iterator[str]:
    """Every message in an error tree (for tests and logs)."""
    if isinstance(errors, dict):
        for value in errors.values():
            yield from messages_of(value)
    elif isinstance(errors, list | tuple):
        for value in errors:
            yield from messages_of(value)
    else:
        yield str(errors)


class TranslatingApi(Api):
    """flask-smorest's Api, whose error answers speak the request's language."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        if "message" in payload:
            payload["message"] = translate_message(payload["message"])
        if "errors" in payload:
            payload["errors"] = translate_errors(payload["errors"])
        return payload, code, headers
