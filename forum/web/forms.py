"""WTForms classes for the officer pages: sign-in, events, sessions, panelists.

Field-level checks live here so every error can be shown next to its field; checks
that need the database (a slug already taken) are added by the views.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, Select

from forum.common import topics
from forum.common.branding import colour_problem
from forum.core import clock, timezones
from forum.core.i18n import LANGUAGE_NAMES
from forum.core.validation import CheckedForm, EmailAddress
from forum.events.service import REPEATS
from forum.models import EVENT_KINDS, PANELIST_ROLES
from forum.models.events import MODERATION_POLICIES, NON_MEMBER_POLICIES, SEARCH_LANGUAGES, SPAM_SCORE_RANGE

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TITLE_TOO_LONG = "The title is %(max)d characters at most; shorten it (it is not cut for you)."
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


class TitleLength(Length):
    """Length without the `maxlength` attribute: a browser silently cuts pasted text at
    maxlength, so an over-long title reaches the server and is refused with a message."""

    def __init__(self, max: int = 200) -> None:
        super().__init__(max=max, message=TITLE_TOO_LONG)
        self.field_flags: dict[str, object] = {}


def web_address(form: FlaskForm, field: Field) -> None:
    """An http(s) address with a host; anything else is refused with a readable message."""
    value = (field.data or "").strip()
    field.data = value
    if value and not is_web_address(value):
        raise ValidationError(_("Enter a full web address starting with https:// (or http://)."))


def is_web_address(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def zone_name(form: FlaskForm, field: Field) -> None:
    """A known IANA zone; the message is the one timezones.py writes."""
    try:
        timezones.get_zone(field.data or "")
    except timezones.TimeInputError as exc:
        raise ValidationError(str(exc)) from None


class CachedSelect(Select):
    """WTForms' Select for long fixed lists (the ~420 zones of a picker): rendering them
    was most of a public pathway page. The markup is kept by everything it depends on
    (choices, selected value, id, name, attributes), so it is Select's output exactly."""

    _rendered: dict[tuple[object, ...], Markup] = {}

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices or []
        if not all(isinstance(c, SelectChoice) and not c.render_kw for c in choices):
            return super().__call__(field, **kwargs)
        flags = tuple(sorted((k, getattr(field.flags, k)) for k in self.validation_attrs if hasattr(field.flags, k)))
        try:
            key = (
                tuple((c.value, c.label, c.optgroup) for c in choices),
                repr(field.data), field.id, field.name, tuple(sorted(kwargs.items())), flags, self.multiple,
            )
            hash(key)
        except TypeError:  # an unhashable attribute value: render as usual
            return super().__call__(field, **kwargs)
        html = self._rendered.get(key)
        if html is None:
            if len(self._rendered) >= 512:
                self._rendered.clear()
            html = self._rendered[key] = super().__call__(field, **kwargs)
        return html


def zone_choices() -> list[SelectChoice]:
    """The zone picker (timezones.zone_picker): display and common zones first, then every
    canonical zone by region, each with its current UTC offset. The same list as the
    public pickers."""
    return [
        SelectChoice(name, label, optgroup=group)
        for group, entries in timezones.zone_picker(clock.now())
        for name, label in entries
    ]


def _canonical_zone(value: str | None) -> str | None:
    """An old alias typed or stored (Asia/Calcutta) is saved as its canonical name."""
    return timezones.canonical(value.strip()) if isinstance(value, str) and value.strip() else value


def choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


STRIP = [_strip]
STRIP_LOWER = [_strip, lambda v: v.lower() if isinstance(v, str) else v]


def trimmed(label: str, max_length: int, description: str = "", *, kind: type[Field] = StringField) -> Any:
    """A text field trimmed of outer white space, of at most `max_length` characters: most of
    the officer forms' fields are one, and each is declared here in a line."""
    return kind(label, validators=[Length(max=max_length)], filters=STRIP, description=description)


def web_link(label: str, description: str = "") -> Any:
    """An optional http(s) address (a join link, a photo, a logo), trimmed, of at most 500
    characters: the one rule for every address an officer types."""
    return URLField(label, validators=[Length(max=500), web_address], filters=STRIP, description=description)


def slug_field(description: str, example: str = "") -> StringField:
    """The optional web-address field of the event and duplicate forms: the same checks, so an
    address the one form takes the other takes too (the service picks one from the title when empty)."""
    return StringField(
        _l("Web address (slug)"),
        validators=[
            Optional(),
            Length(min=2, max=80),
            Regexp(SLUG_RE, message=f"Use lower-case letters, digits and single hyphens{example}."),
        ],
        filters=STRIP_LOWER,
        description=description,
    )


