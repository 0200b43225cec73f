"""Officer forms for registration questions, presets and approval decisions."""

from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from forum.core.validation import CheckedForm
from forum.models import CHOICE_DISPLAYS, FORM_QUESTION_KINDS


class PresetFieldsForm(CheckedForm):
    """The wording of a question (a preset has no order, requirement or condition)."""

    kind = SelectField(
        "Kind", choices=[SelectChoice(k, v) for k, v in FORM_QUESTION_KINDS.items()], default="short"
    )
    label = StringField("Question", validators=[Length(max=300)])
    help = TextAreaField("Help text (optional)", validators=[Length(max=1000)])
    choices = TextAreaField(
        "Choices, one per line", description="For “one choice” and “several choices” questions."
    )
    display = SelectField(
        "Show one choice as",
        choices=[SelectChoice(k, v) for k, v in CHOICE_DISPLAYS.items()],
        default="radio",
    )
    sensitive = BooleanField(
        "Sensitive (demographics, health or accessibility needs)",
        description="Always optional, with “Prefer not to say”; only officers see the answers, "
        "and exports leave them out unless asked.",
    )
    notify = BooleanField(
        "Mail each answer to the event's contact when it is given",
        description="For requests someone must act on before the event, such as accommodations.",
    )
    submit = SubmitField("Save")


class QuestionEditForm(PresetFieldsForm):
    required = BooleanField("An answer is required")
    condition_question = SelectField(
        "Show only if the answer to", choices=[SelectChoice("", "(always show)")], default=""
    )
    condition_values = TextAreaField(
        "is one of (one per line)", description="Answers of the question chosen above."
    )


class FromPresetForm(CheckedForm):
    preset = SelectField("Question from the library", coerce=int, choices=[])
    preset_required = BooleanField("An answer is required")  # not `required`: one page, two forms
    submit = SubmitField("Add")


class ApprovalSettingForm(CheckedForm):
    needs_approval = BooleanField("Registrations need an officer's approval")
    submit = SubmitField("Save setting")


class ButtonForm(CheckedForm):
    submit = SubmitField("Go")


class DecisionForm(CheckedForm):
    message = TextAreaField("Message to the registrants (optional)", validators=[Length(max=2000)])
    approve = SubmitField("Approve selected")
    decline = SubmitField("Decline selected")
