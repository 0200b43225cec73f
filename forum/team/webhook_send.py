"""Sending webhook deliveries: the scheduler's `webhooks` job, never a web request.

Each delivery is signed per Standard Webhooks (the `standardwebhooks` reference library:
`webhook-id` is the receiver's idempotency key, `webhook-timestamp`, `webhook-signature`)
and POSTed through the guarded client. A 2xx delivers it; anything else is tried again after
30 s, 1, 2, 4 ... minutes (at most an hour apart) until a day has passed since it was written;
then it has failed, and its endpoint is switched off with a mail to the officer who made it
(at least once: a receiver may see one notice twice and uses the id to tell).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from forum.common import fanout
from forum.common.jobs import register_job, reporting
from forum.core import clock, outbound
from forum.core.extensions import db
from forum.models import WebhookDelivery, WebhookEndpoint
from forum.team import webhook_mail, webhook_post

GIVE_UP_AFTER = timedelta(days=1)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
BATCH = 200

Poster = Callable[[str, bytes, dict[str, str]], webhook_post.PostAnswer]


def default_poster() -> Poster:
    policy = outbound.Policy.from_config(current_app.config)
    return lambda url, body, headers: webhook_post.post(url, body, headers, policy=policy)


def signed_headers(delivery: WebhookDelivery, secret: str, at: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(delivery.msg_id, at, delivery.payload)
    return {
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


#: How long the job may spend writing pending fan-outs' rows (an import's deliveries) first.
EXPAND_SECONDS = 10.0


def deliver_due(at: datetime | None = None, post: Poster | None = None, limit: int = BATCH) -> list[str]:
    """Send what is due by `at`; one line per endpoint switched off. Commits per delivery.
    Pending fan-outs (an import's registrations) are written first, as the mail sender does."""
    fanout.expand_pending(budget_seconds=EXPAND_SECONDS)
    at = at or clock.now()
    post = post or default_poster()
    lines: list[str] = []
    due = db.session.scalars(
        select(WebhookDelivery)
        .join(WebhookDelivery.endpoint)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= at,
            WebhookEndpoint.active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    for delivery in due:
        endpoint = delivery.endpoint
        if not endpoint.active:  # switched off earlier in this batch
            continue
        answer = post(endpoint.url, delivery.payload.encode(), signed_headers(delivery, endpoint.secret, at))
        delivery.attempts += 1
        delivery.last_status = answer.status
        delivery.last_error = answer.error[:100]
        delivery.last_response = answer.body[:2000]
        if answer.ok:
            delivery.status = "delivered"
            delivery.delivered_at = at
        elif at - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = "failed"
            lines.append(_switch_off(endpoint, at))
        else:
            delivery.next_attempt_at = at + backoff(delivery.attempts)
        db.session.commit()
    return lines


#: a line per endpoint switched off
register_job(
    "webhooks", "send signed webhook deliveries that are due (and retry failed ones)", reporting(deliver_due)
)


def _switch_off(endpoint: WebhookEndpoint, at: datetime) -> str:
    """An endpoint that has failed for a day stops receiving; its maker hears of it by mail."""
    endpoint.active = False
    endpoint.disabled_reason = f"Switched off {at:%Y-%m-%d %H:%M} UTC: deliveries failed for a day."
    if endpoint.created_by is not None:
        webhook_mail.endpoint_switched_off(endpoint)
    return f"webhook endpoint {endpoint.id} switched off"