class ZoneField(SelectField):
    """A <select> of zone names whose bad values get timezones' own message, not "Not a valid choice"."""

    def __init__(self, label: str | None = None, validators: list | None = None, **kwargs: Any):
        kwargs.setdefault("choices", zone_choices)
        kwargs.setdefault("render_kw", {"data-zone-search": ""})
        kwargs.setdefault("filters", [_canonical_zone])
        super().__init__(
            label,
            validators=[InputRequired(_l("Pick a time zone.")), zone_name, *(validators or [])],
            validate_choice=False,
            **kwargs,
        )


class LoginForm(CheckedForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address."))], filters=STRIP)
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


class SecondFactorForm(CheckedForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(_l("Type the code.")), Length(max=20)],
        filters=STRIP,
    )
F = TypeVar("F", bound=FlaskForm)
EXPIRED = _l("The form expired; reload the page and try again.")


def submitted(form: F, expired: str | LazyString = EXPIRED) -> F:
    """The form of a POST that only a page of ours sends (a button, a queue's decision): its
    CSRF token must still be good, or the answer is a 400 saying what to do."""
    if not form.validate_on_submit():
        abort(400, description=str(expired))
    return form


class ConfirmForm(CheckedForm):
    """A bare POST form (CSRF only) for buttons: publish, cancel, remove, move."""


