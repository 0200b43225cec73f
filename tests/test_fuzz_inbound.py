"""Malformed mail, generated and hand-made: every message is accepted or refused with a
reason, never an exception or a dead LMTP server, and nothing already archived is lost."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from forum.core import clock
from forum.core.extensions import db
from forum.discussion import service as discussion
from forum.models import Post
from tests.support.discussion import LIST, OPEN_AT, lmtp_send, lmtp_server, make_forum, message, subscribe

KNOWN = {
    "accepted",
    "held",
    "duplicate",
    "dropped",
    "not_open",
    "moderated",
    "refused",
    "too_big",
    "unparseable",
}
MEMBER = "ann@example.org"
FROM = b"From: Ann <ann@example.org>\r\nTo: " + LIST.encode() + b"\r\n"

CORPUS: list[bytes] = [
    b"",
    b"just a body, no headers at all\r\n",
    b"To: " + LIST.encode() + b"\r\nSubject: no from\r\n\r\nbody\r\n",
    b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n",
    b"From: <>\r\nSubject: x\r\n\r\nbody\r\n",
    FROM
    + b"Subject: bad charset\r\nContent-Type: text/plain; charset=x-unknown-zz\r\n\r\nCaf\xe9 \xff\xfe\r\n",
    FROM + b"Subject: =?x-bogus?Q?hello?= =?utf-8?B?!!!?= =?utf-8?Q?caf=C3?=\r\n\r\nbody\r\n",
    FROM + b"Subject: missing boundary\r\nContent-Type: multipart/mixed; boundary=XYZ\r\n\r\n"
    b"--ABC\r\nContent-Type: text/plain\r\n\r\nwrong boundary\r\n--ABC--\r\n",
    FROM + b"Subject: no boundary param\r\nContent-Type: multipart/alternative\r\n\r\nplain words\r\n",
    FROM + b"Subject: unterminated\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    b"--b1\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>open",
    FROM + b"Subject: \xe9t\xe9 latin-1 in a header\r\n\r\nbody\r\n",
    b"From: J\xc3\xa9r\xc3\xb4me \xff <ann@example.org>\r\nTo: "
    + LIST.encode()
    + b"\r\nSubject: 8-bit name\r\n\r\nok\r\n",
    FROM + b"Subject: huge line\r\n\r\n" + b"y" * 200_000 + b"\r\n",
    FROM + b"Subject: bad base64\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n====\r\n",
    FROM + b"Subject: bad qp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=E9=\r\n",
    FROM
    + b"Subject: deep\r\n"
    + b"".join(b"Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\n" % (i, i) for i in range(60))
    + b"Content-Type: text/plain\r\n\r\ndeep text\r\n",
    FROM + b"Subject: forwarded\r\nContent-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\n"
    b"Content-Type: text/plain\r\n\r\nsee below\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: x@y\r\nSubject: inner\r\n\r\ninner body\r\n--f--\r\n",
    FROM + b"this header line has no colon\r\n continuation first\r\nSubject: odd\r\n\r\nbody\r\n",
    FROM + b"Subject: nul\x00s\r\n\r\nbody with \x00 nul\r\n",
    FROM + b"Subject: long id\r\nMessage-ID: <" + b"a" * 400 + b"@example.org>\r\n\r\nbody\r\n",
    FROM
    + b"Subject: html script\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script><p onclick=x>hi</p>\r\n",
    b"From: Ann <ann@example.org>\r\nFrom: Bob <bob@example.org>\r\nSubject:\r\n\r\n\r\n",
    FROM
    + b"Subject: many refs\r\nReferences: "
    + b" ".join(b"<r%d@x>" % i for i in range(1000))
    + b"\r\n\r\nb\r\n",
    FROM.replace(b"\r\n", b"\r") + b"Subject: cr only\r\rbody\r",
    FROM + b"Subject: charset in params\r\nContent-Type: text/plain; charset*=bogus''%FF%FE\r\n\r\nbody\r\n",
    FROM + b'Content-Type: text/plain; charset="utf-8\r\nSubject: unclosed quote\r\n\r\nbody\r\n',
    FROM + b'Subject: attachment only\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n",
    FROM + b"Subject: =?utf-8?q?" + b"=E2=80" * 40 + b"?=\r\n\r\nbroken utf-8 in encoded word\r\n",
    b"\xff\xfe\x00\x00garbage\r\n\r\n\x89PNG",
]


def _setup_archive() -> Post:
    event = make_forum()
    subscribe(event, MEMBER, "Ann", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    with clock.frozen(OPEN_AT):
        outcome = discussion.receive(message(msgid="<keep@example.org>", body="Keep me."), LIST)
    assert outcome.status == "accepted"
    return outcome.post  # type: ignore[return-value]


def _assert_archive_intact(kept_id: int, accepted_before: int) -> None:
    db.session.expire_all()
    kept = db.session.get(Post, kept_id)
    assert kept is not None and kept.status == "accepted" and kept.body_text == "Keep me."
    accepted = db.session.scalars(select(Post).where(Post.status == "accepted")).all()
    assert len(accepted) >= accepted_before


def test_corpus_through_the_handler(app):
    kept = _setup_archive()
    for raw in CORPUS:
        with clock.frozen(OPEN_AT):
            outcome = discussion.receive(raw, LIST)
        assert outcome.status in KNOWN, (raw[:80], outcome)
        assert outcome.reason
        assert outcome.smtp_reply[:3] in {"250", "550", "552"}
    _assert_archive_intact(kept.id, 1)
    # the readable ones made it, the unreadable got a reason
    statuses = {p.subject: p.status for p in db.session.scalars(select(Post))}
    assert statuses.get("bad charset") == "accepted"
    assert statuses.get("8-bit name") == "accepted"
    nul = next(p for p in db.session.scalars(select(Post)) if p.subject.startswith("nul"))
    assert "\x00" not in nul.body_text


def test_corpus_through_the_lmtp_server(app):
    kept = _setup_archive()
    with clock.frozen(OPEN_AT), lmtp_server(app) as server:
        for raw in CORPUS:
            replies = lmtp_send(server, raw, [LIST], mail_from=MEMBER)
            assert len(replies) == 1
            code, text = replies[0]
            assert code in (250, 500, 550, 552), (raw[:80], code, text)
        # a client that vanishes in the middle of DATA does not take the server down
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.recv(1024)
            sock.sendall(
                b"LHLO test\r\nMAIL FROM:<ann@example.org>\r\nRCPT TO:<" + LIST.encode() + b">\r\nDATA\r\n"
            )
            sock.sendall(b"From: Ann <ann@example.org>\r\nSubject: cut")
        [(code, _)] = lmtp_send(server, message(msgid="<after@example.org>", body="Still here."), [LIST])
        assert code == 250
    _assert_archive_intact(kept.id, 2)


header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "X-Loop",
        "MIME-Version",
    ]
)
header_values = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(
        [
            b"Ann <ann@example.org>",
            b"ann@example.org",
            b"multipart/mixed; boundary=zz",
            b"multipart/alternative",
            b"text/html; charset=bogus",
            b"text/plain; charset=utf-8",
            b"base64",
            b"quoted-printable",
            b"=?utf-8?B?w6k=?=",
            b"=?bogus?Q?x?=",
            b"<id@example.org>",
            b'attachment; filename="x.bin"',
        ]
    ),
)
bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.just(b"--zz\r\nContent-Type: text/plain\r\n\r\npart\r\n--zz--\r\n"),
)


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=10))
    if draw(st.booleans()):
        headers.insert(0, ("From", b"Ann <ann@example.org>"))
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    head = newline.join(
        name.encode() + b": " + value.replace(b"\r", b" ").replace(b"\n", b" ") for name, value in headers
    )
    return head + newline + newline + draw(bodies)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.one_of(raw_messages(), st.binary(max_size=600)))
def test_generated_messages_never_raise(app, raw):
    if db.session.scalar(select(Post.id).where(Post.message_id == "<keep@example.org>")) is None:
        _setup_archive()
    kept_id = db.session.scalar(select(Post.id).where(Post.message_id == "<keep@example.org>"))
    accepted_before = len(db.session.scalars(select(Post).where(Post.status == "accepted")).all())
    with clock.frozen(OPEN_AT):
        outcome = discussion.receive(raw, LIST)
    assert outcome.status in KNOWN
    assert outcome.reason and outcome.smtp_reply[:3] in {"250", "550", "552"}
    _assert_archive_intact(kept_id, accepted_before)  # type: ignore[arg-type]
