"""Forum: e-forums and webinar series for library associations and training consortia."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory: settings from the environment, overridden by `config` (tests)."""
    from forum import cli
    from forum.core import config as settings
    from forum.core.extensions import csrf, db, limiter, login, migrate
    from forum.core.i18n import TRANSLATIONS_DIR, babel, forget_previous_locale, select_locale
    from forum.core.validation import BoundedIntConverter
    from forum.web.blueprints import register_blueprints
    from forum.web.helpers import register_template_helpers

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
        instance_path=os.environ.get("FORUM_INSTANCE_PATH") or os.path.join(root, "instance"),
    )
    app.config.update(settings.load(app.instance_path, config))
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["PROXY_HOPS"]:
        # Behind N trusted proxies the client is the Nth address from the right of
        # X-Forwarded-For; rate limits (keyed on remote_addr) then count each visitor.
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"), compare_type=True)
    csrf.init_app(app)
    login.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=TRANSLATIONS_DIR)
    app.before_request(forget_previous_locale)  # first: every later hook speaks this request's language
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    register_blueprints(app)
    register_template_helpers(app)
    app.cli.add_command(cli.forum_cli)
    return app
