"""HTTP security headers for every response, set in one after_request hook.

The site's pages load only their own CSS and scripts (static/), so the policy is strict: no
inline script or style attribute anywhere. Panelist photos are remote, hence `img-src https:`.
Signed tokens travel in URLs (/preferences/<token>, ?t=...), so pages that carry one are never
stored and send a Referer only to this same site (`same-origin`): never to another site, where
the token would leak, but still on their own form POSTs, because over HTTPS Flask-WTF refuses a
POST without a same-origin Referer (`no-referrer` broke every signed-link button in production).
The only party that sees the token in a Referer is this server, which already has it in the
request path of the page itself. A view that needs a different policy (the dev mailbox's raw
parts) sets its own Content-Security-Policy first; this hook leaves it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from forum.core.extensions import limiter

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# For responses that are a document in their own right but must not run or load anything.
SANDBOX_POLICY = "sandbox; default-src 'none'"
HSTS = "max-age=31536000; includeSubDomains"
TOKEN_QUERY_ARGS = ("t", "token")
NO_STORE_PREFIXES = ("/manage", "/login", "/dev/mail")
SIGNED_LINK_REFERRER_POLICY = "same-origin"


def wrong_guesses_limited(limit: str, key_func: Callable[[], str], **options: Any) -> Callable[..., Any]:
    """Rate-limit the wrong answers to a form that checks a secret (a password, a code) per
    `key_func` (one account): only a POST refused with a 400 counts, so whoever gets it right
    is never slowed. `options` go to Flask-Limiter (`exempt_when`, `error_message`)."""
    return limiter.limit(
        limit,
        key_func=key_func,
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 400,
        **options,
    )


def carries_token(path_args: Mapping[str, object] | None, query_args: Mapping[str, object]) -> bool:
    """True when the URL holds a signed token: in the path (<token>) or the query (?t=)."""
    if path_args and "token" in path_args:
        return True
    return any(name in query_args for name in TOKEN_QUERY_ARGS)


#: RFC 8058: the whole form body of a one-click unsubscribe POST.
ONE_CLICK = {"List-Unsubscribe": ["One-Click"]}


def is_one_click() -> bool:
    """A POST whose form body is exactly `List-Unsubscribe=One-Click` (RFC 8058): a mail
    provider leaving a list for its user, with no cookie and no CSRF token. Every door that a
    List-Unsubscribe URL names takes it (and checks CSRF for every other POST)."""
    return request.method == "POST" and request.form.to_dict(flat=False) == ONE_CLICK


def _is_html(response: Response) -> bool:
    return response.mimetype == "text/html"


def _no_store(response: Response) -> bool:
    """Responses no browser or proxy may keep once shown.

    Officer areas always; HTML pages that carry a token or show an officer's view. Calendar
    feeds keep their own `private, no-cache` so calendar apps can still revalidate by ETag."""
    if request.path.startswith(NO_STORE_PREFIXES):
        return True
    if not _is_html(response):
        return False
    return carries_token(request.view_args, request.args) or bool(
        getattr(current_user, "is_authenticated", False)
    )


def set_security_headers(response: Response) -> Response:
    """The after_request hook: never overrides a policy a view set for its own response."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if _is_html(response):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
    if carries_token(request.view_args, request.args):
        headers["Referrer-Policy"] = SIGNED_LINK_REFERRER_POLICY
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if _no_store(response):
        headers["Cache-Control"] = "no-store"
    if request.is_secure and _production():
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.status_code == 405 and "Allow" not in headers:
        # RFC 9110: a 405 lists what the resource does accept (JSON error handlers drop it).
        allowed = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
        if allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _production() -> bool:
    return current_app.config.get("FORUM_ENV") == "production"


NUL_MESSAGE = "The request contains a NUL character (%00), which no field accepts."


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul_bytes() -> None:
    """One check for every door: a NUL in the path, the query string, a form or a JSON body is a 400
    with a message (PostgreSQL refuses NUL in text, so it used to surface as a 500)."""
    refused = (
        "\x00" in request.path  # /events/x%00: a path parameter goes to the database like a field
        or _has_nul(request.args.to_dict(flat=False))
        or _has_nul(request.cookies.to_dict())
    )
    if not refused and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            refused = _has_nul(request.form.to_dict(flat=False))
        elif request.is_json:
            refused = _has_nul(request.get_json(silent=True))
    if refused:
        error = BadRequest(description=NUL_MESSAGE)
        error.data = {"message": NUL_MESSAGE}  # type: ignore[attr-defined] # flask-smorest's JSON errors
        raise error


def init_app(app: Flask) -> None:
    # First of all before_request hooks: the CSRF check and the rate limiter would otherwise
    # answer a NUL in the path with their own 400 without saying what was wrong.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)
    app.after_request(set_security_headers)
