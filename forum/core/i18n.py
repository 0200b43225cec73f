"""Translations: one Babel for the app, and the rule for whose language a text is in.

Pages follow the reader (the browser's `Accept-Language`, later their saved choice);
mail follows its recipient, whatever language the officer who caused it uses, so the
mail side renders inside `force_locale(recipient_language)`. Everything user-visible
goes through `gettext`/`ngettext` (`_`/`ngettext` in templates), never concatenation.
"""

from __future__ import annotations

import os

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import Babel

#: The languages with a complete catalog under forum/translations (English is the source).
LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
DEFAULT_LANGUAGE = "en"
TRANSLATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")


def select_locale() -> str:
    """The request's language: the browser's best match among ours, else English."""
    if has_request_context():
        return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


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
