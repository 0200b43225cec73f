"""`flask forum postfix-maps`: Postfix's own lookup tool (postmap) finds every address the forum
takes mail for in the printed map, and none it would refuse."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from forum.core.extensions import db
from forum.mail.addresses import (
    approve_address,
    bounce_address,
    rsvp_address,
    unfollow_mailto,
    unsubscribe_mailto,
)
from forum.models import Post
from tests.support.discussion import DOMAIN, make_forum, subscribe

POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):  # type: ignore[no-untyped-def]
    """postmap reads main.cf before any table, and a machine with the postfix package but no
    configured mail system (a fresh CI machine) has none: give it an empty one of its own, so
    the test never depends on /etc/postfix."""
    folder = tmp_path_factory.mktemp("postfix")
    (folder / "main.cf").write_text("")
    return folder


def lookup(config: object, table: str, address: str) -> bool:
    done = subprocess.run(
        [POSTMAP, "-c", str(config), "-q", address, table], capture_output=True, text=True, timeout=30
    )
    # postmap exits 1 both for "not found" and for a fatal error: only an empty stderr is a miss.
    assert done.returncode in (0, 1) and "fatal" not in done.stderr, done.stderr
    return done.returncode == 0 and done.stdout.strip() == "OK"


@pytest.fixture
def addresses(app):  # type: ignore[no-untyped-def]
    forum = make_forum()
    series = make_forum(slug="fall-series", kind="series")
    make_forum(slug="draft-forum", status="draft")
    ann = subscribe(forum, "ann@example.org", "Ann")
    bea = subscribe(series, "bea@example.org", "Bea")
    post = Post(event_id=forum.id, message_id="<p@example.org>", author_email="ann@example.org", status="held")
    db.session.add(post)
    db.session.commit()
    good = [
        f"mentoring@{DOMAIN}",
        rsvp_address(forum),
        rsvp_address(series),
        rsvp_address(series, bea),  # the ORGANIZER of Bea's own invites
        f"fall-series@{DOMAIN}",  # a series' From address takes replies
        approve_address(post),
        unsubscribe_mailto(ann).removeprefix("mailto:").split("?")[0],
        unsubscribe_mailto(bea).removeprefix("mailto:").split("?")[0],
        bounce_address(ann),
        bounce_address(bea),
        unfollow_mailto(7).removeprefix("mailto:").split("?")[0],  # pathway step mail's List-Unsubscribe
    ]
    bad = [
        f"nosuch@{DOMAIN}",
        f"fall-series+approve-1-{'0' * 24}@{DOMAIN}",  # a series has no posts to approve
        f"draft-forum@{DOMAIN}",
        f"draft-forum+rsvp@{DOMAIN}",
        f"mentoring+owner@{DOMAIN}",
        f"mentoring+leave-1-{'0' * 23}@{DOMAIN}",  # a tag of the wrong length
        "mentoring@other.example",
        f"xmentoring@{DOMAIN}",
    ]
    return good, bad


def test_regexp_map_covers_every_meaningful_address(app, addresses, tmp_path, config_dir):  # type: ignore[no-untyped-def]
    good, bad = addresses
    result = app.test_cli_runner().invoke(args=["forum", "postfix-maps"])
    assert result.exit_code == 0, result.output
    table = tmp_path / "forum_recipients.regexp"
    table.write_text(result.output)
    assert [a for a in good if not lookup(config_dir, f"regexp:{table}", a)] == []
    assert [a for a in bad if lookup(config_dir, f"regexp:{table}", a)] == []
    assert lookup(config_dir, f"regexp:{table}", f"MENTORING@{DOMAIN.upper()}")  # Postfix compares case-blind


def test_hash_map_lists_the_exact_addresses(app, addresses, tmp_path, config_dir):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["forum", "postfix-maps", "--format", "hash"])
    assert result.exit_code == 0, result.output
    table = tmp_path / "forum_recipients"
    table.write_text(result.output)
    assert sorted(line.split("\t")[0] for line in result.output.splitlines()) == [
        f"fall-series+rsvp@{DOMAIN}",
        f"fall-series@{DOMAIN}",
        f"mentoring+rsvp@{DOMAIN}",
        f"mentoring@{DOMAIN}",
        f"pathways@{DOMAIN}",  # the base of `pathways+unfollow-<id>-<tag>@`
    ]
    assert lookup(config_dir, f"texthash:{table}", f"mentoring@{DOMAIN}")
    assert lookup(config_dir, f"texthash:{table}", f"fall-series@{DOMAIN}")  # replies to a series' mail
    assert not lookup(config_dir, f"texthash:{table}", f"draft-forum@{DOMAIN}")
