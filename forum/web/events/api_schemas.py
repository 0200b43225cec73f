"""Marshmallow schemas of the JSON API: what goes in (validated) and what comes out.

Output mirrors the public event page: every session carries its wall time and zone
(the officer's truth), its instants in UTC and in the event's home zone (ISO 8601 with
offsets, so clients never guess), and the announcement's zone lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from forum.core import timezones
from forum.core.i18n import LANGUAGE_NAMES
from forum.core.text import lines, markdown
from forum.core.validation import (
    MAX_DB_INT,
    ApiEmail,
    api_multi_line,
    api_single_line,
    control_character_problem,
)
from forum.events import service as events
from forum.models import DELIVERY_MODES, EVENT_KINDS, PANELIST_ROLES
from forum.models.events import (
    EVENT_STATUSES,
    MODERATION_POLICIES,
    NON_MEMBER_POLICIES,
    SEARCH_LANGUAGES,
    SPAM_SCORE_RANGE,
)
from forum.subscriptions import service as subscription_service
from forum.web.helpers import session_zone_lines
from forum.webinars import seats

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# Typed loosely: marshmallow wants dict[str, str | list | dict] and dict is invariant.
WALL_TIME_ERRORS: dict[str, Any] = {
    "invalid": "Give the wall time as YYYY-MM-DDTHH:MM (a real date, years 1900-2199), e.g. 2025-09-09T10:00.",
    "invalid_awareness": (
        "Give the wall time without an offset (e.g. 2025-09-09T10:00); the zone goes in `timezone`."
    ),
}



def string_list(make: str | Callable[[Any], list[str]], description: str = "") -> fields.Field:
    """A computed list of lines (`make`: a method's name, or a function of the object),
    documented as an array of strings: apispec cannot tell such a field's type by itself."""
    doc: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    if description:
        doc["description"] = description
    if callable(make):
        return fields.Function(make, metadata=doc)
    return fields.Method(make, metadata=doc)

class _Pattern(validate.Regexp):
    """A Regexp that apispec documents as the field's `pattern`, matched against the whole
    value (Python's `$` would also accept a trailing newline), so the OpenAPI document and
    the server refuse exactly the same strings."""

    def __call__(self, value: Any) -> Any:
        if (
            not isinstance(value, str)
            or re.match(str(self.regex.pattern), value) is None
            or value.endswith("\n")
        ):
            raise ValidationError(self._format_error(value))
        return value


Pattern = _Pattern  # for the other API modules' schemas


#: White space and control characters, listed (Python's and ECMA's `\s` differ, e.g. on U+0085
#: and U+FEFF), so the document's patterns and the server refuse the same strings.
_SPACE = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"
HTTP_URL_PATTERN = rf"^https?://{_HOST}(?::[0-9]{{1,5}})?(?:[/?#][^{_SPACE}]*)?$"
_url = _Pattern(HTTP_URL_PATTERN, error=_l("“{input}” is not an http(s) URL."))
#: The web forms' address rule (`validation.normalize_email`); sign-up also asks the relay.
_email = ApiEmail(utf8_local_parts=subscription_service.utf8_local_parts)
_optional_url = _Pattern(f"^$|{HTTP_URL_PATTERN}", error=_l("“{input}” is not an http(s) URL."))
_optional_email = ApiEmail(optional=True)
#: Characters a single-line value may hold, and those of them that are not white space.
_LINE_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
_VISIBLE_CHAR = f"[^{_SPACE}]"
#: One line of text with something in it besides spaces (a title, a name): what the server
#: trims to is never empty, and the document says so, so a blank one is invalid input.
TEXT_LINE_PATTERN = f"^{_LINE_CHAR}*{_VISIBLE_CHAR}{_LINE_CHAR}*$"


class _TextLine(_Pattern):
    """TEXT_LINE_PATTERN, with a message that says which rule the value broke."""

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and (problem := control_character_problem(value)):
            raise ValidationError(problem)
        if isinstance(value, str) and re.search(_VISIBLE_CHAR, value) is None:
            raise ValidationError(_("Give some text, not only spaces."))
        return super().__call__(value)


text_line = _TextLine(TEXT_LINE_PATTERN)
http_url = _url
slug_pattern = _Pattern(SLUG_RE.pattern, error=_l("Use lower-case letters, digits and single hyphens."))

#: A wall time: date and clock time in `timezone`, no offset, seconds optional, 1900-2199.
WALL_TIME_PATTERN = r"^(?:19|2[01])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$"
_WALL_TIME_RE = re.compile(WALL_TIME_PATTERN)
WALL_TIME_FORMAT = "wall-time"


class WallTime(fields.NaiveDateTime):
    """A wall-clock time with no offset (the zone travels beside it). Documented as
    `type: string, format: wall-time` with WALL_TIME_PATTERN, not as `date-time`, which
    in OpenAPI means an RFC 3339 instant *with* an offset."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": WALL_TIME_PATTERN, **kwargs.pop("metadata", {})}
        metadata.setdefault(
            "description", "wall time in `timezone`: YYYY-MM-DDTHH:MM[:SS], no offset, e.g. 2025-09-09T10:00"
        )
        kwargs.setdefault("error_messages", WALL_TIME_ERRORS)
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and _WALL_TIME_RE.match(value):
            return super()._deserialize(value, attr, data, **kwargs)  # still refuses 30 February
        super()._deserialize(value, attr, data, **kwargs)  # its own message for an offset
        raise self.make_error("invalid")


def _zone(value: str) -> None:
    try:
        timezones.get_zone(value)
    except timezones.TimeInputError as exc:
        raise ValidationError(str(exc)) from None


class StrictBoolean(fields.Boolean):
    """JSON true or false only (marshmallow would also take "yes", 1 or "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def zone_name(description: str = "IANA time-zone name, e.g. America/Chicago") -> fields.String:
    """A time-zone name as every output schema publishes it (events, sessions, mentoring): the
    description says it is an IANA name so a client knows to look it up, not display it raw."""
    return fields.String(metadata={"description": description})


def _isoformat(value: Any) -> str | None:
    """RFC 3339 `date-time`, as the schema says: no seconds in the offset (see rfc3339)."""
    return timezones.rfc3339(value) if value is not None else None


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
    timezone = zone_name("IANA zone of the wall times")
    start_wall = WallTime()
    end_wall = WallTime()
    starts_at = fields.DateTime(metadata={"description": "instant, ISO 8601 in UTC (+00:00)"})
    ends_at = fields.DateTime()
    starts_at_local = fields.Method(
        "get_starts_local",
        metadata={"type": "string", "format": "date-time", "description": "instant in the event's zone"},
    )
    ends_at_local = fields.Method("get_ends_local", metadata={"type": "string", "format": "date-time"})
    zone_lines = string_list(
        "get_zone_lines",
        "`10:00 AM–6:00 PM (Eastern)`: the event's home zone, then each configured display zone",
    )

    def get_starts_local(self, obj: Any) -> str | None:
        return _isoformat(timezones.to_zone(obj.starts_at, obj.event.timezone))

    def get_ends_local(self, obj: Any) -> str | None:
        return _isoformat(timezones.to_zone(obj.ends_at, obj.event.timezone))

    def get_zone_lines(self, obj: Any) -> list[str]:
        return session_zone_lines(obj)


OFFICER_ONLY = "officer token only"


class OfficerSessionSchema(SessionSchema):
    """What an officer (API token) sees: the join link too, and notes after a write."""

    join_url = fields.String(metadata={"description": f"{OFFICER_ONLY}: the webinar link"})
    notes = string_list("get_notes", "things the officer should know, e.g. an ambiguous wall time was resolved")

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
    bio_html = fields.Function(
        lambda link: str(markdown(link.panelist.bio)),
        metadata={"type": "string", "description": "rendered HTML"},
    )
    photo_url = fields.String(attribute="panelist.photo_url")
    links = fields.List(fields.String(), attribute="panelist.link_list")
    role = fields.String(metadata={"enum": list(PANELIST_ROLES)})
    role_label = fields.String()
    position = fields.Integer()


class TopicSchema(Schema):
    """A topic events and pathways are filed under (the calendar's `?topic=`)."""

    slug = fields.String()
    name = fields.String()
    calendar_url = fields.Function(
        lambda t: url_for("calendar.index", topic=t.slug, _external=True),
        metadata={"type": "string", "format": "uri", "description": "the calendar filtered by it"},
    )
    feed_url = fields.Function(
        lambda t: url_for("feeds.topic_feed", slug=t.slug, _external=True),
        metadata={"type": "string", "format": "uri", "description": "its public calendar feed"},
    )


def topics_in(**kwargs: Any) -> fields.List:
    """Topics picked by address, for events and pathways alike (an unknown one is a 422)."""
    return fields.List(
        fields.String(validate=[validate.Length(min=1, max=80), slug_pattern]),
        validate=validate.Length(max=50),
        metadata={"description": "topic addresses (slugs) from the topic list; replaces the ones set"},
        **kwargs,
    )


class EventSummarySchema(Schema):
    slug = fields.String()
    kind = fields.String(metadata={"enum": list(EVENT_KINDS)})
    kind_label = fields.String()
    title = fields.String()
    summary = fields.String()
    status = fields.String(metadata={"enum": list(EVENT_STATUSES)})
    timezone = zone_name("the event's home zone (IANA)")
    starts_at = fields.DateTime(
        allow_none=True, metadata={"description": "first session's start; null without sessions"}
    )
    ends_at = fields.DateTime(allow_none=True)
    topics = fields.List(fields.Nested(TopicSchema))
    first_date = fields.Date(allow_none=True, metadata={"description": "first day, in the event's zone"})
    last_date = fields.Date(allow_none=True)
    url = fields.Function(
        lambda e: url_for("public.event", slug=e.slug, _external=True),
        metadata={"type": "string", "format": "uri", "description": "the public event page"},
    )


class EventSchema(EventSummarySchema):
    """Everything the announcement says."""

    description = fields.String(metadata={"description": "Markdown"})
    description_html = fields.Function(
        lambda e: str(markdown(e.description)), metadata={"type": "string", "description": "rendered HTML"}
    )
    learning_outcomes = string_list(lambda e: lines(e.learning_outcomes))
    audience = fields.String(metadata={"description": "who should attend"})
    language = fields.String(metadata={"enum": list(LANGUAGE_NAMES)})
    second_language = fields.String(metadata={"description": "empty, or the language of the second_* fields"})
    second_title = fields.String()
    second_summary = fields.String()
    second_outcomes = fields.Function(
        lambda e: lines(e.second_outcomes), metadata={"type": "array", "items": {"type": "string"}}
    )
    registration_info = fields.String(metadata={"description": "how to register, Markdown"})
    tech_requirements = fields.String()
    conduct_url = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    contact_phone = fields.String()
    published_at = fields.DateTime(allow_none=True, metadata={"description": "null while a draft"})
    cancelled_at = fields.DateTime(allow_none=True)
    sessions = fields.List(fields.Nested(SessionSchema))
    panelists = fields.List(fields.Nested(EventPanelistSchema), attribute="panelist_links")
    seats = fields.Function(
        lambda e: _seats(e),
        metadata={
            "type": "object",
            "description": "webinar series: `limit` (null = unlimited), `taken`, `left` (null = unlimited), "
            "`waiting` (counts only, never who)",
            "properties": {
                "limit": {"type": "integer", "nullable": True},
                "taken": {"type": "integer", "minimum": 0},
                "left": {"type": "integer", "minimum": 0, "nullable": True},
                "waiting": {"type": "integer", "minimum": 0},
            },
            "required": ["limit", "taken", "left", "waiting"],
            "additionalProperties": False,
        },
    )


def _seats(event: Any) -> dict[str, Any]:
    counts = seats.counts(event)
    return {"limit": counts.limit, "taken": counts.taken, "left": counts.left, "waiting": counts.waiting}


SPAM_DOC = (
    "non-member mail whose X-Spam-Score / X-Rspamd-Score is above this (or X-Spam-Flag: YES) "
    "is discarded or held without any notice"
)
SEARCH_LANGUAGE_DOC = "the language the archive's search stems words in (PostgreSQL text-search configuration)"
NON_MEMBER_DOC = "mail to the list from a non-member: held for a moderator, or discarded (never bounced)"
SEAT_LIMIT_DOC = (
    "webinar series: seats (null = unlimited); raising it gives seats to the waiting list, in order, "
    "with their invitations; lowering it removes nobody"
)
DOOR_MINUTES_DOC = "webinar series: personal join links open this many minutes before each session"
MAX_SEATS = 1_000_000
MAX_DOOR_MINUTES = 24 * 60


class OfficerEventSchema(EventSchema):
    """An event as an officer's token sees it: the public fields, join links in the sessions,
    and the list settings (absent from answers without a token)."""

    sessions = fields.List(
        fields.Nested(OfficerSessionSchema), metadata={"description": f"`join_url`: {OFFICER_ONLY}"}
    )
    moderation = fields.String(metadata={"enum": list(MODERATION_POLICIES), "description": OFFICER_ONLY})
    non_member_posts = fields.String(
        metadata={"enum": list(NON_MEMBER_POLICIES), "description": f"{OFFICER_ONLY}: {NON_MEMBER_DOC}"}
    )
    seat_limit = fields.Integer(
        allow_none=True, metadata={"description": f"{OFFICER_ONLY}: {SEAT_LIMIT_DOC}"}
    )
    door_minutes = fields.Integer(metadata={"description": f"{OFFICER_ONLY}: {DOOR_MINUTES_DOC}"})
    spam_score_limit = fields.Float(metadata={"description": f"{OFFICER_ONLY}: {SPAM_DOC}"})
    search_language = fields.String(
        metadata={"enum": list(SEARCH_LANGUAGES), "description": f"{OFFICER_ONLY}: {SEARCH_LANGUAGE_DOC}"}
    )
    archive_public = fields.Boolean(metadata={"description": OFFICER_ONLY})
    reply_to_list = fields.Boolean(metadata={"description": OFFICER_ONLY})
    digest_hour = fields.Integer(metadata={"description": f"{OFFICER_ONLY}: when the daily digest goes out"})
    dst_warnings = string_list(lambda e: events.dst_warnings(e), "sessions crossing a DST change")


class SubscriberSchema(Schema):
    """Who holds a subscription, as every officer-only list of people shows them: the CE record
    (web/ce/api.py) and the registrations (web/registration/api.py) extend it with their own
    key and their own columns, so the three fields read the same in both."""

    email = fields.Str()
    name = fields.Str()
    status = fields.Str()


class PanelistEventSchema(Schema):
    slug = fields.String(attribute="event.slug")
    title = fields.String(attribute="event.title")
    status = fields.String(attribute="event.status", metadata={"enum": list(EVENT_STATUSES)})
    role = fields.String(metadata={"enum": list(PANELIST_ROLES)})
    role_label = fields.String(metadata={"description": "the role in the site's language"})


class PanelistSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    affiliation = fields.String()
    pronouns = fields.String(
        metadata={"description": "as the panelist gives them (e.g. she/her); may be empty"}
    )
    bio = fields.String(metadata={"description": "Markdown"})
    bio_html = fields.Function(
        lambda p: str(markdown(p.bio)), metadata={"type": "string", "description": "rendered HTML"}
    )
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
    class Meta:
        unknown = RAISE  # a misspelt filter is a 422, not a silently unfiltered list

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
            slug_pattern,
        ],
    )
    kind = fields.String(load_default="eforum", validate=validate.OneOf(list(EVENT_KINDS)))
    title = fields.String(required=True, validate=[validate.Length(min=1, max=200), text_line])
    summary = fields.String(validate=[validate.Length(max=2000), api_multi_line])
    description = fields.String(validate=api_multi_line, metadata={"description": "Markdown"})
    learning_outcomes = fields.List(
        fields.String(validate=[validate.Length(min=1), api_single_line]),
        metadata={"description": "one outcome each"},
    )
    audience = fields.String(validate=api_multi_line)
    registration_info = fields.String(validate=api_multi_line)
    tech_requirements = fields.String(validate=api_multi_line)
    conduct_url = fields.String(validate=[validate.Length(max=500), _optional_url])
    contact_name = fields.String(validate=[validate.Length(max=200), api_single_line])
    contact_email = fields.String(validate=[validate.Length(max=320), _optional_email])
    contact_phone = fields.String(validate=[validate.Length(max=80), api_single_line])
    timezone = fields.String(
        load_default="America/New_York",
        validate=[validate.Length(max=64), _zone],
        metadata={"enum": timezones.all_zone_names()},
    )
    language = fields.String(
        validate=validate.OneOf(list(LANGUAGE_NAMES)), metadata={"description": "the event's own language"}
    )
    second_language = fields.String(
        validate=validate.OneOf(["", *LANGUAGE_NAMES]),
        metadata={"description": "readers in this language see second_title, second_summary, second_outcomes"},
    )
    second_title = fields.String(validate=[validate.Length(max=200), text_line])
    second_summary = fields.String(validate=[validate.Length(max=2000), api_multi_line])
    second_outcomes = fields.List(
        fields.String(validate=[validate.Length(min=1), api_single_line]),
        metadata={"description": "the learning outcomes in the second language, one each"},
    )
    moderation = fields.String(validate=validate.OneOf(list(MODERATION_POLICIES)))
    non_member_posts = fields.String(
        validate=validate.OneOf(list(NON_MEMBER_POLICIES)), metadata={"description": NON_MEMBER_DOC}
    )
    seat_limit = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_SEATS),
        metadata={"description": SEAT_LIMIT_DOC},
    )
    door_minutes = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_DOOR_MINUTES),
        metadata={"description": DOOR_MINUTES_DOC},
    )
    spam_score_limit = fields.Float(
        allow_nan=False, validate=validate.Range(*SPAM_SCORE_RANGE), metadata={"description": SPAM_DOC}
    )
    search_language = fields.String(
        validate=validate.OneOf(list(SEARCH_LANGUAGES)), metadata={"description": SEARCH_LANGUAGE_DOC}
    )
    archive_public = StrictBoolean()
    reply_to_list = StrictBoolean()
    digest_hour = fields.Integer(strict=True, validate=validate.Range(min=0, max=23))
    topics = topics_in()


