"""Translations: one Babel for the app, and the rule for whose language a text is in.

Pages follow the reader (the browser's `Accept-Language`, later their saved choice);
mail follows its recipient, whatever language the officer who caused it uses, so the
mail side renders inside `force_locale(recipient_language)`. Everything user-visible
goes through `gettext`/`ngettext` (`_`/`ngettext` in templates), never concatenation.
"""

from __future__ import annotations

import os

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


babel = Babel()
