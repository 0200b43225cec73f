"""A French-speaking participant's whole journey in a real Chromium whose language is fr-CA,
while the officer who set the events up works in English.

She subscribes to an e-forum (its page shows the officer's French title and summary),
confirms, gets the welcome and a daily digest, registers for a webinar series, follows her
personal join link, answers the evaluation and downloads her certificate: every page, mail and
the PDF are in French, with Canadian French dates and times ("10 h 00 à 18 h 00 (heure de
l’Est)"); the officer's own page stays in English.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from forum.core import clock
from forum.core.extensions import db
from forum.models import Event, Participant, Subscription
from forum.scheduling.jobs import run_job
from tests.browser.helpers import Site, evaluation_due, open_page, shot, sign_in_officer
from tests.support.ce import DAYS, ZONE, after_end
from tests.support.factories import make_event, outbox, parsed, text_of
from tests.support.live import make_officer
from tests.support.scheduling import add_post, eastern

EMAIL = "chantal@exemple.ca"
SIGN_UP = eastern(2030, 2, 20, 12)


def _link(text: str, path: str) -> str:
    found = re.search(rf"(https?://\S+{path}\S+)", text)
    assert found, f"no {path} link in:\n{text}"
    return found.group(1)


def _events() -> tuple[Event, Event]:
    forum = make_event(
        "mentorat",
        [(datetime(2030, 3, 1, 10), datetime(2030, 3, 1, 18)), (datetime(2030, 3, 4, 10), datetime(2030, 3, 4, 18))],
        title="Mentoring in Technical Services",
        second_language="fr",
        second_title="Le mentorat en services techniques",
        second_summary="Deux jours d’échanges sur le mentorat.",
        digest_hour=18,
    )
    series = make_event(
        "catalogage",
        DAYS,
        kind="series",
        zone=ZONE,
        title="Cataloging Now",
        second_language="fr",
        second_title="Le catalogage aujourd’hui",
        join_url="https://meet.example.org/catalogage",
        learning_outcomes="Apply RDA to print monographs",
    )
    return forum, series


@pytest.mark.browser
def test_a_french_participant_sees_every_page_mail_and_pdf_in_french(browser: Browser, site: Site) -> None:
    with clock.frozen(SIGN_UP):
        forum, series = _events()
    make_officer()
    _journey(browser, site.base, forum, series)  # links in mail point at the site


def _journey(browser: Browser, base: str, forum: Event, series: Event) -> None:
    with clock.frozen(SIGN_UP):
        # The officer works in English.
        officer, _ = open_page(browser, locale="en-US")
        sign_in_officer(officer, base)
        officer.goto(f"{base}/events/mentorat")
        expect(officer.get_by_role("heading", level=1)).to_have_text("Mentoring in Technical Services")

        page, problems = open_page(browser, locale="fr-CA", accept_downloads=True)
        context = page.context

        # 1. the e-forum's page, in French, and the sign-up
        page.goto(f"{base}/events/mentorat")
        expect(page.locator("html")).to_have_attribute("lang", "fr-CA")
        expect(page.get_by_role("heading", level=1)).to_have_text("Le mentorat en services techniques")
        expect(page.get_by_text("Deux jours d’échanges sur le mentorat.")).to_be_visible()
        expect(page.get_by_text("10 h 00 à 18 h 00 (heure de l’Est)").first).to_be_visible()
        page.get_by_label("Adresse courriel").fill(EMAIL)
        page.get_by_label("Nom (facultatif)").fill("Chantal Tremblay")
        page.get_by_label("Réception").select_option(label="Résumé (quotidien ou hebdomadaire)")
        page.get_by_role("button", name="S’abonner").click()  # an e-forum; a series says S’inscrire
        expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte de réception")
        shot(page, "fr-1-inscription.png")

        chantal = Participant.by_email(EMAIL)
        assert chantal is not None and chantal.language == "fr_CA"

        # 2. the confirmation mail and page
        confirm = outbox("confirm", EMAIL)[0]
        assert str(parsed(confirm)["Subject"]) == "Confirmez votre abonnement : Le mentorat en services techniques"
        page.goto(_link(text_of(confirm), "/confirm/"))
        page.get_by_role("button", name="Confirmer mon abonnement").click()
        expect(page.get_by_role("status")).to_contain_text("Vous êtes abonné.")

        # 3. the welcome, with French dates and times
        welcome = outbox("welcome", EMAIL)[0]
        assert str(parsed(welcome)["Subject"]).startswith("Bienvenue : Le mentorat en services techniques")
        text = text_of(welcome)
        assert "Bonjour Chantal Tremblay," in text
        assert "vendredi 1 mars 2030" in text and "10 h 00 à 18 h 00 (heure de l’Est)" in text
        assert "Réception : Résumé quotidien." in text

    # 4. a daily digest of the first day
    add_post(forum, eastern(2030, 3, 1, 12), "Bonjour à toutes et à tous", "Ravi d’être ici.", author="Luc Gagnon")
    with clock.frozen(eastern(2030, 3, 1, 18, 1)):
        run_job("digests", at=eastern(2030, 3, 1, 18, 1))
    digest = outbox("digest", EMAIL)[0]
    assert str(parsed(digest)["Subject"]) == (
        "[Le mentorat en services techniques] Résumé, vendredi 1 mars 2030 (1 message)"
    )
    assert "Vous recevez un résumé par jour" in text_of(digest)

    # 5. the webinar series: registered at once (her address is confirmed), the join link
    with clock.frozen(SIGN_UP):
        page = context.new_page()
        page.goto(f"{base}/events/catalogage")
        expect(page.get_by_role("heading", level=1)).to_have_text("Le catalogage aujourd’hui")
        page.get_by_label("Adresse courriel").fill(EMAIL)
        page.get_by_role("button", name="S’inscrire").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte de réception")
        welcome = outbox("welcome", EMAIL)[-1]
        text = text_of(welcome)
        assert str(parsed(welcome)["Subject"]).startswith("Bienvenue : Le catalogage aujourd’hui")
        assert "mardi 5 mars 2030" in text and "13 h 00 à 14 h 30 (heure du Centre)" in text
        page.goto(_link(text, "/join/"))
        expect(page.get_by_text("La salle ouvre 15 minutes avant le début")).to_be_visible()
        shot(page, "fr-2-connexion.png")

    # 6. after the series: the evaluation, then the certificate
    registration = db.session.query(Subscription).filter_by(event_id=series.id).one()
    evaluation_due(registration)
    with clock.frozen(after_end(series, hours=2)):
        run_job("ce")
        invitation = outbox("evaluation", EMAIL)[0]
        assert str(parsed(invitation)["Subject"]) == "Évaluation : Le catalogage aujourd’hui — comment était-ce ?"
        page = context.new_page()
        page.goto(_link(text_of(invitation), "/evaluation/"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Évaluation : Le catalogage aujourd’hui")
        for group in page.locator("fieldset:has(input[type=radio])").all():
            group.locator("input[type=radio]").first.check()
        page.get_by_role("button", name="Envoyer mes réponses").click()
        expect(page.get_by_text("Merci : vos réponses sont enregistrées.")).to_be_visible()
        page.get_by_role("link", name="Vos préférences et attestations").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Vos abonnements")
        expect(page.get_by_label("Langue des pages et des courriels")).to_have_value("fr_CA")
        shot(page, "fr-3-preferences.png")
        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile("Télécharger votre attestation")).click()
        pdf = "\n".join(p.extract_text() for p in PdfReader(download_info.value.path()).pages)
    assert "Attestation de réussite" in pdf and "Chantal Tremblay" in pdf
    assert "Heures de formation continue : 4,5" in pdf
    assert "Le catalogage aujourd’hui" in pdf
    assert problems == []
