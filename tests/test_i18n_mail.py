"""Every mail in its recipient's language, whatever language the officer who caused it uses.

A Spanish-speaking (es_MX) registrant and an English one in the same webinar series get the
welcome, the reminder, the update with its "was / now" line and the cancellation each in their
own language, with Mexican Spanish date and time formats (CLDR's), while the officer changes
the sessions in English; the zone list stays the officer's configured zones. A fan-out keeps
one body per variant (here: per language), never one per reader.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select

from forum.core import clock
from forum.core.extensions import db
from forum.events import service as events
from forum.models import OutboundBody, Participant
from forum.scheduling.jobs import run_job
from forum.subscriptions import service as subscriptions
from tests.support.calendars import fetch_calendar, parse_checked
from tests.support.factories import parsed
from tests.support.scheduling import eastern, make_series, outbox, subject_of, text_of

SESSION_START = eastern(2024, 11, 5, 10)


def _series_with_a_spanish_and_an_english_registrant():  # type: ignore[no-untyped-def]
    with clock.frozen(eastern(2024, 10, 20, 12)):
        event = make_series(starts=[datetime(2024, 11, 5, 10), datetime(2024, 11, 12, 10)])
        for email, language in (("ana@example.mx", "es-MX"), ("bob@example.org", "en-US")):
            sub = subscriptions.subscribe(event, email, name=email.split("@")[0].title(), language=language)
            subscriptions.confirm(sub)
        db.session.commit()
    return event


def test_a_spanish_registrant_gets_every_mail_in_spanish_with_mexican_formats(app: Flask) -> None:
    event = _series_with_a_spanish_and_an_english_registrant()
    ana = Participant.by_email("ana@example.mx")
    assert ana is not None and ana.language == "es_MX"  # from the browser, at sign-up

    # the confirmation and the welcome
    confirm = outbox("confirm", "ana@example.mx")[0]
    assert subject_of(confirm) == "Confirme su inscripción: Cataloging Webinar Series"
    assert "Alguien (esperamos que usted) pidió unirse" in text_of(confirm)
    welcome = outbox("welcome", "ana@example.mx")[0]
    assert subject_of(welcome).startswith("Bienvenida: Cataloging Webinar Series")
    text = text_of(welcome)
    assert "Hola" in text and "Session 1 - martes, 5 de noviembre de 2024" in text
    assert "10:00 a.m. a 11:00 a.m. (hora oriental)" in text  # es_MX: a 12-hour clock, CLDR's zone name
    assert "9:00 a.m. a 10:00 a.m. (hora central)" in text  # the officer's configured zone list, in Spanish
    assert "Salir de este evento:" in text
    english = text_of(outbox("welcome", "bob@example.org")[0])
    assert "10:00 AM–11:00 AM (Eastern)" in english and "Leave this event:" in english

    # the reminder, a day before
    run_job("reminders", at=SESSION_START - timedelta(days=1))
    reminder = outbox("reminder", "ana@example.mx")[0]
    assert subject_of(reminder) == "Recordatorio: Cataloging Webinar Series — Session 1, comienza en 1 día"
    assert "Session 1 comienza en 1 día." in text_of(reminder)
    assert "Cuándo (su hora): martes, 5 de noviembre de 2024, 10:00 a.m. a 11:00 a.m. (hora oriental)" in text_of(
        reminder
    )
    assert subject_of(outbox("reminder", "bob@example.org")[0]).endswith("starts in 1 day")

    # the officer (in English) moves the second session by two hours: the update says was/now
    second = event.active_sessions[1]
    with clock.frozen(SESSION_START + timedelta(days=2)):
        events.set_session_times(second, second.start_wall + timedelta(hours=2), second.end_wall + timedelta(hours=2), second.timezone)
        db.session.commit()
        bodies_before = db.session.scalar(select(func.count(OutboundBody.id)))
        update = outbox("calendar", "ana@example.mx")[-1]
        english_update = outbox("calendar", "bob@example.org")[-1]
    assert subject_of(update) == "Actualizada: Cataloging Webinar Series — Session 2"
    text = text_of(update)
    assert "Qué cambió:" in text
    assert (
        "Horario: antes mar, 12 de nov de 2024 10:00 a.m. a 11:00 a.m. (hora oriental), "
        "ahora mar, 12 de nov de 2024 12:00 p.m. a 1:00 p.m. (hora oriental)"
    ) in text
    assert "When: was Tue 11/12/2024 10:00 AM–11:00 AM (Eastern), now Tue 11/12/2024 12:00 PM–1:00 PM (Eastern)" in text_of(
        english_update
    )
    # one stored body per language (and encoding), not one per reader
    assert db.session.scalar(select(func.count(OutboundBody.id))) - bodies_before <= 4

    # ... then cancels it, with a reason in their own words (not translated)
    with clock.frozen(SESSION_START + timedelta(days=3)):
        events.cancel_session(second, reason="Our speaker is ill.")
        db.session.commit()
        cancel = outbox("calendar", "ana@example.mx")[-1]
    assert subject_of(cancel) == "Cancelada: Cataloging Webinar Series — Session 2"
    assert "Esta sesión de «Cataloging Webinar Series» se canceló:" in text_of(cancel)
    assert "Our speaker is ill." in text_of(cancel)


def _calendars_in(row) -> list[Calendar]:  # type: ignore[no-untyped-def]
    """A mail's calendars: the inline text/calendar part and the .ics attachment."""
    found = [
        parse_checked(part.get_payload(decode=True))
        for part in parsed(row).walk()
        if part.get_content_type() in ("text/calendar", "application/ics")
    ]
    assert len(found) == 2
    return found


