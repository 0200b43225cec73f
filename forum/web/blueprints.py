"""Wiring every door into the app: each web module owns one area's pages; this is the only
place they are registered. Its own module (not `forum/web/__init__.py`) so that importing
one door, as `forum-inject` does, loads neither the others nor flask-smorest."""

from __future__ import annotations

from flask import Flask

from forum.web import security
from forum.web.api_errors import TranslatingApi
from forum.web.calendars import feeds, overview
from forum.web.ce import api as ce_api
from forum.web.ce import attendance, certificate_settings, certificates, evaluations
from forum.web.discussion import exports as discussion_exports
from forum.web.discussion import pages as discussion
from forum.web.discussion import thread_links
from forum.web.events import announcements, api, manage, public
from forum.web.mail import devmail
from forum.web.mail import texts as mail_texts
from forum.web.mentoring import api as api_mentoring
from forum.web.mentoring import manage as mentoring_manage
from forum.web.mentoring import pages as mentoring
from forum.web.pathways import api as api_pathways
from forum.web.pathways import manage as pathways_manage
from forum.web.pathways import pages as pathways
from forum.web.registration import api as api_registration
from forum.web.registration import approvals as registration_approvals
from forum.web.registration import manage as registration_manage
from forum.web.registration import registrant as registration_registrant
from forum.web.site import accessibility, auth, branding, officers, setup
from forum.web.subscriptions import api as api_preferences
from forum.web.subscriptions import officer as subscribers
from forum.web.subscriptions import pages as subscriptions
from forum.web.team import audit as team_audit
from forum.web.team import guard, sso
from forum.web.team import pages as team
from forum.web.team import totp as team_totp
from forum.web.team import webhooks as team_webhooks
from forum.web.webinars import captions as webinar_captions
from forum.web.webinars import pages as webinars


def register_blueprints(app: Flask) -> None:
    """Every blueprint, the JSON API (one flask-smorest `Api` per app) and the security headers."""
    for module in (
        public,
        auth,
        manage,
        setup,
        mail_texts,
        subscriptions,
        subscribers,
        discussion,
        discussion_exports,
        thread_links,
        feeds,
        overview,
        announcements,
        webinars,
        webinar_captions,
        branding,
        accessibility,
        officers,
        attendance,
        certificates,
        certificate_settings,
        evaluations,
        pathways,
        pathways_manage,
        mentoring,
        mentoring_manage,
        registration_manage,
        registration_approvals,
        registration_registrant,
        team,
        team_audit,
        team_totp,
        team_webhooks,
    ):
        app.register_blueprint(module.bp)
    if app.config["FORUM_ENV"] != "production":
        app.register_blueprint(devmail.bp)
    # One Api per app: flask-smorest keeps the OpenAPI spec on the Api object.
    smorest = TranslatingApi(app)
    smorest.register_blueprint(api.bp)
    smorest.register_blueprint(ce_api.bp)
    smorest.register_blueprint(api_pathways.bp)
    smorest.register_blueprint(api_registration.bp)
    smorest.register_blueprint(api_mentoring.bp)
    smorest.register_blueprint(api_preferences.bp)
    smorest.register_blueprint(team_audit.api_bp)
    app.extensions["forum_api"] = smorest
    security.init_app(app)  # CSP and the other security headers on every response
    guard.init_app(app)  # every officer page and API route asks forum.team.roles first
    sso.init_app(app)  # /login/sso when OIDC_ISSUER is set
