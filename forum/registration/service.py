"""Registering with answers: the one function both the web form and the JSON API call.

The answers are checked before anything changes (a refused answer leaves no subscription
behind); then `subscriptions.subscribe` does what it always does (double opt-in, register
once, approval hold, seats), and the answers are stored with the registration in the same
transaction. Someone typing another person's address must not rewrite that person's
answers: a registration that already has answers and is past confirmation keeps them (the
person edits them from their preferences link).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Unpack

from forum.models import Event, Subscription
from forum.registration import answers as answer_rules
from forum.registration import notices
from forum.registration.answers import Checked, Raw
from forum.registration.questions import event_form
from forum.subscriptions import service as subscriptions


class AnswerErrors(ValueError):
    """Answers a person must fix: {question id: message}."""

    def __init__(self, errors: dict[int, str]):
        super().__init__("Some answers need your attention.")
        self.errors = errors


def check(event: Event, raw_answers: Mapping[int, Raw]) -> Checked:
    """The event's questions checked against raw answers (no change made)."""
    return answer_rules.check_answers(event_form(event), raw_answers)


def register(
    event: Event,
    raw_email: str,
    raw_answers: Mapping[int, Raw],
    **signup: Unpack[subscriptions.SignUp],
) -> Subscription:
    """Sign up with answers; raises AnswerErrors or subscriptions.SubscriptionError."""
    checked = check(event, raw_answers)
    if not checked.ok:
        raise AnswerErrors(checked.errors)
    subscription = subscriptions.subscribe(event, raw_email, **signup)
    if subscription.status == "pending" or not answer_rules.answers_of(subscription):
        changed = answer_rules.save_answers(
            event_form(event), subscription.participant_id, checked, subscription_id=subscription.id
        )
        notices.tell_contact(subscription, changed)
    return subscription


def edit_answers(subscription: Subscription, raw_answers: Mapping[int, Raw]) -> None:
    """The registrant changes their answers (preferences link); raises AnswerErrors."""
    form = event_form(subscription.event)
    checked = answer_rules.check_answers(form, raw_answers)
    if not checked.ok:
        raise AnswerErrors(checked.errors)
    changed = answer_rules.save_answers(
        form, subscription.participant_id, checked, subscription_id=subscription.id
    )
    notices.tell_contact(subscription, changed)
