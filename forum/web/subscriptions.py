"""Participant-facing subscription pages: subscribe, confirm, preferences, unsubscribe.

Placeholder routes so links can be built; the subscriptions issue fills them in.
"""

from flask import Blueprint, abort

bp = Blueprint("subscriptions", __name__)


@bp.route("/confirm/<token>")
def confirm(token: str):  # type: ignore[no-untyped-def]
    abort(404)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str):  # type: ignore[no-untyped-def]
    abort(404)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):  # type: ignore[no-untyped-def]
    abort(404)
