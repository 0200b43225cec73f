"""Bulk list mail (`list_messages`): every personalised copy says exactly what `list_message`
would have said to that subscriber (headers, decoded text and HTML, MIME structure and
encodings), and stays valid MIME (no line over 998 octets, no QP line over 76)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from forum.calendars.calendar import session_file
from forum.core import clock
from forum.core.extensions import db
from forum.core.timezones import session_zone_lines
from forum.core.urls import external_url
from forum.discussion.digests import DigestRenderer, periods, posts_in, send_digest
from forum.events.reminders import session_time_for
from forum.mail.compose import ListOptions, list_message
from forum.mail.headers import HeaderTemplate, address, header_block, header_message
from forum.mail.links import bounce_address, post_url
from forum.mail.list_copies import SharedAttributeError, list_messages
from forum.mail.outbox import Outgoing, enqueue_copies, enqueue_many
from forum.scheduling.jobs import run_job
from forum.webinars import join_links
from tests.support.scheduling import add_post, eastern, make_forum, make_series, outbox, subscribe
from tests.support.smtp import use_test_templates

LONG = "Mentoring in technical services happens one conversation at a time, " * 6


def _parts(msg: EmailMessage) -> list[tuple[str, str, object]]:
    """(content type, transfer encoding, decoded content) of every leaf part, in order."""
    return [
        (part.get_content_type(), part.get("Content-Transfer-Encoding", ""), part.get_content())
        for part in msg.walk()
        if not part.is_multipart()
    ]


def _envelope(msg: EmailMessage) -> list[tuple[str, str]]:
    """Every header but the per-message random ones (Message-ID, multipart boundaries)."""
    skip = {"message-id", "content-type"}
    return [(k, str(v)) for k, v in msg.items() if k.lower() not in skip] + [("ct", msg.get_content_type())]


def assert_same_mail(data: bytes, reference: EmailMessage, same_id: bool = True) -> None:
    got = message_from_bytes(data, policy=policy.default)
    want = message_from_bytes(reference.as_bytes(), policy=policy.default)
    assert _envelope(got) == _envelope(want)
    if same_id:
        assert got["Message-ID"] == want["Message-ID"]
    assert _parts(got) == _parts(want)  # type: ignore[arg-type]
    assert not got.defects and all(not p.defects for p in got.walk())
    lines = data.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    for part in got.walk():
        if part.get("Content-Transfer-Encoding") == "quoted-printable":
            raw = part.as_bytes(policy=policy.SMTP).split(b"\r\n\r\n", 1)[1]
            assert max(len(line) for line in raw.split(b"\r\n")) <= 76


def test_a_post_to_each_subscriber_matches_list_message(app):  # type: ignore[no-untyped-def]
    event = make_forum()
    subs = [
        subscribe(event, "alice@example.org", mode="each"),
        subscribe(event, "zoë.müller@example.org", mode="each"),  # non-ASCII address and name
        subscribe(event, "bob@example.org", mode="each", zone="Europe/London"),
    ]
    subs[1].participant.name = "Zoë Müller, MLIS"
    post = add_post(
        event,
        eastern(2019, 9, 10, 10, 5),
        "Mentorat à la bibliothèque — ça marche?",
        body=f"{LONG}\n\nÇa dépend: = signs, trailing space \nand tabs\t\n{'é' * 120}",
        author="José Álvarez",
        role="panelist",
    )
    context = {"post": post, "permalink": "http://forum.test/events/mentoring/posts/1"}
    options = ListOptions(
        subject=post.subject,
        template="post",
        context=context,
        links=lambda s: {"compose_url": post_url(s)},
        author_name=f"{post.author_display} [{post.role_label}]",
        author_email="jose@example.edu",
        message_id="<post-1@lists.forum.test>",
        in_reply_to="<parent@example.org>",
        references="<root@example.org> <parent@example.org>",
        archived_at="http://forum.test/events/mentoring/posts/1",
    )
    with clock.frozen(eastern(2019, 9, 10, 10, 6)):
        copies = list(list_messages(event, subs, options))
        assert [c.recipient for c in copies] == [s.participant.email for s in subs]
        for copy, sub in zip(copies, subs, strict=True):
            own = replace(options, context={**context, "compose_url": post_url(sub)})
            assert_same_mail(copy.data, list_message(event, sub, own))
        # Each copy carries its own links, and only its own.
        text = message_from_bytes(copies[0].data, policy=policy.default).get_body(("plain",)).get_content()
        assert post_url(subs[0]) in text and post_url(subs[1]) not in text
    assert "=?utf-8?" in copies[1].data.split(b"\r\n\r\n")[0].decode()  # RFC 2047 To/Subject


def test_a_digest_in_two_zones_matches_list_message_everyone(app):  # type: ignore[no-untyped-def]
    event = make_forum(days=2)
    subs = [
        subscribe(event, "alice@example.org"),
        subscribe(event, "bob@example.org", zone="America/Los_Angeles"),
        subscribe(event, "carol@example.org", zone="America/Los_Angeles"),
        subscribe(event, "dan@example.org"),
    ]
    add_post(event, eastern(2019, 9, 10, 10, 5), "Welcome", body=LONG, author="Megan D", role="moderator")
    add_post(event, eastern(2019, 9, 10, 14, 0), "Formal programs — één", body="Kort.\n\n" + LONG)
    period = periods(event)[0]
    at = eastern(2019, 9, 10, 18, 1)
    with clock.frozen(at):
        # the one-at-a-time reference, made before the digest moves each reader's mark past it
        renderer = DigestRenderer(event, period, posts_in(event, period))
        expected = {sub.id: renderer.message_for(sub) for sub in subs}
        count, _ = send_digest(event, period)
        db.session.commit()
        assert count == 4
        for sub in subs:
            (row,) = outbox("digest", sub.participant.email)
            assert row.idempotency_key == f"digest:{event.id}:{period.label}:{sub.id}"
            assert_same_mail(row.full_message, expected[sub.id], same_id=False)
    bob = message_from_bytes(outbox("digest", "bob@example.org")[0].full_message, policy=policy.default)
    assert "7:05 AM PDT" in bob.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "body",
    [
        "Короткие строки.\nПо-русски.",  # short non-ASCII lines: 8bit
        ("Длинная строка по-русски, чтобы закодировать её в base64. " * 5 + "\n") * 12,  # base64
        "plain ascii\nshort lines",  # 7bit
    ],
)
def test_every_transfer_encoding_round_trips(app, body):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    event = make_forum()
    subs = [subscribe(event, "a@example.org", mode="each"), subscribe(event, "b@example.org", mode="each")]
    with clock.frozen(eastern(2019, 9, 10, 10)):
        options = ListOptions(
            subject="Ünïcode", template="test_rich", context={"body": body}, message_id="<x@lists.forum.test>"
        )
        for copy in list_messages(event, subs, options):
            assert_same_mail(copy.data, list_message(event, copy.subscription, options))


def test_a_template_reading_a_personal_field_the_group_does_not_share_fails_loudly(app):  # type: ignore[no-untyped-def]
    use_test_templates(app)
    event = make_forum()
    sub = subscribe(event, "a@example.org", mode="each")
    with pytest.raises(SharedAttributeError, match="participant.name"):
        next(
            list_messages(event, [sub], ListOptions(subject="Hi", template="test_note", context={"body": "x"}))
        )


def test_bulk_copies_enqueue_with_their_keys_and_verp_senders(app):  # type: ignore[no-untyped-def]
    event = make_forum()
    subs = [subscribe(event, f"p{i}@example.org", mode="each") for i in range(3)]
    use_test_templates(app)
    copies = list(
        list_messages(event, subs, ListOptions(subject="Hi", template="test_rich", context={"body": "hello"}))
    )
    assert enqueue_copies(copies, kind="test", key="k", event_id=event.id) == 3  # as production queues
    assert enqueue_copies(copies, kind="test", key="k", event_id=event.id) == 0  # keys: never twice
    rows = outbox("test")
    assert [r.recipient for r in rows] == [s.participant.email for s in subs]
    assert [r.idempotency_key for r in rows] == [f"k:{s.id}" for s in subs]
    assert [r.envelope_from for r in rows] == [bounce_address(s) for s in subs]
    assert [r.full_message for r in rows] == [c.data for c in copies]
    # Plain bytes (e.g. a message built elsewhere) still queue through enqueue_many.
    items = [Outgoing(copies[0].data, key="raw", recipient=copies[0].recipient, envelope_from="x@y.test")]
    assert enqueue_many(items, kind="raw") == 1
    assert outbox("raw")[0].full_message == copies[0].data


def test_reminders_carry_each_recipients_own_calendar_file(app):  # type: ignore[no-untyped-def]
    event = make_series()
    subs = [
        subscribe(event, "alice@example.org", mode="each"),
        subscribe(event, "bob@example.org", mode="each", zone="Europe/London"),
    ]
    session = event.sessions[0]
    due = session.starts_at - timedelta(minutes=60)
    with clock.frozen(due):
        run_job("reminders", at=due)
        db.session.commit()
        for sub in subs:
            (row,) = outbox("reminder", sub.participant.email)
            reference = list_message(
                event,
                sub,
                ListOptions(
                    subject=f"Reminder: {event.title} \u2014 {session.display_title}, starts in 1 hour",
                    template="reminder",
                    context={
                        "session": session,
                        "starts_in": "1 hour",
                        "local_time": session_time_for(session, sub.participant.timezone or event.timezone),
                        "zone_lines": session_zone_lines(session, sub.participant.timezone),
                        "event_url": external_url("public.event", slug=event.slug),
                        "ics_url": external_url("feeds.session_ics", slug=event.slug, session_id=session.id),
                        "join_link": join_links.personal_link(sub, session),
                    },
                    automated=True,
                    posting_open=False,
                ),
            )
            ics = session_file(session, sub)
            reference.add_attachment(ics, maintype="text", subtype="calendar", filename="session.ics")
            assert_same_mail(row.full_message, reference, same_id=False)
            assert sub.participant.email.encode() in ics


@pytest.mark.parametrize(
    ("to", "subject", "headers"),
    [
        ("Alice <alice@example.org>", "Hi", {}),
        (
            address("zoë.müller@example.org", "Zoë Müller, MLIS"),
            "Mentorat à la bibliothèque — ça marche?",
            {},
        ),
        ('"Odd, Name" <odd@example.org>', "A subject " * 20, {"In-Reply-To": "<a@b>"}),
        (
            "bob@example.org",
            "Re: [List] x",
            {
                "List-Unsubscribe": "<http://forum.test/unsubscribe/" + "x" * 120 + ">,\n <mailto:l@x.test>",
                "List-Id": '"Mentoring, Technical" <m.lists.forum.test>',
                "References": "<a@b> <c@d>\n <e@f>",
                "X-Loop": "m@lists.forum.test",
            },
        ),
    ],
)
def test_header_block_writes_the_bytes_header_message_writes(app, to, subject, headers):  # type: ignore[no-untyped-def]
    with clock.frozen(eastern(2019, 9, 10, 10)):
        kwargs = {
            "to": to,
            "subject": subject,
            "sender": address("mentoring@lists.forum.test", "Jeannette Ho via Mentoring"),
            "reply_to": "mentoring@lists.forum.test",
            "headers": headers,
            "message_id": "<id@lists.forum.test>",
        }
        lines: dict[tuple[str, str], bytes] = {}
        for _ in range(2):  # and again from the cache of shared lines
            block = header_block(**kwargs, lines=lines)  # type: ignore[arg-type]
            assert block == header_message(**kwargs).as_bytes()[: -len(b"\r\n")]  # type: ignore[arg-type]


def test_a_header_template_writes_each_copys_block_byte_for_byte(app):  # type: ignore[no-untyped-def]
    """`HeaderTemplate` (a fan-out's headers: shared lines encoded once, per copy only the
    personal ones) gives every recipient exactly `header_block`'s bytes: names that need
    quoting or RFC 2047, long links that fold, a Message-ID made per copy, a new second."""
    recipients = [
        address("alice@example.org", "Alice"),
        address("zoë.müller@example.org", "Zoë Müller, MLIS"),
        address("odd@example.org", 'Odd "Quoted", Name'),
        address("plain@example.org"),
    ]
    for message_id in ("<post-1@lists.forum.test>", None):
        personal = {"To", "List-Unsubscribe", "List-Help"} | (set() if message_id else {"Message-ID"})
        template = HeaderTemplate(personal)
        for second in (0, 0, 1):
            with clock.frozen(eastern(2019, 9, 10, 10) + timedelta(seconds=second)):
                for n, to in enumerate(recipients):
                    links = ", ".join([f"<https://forum.test/u/{'t' * (40 + 30 * n)}>", f"<mailto:l+{n}@x.test>"])
                    fields = {
                        "to": to,
                        "subject": "Mentorat à la bibliothèque — ça marche?",
                        "sender": address("mentoring@lists.forum.test", "Jeannette Ho via Mentoring"),
                        "reply_to": address("mentoring@lists.forum.test"),
                        "headers": {
                            "List-Id": "Mentoring <m.lists.forum.test>",
                            "List-Unsubscribe": links if n % 2 else links.replace(", ", ",\n "),
                            "List-Post": "<mailto:m@lists.forum.test>",
                            "List-Help": f"<https://forum.test/p/{n}>",
                            "Precedence": "list",
                        },
                        "message_id": message_id,
                    }
                    got, want = template.block("en", **fields), header_block(**fields)  # type: ignore[arg-type]
                    if message_id is None:  # made per copy: the same line but for the id itself
                        got, want = (re.sub(rb"Message-ID: <[^>]+>", b"", block) for block in (got, want))
                    assert got == want


def _change_readers(event):  # type: ignore[no-untyped-def]
    """Registrants as a real series has them: the event's zone, their own zones, a name with
    accents, no name at all, and one not active (who gets nothing)."""
    subs = [
        subscribe(event, "alice@example.org"),
        subscribe(event, "bob@example.org", zone="Europe/London"),
        subscribe(event, "zoe.muller@example.org", zone="Asia/Kolkata"),
        subscribe(event, "nameless@example.org", zone="Europe/London"),
        subscribe(event, "carol@example.org", zone="Asia/Kolkata"),
        subscribe(event, "dan@example.org"),
        subscribe(event, "erin@example.org"),
    ]
    subs[2].participant.name = "Zoë Müller, MLIS"
    subs[3].participant.name = ""
    subscribe(event, "pending@example.org", status="pending")
    db.session.commit()
    return subs


@pytest.mark.parametrize("kind", ["update", "cancel"])
def test_session_updates_and_cancellations_match_the_one_at_a_time_message(app, kind):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from forum.calendars.changes import describe, session_change_message
    from forum.common import fanout
    from forum.events import service as events
    from forum.models import FanOut, OutboundBody
    from tests.support.calendars import parse_checked

    event = make_series()
    subs = _change_readers(event)
    session = event.sessions[0]
    at = session.starts_at - timedelta(days=3)
    reason = "Our speaker is ill. We will mail a new date — sorry!"
    with clock.frozen(at):
        if kind == "update":
            start = session.start_wall + timedelta(hours=2)
            events.set_session_times(session, start, start + timedelta(hours=1), session.timezone)
        else:
            events.cancel_session(session, reason=reason)
        db.session.commit()
        fan = db.session.scalars(select(FanOut)).one()
        changes = fan.params.get("changes", [])
        assert (kind == "cancel") or any(line["what"] == "when" for line in changes)
        rows = outbox("calendar")  # the sender side writes the copies
        assert fan.done_at is not None
        assert sorted(r.recipient for r in rows) == sorted(s.participant.email for s in subs)
        # The text is stored once per group (zone, named or not, encoding), not once per
        # reader, and a stored body names nobody: names and links are per-row pieces.
        assert db.session.scalar(select(func.count(OutboundBody.id))) < len(subs)
        bodies = db.session.scalars(select(OutboundBody.data)).all()
        for sub in subs:
            needles = [sub.participant.email, sub.participant.name, join_links.personal_link(sub, session)]
            assert not any(n and n.encode() in b.replace(b"=\r\n", b"") for n in needles for b in bodies)
        for sub in subs:
            (row,) = outbox("calendar", sub.participant.email)
            assert row.idempotency_key == f"{fan.key}:{sub.id}"
            reference = session_change_message(session, sub, kind=kind, changes=changes, reason=reason)
            assert_same_mail(row.full_message, reference, same_id=False)
            got = message_from_bytes(row.full_message, policy=policy.default)
            text = got.get_body(("plain",)).get_content()
            link = join_links.personal_link(sub, session)
            assert link
            cal = next(p for p in got.walk() if p.get_content_type() == "text/calendar").get_content()
            (vevent,) = parse_checked(cal.encode()).walk("VEVENT")
            assert str(vevent["ATTENDEE"]) == f"mailto:{sub.participant.email}"
            assert link in str(vevent["DESCRIPTION"])
            others = [join_links.personal_link(o, session) for o in subs if o is not sub]
            assert not any(other and other in row.full_message.decode("latin-1") for other in others)
            zone_line = session_zone_lines(session, sub.participant.timezone)[-1]
            assert zone_line in text
            if kind == "update":
                assert "What changed:" in text and describe(changes[0]) in text and link in text
            else:
                assert "Our speaker is ill." in text and vevent["STATUS"] == "CANCELLED"
            name = sub.participant.name
            assert text.startswith(f"Hello {name}," if name else "Hello,")
        assert fanout.expand_pending().messages == 0


def test_each_recipients_transfer_encoding_is_the_one_the_email_package_picks() -> None:
    """`TextPart` picks 7bit/8bit/QP/base64 per recipient from line lengths without encoding
    the recipient's text whole; random texts (long lines, "=", blanks, non-Latin, bytes
    that str.splitlines breaks at) get what `set_content` would give them."""
    import random
    import re

    from forum.mail.bulk import TextPart
    from forum.mail.policy import POLICY

    encode_text = __import__("email.contentmanager", fromlist=["_encode_text"])._encode_text
    rng = random.Random(16)
    mixed = ["a", "b", " ", "=", "é", "Å", "Д", "\t", "x", "/", "?"]
    latin = [*"abcdefghij klmnop/?:.", "é", "="]  # mostly ASCII: quoted-printable
    seen = set()
    for n in range(600):
        alphabet = latin if n % 2 else mixed
        lines = []
        for _ in range(rng.randint(1, 14)):
            line = "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 5, 40, 77, 78, 79, 120, 300])))
            lines.append(line + (" zzabcv0z" if rng.random() < 0.3 else ""))
        text = "\n".join(lines) + "\n"
        part = TextPart(text, "plain", re.compile(rb"zzabcv(\d+)z"))
        value = "".join(rng.choice(alphabet) for _ in range(rng.choice([3, 60, 90])))
        want, _ = encode_text(text.replace("zzabcv0z", value), "utf-8", None, POLICY)
        assert part._choose_cte(part._substitute([value])) == want
        raw = part._raw([value])  # as `encode_pieces` asks: the link lines' sniff from their escapes
        assert part._choose_cte(part._lines(raw), raw, [None]) == want
        seen.add(want)
    assert seen == {"7bit", "8bit", "quoted-printable", "base64"}