class SessionInSchema(Schema):
    """Create or (partial=True) update a session: wall times plus an IANA zone."""

    title = fields.String(validate=[validate.Length(max=200), api_single_line])
    description = fields.String(validate=api_multi_line)
    start_wall = WallTime(required=True)
    end_wall = WallTime(
        required=True, metadata={"description": "wall time in `timezone`, after `start_wall`"}
    )
    timezone = fields.String(
        validate=[validate.Length(max=64), _zone],
        metadata={
            "description": "IANA zone; defaults to the event's zone",
            "enum": timezones.all_zone_names(),
        },
    )
    join_url = fields.String(validate=[validate.Length(max=500), _optional_url])
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_DB_INT))


class PanelistInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=200), text_line])
    title = fields.String(validate=[validate.Length(max=200), api_single_line])
    affiliation = fields.String(validate=[validate.Length(max=200), api_single_line])
    pronouns = fields.String(validate=[validate.Length(max=40), api_single_line])
    email = fields.String(
        allow_none=True,  # null or "" removes it
        validate=[validate.Length(max=320), _optional_email],
        metadata={"description": "lets the panelist post and moderate; never shown"},
    )
    bio = fields.String(validate=api_multi_line, metadata={"description": "Markdown"})
    photo_url = fields.String(validate=[validate.Length(max=500), _optional_url])
    links = fields.List(fields.String(validate=_url))


