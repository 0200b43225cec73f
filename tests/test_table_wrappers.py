"""Every page table sits in a wrapper that scrolls it sideways, so a wide table (an attendance
grid with a column per session, a subscriber list with addresses) never widens a 390 px page.

The attendance grid and the subscriber list were wrapped in a `table-scroll` div that no
stylesheet defined, so the whole officer page scrolled sideways on a phone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSS = (ROOT / "static" / "css" / "forum.css").read_text(encoding="utf-8")
WRAPPED = re.compile(r'<div class="([\w -]+)">\s*<table')
# two-column tables of counts (label, number), narrow at any width
NARROW = {("templates/subscribers/index.html", "counts")}


def scrolling_classes() -> set[str]:
    """Classes whose rule in forum.css sets overflow-x: auto."""
    found: set[str] = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", CSS):
        if re.search(r"overflow-x\s*:\s*auto", body):
            found.update(re.findall(r"\.([\w-]+)", selectors))
    return found


def test_every_table_wrapper_in_a_page_template_scrolls() -> None:
    scrolling = scrolling_classes()
    assert "table-wrap" in scrolling
    wrappers = []
    for template in (ROOT / "templates").rglob("*.html"):
        if "mail" in template.parts:
            continue  # mail has no stylesheet of ours
        for classes in WRAPPED.findall(template.read_text(encoding="utf-8")):
            wrappers.append((template.relative_to(ROOT).as_posix(), classes))
    assert len(wrappers) >= 10
    unstyled = [(path, classes) for path, classes in wrappers if not set(classes.split()) & scrolling and (path, classes) not in NARROW]
    assert unstyled == []
