"""“Delete my address and my data”: what a participant who asks to be forgotten gets."""

from __future__ import annotations

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import digests
from forum.discussion import service as discussion
from forum.mail import links
from forum.models import OutboundMessage, Participant, Post, Subscription
from forum.subscriptions import erasure
from tests.conftest import csrf_from
from tests.support.discussion import AFTER, LIST, OPEN_AT, make_forum, message, subscribe, text_of
from tests.support.subscriptions import login_officer, outbox

ANN = "ann@example.org"
UNSENT = ("queued", "retry", "sending")


def path(url: str) -> str:
    return url.removeprefix("http://forum.test")


def forum_with_ann_posting():  # type: ignore[no-untyped-def]
    """Ann posts and gets Bob's reply queued to her; Carol reads digests."""
    event = make_forum()
    ann = subscribe(event, ANN, "Ann Reader", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob Builder", posts_approved=1)
    subscribe(event, "carol@example.org", "Carol Digest", mode="digest")
    with clock.frozen(OPEN_AT):
        discussion.receive(message(subject="Mentoring at small libraries"), LIST)
        discussion.receive(
            message(sender="bob@example.org", name="Bob Builder", subject="Re: Mentoring at small libraries"),
            LIST,
        )
    db.session.commit()
    return event, ann


def erase_on_the_web(client: FlaskClient, participant: Participant) -> str:
    """Preferences -> the confirmation page -> POST; returns the preferences path."""
    prefs = path(links.preferences_url(participant))
    page = client.get(prefs)
    assert page.status_code == 200
    erase_url = f"{prefs}/erase"
    assert erase_url.encode() in page.data and b"Delete my address and my data" in page.data
    confirm = client.get(erase_url)
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "cannot be undone" in text and "Former participant" in text and ANN in text
    db.session.expire_all()
    assert participant.email == ANN  # GET changes nothing
    assert client.post(erase_url, data={}).status_code == 400  # no CSRF token, no erasing
    done = client.post(erase_url, data={"csrf_token": csrf_from(confirm.data)})
    assert done.status_code == 200 and b"Your data was deleted" in done.data
    db.session.expire_all()
    return prefs


def test_erasing_ends_subscriptions_cancels_mail_and_anonymises_posts(
    app: Flask, client: FlaskClient
) -> None:
    event, ann = forum_with_ann_posting()
    participant = ann.participant
    queued_to_ann = [r.id for r in outbox(recipient=ANN) if r.status in UNSENT]
    assert queued_to_ann  # Bob's reply is waiting to go to Ann

    erase_on_the_web(client, participant)

    assert not [s for s in participant.subscriptions if s.status in ("active", "pending")]
    assert participant.email != ANN and participant.name == "Former participant"
    assert participant.timezone is None
    assert not db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.recipient.ilike(ANN), OutboundMessage.status.in_(UNSENT)
        )
    ).all()
    for row_id in queued_to_ann:
        row = db.session.get(OutboundMessage, row_id)
        assert row is not None and row.status == "cancelled" and "erased" in (row.last_error or "")
    # Nothing stored for the outbox's sake still holds the address: not even mail already sent.
    to_ann = [r for r in db.session.scalars(select(OutboundMessage)) if r.subscription_id == ann.id]
    assert to_ann and all(r.recipient == "" and r.message is None for r in to_ann)
    assert not [r for r in db.session.scalars(select(OutboundMessage)) if ANN in r.recipient.lower()]
    # Officers still count Bob and Carol; Ann's row is a left subscription.
    statuses = dict(db.session.execute(select(Subscription.id, Subscription.status)).all())
    assert sorted(statuses.values()) == ["active", "active", "unsubscribed"]

    first = db.session.scalars(select(Post).order_by(Post.id)).first()
    assert first is not None and first.author_display == "Former participant"
    for url in (
        "/events/mentoring/archive",
        f"/events/mentoring/archive/posts/{first.id}",
        f"/events/mentoring/archive/threads/{first.thread_id}",
    ):
        page = client.get(url).get_data(as_text=True)
        assert "Ann Reader" not in page and ANN not in page, url
        assert "Former participant" in page, url
        if "/archive/" in url:  # the index lists threads; post and thread pages show text
            assert "Who has mentored a new cataloger?" in page, url

    g.pop("_login_user", None)
    login_officer(client)
    with clock.frozen(AFTER):
        export = client.get("/events/mentoring/archive/export").get_data(as_text=True)
    assert "Ann Reader" not in export and ANN not in export and "Former participant" in export
    csv = client.get("/manage/events/mentoring/subscribers/export.csv").get_data(as_text=True)
    assert "bob@example.org" in csv and ANN not in csv and "Ann Reader" not in csv

    # A digest built later names the former participant only.
    with clock.frozen(AFTER):
        period = next(p for p in digests.periods(event) if digests.posts_in(event, p))
        sent, _ = digests.send_digest(event, period)
    assert sent == 1
    digest = text_of(outbox("digest")[0])
    assert "Ann Reader" not in digest and "Former participant" in digest


