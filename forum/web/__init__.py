"""Blueprints. Each module owns one area; this is the only place they are wired in."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from flask_smorest import Api  # here, not at the top: forum-inject imports web modules without it

    from . import (
        announcements,
        api,
        attendance,
        auth,
        branding,
        ce_api,
        certificates,
        devmail,
        discussion,
        evaluations,
        feeds,
        mail_texts,
        manage,
        pathways,
        pathways_manage,
        public,
        setup,
        subscribers,
        subscriptions,
        webinars,
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
        webinars,
        branding,
        attendance,
        certificates,
        evaluations,
        pathways,
        pathways_manage,
    ):
        app.register_blueprint(module.bp)
    if app.config["FORUM_ENV"] != "production":
        app.register_blueprint(devmail.bp)
    # One Api per app: flask-smorest keeps the OpenAPI spec on the Api object.
    smorest = Api(app)
    smorest.register_blueprint(api.bp)
    smorest.register_blueprint(ce_api.bp)
    from . import api_pathways

    smorest.register_blueprint(api_pathways.bp)
    app.extensions["forum_api"] = smorest
    from . import security

    security.init_app(app)  # CSP and the other security headers on every response
