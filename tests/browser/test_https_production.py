"""The subscriber's whole journey as it runs for real users: the real `wsgi:app` under
gunicorn with FORUM_ENV=production, behind a TLS proxy (X-Forwarded-For/Proto, PROXY_HOPS=1),
mail through a real SMTP server, and a Chromium that trusts the site's certificate.

Over HTTPS Flask-WTF also checks that a form POST carries a same-origin Referer, so this is
where a referrer policy that hides the signed token too well (no-referrer) breaks confirming,
saving preferences, leaving, posting and erasing, while every plain-HTTP test passes.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from forum.core import clock
from forum.core.extensions import db
from forum.mail import links
from forum.mail.sender import send_due
from forum.models import Participant
from tests.browser.helpers import Site, open_page
from tests.support.live import make_event
from tests.support.smtp import SMTPServer

VISITOR = "visitor@example.org"


def deliver(smtp: SMTPServer, subject_part: str) -> str:
    """Run the sender once (as the scheduler would) and return the text of the newest mail
    to the visitor whose subject contains `subject_part`."""
    db.session.expire_all()
    send_due()
    for received in reversed(smtp.to(VISITOR)):
        message = received.message
        if subject_part in str(message["Subject"]):
            part = message.get_body(preferencelist=("plain",))
            assert part is not None
            return str(part.get_content())
    raise AssertionError(f"no mail {subject_part!r} in {[str(r.message['Subject']) for r in smtp.received]}")


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https://\S+/{path}/\S+", text)
    assert match, f"no /{path}/ link in:\n{text}"
    return match.group(0)


def referrers_seen(page: Page) -> list[tuple[str, str, str]]:
    """(method, url, Referer) of every request the page makes, to check what leaves it."""
    seen: list[tuple[str, str, str]] = []
    page.on("request", lambda r: seen.append((r.method, r.url, r.headers.get("referer", ""))))
    return seen


@pytest.mark.browser
@pytest.mark.parametrize("site", ["production-https"], indirect=True)
def test_subscriber_journey_over_https_in_production(browser: Browser, site: Site) -> None:
    now = clock.now().replace(tzinfo=None, microsecond=0)
    event = make_event(
        "open-forum",
        [(now - timedelta(hours=2), now + timedelta(days=2))],
        kind="eforum",
        zone="UTC",
        conduct_url="https://example.org/conduct",  # the form asks to accept it only then
    )
    title = event.title

    smtp = site.smtp
    assert smtp is not None
    page, csp_problems = open_page(browser, 1100)
    requests = referrers_seen(page)

    # subscribe on the public page (no token: the ordinary policy)
    page.goto(f"{site.base}/events/{event.slug}")
    assert page.evaluate("window.isSecureContext") is True, "Chromium must trust the site"
    form = page.get_by_role("region", name="Register", exact=True).locator("form")
    form.get_by_label("Email address").fill(VISITOR)
    form.get_by_label("Name (optional)").fill("Vera Visitor")
    form.get_by_label("I have read and accept the code of conduct").check()
    form.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    # confirm from the mail: a signed-link page whose button POSTs back to itself
    page.goto(link_in(deliver(smtp, "Confirm your subscription"), "confirm"))
    assert page.evaluate("document.referrer") == ""
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("status")).to_have_text(
        "You are subscribed. A welcome message with the details is on its way."
    )

    # preferences from the welcome mail
    welcome = deliver(smtp, "Welcome: ")
    page.goto(link_in(welcome, "preferences"))
    page.get_by_label(f"Delivery for {title}").select_option(label="Digest (daily or weekly)")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(page.get_by_label(f"Delivery for {title}")).to_have_value("digest")

    # a post from the web, by the posting link list mail carries
    db.session.expire_all()
    person = Participant.by_email(VISITOR)
    assert person is not None
    (subscription,) = person.subscriptions
    page.goto(links.post_url(subscription))
    page.get_by_label("Subject").fill("Hello from Berlin")
    page.get_by_label("Message").fill("Glad to be here over HTTPS.")
    page.get_by_role("button", name="Post to the e-forum").click()
    expect(page.get_by_text(re.compile("Your post was sent to the e-forum|once approved"))).to_be_visible()

    # leave with the unsubscribe link's button
    page.goto(link_in(welcome, "unsubscribe"))
    page.get_by_role("button", name=f"Leave {title}").click()
    expect(page.get_by_role("status")).to_have_text(
        f"You have left {title}. No more mail will come from it."
    )

    # a link from a signed-link page to another site carries no Referer at all
    page.goto(link_in(welcome, "preferences"))
    elsewhere: list[str | None] = []
    page.route(
        "https://elsewhere.example/**",
        lambda route: (elsewhere.append(route.request.headers.get("referer")), route.fulfill(status=200)),
    )
    page.evaluate(
        "() => { const a = document.createElement('a'); a.href = 'https://elsewhere.example/page';"
        " document.body.append(a); a.click(); }"
    )
    page.wait_for_url("https://elsewhere.example/page")
    assert elsewhere == [None]

    # and delete every trace ("delete my data")
    page.goto(link_in(welcome, "preferences"))
    page.get_by_role("button", name="Delete my address and my data…").click()
    page.get_by_role("button", name="Delete my address and my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data was deleted")

    assert csp_problems == []
    # same-origin POSTs carried a Referer (that is what the CSRF check needs) ...
    posts = [(url, ref) for method, url, ref in requests if method == "POST"]
    assert len(posts) >= 6 and all(ref.startswith(site.base + "/") for _, ref in posts), posts
    # ... and no request carried a signed link's token to another site
    assert all(url.startswith(site.base) or not ref for _, url, ref in requests)

    db.session.expire_all()
    erased = db.session.get(Participant, person.id)
    assert erased is not None and erased.email != VISITOR
