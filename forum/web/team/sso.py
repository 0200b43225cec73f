"""/login/sso: sign in through the organisation's OpenID Connect provider (Authlib, with
discovery, PKCE S256, state and nonce). The rules about who gets in are in forum.team.sso."""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from werkzeug.wrappers import Response

from forum.core.extensions import db
from forum.team import sso

bp = Blueprint("sso", __name__)


def init_app(app: Flask) -> None:
    """The sign-in routes; the login page shows the button when OIDC_ISSUER is set."""
    app.register_blueprint(bp)
    app.add_template_global(lambda: sso.enabled(), "sso_enabled")


def _client(app: Flask) -> Any:
    """The Authlib client for this app's settings (made on first use: discovery is lazy). One
    registry per app, so two apps in a process (tests) never share a provider."""
    key = "forum.oidc_client"
    if key not in app.extensions:
        issuer = sso.setting("OIDC_ISSUER", app).rstrip("/")
        app.extensions[key] = OAuth(app).register(
            "oidc",
            client_id=sso.setting("OIDC_CLIENT_ID", app),
            client_secret=sso.setting("OIDC_CLIENT_SECRET", app),
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
    return app.extensions[key]


@bp.route("/login/sso")
def start() -> Response:
    if not sso.enabled():
        abort(404, description=_l("Single sign-on is not set up on this site."))
    return _client(current_app).authorize_redirect(url_for("sso.callback", _external=True))  # type: ignore[no-any-return]


@bp.route("/login/sso/callback")
def callback() -> tuple[str, int] | Response:
    if not sso.enabled():
        abort(404, description=_l("Single sign-on is not set up on this site."))
    try:
        token = _client(current_app).authorize_access_token()
    except MismatchingStateError:
        return _refused("That sign-in took too long or was started elsewhere. Please start again.")
    except OAuthError as exc:
        return _refused(f"Your organisation's sign-in said no ({exc.error}).")
    try:
        officer = sso.officer_for(token.get("userinfo") or {})
    except sso.SignInRefused as exc:
        db.session.rollback()
        return _refused(str(exc), 403)
    db.session.commit()
    login_user(officer)
    flash(_("Signed in as %(email)s.", email=officer.email), "success")
    return redirect(url_for("manage.index"))


def _refused(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("team/sso_refused.html", message=message), status
