"""User-written Markdown and HTML -> safe HTML (markdown-it + nh3), and plain text <-> simple HTML.

The only place that calls nh3 or markdown-it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from html import escape, unescape
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"linkify": False, "html": False}).enable("table")
# Officers' mail texts: a line break they type is a line break ("Best wishes,\nMegan").
_md_lines = MarkdownIt("commonmark", {"linkify": False, "html": False, "breaks": True})

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


#: Limits on HTML given to nh3, whose work grows faster than linearly with nesting: a
#: 1.3 MB post of 100,000 nested <div> took minutes. Mail beyond them is shown from its
#: text part (or the text read out of the HTML), which loses formatting, not words.
MAX_HTML_CHARS = 1_000_000
MAX_HTML_DEPTH = 256
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
#: Void elements, and those HTML lets authors leave open (the parser closes them itself).
_NOT_NESTING = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "thead",
        "tbody",
        "tfoot",
        "colgroup",
    ]
)


def slugify(text: str, fallback: str) -> str:
    """`Mentoring in Technical Services` -> `mentoring-in-technical-services` (at most 80
    characters: the page address and the list address use it); `fallback` when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80].rstrip("-") or fallback


def html_depth(html: str) -> int:
    """The deepest tag nesting in `html`, by one cheap linear scan (no parsing).

    Tags the parser closes by itself are not counted, so sloppy mail HTML with
    unclosed `<p>` or `<li>` does not look deep.
    """
    depth = deepest = 0
    for match in _TAG_RE.finditer(html):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _NOT_NESTING:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def html_within_limits(html: str) -> bool:
    """Whether `html` is small and shallow enough to sanitise in well under a second."""
    return len(html) <= MAX_HTML_CHARS and html_depth(html) <= MAX_HTML_DEPTH


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
    """Markdown to safe HTML; raw HTML in the source is escaped, not passed through.

    Event and panelist texts are rendered on every public page view and seldom change, so
    short texts are kept (a pure function of the text: an edit is a new key)."""
    if not text:
        return Markup("")
    if len(text) <= MARKDOWN_CACHE_CHARS:
        return _markdown_cached(text)
    return sanitize_html(_md.render(text))


def markdown_lines(text: str | None) -> Markup:
    """Like `markdown`, but each line break typed is kept: for short texts such as a mail's
    sign-off, where two lines must not run into one."""
    return sanitize_html(_md_lines.render(text)) if text else Markup("")


#: texts up to this long are cached by `markdown` (at most 1,024 of them: a few MB)
MARKDOWN_CACHE_CHARS = 4000


@lru_cache(maxsize=1024)
def _markdown_cached(text: str) -> Markup:
    return sanitize_html(_md.render(text))


def ascii_text(text: str) -> str:
    """One line of ASCII for protocol replies (SMTP/LMTP texts are ASCII): accents dropped
    (`Bücher` -> `Bucher`), other characters as `\\u` escapes, never a bare `?`."""
    text = " ".join(str(text).split())
    if text.isascii():
        return text
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return folded.encode("ascii", "backslashreplace").decode("ascii")


def lines(text: str | None) -> list[str]:
    """Non-empty lines, without list bullets: how learning outcomes are entered and shown."""
    out = []
    for raw in (text or "").splitlines():
        item = raw.strip().lstrip("•*-").strip()
        if item:
            out.append(item)
    return out


# --- HTML -> text -------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Readable text from HTML: block tags become line breaks, blockquotes `>` quotes."""

    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "hr"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.skip = 0

    def _newline(self) -> None:
        if self.lines[-1].strip() or (len(self.lines) > 1 and self.lines[-2].strip()):
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self._newline()
            self.quote += 1
        elif tag in self.BLOCK:
            self._newline()
            if tag == "li":
                self.lines[-1] += "* "

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self._newline()
            self.quote = max(0, self.quote - 1)
        elif tag in self.BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = " ".join(data.split())
        if not text:
            return
        if not self.lines[-1] and self.quote:
            self.lines[-1] = "> " * self.quote
        sep = " " if self.lines[-1] and not self.lines[-1].endswith((" ", "> ")) else ""
        self.lines[-1] += sep + text


_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|div|br|li|tr|h[1-6]|pre|table|hr|blockquote)\b[^>]*>", re.IGNORECASE
)
_ANY_TAG_RE = re.compile(r"<[^>]*>")
_SKIPPED_RE = re.compile(r"<(script|style)\b", re.IGNORECASE)


def _strip_tags(html: str) -> str:
    """Text out of HTML in a few linear passes (no parser): for HTML beyond the limits,
    where HTMLParser's per-tag Python work alone takes seconds."""
    kept: list[str] = []
    pos = 0
    for match in _SKIPPED_RE.finditer(html):
        if match.start() < pos:
            continue
        kept.append(html[pos : match.start()])
        end = html.lower().find(f"</{match.group(1).lower()}", match.end())
        pos = len(html) if end < 0 else end
        if end < 0:
            break
    kept.append(html[pos:])
    text = _ANY_TAG_RE.sub("", _BLOCK_TAG_RE.sub("\n", "".join(kept)))
    lines = [" ".join(line.split()) for line in unescape(text).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Readable text from HTML; HTML beyond `html_within_limits` is read by `_strip_tags`."""
    if not html_within_limits(html):
        return _strip_tags(html)
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but never let it sink a post
        return " ".join(re.sub(r"<[^>]*>", " ", html).split())
    text = "\n".join(line.rstrip() for line in parser.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    """Plain text as simple HTML: paragraphs, line breaks, `>` quotes as blockquotes."""
    out: list[str] = []
    quote: list[str] = []
    para: list[str] = []

    def flush_para() -> None:
        if para:
            out.append("<p>" + "<br>\n".join(escape(line) for line in para) + "</p>")
            para.clear()

    def flush_quote() -> None:
        if quote:
            inner = "\n".join(line[1:].removeprefix(" ") for line in quote)
            out.append("<blockquote>" + text_to_html(inner) + "</blockquote>")
            quote.clear()

    for line in text.splitlines():
        if line.startswith(">"):
            flush_para()
            quote.append(line)
        elif not line.strip():
            flush_quote()
            flush_para()
        else:
            flush_quote()
            para.append(line)
    flush_quote()
    flush_para()
    return "\n".join(out)
