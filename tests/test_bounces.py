"""Bounces a relay reports later (RFC 3464 DSNs) reach the subscriber's VERP address over
LMTP and count like a 5xx refusal: three disable the subscription; delays, forged
addresses and auto-replies count nothing and are never answered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

import pytest

from forum.core import clock
from forum.core.extensions import db
from forum.mail.compose import ListOptions, list_message
from forum.mail.links import bounce_address
from forum.mail.outbox import enqueue
from forum.mail.sender import send_due
from forum.models import Subscription
from tests.conftest import csrf_from
from tests.support.discussion import (
    DOMAIN,
    LIST,
    OPEN_AT,
    lmtp_send,
    lmtp_server,
    make_forum,
    message,
    queued,
    subscribe,
)
from tests.support.smtp import SMTPServer, running_smtp_server, use_test_templates
from tests.support.subscriptions import login_officer


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def forum(app, smtp_server):  # type: ignore[no-untyped-def]
    """An open e-forum: Ann posts, Bob reads each message; mail goes to the test SMTP server."""
    app.config["MAIL_URL"] = smtp_server.url
    app.config["BOUNCE_LIMIT"] = 3
    event = make_forum()
    subscribe(event, "ann@example.org", "Ann Reader", posts_approved=1)
    bob = subscribe(event, "bob@example.org", "Bob")
    return event, bob


def dsn(to: str, recipient: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A delivery status notification shaped like Postfix's (multipart/report, RFC 3464)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@relay.example.net (Mail Delivery System)"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = formatdate()
    report["Message-ID"] = make_msgid(domain="relay.example.net")
    report["Auto-Submitted"] = "auto-replied"
    report.attach(
        MIMEText(
            "This is the mail system at host relay.example.net.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.\n",
            "plain",
        )
    )
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; relay.example.net"
    per_message["X-Postfix-Queue-ID"] = "3F2A11C0042"
    per_message["X-Postfix-Sender"] = f"rfc822; {to}"
    per_message["Arrival-Date"] = formatdate()
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {recipient}"
    per_recipient["Original-Recipient"] = f"rfc822;{recipient}"
    per_recipient["Action"] = action
    per_recipient["Status"] = status
    per_recipient["Remote-MTA"] = "dns; mx.example.org"
    reply = "550" if status.startswith("5") else "451"
    per_recipient["Diagnostic-Code"] = f"smtp; {reply} {status} <{recipient}>: Recipient address rejected"
    delivery_status = Message()
    delivery_status["Content-Type"] = "message/delivery-status"
    delivery_status["Content-Description"] = "Delivery report"
    delivery_status.set_payload([per_message, per_recipient])
    report.attach(delivery_status)
    headers = MIMEText(f"From: <{LIST}>\nTo: <{recipient}>\nSubject: Mentoring\n", "rfc822-headers")
    report.attach(headers)
    return report.as_bytes()


def vacation(to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Bob <bob@example.org>"
    msg["To"] = to
    msg["Subject"] = "Out of office: Mentoring at small libraries"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content("I am away until Monday.")
    return msg.as_bytes()


def bounces_of(sub: Subscription) -> tuple[int, str]:
    db.session.expire_all()
    fresh = db.session.get(Subscription, sub.id)
    assert fresh is not None
    return fresh.hard_bounces, fresh.status


def post_and_send(app, smtp_server: SMTPServer, msgid: str) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        [(code, text)] = lmtp_send(server, message(msgid=msgid), [LIST])
        assert code == 250, text
        assert send_due().failed == 0


def report_over_lmtp(app, raw: bytes, to: str) -> list[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    with lmtp_server(app) as server:
        return lmtp_send(server, raw, [to], mail_from="")  # DSNs have an empty return path


def test_list_mail_goes_out_with_the_subscribers_verp_return_path(app, forum, smtp_server):  # type: ignore[no-untyped-def]
    event, bob = forum
    post_and_send(app, smtp_server, "<verp@example.org>")
    [got] = smtp_server.to("bob@example.org")
    assert got.mail_from == bounce_address(bob)
    assert got.mail_from.startswith(f"{event.slug}+bounce-{bob.id}-") and got.mail_from.endswith(f"@{DOMAIN}")
    assert got.message["From"].addresses[0].addr_spec == LIST  # the visible From is still the list
    [ann] = smtp_server.to("ann@example.org")
    assert ann.mail_from != got.mail_from  # each subscriber has a return path of its own


def test_a_hard_bounce_report_over_lmtp_counts_one_bounce(app, forum):  # type: ignore[no-untyped-def]
    _, bob = forum
    [(code, _)] = report_over_lmtp(app, dsn(bounce_address(bob), "bob@example.org"), bounce_address(bob))
    assert code == 250
    assert bounces_of(bob) == (1, "active")
    assert queued() == []  # a bounce is never answered


def test_three_hard_bounces_disable_the_subscription_and_the_next_post_skips_it(  # type: ignore[no-untyped-def]
    app, forum, smtp_server
):
    """Three hard bounces on three different days disable Bob (one a day is scored)."""
    _, bob = forum
    to = bounce_address(bob)
    with lmtp_server(app) as server:
        for day in range(3):
            with clock.frozen(OPEN_AT + timedelta(days=day)):
                [(code, _)] = lmtp_send(server, dsn(to, "bob@example.org"), [to], mail_from="")
            assert code == 250
            assert bounces_of(bob) == (day + 1, "disabled" if day == 2 else "active")
    post_and_send(app, smtp_server, "<after-bounces@example.org>")
    assert smtp_server.to("bob@example.org") == []
    assert len(smtp_server.to("ann@example.org")) == 1


def test_a_burst_of_hard_bounces_on_one_day_counts_once(app, forum, smtp_server):  # type: ignore[no-untyped-def]
    """A new address that refuses its welcome, invite and first post in one send run
    (three 5xx) and whose relay then sends a late DSN too has one bad day, not four
    strikes; the next day counts again."""
    event, bob = forum
    use_test_templates(app)
    smtp_server.script("bob@example.org", "550", "550", "550")
    with clock.frozen(OPEN_AT):
        for n in range(3):
            msg = list_message(
                event, bob, ListOptions(subject=f"Mail {n}", template="test_note", context={"body": "b"})
            )
            enqueue(msg, kind="test", key=f"burst:{n}", subscription_id=bob.id, event_id=event.id)
        db.session.commit()
        report = send_due()
        assert report.failed == 3 and report.bounced_subscriptions == {bob.id}
        assert bounces_of(bob) == (1, "active")
        to = bounce_address(bob)
        with lmtp_server(app) as server:
            [(code, _)] = lmtp_send(server, dsn(to, "bob@example.org"), [to], mail_from="")
        assert code == 250 and bounces_of(bob) == (1, "active")
    with clock.frozen(OPEN_AT + timedelta(days=1)):
        with lmtp_server(app) as server:
            lmtp_send(server, dsn(to, "bob@example.org"), [to], mail_from="")
        assert bounces_of(bob) == (2, "active")


def test_delayed_and_temporary_reports_count_nothing(app, forum):  # type: ignore[no-untyped-def]
    _, bob = forum
    to = bounce_address(bob)
    with lmtp_server(app) as server:
        replies = lmtp_send(server, dsn(to, "bob@example.org", "delayed", "4.4.1"), [to], mail_from="")
        replies += lmtp_send(server, dsn(to, "bob@example.org", "failed", "4.2.2"), [to], mail_from="")
    assert [code for code, _ in replies] == [250, 250]
    assert bounces_of(bob) == (0, "active")


def test_a_forged_bounce_address_is_refused_and_counts_nothing(app, forum):  # type: ignore[no-untyped-def]
    event, bob = forum
    ann = db.session.scalar(db.select(Subscription).where(Subscription.id != bob.id))
    forged = f"{event.slug}+bounce-{bob.id}-{'0' * 24}@{DOMAIN}"
    borrowed = bounce_address(ann).replace(f"+bounce-{ann.id}-", f"+bounce-{bob.id}-")  # Ann's tag
    for to in (forged, borrowed):
        [(code, _)] = report_over_lmtp(app, dsn(to, "bob@example.org"), to)
        assert code == 550
    assert bounces_of(bob) == (0, "active")


def test_an_auto_reply_to_the_bounce_address_counts_nothing_and_gets_no_reply(app, forum):  # type: ignore[no-untyped-def]
    _, bob = forum
    to = bounce_address(bob)
    with lmtp_server(app) as server:
        [(code, _)] = lmtp_send(server, vacation(to), [to], mail_from="bob@example.org")
        [(human, _)] = lmtp_send(
            server, message(sender="bob@example.org", to=to), [to], mail_from="bob@example.org"
        )
    assert (code, human) == (250, 250)
    assert bounces_of(bob) == (0, "active")
    assert queued() == []


def test_inject_takes_a_bounce_report_with_exit_0(app, forum):  # type: ignore[no-untyped-def]
    _, bob = forum
    to = bounce_address(bob)
    result = app.test_cli_runner().invoke(
        args=["forum", "inject", "--to", to, "--sender", ""], input=dsn(to, "bob@example.org")
    )
    assert result.exit_code == 0, result.output
    assert bounces_of(bob) == (1, "active")


def test_an_smtputf8_report_is_read_like_any_other() -> None:
    """RFC 6533's message/global-delivery-status (sent for SMTPUTF8 mail) is a report too."""
    from forum.mail.bounces import delivery_statuses

    raw = dsn(f"mentoring+bounce-1-{'a' * 24}@{DOMAIN}", "bob@example.org")
    raw = raw.replace(b"message/delivery-status", b"message/global-delivery-status")
    raw = raw.replace(b'report-type="delivery-status"', b'report-type="global-delivery-status"')
    [status] = delivery_statuses(raw) or []
    assert (status.recipient, status.action, status.status, status.is_hard) == (
        "bob@example.org",
        "failed",
        "5.1.1",
        True,
    )


