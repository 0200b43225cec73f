"""The one accessibility checker every browser test uses: axe-core with every WCAG 2.0/2.1/2.2
A and AA rule and every impact (minor ones too), at a desktop and a phone width, plus the
duplicate-id check axe-core no longer makes.

The walk over every page is tests/browser/test_wcag.py; the states a walk cannot reach are
tests/browser/test_accessibility.py.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.support.live import OFFICER_EMAIL, OFFICER_PASSWORD

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = (1280, 390)
RUN_AXE = "options => axe.run(document, options)"
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
#: axe-core's script, read from its package once per test process (not once per test)
AXE = Axe()

DUPLICATE_IDS = """() => {
  const seen = {};
  for (const el of document.querySelectorAll("[id]:not(input[type=hidden])")) {
    seen[el.id] = (seen[el.id] || 0) + 1;
  }
  return Object.keys(seen).filter((id) => seen[id] > 1);
}"""


#: What makes two pages the same for axe-core: every element's tag, its attributes' names and
#: values (classes, roles, styles, states), whether it holds text of its own, and its children,
#: a run of identical siblings counted once (a table of three rows is a table of five).
#: Left out: what only names or points (ids, links, values, labels' words: their presence
#: stays), so two answers of one template in one state have one signature.
STATE = """() => {
  const WORDS = new Set(["id", "for", "href", "src", "action", "value", "name", "content", "title",
    "alt", "datetime", "aria-label", "aria-labelledby", "aria-describedby", "aria-controls",
    "placeholder"]);
  function sign(el) {
    const attrs = [...el.attributes].map(a => WORDS.has(a.name) ? a.name + (a.value ? "" : "=''")
      : a.name + "=" + a.value).sort().join(" ");
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) ? " T" : "";
    const kids = [];
    for (const child of el.children) {
      const s = sign(child);
      if (kids[kids.length - 1] !== s) kids.push(s);
    }
    return "<" + el.tagName + " " + attrs + text + ">" + kids.join("") + "</>";
  }
  const all = sign(document.documentElement);
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < all.length; i++) {
    const c = all.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  return (h1 >>> 0).toString(16) + (h2 >>> 0).toString(16) + ":" + all.length;
}"""


#: Every stylesheet the document links is loaded and applied.
STYLED = "() => [...document.querySelectorAll('link[rel=stylesheet]')].every((link) => link.sheet !== null)"


def state_of(page: Page) -> str:
    """The page's signature (`STATE`): pages that share it get the same answer from axe-core."""
    return str(page.evaluate(STATE))


def violations(page: Page, axe: Axe = AXE, *, restore: bool = True) -> list[str]:
    """One line per WCAG 2.2 A/AA violation, at each of `WIDTHS` (the page is resized, not
    reloaded: the same document, laid out again), starting at the width it is at; with
    `restore` the viewport is put back as the test left it.

    Duplicate ids are checked here too: axe-core 4.12 no longer reports them, yet a label
    or aria-labelledby pointing at a duplicated id names the wrong element. Hidden inputs
    (every form's csrf_token) are left out: nothing can point at them."""
    # A test may ask right after a click that navigates: the new document's elements exist
    # before its stylesheet applies, and axe then measured unstyled header links (a
    # target-size "violation" seen in 3 of 2,128 tests in one clean run, none in the next).
    page.wait_for_load_state("load")
    page.wait_for_function(STYLED)
    if not page.evaluate("() => typeof axe === 'object'"):  # not put there by an init script
        page.evaluate(axe.axe_script)  # once per document; each width re-runs the rules
    lines: list[str] = []
    size = page.viewport_size or {"width": WIDTHS[0], "height": 900}
    for width in sorted(WIDTHS, key=lambda w: w != size["width"]):  # the current width first
        if width != (page.viewport_size or size)["width"]:
            page.set_viewport_size({"width": width, "height": size["height"]})
        found = page.evaluate(RUN_AXE, OPTIONS)
        lines += [
            f"{page.url} @{width}px: {v['id']} ({v['impact']}) at {[n['target'] for n in v['nodes']][:5]}: "
            f"{v['help']} <{v['helpUrl']}>"
            for v in found["violations"]
        ]
    if restore and page.viewport_size != size:
        page.set_viewport_size(size)
    return lines + duplicate_ids(page)


def duplicate_ids(page: Page) -> list[str]:
    duplicated = page.evaluate(DUPLICATE_IDS)
    if duplicated:
        return [f"{page.url}: duplicate-id (serious) {duplicated}: ids must be unique on a page"]
    return []


def check(page: Page, url: str, problems: list[str]) -> None:
    """Open `url` (it must answer 200) and add its violations to `problems`."""
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    problems.extend(violations(page))


def sign_in_checked(page: Page, base: str, problems: list[str]) -> None:
    """Sign the officer in, checking the sign-in page and the page with its error on the way."""
    check(page, f"{base}/login", problems)
    page.get_by_label("Email").fill(OFFICER_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("do not match an officer account")).to_be_visible()
    problems.extend(violations(page))  # the sign-in page with its error
    page.get_by_label("Password").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Events", exact=True)).to_be_visible()
