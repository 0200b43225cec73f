"""The one mail webhooks send: to the officer whose endpoint was switched off."""

from __future__ import annotations

from forum.mail.compose import build_message
from forum.mail.outbox import enqueue
from forum.models import WebhookEndpoint


def endpoint_switched_off(endpoint: WebhookEndpoint) -> None:
    officer = endpoint.created_by
    if officer is None:
        return
    message = build_message(
        to=officer.email,
        subject="Webhook switched off: " + endpoint.url[:80],
        template="webhook_off",
        context={"endpoint": endpoint, "officer": officer},
    )
    enqueue(message, kind="webhook_off", key=f"webhook-off:{endpoint.id}:{endpoint.updated_at:%Y%m%d%H%M}")