def test_old_links_show_the_removed_page_and_the_address_can_join_again(
    app: Flask, client: FlaskClient
) -> None:
    event, ann = forum_with_ann_posting()
    participant = ann.participant
    unsubscribe = path(links.unsubscribe_url(ann))
    prefs = erase_on_the_web(client, participant)

    for url in (prefs, f"{prefs}/erase", unsubscribe):
        page = client.get(url)
        assert page.status_code == 410, url
        assert b"This address was removed" in page.data, url
    one_click = app.test_client(use_cookies=False).post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and b"This address was removed" in one_click.data

    form = client.get("/events/mentoring/subscribe")
    joined = client.post(
        "/events/mentoring/subscribe",
        data={
            "csrf_token": csrf_from(form.data),
            "email": "Ann@Example.org",
            "name": "Ann Again",
            "mode": "each",
            "conduct": "y",
        },
    )
    assert joined.status_code == 200
    db.session.expire_all()
    fresh = Participant.by_email(ANN)
    assert fresh is not None and fresh.id != participant.id and fresh.confirmed_at is None
    assert fresh.name == "Ann Again"
    (sub,) = fresh.subscriptions
    assert sub.status == "pending"
    confirmations = outbox("confirm")
    assert [r.recipient.lower() for r in confirmations] == [ANN]
    # The new person's preferences link works; the erased one's still does not.
    assert client.get(path(links.preferences_url(fresh))).status_code == 200
    assert client.get(prefs).status_code == 410
    assert event.id == sub.event_id


def test_erasing_twice_is_harmless_and_keeps_unsent_keys(app: Flask) -> None:
    _, ann = forum_with_ann_posting()
    participant = ann.participant
    keys = set(db.session.scalars(select(OutboundMessage.idempotency_key)))
    erasure.erase_participant(participant)
    db.session.commit()
    first_key = participant.email_key
    erasure.erase_participant(participant)
    db.session.commit()
    assert participant.email_key == first_key and "@" not in first_key
    assert set(db.session.scalars(select(OutboundMessage.idempotency_key))) == keys


def test_erasing_forgets_certificates_and_stops_pathways(app: Flask, client: FlaskClient) -> None:
    """A certificate prints the person's name and a public page verifies it: after "delete my
    data" the code verifies nothing. A pathway they followed mails them nothing more."""
    from forum.ce import certificates
    from forum.models import Certificate, PathwayFollow
    from tests.support.ce import after_end, attended, register, series
    from tests.support.pathways import make_pathway

    event = series()
    zoe = register(event, "zoe@example.org", "Zoë Łukasiewicz-Ōtsuka")
    for session in event.active_sessions:
        attended(zoe, session)
    with clock.frozen(after_end(event, hours=1)):
        code = certificates.issue(zoe).code
    follow = PathwayFollow(pathway=make_pathway(), participant=zoe.participant, status="active")
    db.session.add(follow)
    db.session.commit()
    assert "Łukasiewicz" in client.get(f"/certificates/{code}").get_data(as_text=True)

    erasure.erase_participant(zoe.participant)
    db.session.commit()

    assert db.session.scalars(select(Certificate)).all() == []
    page = client.get(f"/certificates/{code}")
    assert page.status_code == 404 and "Łukasiewicz" not in page.get_data(as_text=True)
    db.session.refresh(follow)
    assert follow.status == "left" and follow.next_due_at is None
