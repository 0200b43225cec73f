"""Translations: one Babel for the app, and the rule for whose language a text is in.

Pages follow the reader (the browser's `Accept-Language`, later their saved choice);
mail follows its recipient, whatever language the officer who caused it uses, so the
mail side renders inside `force_locale(recipient_language)`. Everything user-visible
goes through `gettext`/`ngettext` (`_`/`ngettext` in templates), never concatenation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, refresh
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

#: The languages with a complete catalog under forum/translations (English is the source).
LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
DEFAULT_LANGUAGE = "en"
TRANSLATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")


#: What a participant or officer may pick on their preferences page: a language with a region,
#: because the region decides the formats (fr_CA writes "10 h 00", fr_FR "10:00"; es_MX a
#: 12-hour clock, es_ES a 24-hour one). Names are each language's own.
LOCALE_CHOICES: tuple[tuple[str, str], ...] = (
    ("en_US", "English (United States)"),
    ("en_CA", "English (Canada)"),
    ("fr_CA", "Français (Canada)"),
    ("fr_FR", "Français (France)"),
    ("es_MX", "Español (México)"),
    ("es_US", "Español (Estados Unidos)"),
    ("es_ES", "Español (España)"),
)
#: An event's primary or second language: the language alone (its readers bring their region).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español"}


def language_of(tag: str | None) -> str:
    """`fr_CA` -> `fr`; anything we have no catalog for -> English."""
    lang = (tag or "").replace("-", "_").split("_", 1)[0].lower()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def normalize(tag: str | None) -> str | None:
    """A locale tag as Babel writes it (`fr-ca` -> `fr_CA`) when it is one of our languages
    and Babel knows it, else None."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if locale.language not in LANGUAGES:
        return None
    return f"{locale.language}_{locale.territory}" if locale.territory else locale.language


def from_accept_language(header: str | None) -> str | None:
    """The first of a browser's `Accept-Language` entries (by quality) that is in one of our
    languages, with its region (`fr-CA,fr;q=0.9,en;q=0.5` -> `fr_CA`), or None."""
    if not header:
        return None
    for value, _quality in LanguageAccept(parse_accept_header(header)):
        found = normalize(value)
        if found:
            return found
    return None


def use_locale(tag: str | None) -> None:
    """Render the rest of this request in `tag` (a participant's or an event's language, which
    only the view knows): `select_locale` reads it first."""
    if has_request_context() and tag:
        g.forum_locale = normalize(tag) or tag
        refresh()


def forget_previous_locale() -> None:
    """Start every request with no language chosen yet (a `before_request` hook).

    Flask-Babel keeps the locale it chose on `g`, which lives as long as the app context:
    one per request in production, but a context held open around several requests (the
    test suite, a script driving the app) would answer the second reader in the first
    one's language."""
    g.pop("forum_locale", None)
    refresh()


def select_locale() -> str:
    """The request's locale: what the view chose (`use_locale`: the participant a signed
    link names, an event's language), else the signed-in officer's choice, else the
    browser's best match among ours (with its region), else English."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = g.get("forum_locale")
    if chosen:
        return str(chosen)
    officer_choice = normalize(getattr(current_user, "language", None)) if current_user else None
    if officer_choice:
        return officer_choice
    return from_accept_language(request.headers.get("Accept-Language")) or DEFAULT_LANGUAGE


def browser_locale() -> str | None:
    """The request's browser language (for a new participant's row), or None outside one."""
    if not has_request_context():
        return None
    return from_accept_language(request.headers.get("Accept-Language"))


def recipient_locale(tag: str | None) -> str:
    """The locale a mail to someone is rendered in: theirs, else English."""
    return normalize(tag) or DEFAULT_LANGUAGE


@contextmanager
def in_locale(tag: str | None) -> Iterator[None]:
    """Render what follows (a mail, its subject, its calendar text) in a recipient's locale,
    whoever caused it: `force_locale`, with anything unknown read as English."""
    with force_locale(recipient_locale(tag)):
        yield


def current_language() -> str:
    """The language (`fr`) of the locale in force (a request's, or a mail's `force_locale`)."""
    return language_of(str(get_locale() or DEFAULT_LANGUAGE))


def compile_catalogs(directory: str = TRANSLATIONS_DIR) -> list[str]:
    """Compile every `<lang>/LC_MESSAGES/messages.po` whose `.mo` is missing or older.

    The `.mo` files are build products (not committed): `make` compiles them with pybabel,
    and the test suite calls this so a bare `pytest` on a clean clone reads real catalogs.
    Written to a temporary file and renamed, so parallel workers never read half a file.
    Returns the catalogs compiled.
    """
    compiled = []
    for lang in os.listdir(directory) if os.path.isdir(directory) else ():
        po = os.path.join(directory, lang, "LC_MESSAGES", "messages.po")
        mo = po[:-3] + ".mo"
        if not os.path.isfile(po):
            continue
        if os.path.isfile(mo) and os.path.getmtime(mo) >= os.path.getmtime(po):
            continue
        with open(po, "rb") as handle:
            catalog = read_po(handle, locale=lang)
        tmp = f"{mo}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            write_mo(handle, catalog)
        os.replace(tmp, mo)
        compiled.append(lang)
    return compiled


babel = Babel()
