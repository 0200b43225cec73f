"""Forms of the officer's pathway pages, and the step picker's choices (events, sessions,
external resources) with the one function that turns a picked value into a Resource."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from forum.core.extensions import db
from forum.core.validation import CheckedForm
from forum.models import Event, Session
from forum.models.pathways import LearningNeed, Resource
from forum.pathways import service
from forum.web.forms import TopicsField


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ResourceForm(CheckedForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    url = StringField(_l("Web address"), validators=[Length(max=1000)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, label) for k, label in service.KIND_CHOICES])
    minutes = IntegerField(_l("Estimated minutes"), validators=[Optional()])
    topics = StringField(_l("Topics"), description=_l("Separate topics with commas."), validators=[Length(max=500)])
    description = TextAreaField(_l("Description"), description=_l("Markdown."))
    submit = SubmitField(_l("Save resource"))


class TopicsForm(CheckedForm):
    topics = StringField(_l("Topics"), description=_l("Separate topics with commas."), validators=[Length(max=500)])
    minutes = IntegerField(
        _l("Estimated minutes"), validators=[Optional()], description=_l("Empty: the length of its live sessions.")
    )
    submit = SubmitField(_l("Save"))


class ImportForm(CheckedForm):
    file = FileField(_l("CSV file"), validators=[FileRequired("Choose a CSV file.")])
    submit = SubmitField(_l("Import"))


class NeedForm(CheckedForm):
    title = StringField(_l("Learning need"), validators=[Length(max=200)])
    slug = StringField(_l("Address"), validators=[Length(max=80)], description=_l("Made from the title when empty."))
    description = TextAreaField(_l("Description"), description=_l("Markdown."))
    submit = SubmitField(_l("Save learning need"))


class PathwayForm(CheckedForm):
    title = StringField(_l("Title"), validators=[Length(max=200)])
    slug = StringField(
        _l("Address"),
        validators=[Length(max=80)],
        description=_l("/pathways/<address>; made from the title when empty."),
    )
    audience = StringField(
        _l("Audience"), validators=[Length(max=300)], description=_l("Who it is for, in one line.")
    )
    summary = TextAreaField(_l("Summary"))
    description = TextAreaField(_l("Introduction"), description=_l("Markdown."))
    needs = MultiCheckboxField(_l("Serves these learning needs"), coerce=int)
    topics = TopicsField()
    submit = SubmitField(_l("Save pathway"))


class StepForm(CheckedForm):
    source = SelectField(_l("Resource"))
    why = StringField(_l("Why this step"), validators=[Length(max=500)])
    stage = StringField(
        _l("Stage"), validators=[Length(max=120)], description=_l("Empty: same stage as the step before.")
    )
    submit = SubmitField(_l("Add step"))


class StepEditForm(CheckedForm):
    why = StringField(_l("Why this step"), validators=[Length(max=500)])
    stage = StringField(_l("Stage"), validators=[Length(max=120)])
    submit = SubmitField(_l("Save step"))


def need_choices() -> list[SelectChoice]:
    return [
        SelectChoice(n.id, n.title)
        for n in db.session.scalars(select(LearningNeed).order_by(LearningNeed.position))
    ]


def source_choices() -> list[SelectChoice]:
    """Everything a step can point at: external resources, events, single sessions."""
    out = [SelectChoice("", "Choose a resource…")]
    out += [
        SelectChoice(f"resource:{r.id}", f"{r.kind_label}: {r.title}") for r in service.find_resources("")
    ]
    for event in db.session.scalars(select(Event).where(Event.status != "cancelled").order_by(Event.title)):
        out.append(SelectChoice(f"event:{event.id}", f"Event: {event.title}"))
        if len(event.sessions) > 1:
            for s in event.sessions:
                if s.status != "cancelled":
                    out.append(
                        SelectChoice(
                            f"session:{s.id}",
                            f"  Session: {event.title}: {s.display_title} ({s.start_local:%Y-%m-%d})",
                        )
                    )
    return out


def resolve_source(value: str) -> Resource:
    kind, _colon, raw = (value or "").partition(":")
    if not raw.isdigit():
        raise service.PathwayError(_("Choose a resource for this step."), "source")
    if kind == "resource":
        resource = db.session.get(Resource, int(raw))
        if resource is not None:
            return resource
    elif kind == "event":
        event = db.session.get(Event, int(raw))
        if event is not None:
            return service.resource_for_event(event)
    elif kind == "session":
        session = db.session.get(Session, int(raw))
        if session is not None:
            return service.resource_for_session(session)
    raise service.PathwayError(_("That resource no longer exists."), "source")
