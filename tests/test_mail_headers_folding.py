"""List mail headers as strict readers see them: the author shown by name (never by address),
encoded words of at most 75 characters and header lines of at most 78 (RFC 2047 / 5322)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.utils import formataddr

from tests.support.discussion import deliver, make_forum, message, parsed, queued, subscribe

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def assert_folded(data: bytes) -> None:
    """No header line over 78 characters unless it is one unbreakable item (a URL in
    List-Unsubscribe cannot be folded: RFC 5322's 78 is a SHOULD, 998 the MUST)."""
    head = header_block(data)
    long_lines = [line for line in head.split(b"\r\n") if len(line) > 78]
    assert all(len(line) <= 998 for line in long_lines)
    foldable = [line for line in long_lines if b" " in line.strip().partition(b" ")[2]]
    assert foldable == []
    long_words = [w for w in ENCODED_WORD.findall(head) if len(w) > 75]
    assert long_words == [], head.decode()


def test_an_author_without_a_name_shows_by_local_part_not_address(app, client):
    event = make_forum()
    subscribe(event, "plain@example.org", "", posts_approved=1)
    subscribe(event, "bob@example.org", "Bob")
    raw = message(sender="plain@example.org", name="", msgid="<plain@example.org>")
    raw = raw.replace(b"From:  <plain@example.org>", b"From: plain@example.org")
    assert deliver(app, raw, mail_from="plain@example.org") == 250
    copy = next(r for r in queued("post") if r.recipient == "bob@example.org")
    sender = parsed(copy)["From"].addresses[0]
    assert sender.display_name == "plain via Mentoring in Technical Services"
    assert b"plain@example.org via" not in copy.message
    page = client.get("/events/mentoring/archive")
    assert page.status_code == 200 and b"plain@example.org" not in page.data


def test_long_and_non_ascii_names_and_titles_are_folded_within_the_limits(app):
    title = "Über die Zukunft der Bibliotheken im digitalen Zeitalter — Katalogisierung und Metadaten"
    event = make_forum(title=title)
    name = "Zoë Ångström-Müller de la Bibliothèque nationale du Québec et du Département des métadonnées"
    subscribe(event, "zoe@example.org", name, posts_approved=1)
    subscribe(event, "bob@example.org", "Robert Alexander Montgomery-Fitzwilliam the Third of Westchester County")
    subject = "Ré: Über die Zukunft der Katalogisierung — eine sehr lange Diskussion über Normdaten und Regeln"
    # As mail clients write it: one chain of encoded words, split anywhere (even inside a word).
    sender = formataddr((name, "zoe@example.org"), charset="utf-8")
    raw = message(name="Zoe", sender="zoe@example.org", subject=subject, msgid="<long@example.org>")
    raw = raw.replace(b"From: Zoe <zoe@example.org>", b"From: " + sender.encode())
    assert b"From: =?utf-8?" in raw
    assert deliver(app, raw, mail_from="zoe@example.org") == 250
    copies = queued("post")
    assert len(copies) == 2
    for copy in copies:
        assert_folded(copy.message)
        mail = message_from_bytes(copy.message, policy=policy.default)
        assert mail["From"].addresses[0].display_name == f"{name} via {title}"
        assert mail["Subject"] == subject
        assert str(mail["List-Id"]).endswith("<mentoring.lists.forum.test>")
        assert title in str(mail["List-Id"])
    bob = next(r for r in copies if r.recipient == "bob@example.org")
    to = message_from_bytes(bob.message, policy=policy.default)["To"].addresses[0]
    assert to.display_name == "Robert Alexander Montgomery-Fitzwilliam the Third of Westchester County"
