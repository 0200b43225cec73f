"""User-written Markdown and HTML -> safe HTML (markdown-it + nh3). The only place that does it."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"linkify": False, "html": False}).enable("table")

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}


def sanitize_html(html: str) -> Markup:
    """Clean HTML from anywhere (a post's HTML part, rendered Markdown)."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # noqa: S704 - nh3 output is safe by construction


def markdown(text: str | None) -> Markup:
    """Markdown to safe HTML; raw HTML in the source is escaped, not passed through."""
    if not text:
        return Markup("")
    return sanitize_html(_md.render(text))


def lines(text: str | None) -> list[str]:
    """Non-empty lines, without list bullets: how learning outcomes are entered and shown."""
    out = []
    for raw in (text or "").splitlines():
        item = raw.strip().lstrip("•*-").strip()
        if item:
            out.append(item)
    return out