class TopicsField(SelectMultipleField):
    """Topics picked by address (slug) as check boxes; the view fills `choices` from
    `topics_choices()`, and the service refuses an unknown one (a stale form)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [])
        kwargs.setdefault("validate_choice", False)
        kwargs.setdefault(
            "description", _l("Readers filter the calendar by topic and can subscribe to one topic's feed.")
        )
        super().__init__(label or _l("Topics"), **kwargs)


def topics_choices() -> list[tuple[str, str]]:
    """(slug, name) of every topic, for a TopicsField."""
    return [(t.slug, t.name) for t in topics.all_topics()]


class EventForm(CheckedForm):
    kind = SelectField(_l("Kind"), choices=choices(EVENT_KINDS))
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Give the event a title.")), TitleLength(200)],
        filters=STRIP,
    )
    slug = slug_field(
        "Used in the page address and the e-forum's list address. Left empty, it is made from the title.",
        ", e.g. ts-mentoring-2026",
    )
    summary = trimmed("Summary", 500, "One or two sentences for lists.", kind=TextAreaField)
    description = TextAreaField(_l("Description"), filters=STRIP, description=_l("Markdown."))
    learning_outcomes = TextAreaField(
        _l("Learning outcomes"), filters=STRIP, description=_l("One per line; shown as a list.")
    )
    audience = TextAreaField(_l("Who should attend"), filters=STRIP)
    tech_requirements = TextAreaField(_l("Tech requirements"), filters=STRIP)
    registration_info = TextAreaField(_l("How to register"), filters=STRIP, description=_l("Markdown."))
    topics = TopicsField()
    contact_name = trimmed("Contact name", 200)
    contact_email = EmailField(
        _l("Contact email"),
        validators=[Optional(), EmailAddress(), Length(max=320)],
        filters=STRIP,
    )
    contact_phone = trimmed("Contact phone", 80)
    conduct_url = web_link("Code of conduct address")
    timezone = ZoneField(
        _l("Home time zone"), description=_l("Sessions are entered in this zone unless you pick another.")
    )
    moderation = SelectField(_l("Moderation"), choices=choices(MODERATION_POLICIES))
    non_member_posts = SelectField(
        _l("Mail from non-members"),
        choices=choices(NON_MEMBER_POLICIES),
        description=_l("Never bounced (the sender may be forged); held ones appear in the moderation queue."),
    )
    spam_score_limit = FloatField(
        _l("Spam score limit"),
        # Optional: a form from before this field keeps the stored score; an emptied field is
        # refused by the editing rules ("Use a spam score from 0 to 100.")
        validators=[Optional(), NumberRange(*SPAM_SCORE_RANGE, _l("Use a score from 0 to 100."))],
        description=_l(
            "Mail from non-members that your mail server scored above this (X-Spam-Score, "
            "X-Rspamd-Score), or marked X-Spam-Flag: YES, is discarded or held without any notice."
        ),
    )
    search_language = SelectField(
        _l("Archive search language"),
        choices=choices(SEARCH_LANGUAGES),
        description=_l("Search finds other forms of a word (plurals, tenses) in this language."),
    )
    archive_public = BooleanField(_l("Archive is public"))
    reply_to_list = BooleanField(_l("Replies go to the list"))
    digest_hour = IntegerField(
        _l("Daily digest hour"),
        validators=[
            InputRequired(_l("Enter an hour from 0 to 23.")),
            NumberRange(0, 23, "Use an hour from 0 to 23."),
        ],
        description=_l("Local hour in the home time zone (0-23)."),
    )
    reminder_offsets = trimmed(
        "Reminders (minutes before each session)",
        100,
        "Comma-separated, e.g. 1440, 60 for a day and an hour before. Empty for none.",
    )

    language = SelectField(
        _l("Language of the event"),
        choices=choices(LANGUAGE_NAMES),
        default="en",
        description=_l("Its pages and mails use this language unless a reader's is the second language below."),
    )
    second_language = SelectField(
        _l("Second language"),
        choices=choices({"": "None", **LANGUAGE_NAMES}),
        default="",
        description=_l("Readers in this language see the title, summary and outcomes given below."),
    )
    second_title = StringField(_l("Title in the second language"), validators=[TitleLength(200)], filters=STRIP)
    second_summary = TextAreaField(
        _l("Summary in the second language"), validators=[Length(max=500)], filters=STRIP
    )
    second_outcomes = TextAreaField(
        _l("Learning outcomes in the second language"), filters=STRIP, description=_l("One per line.")
    )

    def validate_second_language(self, field: Field) -> None:
        if field.data and field.data == self.language.data:
            raise ValidationError(_("Pick a language other than the event's own, or None."))

    def validate_reminder_offsets(self, field: Field) -> None:
        parts = [p.strip() for p in (field.data or "").split(",") if p.strip()]
        for part in parts:
            if not part.isdigit() or not 0 < int(part) <= 60 * 24 * 30:
                raise ValidationError(_("“%(part)s” is not a number of minutes between 1 and 43200.", part=part))
        field.data = ",".join(str(m) for m in sorted({int(p) for p in parts}, reverse=True))


class SessionForm(CheckedForm):
    title = StringField(
        _l("Session title"),
        validators=[TitleLength(200)],
        filters=STRIP,
    )
    date = DateField(_l("Date"), validators=[InputRequired(_l("Pick the date."))])
    start_time = TimeField(
        _l("Start time"), format=TIME_FORMATS, validators=[InputRequired(_l("Enter a start time."))]
    )
    end_time = TimeField(_l("End time"), format=TIME_FORMATS, validators=[InputRequired(_l("Enter an end time."))])
    timezone = ZoneField(_l("Time zone"))
    join_url = web_link("Join link")
    description = TextAreaField(_l("Session description"), filters=STRIP, description=_l("Markdown; optional."))
    panelist_ids = SelectMultipleField(
        _l("Panelists in this session"),
        coerce=int,
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Shown with this session on the event page. Add people to the event under Panelists first."),
    )
    confirm_past = BooleanField(_l("Yes, this date is in the past"))

    def validate_end_time(self, field: Field) -> None:
        same_time(self, field)


def same_time(form: FlaskForm, field: Field) -> None:
    """An end before the start is the next day (23:00-01:00); an end equal to it, or one
    that would make an overnight session longer than 12 hours, is a typing mistake."""
    start, end = form.start_time.data, field.data
    if not (start and end):
        return
    if end == start:
        raise ValidationError(_("The end time is the same as the start time."))
    if end < start:
        minutes = (24 * 60 - (start.hour * 60 + start.minute)) + end.hour * 60 + end.minute
        if minutes > 12 * 60:
            raise ValidationError(
                ngettext("The end time must be after the start time (ending the next day, the session would last %(num)d hour).", "The end time must be after the start time (ending the next day, the session would last %(num)d hours).", minutes // 60)
            )


class SeriesForm(CheckedForm):
    """A webinar series in one step: first date, local hours, how often, how many."""

    title_pattern = trimmed(
        "Session titles",
        200,
        "{n} becomes the session's number, e.g. “Session {n}”. Optional.",
    )
    first_date = DateField(_l("First date"), validators=[InputRequired(_l("Pick the first date."))])
    start_time = TimeField(
        _l("Start time"), format=TIME_FORMATS, validators=[InputRequired(_l("Enter a start time."))]
    )
    end_time = TimeField(
        _l("End time"),
        format=TIME_FORMATS,
        validators=[InputRequired(_l("Enter an end time."))],
        description=_l("Earlier than the start means the next day."),
    )
    timezone = ZoneField(_l("Time zone"))
    repeat = SelectField(_l("Repeats"), choices=choices(REPEATS))
    count = IntegerField(
        _l("Number of sessions"),
        validators=[
            InputRequired(_l("Enter how many sessions.")),
            NumberRange(1, 52, "Add from 1 to 52 sessions at once."),
        ],
    )
    join_url = web_link("Join link")
    confirm_past = BooleanField(_l("Yes, the first date is in the past"))

    def validate_end_time(self, field: Field) -> None:
        same_time(self, field)


class DuplicateForm(CheckedForm):
    title = StringField(
        _l("Title of the copy"),
        validators=[DataRequired(_l("Give the copy a title.")), TitleLength(200)],
        filters=STRIP,
    )
    slug = slug_field("Left empty, it is made from the title.")
    first_date = DateField(
        _l("First session on"),
        validators=[InputRequired(_l("Pick the date of the first session."))],
        description=_l("Every session moves by the same number of days and keeps its local time."),
    )


class DayRangeForm(CheckedForm):
    """An e-forum runs one session per day: add them all at once."""

    first_date = DateField(_l("From"), validators=[InputRequired(_l("Pick the first day."))])
    last_date = DateField(_l("To"), validators=[InputRequired(_l("Pick the last day."))])
    start_time = TimeField(
        _l("Start time"), format=TIME_FORMATS, validators=[InputRequired(_l("Enter a start time."))]
    )
    end_time = TimeField(_l("End time"), format=TIME_FORMATS, validators=[InputRequired(_l("Enter an end time."))])
    timezone = ZoneField(_l("Time zone"))

    def validate_last_date(self, field: Field) -> None:
        first = self.first_date.data
        if first and field.data:
            if field.data < first:
                raise ValidationError(_("The last day must not be before the first day."))
            if (field.data - first).days > 60:
                raise ValidationError(_("At most 61 days can be added at once."))

    def validate_end_time(self, field: Field) -> None:
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_("The end time must be after the start time."))


def _role_choices() -> list[SelectChoice]:
    return choices(PANELIST_ROLES)


class PanelistForm(CheckedForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the panelist's name.")), Length(max=200)], filters=STRIP
    )
    title = trimmed("Job title", 200)
    affiliation = trimmed("Affiliation", 200)
    pronouns = trimmed("Pronouns", 40)
    email = EmailField(
        _l("Email"),
        validators=[Optional(), EmailAddress(), Length(max=320)],
        filters=STRIP,
        description=_l("Not shown publicly; lets them post and moderate."),
    )
    photo_url = web_link("Photo address")
    links = TextAreaField(_l("Links"), filters=STRIP, description=_l("One web address per line."))
    bio = TextAreaField(_l("Bio"), filters=STRIP, description=_l("Markdown."))

    def validate_links(self, field: Field) -> None:
        for number, line in enumerate((field.data or "").splitlines(), start=1):
            line = line.strip()
            if line and not is_web_address(line):
                raise ValidationError(
                    _("Line %(number)s (“%(line)s”) is not a web address starting with https://.", number=number, line=line)
                )


class PanelistOnEventForm(PanelistForm):
    """A new panelist, added straight onto an event with a role."""

    role = SelectField(_l("Role on this event"), choices=_role_choices())


class AttachPanelistForm(CheckedForm):
    """Reuse an existing panelist on this event."""

    panelist_id = HiddenField(validators=[DataRequired()])
    role = SelectField(_l("Role"), choices=_role_choices())


class RoleForm(CheckedForm):
    role = SelectField(_l("Role"), choices=_role_choices())


class BrandingForm(CheckedForm):
    """/manage/settings: the organisation's name and look (empty = the environment default)."""

    org_name = trimmed("Organisation name", 200)
    short_name = trimmed("Short name", 60, "Shown in the page header and titles, e.g. ALCTS.")
    logo_url = web_link("Logo address", "An https:// image, shown in the header at up to 40 px high.")
    brand_colour = StringField(
        _l("Brand colour"),
        validators=[Length(max=7)],
        filters=STRIP_LOWER,
        description=_l("# and six hex digits, e.g. #0b5394. It must keep 4.5:1 contrast with white."),
    )
    footer_text = trimmed("Footer text", 300)
    postal_address = trimmed(
        "Postal address",
        500,
        "Shown in the page footer and at the end of mail.",
        kind=TextAreaField,
    )
    mail_from_name = trimmed("Mail comes from", 100, "The sender name people see in their inbox.")

    def validate_brand_colour(self, field: Field) -> None:
        if field.data:
            problem = colour_problem(field.data)
            if problem:
                raise ValidationError(problem)
