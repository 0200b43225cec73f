"""JSON API for a participant's own delivery choices, reached with their preferences token
(the one in every mail's "preferences" link; no officer token, no password).

Per e-forum subscription: the delivery mode and the digest's rhythm, style, hour and
weekday (`forum.subscriptions.delivery`, as the preferences page), and the threads
muted or followed (`forum.discussion.thread_choices`, as the signed links in mail).
`tests/test_digest_doors.py` makes each change through the page and through here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from forum.core.extensions import csrf, db
from forum.core.tokens import TokenError
from forum.discussion import thread_choices
from forum.models import (
    DELIVERY_MODES,
    DIGEST_RHYTHMS,
    DIGEST_STYLES,
    THREAD_CHOICES,
    WEEKDAYS,
    Participant,
    Subscription,
)
from forum.subscriptions import delivery, erasure, service
from forum.web.events.api_common import abort, field_error, require_json_body

bp = Blueprint(
    "api_preferences",
    __name__,
    url_prefix="/api/v1",
    description="A participant's delivery and digest choices and thread choices (preferences token)",
)
csrf.exempt(bp)
bp.before_request(require_json_body)


class DeliverySchema(Schema):
    mode = fields.String(validate=validate.OneOf(list(DELIVERY_MODES)))
    digest_rhythm = fields.String(validate=validate.OneOf(list(DIGEST_RHYTHMS)))
    digest_style = fields.String(
        validate=validate.OneOf(list(DIGEST_STYLES)),
        metadata={"description": "full: every message; subjects: an index with links to read and reply"},
    )
    digest_hour = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=23),
        metadata={"description": "in the participant's own zone; null: the e-forum's hour in its zone"},
    )
    digest_weekday = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=len(WEEKDAYS) - 1),
        metadata={"description": "weekly digests: 0 = Monday ... 6 = Sunday"},
    )


class ThreadChoiceOutSchema(Schema):
    thread_id = fields.Integer()
    subject = fields.String(attribute="thread.subject")
    choice = fields.String(metadata={"enum": list(THREAD_CHOICES)})


class SubscriptionDeliverySchema(DeliverySchema):
    id = fields.Integer()
    event = fields.String(attribute="event.slug")
    title = fields.String(attribute="event.title")
    threads = fields.List(fields.Nested(ThreadChoiceOutSchema))


class ThreadChoiceInSchema(Schema):
    choice = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(list(THREAD_CHOICES)),
        metadata={"description": "mute, follow, or null for the usual delivery"},
    )
    rest_mode = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(thread_choices.REST_MODES)),
        metadata={"description": "with follow: the rest of the e-forum goes to a digest or to no mail"},
    )


def _participant(token: str) -> Participant:
    try:
        found = service.read_link("preferences", token)
    except TokenError as exc:
        abort(410 if exc.expired else 401, message=str(exc))
    if not isinstance(found, Participant) or erasure.is_erased(found):
        abort(404, message=_("No participant for this link."))
    return found


def _forum_subscription(token: str, sub_id: int) -> Subscription:
    participant = _participant(token)
    sub = next((s for s in service.live_subscriptions(participant) if s.id == sub_id), None)
    if sub is None or not sub.event.is_eforum:
        abort(404, message=_("No e-forum subscription of yours with this id."))
    return sub


def _dump(sub: Subscription) -> dict[str, Any]:
    data = {"id": sub.id, "event": sub.event, **delivery.delivery_of(sub), "threads": thread_choices.choices_of(sub)}
    return SubscriptionDeliverySchema().dump(data)  # type: ignore[no-any-return]


@bp.get("/preferences/<token>/subscriptions")
@bp.response(200, SubscriptionDeliverySchema(many=True))
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(404, response="NOT_FOUND")
def list_deliveries(token: str) -> Response:
    """The participant's e-forum subscriptions: delivery, digest choices, thread choices."""
    participant = _participant(token)
    return jsonify([_dump(s) for s in service.live_subscriptions(participant) if s.event.is_eforum])


@bp.patch("/preferences/<token>/subscriptions/<int:sub_id>")
@bp.arguments(DeliverySchema)
@bp.response(200, SubscriptionDeliverySchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_delivery(data: dict[str, Any], token: str, sub_id: int) -> Response:
    """Change the delivery mode and digest choices given (the rest stay)."""
    sub = _forum_subscription(token, sub_id)
    if not data:
        field_error("mode", _("Send at least one setting to change."))
    try:
        delivery.set_delivery(sub, **data)
    except service.SubscriptionError as exc:
        db.session.rollback()
        field_error(exc.field, str(exc))
    db.session.commit()
    return jsonify(_dump(sub))


@bp.put("/preferences/<token>/subscriptions/<int:sub_id>/threads/<int:thread_id>")
@bp.arguments(ThreadChoiceInSchema)
@bp.response(200, SubscriptionDeliverySchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def choose_thread(data: dict[str, Any], token: str, sub_id: int, thread_id: int) -> Response:
    """Mute, follow only, or (null) let go of one thread of this e-forum."""
    sub = _forum_subscription(token, sub_id)
    try:
        thread_choices.choose(sub, thread_id, data["choice"], rest_mode=data["rest_mode"])
    except thread_choices.ThreadChoiceError as exc:
        db.session.rollback()
        if exc.field == "thread":
            abort(404, message=str(exc))
        field_error(exc.field if exc.field != "rest" else "rest_mode", str(exc))
    db.session.commit()
    return jsonify(_dump(sub))
