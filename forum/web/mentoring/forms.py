"""Forms of the mentoring pages: the application (both roles), "tell me", the officer's forms.

The forms only carry what was typed; every rule (window, membership, a guardian for a
minor, the questions' answers) is checked by forum.mentoring, which names the field to
show its message next to.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from forum.core import timezones
from forum.core.validation import CheckedForm
from forum.models.mentoring import AVAILABILITY, CAREER_STAGES, CRITERIA, SENSITIVE_SECTIONS
from forum.web.forms import CachedSelect, choices

STAGE_LABELS = {
    "student": _l("Student"),
    "early": _l("Early career"),
    "returning": _l("Returning to the profession"),
    "changing": _l("Changing specialty"),
    "mid": _l("Mid career"),
    "senior": _l("Senior"),
}
AVAILABILITY_LABELS = {
    "weekday-mornings": _l("Weekday mornings"),
    "weekday-afternoons": _l("Weekday afternoons"),
    "weekday-evenings": _l("Weekday evenings"),
    "weekends": _l("Weekends"),
}
SECTION_LABELS = {
    "gender": _l("Gender"),
    "region": _l("Geographic region"),
    "ethnicity": _l("Race/Ethnicity"),
}
CRITERIA_LABELS = {
    "interests": _l("Shared interests and specialties"),
    "stage": _l("Career stage gap"),
    "zone": _l("Time-zone distance"),
    "availability": _l("Availability"),
    "language": _l("Language"),
    "preferences": _l("The applicants' own preferences"),
}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _hour_label(hour: int) -> str:
    return f"{(hour % 12) or 12}:00 {'AM' if hour < 12 else 'PM'}"


class ProfileFields(CheckedForm):
    name = StringField(_l("Your name"), validators=[Length(max=200)])
    bio = TextAreaField(
        _l("A few lines about you"), description=_l("Your match reads this in the introduction.")
    )
    timezone = SelectField(_l("Your time zone"), default="America/New_York", widget=CachedSelect())
    checkin_hour = SelectField(
        _l("Hour for your monthly check-in mail"),
        coerce=int,
        choices=[SelectChoice(h, _hour_label(h)) for h in range(6, 22)],
        default=10,
    )
    interests = StringField(
        _l("Interests and specialties"),
        description=_l("Separate them with commas."),
        validators=[Length(max=1000)],
    )
    stage = SelectField(_l("Career stage"), choices=[SelectChoice(k, STAGE_LABELS[k]) for k in CAREER_STAGES])
    languages = StringField(_l("Languages you speak"), default="English", validators=[Length(max=200)])
    availability = MultiCheckboxField(
        _l("When you are free to meet"),
        choices=[SelectChoice(k, AVAILABILITY_LABELS[k]) for k in AVAILABILITY],
    )
    prefer_same = MultiCheckboxField(
        _l("Match me with someone who shares my…"),
        description=_l("Optional. Used only if you ask, and only to compare with your match's answer."),
        choices=[SelectChoice(k, SECTION_LABELS[k]) for k in SENSITIVE_SECTIONS],
    )
    capacity = SelectField(
        _l("Mentees you could take"),
        coerce=int,
        choices=[SelectChoice(n, str(n)) for n in range(1, 6)],
        default=1,
    )
    member_number = StringField(_l("Member number"), validators=[Length(max=60)])

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(z, z.replace("_", " ")) for z in timezones.all_zone_names()]


class ApplicationForm(ProfileFields):
    email = EmailField(_l("Email address"), validators=[Length(max=320)])
    adult = BooleanField(_l("I am 18 or older"), default=True)
    guardian_name = StringField(_l("Parent's or guardian's name"), validators=[Length(max=200)])
    guardian_email = EmailField(_l("Parent's or guardian's email address"), validators=[Length(max=320)])
    guardian_address = TextAreaField(_l("Parent's or guardian's postal address"))
    submit = SubmitField(_l("Apply"))


class EditForm(ProfileFields):
    submit = SubmitField(_l("Save changes"))


class WatchForm(CheckedForm):
    email = EmailField(_l("Email address"), validators=[Length(max=320)])
    submit = SubmitField(_l("Tell me when applications open"))


class CheckInForm(CheckedForm):
    answer = SelectField(_l("How is it going?"), choices=[])
    note = TextAreaField(
        _l("A note for the organisers (optional)"), validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField(_l("Send"))


class ProgrammeForm(CheckedForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    slug = StringField(
        _l("Address"), validators=[Length(max=80)], description=_l("Lower-case letters, digits, hyphens.")
    )
    description = TextAreaField(_l("Description"), description=_l("Markdown."))
    eligibility = TextAreaField(_l("Who may apply"))
    timezone = SelectField(_l("Programme's time zone"), default="America/Chicago", widget=CachedSelect())
    length_months = IntegerField(_l("Length in months"), default=12)
    checkin_months = IntegerField(_l("Check in every … months"), default=1)
    contact_email = EmailField(_l("Officer's address for alerts"), validators=[Length(max=320)])
    submit = SubmitField(_l("Save programme"))

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(z, z.replace("_", " ")) for z in timezones.all_zone_names()]


class CycleForm(CheckedForm):
    name = StringField(_l("Cycle"), validators=[Length(max=120)], description=_l("Such as “Fall 2027”."))
    opens = StringField(
        _l("Applications open"),
        description=_l("Local time in the programme's zone, such as 2027-09-01 09:00."),
    )
    closes = StringField(_l("Applications close"), description=_l("Local time in the programme's zone."))
    submit = SubmitField(_l("Save cycle"))


class MembersForm(CheckedForm):
    members = TextAreaField(
        _l("Member list"), description=_l("Addresses or member numbers, one per line or as CSV.")
    )
    replace = BooleanField(_l("Replace the whole list"))
    submit = SubmitField(_l("Import"))


class WeightsForm(CheckedForm):
    submit = SubmitField(_l("Suggest again"))


def weight_fields() -> list[tuple[str, Any]]:
    return [(name, CRITERIA_LABELS[name]) for name in CRITERIA]


class StoryForm(CheckedForm):
    text = TextAreaField(_l("Your story"), validators=[Length(max=10000)])
    may_publish = BooleanField(_l("The organisers may publish it in the newsletter, with my name"))
    submit = SubmitField(_l("Send my story"))


class MailForm(CheckedForm):
    subject = StringField(_l("Subject"), validators=[Length(max=200)])
    body = TextAreaField(_l("Message"), description=_l("Markdown."))
    send_at = StringField(_l("Send at (optional)"), validators=[Length(max=40)])
    submit = SubmitField(_l("Send"))


class _QuestionFields(CheckedForm):
    """What an application question is, written or changed (the add and edit forms)."""

    kind = SelectField(_l("Kind"), choices=[])
    label = StringField(_l("Question"), validators=[Length(max=300)])
    choices = TextAreaField(_l("Choices"), description=_l("One per line, for choice questions."))
    required = BooleanField(_l("An answer is needed"))
    sensitive = BooleanField(_l("Sensitive (optional, officers only, aggregates of 5 or more)"))


class QuestionAddForm(_QuestionFields):
    role = SelectField(
        _l("Application"),
        choices=choices({"mentee": _l("Mentee application"), "mentor": _l("Mentor application")}),
    )
    preset_id = SelectField(_l("From a preset"), choices=[], default="")
    submit = SubmitField(_l("Add question"))


class QuestionEditForm(_QuestionFields):
    """One application question's wording, changed in place (its answers stay with it)."""

    submit = SubmitField(_l("Save question"))