def test_an_officer_re_enables_a_disabled_subscription(app, forum, smtp_server, client):  # type: ignore[no-untyped-def]
    """Disabled by bounces, Bob shows a Re-enable button; pressing it puts him back on the
    list with a clean count, and the next post reaches him."""
    event, bob = forum
    to = bounce_address(bob)
    with lmtp_server(app) as server:
        for day in range(3):
            with clock.frozen(OPEN_AT + timedelta(days=day)):
                lmtp_send(server, dsn(to, "bob@example.org"), [to], mail_from="")
    assert bounces_of(bob) == (3, "disabled")
    login_officer(client)
    page = client.get(f"/manage/events/{event.slug}/subscribers?status=disabled").get_data(as_text=True)
    assert 'aria-label="Re-enable bob@example.org"' in page
    assert 'aria-label="Re-enable ann@example.org"' not in page  # only disabled rows offer it
    url = f"/manage/events/{event.slug}/subscribers/{bob.id}/reenable"
    assert client.post(url, data={}).status_code == 400  # no CSRF token: refused, nothing changes
    assert bounces_of(bob) == (3, "disabled")
    response = client.post(url, data={"csrf_token": csrf_from(page), "status": "disabled"})
    assert response.status_code == 303 and "status=disabled" in response.headers["Location"]
    assert bounces_of(bob) == (0, "active")
    assert "bob@example.org gets mail again." in client.get(response.headers["Location"]).get_data(as_text=True)
    again = client.post(url, data={"csrf_token": csrf_from(page)})
    assert "was not disabled by bounces" in client.get(again.headers["Location"]).get_data(as_text=True)
    post_and_send(app, smtp_server, "<after-reenable@example.org>")
    assert len(smtp_server.to("bob@example.org")) == 1
