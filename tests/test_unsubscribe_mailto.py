"""List-Unsubscribe's mailto works: mail to it over LMTP leaves the list, forged tags do not."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import getaddresses

from sqlalchemy import select

from forum.core.extensions import db
from forum.discussion.service import receive
from forum.mail.compose import ListOptions, list_message
from forum.mail.lmtp import start_lmtp
from forum.models import Subscription

from .support.discussion import make_forum, subscribe


def _mailto_address(sub: Subscription) -> str:
    msg = list_message(
        sub.event, sub, ListOptions(subject="Hello", template="already_subscribed", automated=True)
    )
    header = str(msg["List-Unsubscribe"])
    mailto = next(part.strip(" <>") for part in header.split(",") if "mailto:" in part)
    return getaddresses([mailto.removeprefix("mailto:").split("?")[0]])[0][1]


def _request(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "someone@example.org"
    msg["To"] = to
    msg["Subject"] = "unsubscribe"
    msg["Auto-Submitted"] = "auto-generated"  # providers send these automatically
    msg.set_content("unsubscribe")
    return msg.as_bytes()


def test_mail_to_the_list_unsubscribe_address_leaves_over_lmtp(app) -> None:  # type: ignore[no-untyped-def]
    event = make_forum()
    sub = subscribe(event, "reader@example.org")
    db.session.commit()
    to = _mailto_address(sub)
    assert to.startswith(f"{event.slug}+leave-{sub.id}-")
    server = start_lmtp(app)
    try:
        with smtplib.LMTP(server.host, server.port) as lmtp:
            refused = lmtp.sendmail("someone@example.org", [to], _request(to))
        assert refused == {}
    finally:
        server.stop()
    db.session.expire_all()
    assert db.session.scalar(select(Subscription.status).where(Subscription.id == sub.id)) == "unsubscribed"


def test_a_forged_leave_address_is_refused_and_changes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    event = make_forum()
    sub = subscribe(event, "reader@example.org")
    db.session.commit()
    forged = f"{event.slug}+leave-{sub.id}-{'0' * 24}@{app.config['LIST_DOMAIN']}"
    outcome = receive(_request(forged), forged)
    assert outcome.status == "unknown_list" and outcome.exit_code == 67
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).status == "active"
