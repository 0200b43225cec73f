"""Blueprints. Each module owns one area; this is the only place they are wired in."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask) -> None:
    from . import (
        announcements,
        api,
        auth,
        branding,
        devmail,
        discussion,
        feeds,
        mail_texts,
        manage,
        public,
        setup,
        subscribers,
        subscriptions,
    )

    for module in (
        public,
        auth,
        manage,
        setup,
        mail_texts,
        subscriptions,
        subscribers,
        discussion,
        feeds,
        announcements,
        branding,
    ):
        app.register_blueprint(module.bp)
    if app.config["FORUM_ENV"] != "production":
        app.register_blueprint(devmail.bp)
    # One Api per app: flask-smorest keeps the OpenAPI spec on the Api object.
    smorest = Api(app)
    smorest.register_blueprint(api.bp)
    app.extensions["forum_api"] = smorest
    from . import security

    security.init_app(app)  # CSP and the other security headers on every response