class PanelistLinkInSchema(Schema):
    role = fields.String(load_default="panelist", validate=validate.OneOf(list(PANELIST_ROLES)))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_DB_INT))


class _Partial(Schema):
    """Every field optional: the PATCH variant of an input schema (own name in OpenAPI).
    An empty object (or no body) changes nothing and is refused, like an unknown field."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(**kwargs)

    @validates_schema(pass_original=True)
    def _something_to_change(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        if not original:
            raise ValidationError(_("Send at least one field to change."))


class EventPatchSchema(_Partial, EventInSchema):
    pass


class SessionPatchSchema(_Partial, SessionInSchema):
    pass


class PanelistPatchSchema(_Partial, PanelistInSchema):
    pass


# --- subscriptions (no token: anyone may ask to join a published event) --------------------


class SubscriptionInSchema(Schema):
    """What the subscribe form asks; the answer is the same whatever the address's state."""

    email = fields.String(required=True, validate=[validate.Length(max=254), _email])
    name = fields.String(load_default="", validate=[validate.Length(max=200), api_single_line])
    mode = fields.String(
        load_default="each",
        validate=validate.OneOf(list(DELIVERY_MODES)),
        metadata={"description": "each message, a daily digest, or none (read on the web)"},
    )
    accept_conduct = StrictBoolean(
        required=True,
        validate=validate.Equal(True, error=_l("Please accept the code of conduct to join.")),
        metadata={"enum": [True], "description": "must be true: the event's code of conduct is accepted"},
    )
    answers = fields.Dict(
        keys=fields.String(validate=_Pattern(r"^[0-9]{1,10}$")),
        values=fields.Raw(
            metadata={
                "oneOf": [
                    {"type": "string", "maxLength": 4000},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 100},
                    {"type": "null"},
                ]
            }
        ),
        load_default=dict,
        validate=validate.Length(max=50),
        metadata={
            "description": "answers to the event's registration questions "
            "(GET /events/{slug}/questions): question id -> text, number, boolean or list of choices"
        },
    )


class SubscriptionAcceptedSchema(Schema):
    status = fields.String(metadata={"enum": ["check-inbox"]})
    message = fields.String()
