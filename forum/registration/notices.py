"""Answers someone must act on (accommodation requests) reach the event's contact when they
are given, not only in the export: one mail per registration that gives or changes them,
listing every such answer, enqueued in the registration's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from forum.common import subjects
from forum.core import clock
from forum.core.extensions import db
from forum.core.urls import external_url
from forum.mail.compose import build_message
from forum.mail.headers import address
from forum.mail.outbox import enqueue_for
from forum.models import FormAnswer, FormQuestion, Subscription
from forum.registration.answers import shown


def tell_contact(subscription: Subscription, changed: Sequence[FormAnswer]) -> bool:
    """Mail the contact the answers to "notify" questions among `changed`; True if queued.
    Nothing goes when the event has no contact address (the answers stay on the officer
    pages and in the export)."""
    event = subscription.event
    if not event.contact_email:
        return False
    items = []
    for answer in changed:
        question = answer.question or db.session.get(FormQuestion, answer.question_id)
        if question is not None and question.notify:
            items.append((question.label, shown(answer)))
    if not items:
        return False
    person = subscription.participant
    msg = build_message(
        to=address(event.contact_email, event.contact_name),
        subject=subjects.subject("A registrant's request", event, person.name or person.email),
        template="registration_request",
        context={
            "event": event,
            "person": person,
            "items": items,
            "answers_url": external_url("approvals.answers", slug=event.slug),
        },
        headers={"Auto-Submitted": "auto-generated"},
    )
    key = f"registration-request:{subscription.id}:{clock.now().isoformat()}"
    enqueue_for(subscription, msg, "registration-request", key)
    return True