def _vevent_text(row) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(SUMMARY, DESCRIPTION) of the one session in a mail's calendar, both copies alike."""
    texts = {
        (str(vevent["SUMMARY"]), str(vevent["DESCRIPTION"])) for cal in _calendars_in(row) for vevent in cal.walk("VEVENT")
    }
    assert len(texts) == 1
    return texts.pop()


def test_a_spanish_registrants_invite_and_cancellation_calendars_are_in_spanish(app: Flask) -> None:
    event = _series_with_a_spanish_and_an_english_registrant()
    summary, description = _vevent_text(outbox("welcome", "ana@example.mx")[0])
    assert summary == "Cataloging Webinar Series: Session 1"  # the officer's own titles stay as written
    assert "su enlace personal para unirse: http" in description and "Detalles: http" in description
    assert "your personal link" not in description and "Details:" not in description
    _summary, english = _vevent_text(outbox("welcome", "bob@example.org")[0])
    assert "your personal link: http" in english and "Details: http" in english

    second = event.active_sessions[1]
    with clock.frozen(SESSION_START + timedelta(days=3)):
        events.cancel_session(second, reason="Our speaker is ill.")
        db.session.commit()
        spanish = outbox("calendar", "ana@example.mx")[-1]
        english_cancel = outbox("calendar", "bob@example.org")[-1]
    assert _vevent_text(spanish)[0] == "Cancelada: Cataloging Webinar Series: Session 2"
    assert "Detalles: http" in _vevent_text(spanish)[1]
    assert _vevent_text(english_cancel)[0] == "Cancelled: Cataloging Webinar Series: Session 2"
    assert "Details: http" in _vevent_text(english_cancel)[1]


def test_a_public_feed_speaks_its_readers_language_with_its_own_validator(app: Flask, client: FlaskClient) -> None:
    event = _series_with_a_spanish_and_an_english_registrant()
    with clock.frozen(SESSION_START + timedelta(days=3)):
        events.cancel_session(event.active_sessions[1])
        db.session.commit()
    url = f"/feeds/events/{event.slug}.ics"
    english, english_cal = fetch_calendar(client, url)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9"
    spanish, spanish_cal = fetch_calendar(client, url)
    french, french_cal = fetch_calendar(client, url + "?lang=fr")  # a subscribe link can carry the language

    def summaries(cal: Calendar) -> set[str]:
        return {str(v["SUMMARY"]) for v in cal.walk("VEVENT")}

    assert "Cancelled: Cataloging Webinar Series: Session 2" in summaries(english_cal)
    assert "Cancelada: Cataloging Webinar Series: Session 2" in summaries(spanish_cal)
    assert "Annulée : Cataloging Webinar Series: Session 2" in summaries(french_cal)
    assert len({english.headers["ETag"], spanish.headers["ETag"], french.headers["ETag"]}) == 3
    assert "Accept-Language" in spanish.headers["Vary"]
    again = client.get(url, headers={"If-None-Match": spanish.headers["ETag"]})
    assert again.status_code == 304
