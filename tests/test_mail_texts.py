"""Officer mail texts: an intro and a sign-off per kind of mail, Markdown with placeholders,
rendered in a Jinja sandbox; preview and test send; the defaults stay when nothing is set."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.mail import texts as mail_texts
from forum.models import MailText, Subscription
from forum.scheduling.scheduler import run_job
from forum.subscriptions import service
from tests.conftest import csrf_from
from tests.support.factories import parsed
from tests.support.live import make_event, post_form
from tests.support.scheduling import html_of, make_series, outbox, subscribe, text_of
from tests.support.subscriptions import link_in

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)


def series():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        return make_series(slug="london", starts=[datetime(2027, 2, 9, 14)], zone="Europe/London")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ event_title.__init__.__globals__ }}",
        "{{ event_title|attr('__class__') }}",
    ],
)
def test_sandbox_escapes_are_refused_with_a_message(signed_in: FlaskClient, source: str) -> None:
    series()
    response = post_form(
        signed_in,
        "/manage/events/london/mail-texts?kind=welcome",
        {"kind": "welcome", "intro": source, "signoff": "", "action": "save"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This text cannot be used in mail" in html and "no other template code" in html
    assert db.session.query(MailText).count() == 0
    with pytest.raises(mail_texts.MailTextError):
        mail_texts.check(source)


def test_unknown_placeholders_and_bad_syntax_are_named(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(mail_texts.MailTextError, match=r"Unknown placeholder \{\{ email \}\}"):
        mail_texts.check("Hi {{ email }}")
    with pytest.raises(mail_texts.MailTextError, match="cannot be used"):
        mail_texts.check("Hi {{ name ")
    mail_texts.check("Hi {{ name }}, welcome to {{ event_title }} on {{ session_time }}.")


def test_saved_texts_reach_the_reminder_in_each_readers_zone(signed_in: FlaskClient) -> None:
    event = series()
    response = post_form(
        signed_in,
        "/manage/events/london/mail-texts?kind=reminder",
        {
            "kind": "reminder",
            "intro": "Dear {{ name }}, **{{ event_title }}** starts {{ session_time }}.",
            "signoff": "See you there,\nMegan, ALCTS",
            "action": "save",
        },
    )
    assert response.status_code == 302
    subscribe(event, "ann@example.org", mode="each", zone="America/Chicago")
    subscribe(event, "bob@example.org", mode="each")
    session = event.sessions[0]
    run_job("reminders", at=session.starts_at - timedelta(hours=1))
    (ann,) = outbox("reminder", "ann@example.org")
    (bob,) = outbox("reminder", "bob@example.org")
    text = text_of(ann).replace("\r\n", "\n")
    # the plain part shows no Markdown stars; both parts keep the sign-off's two lines
    assert text.startswith(
        "Dear Ann, Cataloging Webinar Series starts Tuesday, 2/9/2027, 8:00 AM–9:00 AM (Central, CST)."
    )
    assert "See you there,\nMegan, ALCTS" in text
    assert "<strong>Cataloging Webinar Series</strong>" in html_of(ann)
    assert "See you there,<br>\nMegan, ALCTS" in html_of(ann).replace("\r\n", "\n")
    assert text_of(bob).startswith(
        "Dear Bob, Cataloging Webinar Series starts Tuesday, 2/9/2027, 2:00 PM–3:00 PM (London, GMT)."
    )


def test_default_mails_are_unchanged_without_texts(app) -> None:  # type: ignore[no-untyped-def]
    event = series()
    subscribe(event, "ann@example.org", mode="each")
    with clock.frozen(NOW):
        events.cancel_session(event.sessions[0])
        db.session.commit()
    (mail,) = outbox(recipient="ann@example.org")
    assert text_of(mail).replace("\r\n", "\n").startswith("Hello Ann,\n\nThis session of")


def test_welcome_and_cancellation_carry_the_texts(app) -> None:  # type: ignore[no-untyped-def]
    event = series()
    with clock.frozen(NOW):
        mail_texts.save(event, "welcome", "Welcome aboard, {{ name }}!", "")
        mail_texts.save(event, "session_cancelled", "We are sorry, {{ name }}.", "— The ALCTS team")
        sub = subscribe(event, "ann@example.org", mode="each", status="pending")
        sub.participant.confirmed_at = NOW
        db.session.delete(sub)
        db.session.commit()
        service.subscribe(event, "ann@example.org")
        events.cancel_session(event.sessions[0])
        db.session.commit()
    bodies = [text_of(row).replace("\r\n", "\n") for row in outbox(recipient="ann@example.org")]
    assert any("Hello Ann,\n\nWelcome aboard, Ann!" in b for b in bodies)
    cancelled = next(b for b in bodies if "has been cancelled" in b)
    assert "We are sorry, Ann." in cancelled and "— The ALCTS team" in cancelled


def test_preview_and_test_send(signed_in: FlaskClient) -> None:
    series()
    data = {"kind": "welcome", "intro": "Hello *{{ name }}*, this is {{ event_title }}.", "signoff": "Megan"}
    preview = post_form(
        signed_in, "/manage/events/london/mail-texts?kind=welcome", {**data, "action": "preview"}
    )
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    # the real welcome, not a sketch: its greeting, the officer's words, the session times
    assert "standard part" not in html
    assert "<strong>Subject:</strong> Welcome: Cataloging Webinar Series" in html
    assert "Hello Jeannette Ho," in html and "Hello Jeannette Ho, this is Cataloging Webinar Series." in html
    assert "You are registered for" in html and "2:00 PM–3:00 PM (London)" in html and "Megan" in html
    assert db.session.query(MailText).count() == 0  # a preview saves nothing
    assert db.session.query(Subscription).count() == 0  # nor its sample registrant
    assert outbox("welcome") == []
    sent = post_form(signed_in, "/manage/events/london/mail-texts?kind=welcome", {**data, "action": "test"})
    assert sent.status_code == 200
    (mail,) = outbox("mail-text-test", "officer@forum.test")
    body = text_of(mail)
    assert "Hello Pat Officer, this is Cataloging Webinar Series." in body
    assert "You are registered for" in body and "Megan" in body and "standard part" not in body
    assert parsed(mail)["Subject"] == "Test: Welcome: Cataloging Webinar Series"
    assert db.session.query(Subscription).count() == 0


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("reminder", "starts in 1 hour"),
        ("session_update", "a sample line"),
        ("session_cancelled", "the reason you give when cancelling"),
    ],
)
def test_every_kind_previews_as_the_real_mail(signed_in: FlaskClient, kind: str, words: str) -> None:
    series()
    data = {"kind": kind, "intro": "Our intro for {{ event_title }}.", "signoff": "Megan", "action": "preview"}
    html = post_form(signed_in, f"/manage/events/london/mail-texts?kind={kind}", data).get_data(as_text=True)
    assert "standard part" not in html and words in html
    assert "Our intro for Cataloging Webinar Series." in html and "Megan" in html
    assert db.session.query(Subscription).count() == 0 and db.session.query(MailText).count() == 0


ATTACKS = [
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "{{ ('x' * 2000000000)|length }}",
    "{% if name|length > 20 %}{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}"
    "{% endfor %}{% endif %}Hello",
    "{{ name * 100000 }}",
    "{% set x = 1 %}{{ name }}",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_texts_are_only_placeholders_so_no_text_can_loop_or_grow(signed_in: FlaskClient, source: str) -> None:
    series()
    started = time.process_time()
    response = post_form(
        signed_in,
        "/manage/events/london/mail-texts?kind=welcome",
        {"kind": "welcome", "intro": source, "signoff": "", "action": "save"},
    )
    assert time.process_time() - started < 2
    assert response.status_code == 400
    assert "no other template code" in response.get_data(as_text=True)
    assert db.session.query(MailText).count() == 0


def test_a_text_that_cannot_be_used_never_blocks_a_confirmation(
    app, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    event = series()
    # saved before texts were placeholders only: it runs only for long names, and forever
    db.session.add(MailText(event_id=event.id, kind="welcome", intro=ATTACKS[2], signoff="Yours, {{ event_title }}"))
    db.session.commit()
    with clock.frozen(NOW):
        page = client.get("/events/london/subscribe")
        data = {"csrf_token": csrf_from(page.data), "email": "long@example.org", "mode": "each", "conduct": "y"}
        data["name"] = "Maximiliane Wolkenstein-Rodenegg"
        assert client.post("/events/london/subscribe", data=data).status_code == 200
        url = link_in(outbox(recipient="long@example.org")[0], "/confirm/")
        started = time.process_time()
        form = client.get(url)
        done = client.post(url, data={"csrf_token": csrf_from(form.data)})
        assert time.process_time() - started < 5
    assert done.status_code == 200
    sub = db.session.scalar(select(Subscription))
    assert sub.status == "active"
    welcome = next(row for row in outbox(recipient="long@example.org") if row.kind == "welcome")
    body = text_of(welcome).replace("\r\n", "\n")
    assert "Hello Maximiliane Wolkenstein-Rodenegg," in body and "xxx" not in body
    assert f"Yours, {event.title}" in body  # the usable part stays
    assert "officer mail text left out" in caplog.text


def test_plain_text_drops_markdown_marks_and_keeps_links() -> None:
    assert mail_texts.plain("**Bold** and *soft* and __strong__") == "Bold and soft and strong"
    assert mail_texts.plain("[the guide](https://ala.example/g) · [https://x.example](https://x.example)") == (
        "the guide (https://ala.example/g) · https://x.example"
    )
    assert mail_texts.plain("## Before you come\nsnake_case_names and 2 * 3 * 4 stay") == (
        "Before you come\nsnake_case_names and 2 * 3 * 4 stay"
    )


def test_the_e_forum_opening_previews_as_the_real_mail(signed_in: FlaskClient) -> None:
    make_event("days", [(datetime(2099, 3, 2, 9), datetime(2099, 3, 2, 17))], kind="eforum")
    data = {"kind": "forum_open", "intro": "Welcome in, {{ name }}.", "signoff": "", "action": "preview"}
    html = post_form(signed_in, "/manage/events/days/mail-texts?kind=forum_open", data).get_data(as_text=True)
    assert "Welcome in, Jeannette Ho." in html and "The e-forum is open" in html
    assert db.session.query(Subscription).count() == 0
