"""Officer forms for registration questions, presets and approval decisions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from forum.core.validation import CheckedForm
from forum.models import CHOICE_DISPLAYS, FORM_QUESTION_KINDS


class PresetFieldsForm(CheckedForm):
    """The wording of a question (a preset has no order, requirement or condition)."""

    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k, v) for k, v in FORM_QUESTION_KINDS.items()], default="short"
    )
    label = StringField(_l("Question"), validators=[Length(max=300)])
    help = TextAreaField(_l("Help text (optional)"), validators=[Length(max=1000)])
    choices = TextAreaField(
        _l("Choices, one per line"), description=_l("For “one choice” and “several choices” questions.")
    )
    display = SelectField(
        _l("Show one choice as"),
        choices=[SelectChoice(k, v) for k, v in CHOICE_DISPLAYS.items()],
        default="radio",
    )
    sensitive = BooleanField(
        _l("Sensitive (demographics, health or accessibility needs)"),
        description=_l("Always optional, with “Prefer not to say”; only officers see the answers, "
        "and exports leave them out unless asked."),
    )
    notify = BooleanField(
        _l("Mail each answer to the event's contact when it is given"),
        description=_l("For requests someone must act on before the event, such as accommodations."),
    )
    submit = SubmitField(_l("Save"))


class QuestionEditForm(PresetFieldsForm):
    required = BooleanField(_l("An answer is required"))
    condition_question = SelectField(
        _l("Show only if the answer to"), choices=[SelectChoice("", "(always show)")], default=""
    )
    condition_values = TextAreaField(
        _l("is one of (one per line)"), description=_l("Answers of the question chosen above.")
    )


class FromPresetForm(CheckedForm):
    preset = SelectField(_l("Question from the library"), coerce=int, choices=[])
    preset_required = BooleanField(_l("An answer is required"))  # not `required`: one page, two forms
    submit = SubmitField(_l("Add"))


class ApprovalSettingForm(CheckedForm):
    needs_approval = BooleanField(_l("Registrations need an officer's approval"))
    submit = SubmitField(_l("Save setting"))


class DecisionForm(CheckedForm):
    message = TextAreaField(_l("Message to the registrants (optional)"), validators=[Length(max=2000)])
    approve = SubmitField(_l("Approve selected"))
    decline = SubmitField(_l("Decline selected"))
