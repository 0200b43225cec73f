"""Marshmallow schemas of the JSON API: what goes in (validated) and what comes out.

Output mirrors the public event page: every session carries its wall time and zone
(the officer's truth), its instants in UTC and in the event's home zone (ISO 8601 with
offsets, so clients never guess), and the announcement's zone lines.
"""

from __future__ import annotations

import re
from typing import Any

from flask import url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .. import events, timezones
from ..models import EVENT_KINDS, PANELIST_ROLES
from ..models.events import EVENT_STATUSES, MODERATION_POLICIES
from ..text import lines, markdown
from ..validation import MAX_DB_INT, api_multi_line, api_single_line
from .helpers import session_zone_lines

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_email = validate.Email(error="“{input}” is not an email address.")
_url = validate.URL(schemes={"http", "https"}, error="“{input}” is not an http(s) URL.")


def _optional(validator: validate.Validator):
    """Run `validator` only on a non-empty value: "" means "none" for optional text fields."""

    def check(value: str | None) -> None:
        if value:
            validator(value)

    return check


def _zone(value: str) -> None:
    try:
        timezones.get_zone(value)
    except timezones.TimeInputError as exc:
        raise ValidationError(str(exc)) from None


def _isoformat(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Typed loosely: marshmallow wants dict[str, str | list | dict] and dict is invariant.
WALL_TIME_ERRORS: dict[str, Any] = {
    "invalid": "Give the wall time as YYYY-MM-DDTHH:MM, e.g. 2025-09-09T10:00.",
    "invalid_awareness": (
        "Give the wall time without an offset (e.g. 2025-09-09T10:00); the zone goes in `timezone`."
    ),
}


# --- output -----------------------------------------------------------------------------


class ErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "per location, per field: list of messages"})


class SessionSchema(Schema):
    """A session as attendees see it (no join link: that goes to subscribers by mail)."""

    id = fields.Integer()
    position = fields.Integer()
    title = fields.String(metadata={"description": "empty: the event's title is used"})
    display_title = fields.String()
    description = fields.String()
    status = fields.String(metadata={"enum": ["scheduled", "cancelled"]})
    sequence = fields.Integer(metadata={"description": "iCalendar SEQUENCE; rises on every change"})
    uid = fields.String(metadata={"description": "stable iCalendar UID"})
    timezone = fields.String(metadata={"description": "IANA zone of the wall times"})
    start_wall = fields.NaiveDateTime(metadata={"description": "wall time in `timezone`"})
    end_wall = fields.NaiveDateTime()
    starts_at = fields.DateTime(metadata={"description": "instant, ISO 8601 in UTC (+00:00)"})
    ends_at = fields.DateTime()
    starts_at_local = fields.Method(
        "get_starts_local",
        metadata={"type": "string", "format": "date-time", "description": "instant in the event's zone"},
    )
    ends_at_local = fields.Method("get_ends_local", metadata={"type": "string", "format": "date-time"})
    zone_lines = fields.Method(
        "get_zone_lines",
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "`10:00 AM–6:00 PM (Eastern)`: the event's home zone, then each configured display zone",
        },
    )

    def get_starts_local(self, obj: Any) -> str | None:
        return _isoformat(timezones.to_zone(obj.starts_at, obj.event.timezone))

    def get_ends_local(self, obj: Any) -> str | None:
        return _isoformat(timezones.to_zone(obj.ends_at, obj.event.timezone))

    def get_zone_lines(self, obj: Any) -> list[str]:
        return session_zone_lines(obj)


class OfficerSessionSchema(SessionSchema):
    """What an officer (API token) sees: the join link too, and notes after a write."""

    join_url = fields.String()
    notes = fields.Method(
        "get_notes",
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "things the officer should know, e.g. an ambiguous wall time was resolved",
        },
    )

    def get_notes(self, obj: Any) -> list[str]:
        return list(getattr(obj, "api_notes", []))


