"""Wrap the user-visible text of Jinja templates in translation calls (a one-off helper,
for text added later: `.venv/bin/python -m tests.support.wrap_templates templates/x.html`, as the failing
no-bare-strings test suggests).

What it does, per file:
- a run of text and `{{ expressions }}` (with inline HTML such as <a>, <strong> inside it)
  between block tags / block-level HTML becomes `{% trans v=expr %}...{% endtrans %}` when
  it holds expressions, else `{{ _("text") }}`; in .txt templates each line is its own run;
- prose string literals inside expressions (`{{ "Save" if a else "Create" }}`, `hint="..."`,
  `{% set title = "..." %}`) become `_("...")`;
- title/alt/placeholder/aria-label attribute values become `{{ _("...") }}`.
It never touches text that is already inside a translation call. Review the diff.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TOKEN = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#})", re.S)
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q",
    "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
}
LETTER = re.compile(r"[^\W\d_]", re.U)
PROSE_KW = "hint|legend|label|title|text|placeholder|description|summary|caption|empty|note|heading|button|submit|intro|message|help|what|alt"
STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''


def is_prose(literal: str) -> bool:
    body = literal[1:-1]
    if not LETTER.search(body):
        return False
    if re.fullmatch(r"[a-z0-9_.\-/:#]+", body):  # identifiers, endpoints, css classes, paths
        return False
    if body.startswith(("http", "/", "#", ".", "mail/", "text/")) or "{" in body:
        return False
    return not (re.fullmatch(r"[a-z][a-z0-9_\- ]*", body) and " " not in body.strip())


def wrap_literals(expr: str) -> str:
    """Prose string literals inside a Jinja expression -> _("...")."""

    def repl(m: re.Match[str]) -> str:
        lit = m.group("lit")
        before = expr[: m.start("lit")]
        if re.search(r"(_|gettext|ngettext|url_for|endpoint_url|format|replace|startswith|endswith|split|join|get|attr|selectattr|rejectattr|map|sort|groupby|include|extends|import|from|default)\(\s*$", before):
            return m.group(0)
        if re.search(r"\b(in|==|!=|is)\s*$", before) or re.search(r"[\[,]\s*$", before) and not re.search(rf"\b({PROSE_KW})\s*=\s*$", before):
            return m.group(0)
        if re.search(r"\b(include|extends|import|from)\s+$", before):
            return m.group(0)
        after = expr[m.end("lit"):]
        if re.match(r"\s*(==|!=|\bin\b|:)", after):
            return m.group(0)
        context_ok = re.search(rf"(^\s*$|{{{{-?\s*$|\bif\s*$|\belse\s*$|\bor\s*$|~\s*$|\band\s*$|\(\s*$|\b({PROSE_KW})\s*=\s*$|\bset\s+\w+\s*=\s*$)", before)
        branch = re.match(r"\s+if\b", after) or re.search(r"\belse\s*$", before)
        if branch and LETTER.search(lit) and not re.fullmatch(r"[a-z0-9_.\-/:#]+", lit[1:-1].strip()) or branch and re.fullmatch(r"[a-z ,]+", lit[1:-1]) and LETTER.search(lit):
            context_ok, prose = True, True
        else:
            prose = is_prose(lit)
        if not context_ok or not prose:
            return m.group(0)
        if "%" in lit:
            lit = lit.replace("%", "%%")
        return f"_({lit})"

    return re.sub(rf"(?P<lit>{STRING})", repl, expr)


class Converter:
    def __init__(self, text_mode: bool):
        self.text_mode = text_mode

    # --- atoms -------------------------------------------------------------------------
    def atoms(self, src: str) -> list[tuple[str, str]]:
        """(kind, text): 'break' (block tag, comment, block-level HTML, broken tag),
        'var', 'text', 'itag' (a whole inline tag, may contain vars), 'nl' (newline in txt)."""
        out: list[tuple[str, str]] = []
        parts = TOKEN.split(src)
        i = 0
        in_tag: list[str] | None = None  # pieces of an HTML tag being read
        tag_ok = True
        raw_until: str | None = None
        while i < len(parts):
            piece = parts[i]
            i += 1
            if not piece:
                continue
            if TOKEN.fullmatch(piece):
                if in_tag is not None:
                    if piece.startswith("{{"):
                        in_tag.append(piece)
                    else:
                        in_tag.append(piece)
                        tag_ok = False
                    continue
                if raw_until:
                    out.append(("break", piece))
                    continue
                if piece.startswith("{{"):
                    out.append(("var", piece))
                else:
                    out.append(("break", piece))
                continue
            # data
            j = 0
            while j < len(piece):
                if in_tag is not None:
                    k = self._tag_end(piece, j, self._quote_state("".join(x for x in in_tag if not TOKEN.fullmatch(x))))
                    if k < 0:
                        in_tag.append(piece[j:])
                        j = len(piece)
                        continue
                    in_tag.append(piece[j : k + 1])
                    j = k + 1
                    tag = "".join(in_tag)
                    in_tag = None
                    out.append(self._classify(tag, tag_ok))
                    m = re.match(r"<\s*(script|style|pre|textarea)\b", tag, re.I)
                    if m:
                        raw_until = m.group(1).lower()
                    elif raw_until and re.match(rf"<\s*/\s*{raw_until}\b", tag, re.I):
                        raw_until = None
                    continue
                if self.text_mode:
                    nl = piece.find("\n", j)
                    end = len(piece) if nl < 0 else nl
                    if end > j:
                        out.append(("text", piece[j:end]))
                    if nl >= 0:
                        out.append(("nl", "\n"))
                        j = nl + 1
                    else:
                        j = end
                    continue
                lt = piece.find("<", j)
                if lt < 0:
                    out.append(("rawtext" if raw_until else "text", piece[j:]))
                    break
                if lt > j:
                    out.append(("rawtext" if raw_until else "text", piece[j:lt]))
                in_tag = []
                tag_ok = True
                j = lt
        if in_tag is not None:
            out.append(("break", "".join(in_tag)))
        return out

    @staticmethod
    def _quote_state(text: str) -> str | None:
        quote = None
        for c in text:
            if quote:
                if c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
        return quote

    @staticmethod
    def _tag_end(s: str, j: int, quote: str | None = None) -> int:
        for k in range(j, len(s)):
            c = s[k]
            if quote:
                if c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == ">":
                return k
        return -1

    @staticmethod
    def _classify(tag: str, ok: bool) -> tuple[str, str]:
        m = re.match(r"<\s*/?\s*([a-zA-Z0-9]+)", tag)
        if ok and m and m.group(1).lower() in INLINE:
            return ("itag", tag)
        return ("break", tag)

    # --- runs ----------------------------------------------------------------------------
    def convert(self, src: str) -> str:
        atoms = self.atoms(src)
        out: list[str] = []
        run: list[tuple[str, str]] = []

        def flush() -> None:
            out.append(self.render_run(run))
            run.clear()

        for kind, text in atoms:
            if kind in ("break", "nl", "rawtext"):
                flush()
                out.append(self.fix_tag(text) if kind == "break" else text)
            else:
                run.append((kind, text))
        flush()
        return "".join(out)

    def fix_tag(self, text: str) -> str:
        if text.startswith("{%"):
            m = re.match(r"({%-?\s*(?:set|call|if|elif|include|with)\b)(.*?)(-?%})$", text, re.S)
            if m and not text.startswith("{% include"):
                return m.group(1) + wrap_literals(m.group(2)) + m.group(3)
        return text

    def render_run(self, run: list[tuple[str, str]]) -> str:
        if not run:
            return ""
        has_letters = any(k in ("text",) and LETTER.search(t) for k, t in run) or any(
            k == "itag" and False for k, t in run
        )
        if not has_letters:
            return "".join(self.fix_var(t) if k == "var" else t for k, t in run)
        # expressions standing on their own line (a form's button, a CSRF field) stay outside
        head: list[str] = []
        while len(run) > 1:
            if run[0][0] == "text" and not run[0][1].strip():
                head.append(run.pop(0)[1])
            elif run[0][0] == "var" and run[1][0] == "text" and "\n" in run[1][1][: len(run[1][1]) - len(run[1][1].lstrip())]:
                head.append(self.fix_var(run.pop(0)[1]))
                t = run[0][1]
                head.append(t[: len(t) - len(t.lstrip())])
                run[0] = ("text", t.lstrip())
                if not run[0][1]:
                    run.pop(0)
            else:
                break
        tail: list[str] = []
        while len(run) > 1:
            if run[-1][0] == "text" and not run[-1][1].strip():
                tail.insert(0, run.pop()[1])
            elif run[-1][0] == "var" and run[-2][0] == "text" and "\n" in run[-2][1][len(run[-2][1].rstrip()) :]:
                tail.insert(0, self.fix_var(run.pop()[1]))
                t = run[-1][1]
                tail.insert(0, t[len(t.rstrip()) :])
                run[-1] = ("text", t.rstrip())
                if not run[-1][1]:
                    run.pop()
            else:
                break
        if head or tail:
            return "".join(head) + self.render_run(run) + "".join(tail)
        # keep leading/trailing whitespace (and leading txt bullets) outside
        first_kind, first = run[0]
        lead = ""
        if first_kind == "text":
            m = re.match(r"^(\s*(?:[-*•>]\s+|\d+\.\s+)?)", first) if self.text_mode else re.match(r"^(\s*)", first)
            lead = m.group(1) if m else ""
            run[0] = ("text", first[len(lead):])
        last_kind, last = run[-1]
        trail = ""
        if last_kind == "text":
            m = re.search(r"(\s*)$", last)
            trail = m.group(1) if m else ""
            run[-1] = ("text", last[: len(last) - len(trail)] if trail else last)
        # leading/trailing pure-expression atoms with no text next to them stay outside? keep simple: inside
        variables: dict[str, str] = {}
        names_by_expr: dict[str, str] = {}
        body: list[str] = []
        for kind, text in run:
            if kind == "text":
                body.append(text.replace("%", "%%"))
            elif kind == "itag":
                body.append(self._tag_with_vars(text, variables, names_by_expr).replace("%", "%%") if "{{" not in text else self._tag_with_vars(text, variables, names_by_expr))
            else:
                name = self._name_for(text, variables, names_by_expr)
                body.append("{{ " + name + " }}")
        msg = "".join(body)
        if "{%" in msg or "-}}" in msg or "{{-" in msg:
            return lead + "".join(t for _, t in run) + trail
        if not variables:
            if '"' in msg and "'" in msg:
                return lead + "{% trans %}" + msg + "{% endtrans %}" + trail
            q = "'" if '"' in msg else '"'
            if "\n" in msg:
                return lead + "{% trans trimmed %}" + msg + "{% endtrans %}" + trail
            return lead + "{{ _(" + q + msg.replace("\\", "\\\\") + q + ") }}" + trail
        args = ", ".join(f"{n}={wrap_literals(e)}" for n, e in variables.items())
        trimmed = " trimmed" if "\n" in msg else ""
        return lead + "{% trans" + trimmed + " " + args + " %}" + msg + "{% endtrans %}" + trail

    def _tag_with_vars(self, tag: str, variables: dict[str, str], names: dict[str, str]) -> str:
        pieces = TOKEN.split(tag)
        out = []
        for p in pieces:
            if p.startswith("{{"):
                out.append("{{ " + self._name_for(p, variables, names) + " }}")
            else:
                out.append(p.replace("%", "%%"))
        return "".join(out)

    def fix_var(self, text: str) -> str:
        m = re.match(r"({{-?)(.*?)(-?}})$", text, re.S)
        if not m:
            return text
        return m.group(1) + wrap_literals(m.group(2)) + m.group(3)

    def _name_for(self, token: str, variables: dict[str, str], names: dict[str, str]) -> str:
        expr = token[2:-2].strip()
        if expr in names:
            return names[expr]
        if re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", expr) and expr not in ("_",) and expr not in variables:
            base = expr
        elif re.match(r"(url_for|endpoint_url)\(", expr) or expr.endswith("_url"):
            base = "url"
        else:
            idents = re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", re.sub(STRING, "", expr.split("|")[0]))
            idents = [w for w in idents if w not in ("if", "else", "and", "or", "not", "in", "is", "none", "true", "false", "loop", "e", "_", "url_for", "endpoint_url")]
            base = idents[-1] if idents else "value"
            if base in ("display", "label", "name", "title", "url", "count") and len(idents) > 1:
                base = f"{idents[-2]}_{base}" if not idents[-2].startswith("_") else base
        base = re.sub(r"\W", "_", base).lower() or "value"
        if base in ("trans", "pluralize", "endtrans", "trimmed", "notrimmed", "set", "for", "if"):
            base += "_"
        name = base
        n = 2
        while name in variables and variables[name] != expr:
            name = f"{base}{n}"
            n += 1
        variables[name] = expr
        names[expr] = name
        return name


ATTR = re.compile(r'(\s(?:title|alt|placeholder|aria-label)=)"([^"{}<>]*)"')


def wrap_attributes(src: str) -> str:
    """title/alt/placeholder/aria-label values outside trans blocks -> {{ _("...") }}."""
    out = []
    pos = 0
    for m in re.finditer(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", src, re.S):
        out.append(_attrs(src[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_attrs(src[pos:]))
    return "".join(out)


def _attrs(chunk: str) -> str:
    def repl(m: re.Match[str]) -> str:
        value = m.group(2)
        if not LETTER.search(value):
            return m.group(0)
        return f'{m.group(1)}"{{{{ _("{value.replace("%", "%%")}") }}}}"'

    return "".join(p if TOKEN.fullmatch(p) else ATTR.sub(repl, p) for p in TOKEN.split(chunk))


def convert_file(path: Path) -> bool:
    src = path.read_text(encoding="utf-8")
    if "{# i18n: skip #}" in src:
        return False
    text_mode = path.suffix == ".txt"
    new = Converter(text_mode).convert(src)
    if not text_mode:
        new = wrap_attributes(new)
    if new != src:
        path.write_text(new, encoding="utf-8")
        return True
    return False


if __name__ == "__main__":
    changed = [p for p in map(Path, sys.argv[1:]) if convert_file(p)]
    print(f"{len(changed)} file(s) changed")


ATTR_VARS = re.compile(r'(\s(?:title|alt|placeholder|aria-label)=")((?:[^"{}<>]|{{.*?}})*{{.*?}}(?:[^"{}<>]|{{.*?}})*)(")')


def wrap_attribute_expressions(src: str) -> str:
    """title="Remove {{ name }}" -> title="{% trans name=name %}Remove {{ name }}{% endtrans %}"."""

    def repl(m: re.Match[str]) -> str:
        value = m.group(2)
        if not LETTER.search(re.sub(r"{{.*?}}", "", value)):
            return m.group(0)
        atoms = [("var", p) if p.startswith("{{") else ("text", p) for p in TOKEN.split(value) if p]
        return m.group(1) + Converter(False).render_run(atoms) + m.group(3)

    out, pos = [], 0
    for t in re.finditer(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", src, re.S):
        out.append(ATTR_VARS.sub(repl, src[pos : t.start()]))
        out.append(t.group(0))
        pos = t.end()
    out.append(ATTR_VARS.sub(repl, src[pos:]))
    return "".join(out)
