"""Single sign-on with OpenID Connect (Authlib): settings, and who a verified identity is.

Configured by environment (or app config in tests): `OIDC_ISSUER` (discovery at
`<issuer>/.well-known/openid-configuration`), `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`,
`OIDC_ALLOWED_DOMAINS` (comma-separated; empty: any), `OIDC_ADMIN_CLAIM` (a claim that,
when true or listing "forum-admin", makes the officer a site administrator). Passwords keep
working beside it for small sites.

Sign-in links or creates the officer by *verified* email only (`email_verified` true in the
ID token), so nobody takes over an account by typing someone else's address at a provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _

from forum.core.extensions import db
from forum.models import Officer

SETTINGS = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_ALLOWED_DOMAINS", "OIDC_ADMIN_CLAIM")
ADMIN_VALUE = "forum-admin"


class SignInRefused(Exception):
    """The provider vouched for someone this site does not let in; the message says why."""


def setting(name: str, app: Flask | None = None) -> str:
    config = (app or current_app).config
    value = config.get(name)
    return str(value if value is not None else os.environ.get(name, "")).strip()


def enabled(app: Flask | None = None) -> bool:
    return bool(setting("OIDC_ISSUER", app) and setting("OIDC_CLIENT_ID", app))


def allowed_domains() -> list[str]:
    return [d.strip().lower().lstrip("@") for d in setting("OIDC_ALLOWED_DOMAINS").split(",") if d.strip()]


def officer_for(claims: Mapping[str, Any]) -> Officer:
    """The officer this ID token's verified email names, made on first sign-in.

    Refused: no email, an unverified one, a domain outside OIDC_ALLOWED_DOMAINS, or a
    deactivated officer."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise SignInRefused(_("Your organisation's sign-in did not tell us your email address."))
    if claims.get("email_verified") is not True:
        raise SignInRefused(_("Your organisation's sign-in has not verified your email address."))
    domain = email.rsplit("@", 1)[1]
    domains = allowed_domains()
    if domains and domain not in domains:
        raise SignInRefused(_("Addresses at %(domain)s may not sign in here.", domain=domain))
    officer = Officer.by_email(email)
    admin = _is_admin(claims)
    if officer is None:
        officer = Officer(email=email, name=str(claims.get("name") or "")[:200], is_admin=admin)
        db.session.add(officer)
    elif not officer.is_active:
        raise SignInRefused(_("This officer account is switched off; ask a site administrator."))
    elif admin and not officer.is_admin:
        officer.is_admin = True
    db.session.flush()
    return officer


def _is_admin(claims: Mapping[str, Any]) -> bool:
    name = setting("OIDC_ADMIN_CLAIM")
    if not name:
        return False
    value = claims.get(name)
    if isinstance(value, list):
        return ADMIN_VALUE in value
    return value is True or value == ADMIN_VALUE