class EventPanelistSchema(Schema):
    """A panelist as listed on one event, with their role there."""

    id = fields.Integer(attribute="panelist.id")
    name = fields.String(attribute="panelist.name")
    title = fields.String(attribute="panelist.title")
    affiliation = fields.String(attribute="panelist.affiliation")
    pronouns = fields.String(attribute="panelist.pronouns")
    bio = fields.String(attribute="panelist.bio", metadata={"description": "Markdown"})
    bio_html = fields.Function(lambda link: str(markdown(link.panelist.bio)))
    photo_url = fields.String(attribute="panelist.photo_url")
    links = fields.List(fields.String(), attribute="panelist.link_list")
    role = fields.String(metadata={"enum": list(PANELIST_ROLES)})
    role_label = fields.String()
    position = fields.Integer()


class EventSummarySchema(Schema):
    slug = fields.String()
    kind = fields.String(metadata={"enum": list(EVENT_KINDS)})
    kind_label = fields.String()
    title = fields.String()
    summary = fields.String()
    status = fields.String(metadata={"enum": list(EVENT_STATUSES)})
    timezone = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    first_date = fields.Date(metadata={"description": "first day, in the event's zone"})
    last_date = fields.Date()
    url = fields.Function(
        lambda e: url_for("public.event", slug=e.slug, _external=True),
        metadata={"type": "string", "format": "uri", "description": "the public event page"},
    )


class EventSchema(EventSummarySchema):
    """Everything the announcement says."""

    description = fields.String(metadata={"description": "Markdown"})
    description_html = fields.Function(lambda e: str(markdown(e.description)))
    learning_outcomes = fields.Function(lambda e: lines(e.learning_outcomes))
    audience = fields.String(metadata={"description": "who should attend"})
    registration_info = fields.String(metadata={"description": "how to register, Markdown"})
    tech_requirements = fields.String()
    conduct_url = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    contact_phone = fields.String()
    published_at = fields.DateTime()
    cancelled_at = fields.DateTime()
    sessions = fields.List(fields.Nested(SessionSchema))
    panelists = fields.List(fields.Nested(EventPanelistSchema), attribute="panelist_links")
    seats = fields.Function(
        lambda e: _seats(e),
        metadata={
            "type": "object",
            "description": "webinar series: `limit` (null = unlimited), `taken`, `left` (null = unlimited), "
            "`waiting` (counts only, never who)",
        },
    )


def _seats(event: Any) -> dict[str, Any]:
    from .. import seats

    counts = seats.counts(event)
    return {"limit": counts.limit, "taken": counts.taken, "left": counts.left, "waiting": counts.waiting}


class OfficerEventSchema(EventSchema):
    sessions = fields.List(fields.Nested(OfficerSessionSchema))
    moderation = fields.String(metadata={"enum": list(MODERATION_POLICIES)})
    archive_public = fields.Boolean()
    reply_to_list = fields.Boolean()
    digest_hour = fields.Integer()
    dst_warnings = fields.Function(
        lambda e: events.dst_warnings(e),
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "sessions crossing a DST change",
        },
    )


class PanelistEventSchema(Schema):
    slug = fields.String(attribute="event.slug")
    title = fields.String(attribute="event.title")
    status = fields.String(attribute="event.status")
    role = fields.String()
    role_label = fields.String()


class PanelistSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    affiliation = fields.String()
    pronouns = fields.String()
    bio = fields.String(metadata={"description": "Markdown"})
    bio_html = fields.Function(lambda p: str(markdown(p.bio)))
    photo_url = fields.String()
    links = fields.List(fields.String(), attribute="link_list")
    url = fields.Function(
        lambda p: url_for("public.panelist", panelist_id=p.id, _external=True),
        metadata={"type": "string", "format": "uri", "description": "the public bio page"},
    )
    events = fields.List(
        fields.Nested(PanelistEventSchema),
        attribute="api_events",
        metadata={"description": "events this panelist appears on (drafts only with a token)"},
    )


# --- input ------------------------------------------------------------------------------


class EventQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(list(EVENT_KINDS)))
    when = fields.String(
        validate=validate.OneOf(["upcoming", "past"]),
        metadata={"description": "upcoming: not yet over (soonest first); past: over (latest first)"},
    )
    status = fields.String(
        validate=validate.OneOf(list(EVENT_STATUSES)),
        metadata={"description": "officers only; without a token only published events are listed"},
    )


class EventInSchema(Schema):
    """Create (all required fields) or, with partial=True, update an event."""

    slug = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=80),
            validate.Regexp(SLUG_RE, error="Use lower-case letters, digits and single hyphens."),
        ],
    )
    kind = fields.String(load_default="eforum", validate=validate.OneOf(list(EVENT_KINDS)))
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), api_single_line])
    summary = fields.String(validate=[validate.Length(max=2000), api_multi_line])
    description = fields.String(validate=api_multi_line, metadata={"description": "Markdown"})
    learning_outcomes = fields.List(
        fields.String(validate=[validate.Length(min=1), api_single_line]),
        metadata={"description": "one outcome each"},
    )
    audience = fields.String(validate=api_multi_line)
    registration_info = fields.String(validate=api_multi_line)
    tech_requirements = fields.String(validate=api_multi_line)
    conduct_url = fields.String(validate=[validate.Length(max=500), _optional(_url)])
    contact_name = fields.String(validate=[validate.Length(max=200), api_single_line])
    contact_email = fields.String(validate=[validate.Length(max=320), _optional(_email)])
    contact_phone = fields.String(validate=[validate.Length(max=80), api_single_line])
    timezone = fields.String(load_default="America/New_York", validate=_zone)
    moderation = fields.String(validate=validate.OneOf(list(MODERATION_POLICIES)))
    archive_public = fields.Boolean()
    reply_to_list = fields.Boolean()
    digest_hour = fields.Integer(strict=True, validate=validate.Range(min=0, max=23))

    @validates_schema
    def _title_not_blank(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "title" in data and not data["title"].strip():
            raise ValidationError("A title is required.", "title")


class SessionInSchema(Schema):
    """Create or (partial=True) update a session: wall times plus an IANA zone."""

    title = fields.String(validate=[validate.Length(max=200), api_single_line])
    description = fields.String(validate=api_multi_line)
    start_wall = fields.NaiveDateTime(
        required=True,
        error_messages=WALL_TIME_ERRORS,
        metadata={"description": "wall time in `timezone`, e.g. 2025-09-09T10:00"},
    )
    end_wall = fields.NaiveDateTime(required=True, error_messages=WALL_TIME_ERRORS)
    timezone = fields.String(
        validate=_zone, metadata={"description": "IANA zone; defaults to the event's zone"}
    )
    join_url = fields.String(validate=[validate.Length(max=500), _optional(_url)])
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_DB_INT))


class PanelistInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), api_single_line])
    title = fields.String(validate=[validate.Length(max=200), api_single_line])
    affiliation = fields.String(validate=[validate.Length(max=200), api_single_line])
    pronouns = fields.String(validate=[validate.Length(max=40), api_single_line])
    email = fields.String(
        allow_none=True,
        validate=[validate.Length(max=320), _optional(_email)],
        metadata={"description": "lets the panelist post and moderate; never shown"},
    )
    bio = fields.String(validate=api_multi_line, metadata={"description": "Markdown"})
    photo_url = fields.String(validate=[validate.Length(max=500), _optional(_url)])
    links = fields.List(fields.String(validate=_url))

    @validates_schema
    def _name_not_blank(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "name" in data and not data["name"].strip():
            raise ValidationError("A name is required.", "name")


class PanelistLinkInSchema(Schema):
    role = fields.String(load_default="panelist", validate=validate.OneOf(list(PANELIST_ROLES)))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_DB_INT))


class _Partial:
    """Every field optional: the PATCH variant of an input schema (own name in OpenAPI)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)


class EventPatchSchema(_Partial, EventInSchema):
    pass


class SessionPatchSchema(_Partial, SessionInSchema):
    pass


class PanelistPatchSchema(_Partial, PanelistInSchema):
    pass
