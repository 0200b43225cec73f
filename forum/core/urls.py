"""Absolute URLs for mails, feeds and calendar files, built from BASE_URL.

Works inside and outside a request (the scheduler has none), and is cheap enough to
call once per recipient in a fan-out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import MapAdapter


def _adapter() -> MapAdapter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("forum_url_adapter")
    if cached is None:
        parts = urlsplit(app.config["BASE_URL"])
        cached = app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
        )
        app.extensions["forum_url_adapter"] = cached
    return cached


def external_url(endpoint: str, **values: Any) -> str:
    return _adapter().build(endpoint, values, force_external=True)
