"""flash(f"Added {x.name}.") -> flash(_("Added %(name)s.", name=x.name)) (one-off; review the diff)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path


def convert_call(src: str, node: ast.JoinedStr) -> str | None:
    parts, kwargs, names = [], [], {}
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("%", "%%"))
        elif isinstance(value, ast.FormattedValue):
            if value.conversion != -1 or value.format_spec is not None:
                return None
            expr = ast.get_source_segment(src, value.value)
            if expr is None:
                return None
            if expr in names:
                parts.append(f"%({names[expr]})s")
                continue
            idents = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'[^']*'|\"[^\"]*\"", "", expr))
            idents = [i for i in idents if i not in ("if", "else", "len", "str", "lower", "data", "or", "and", "not")]
            base = (idents[-1] if idents else "value").lower()
            if base in ("email", "name", "title", "label", "subject") and len(idents) > 1 and not base.startswith(idents[-2]):
                base = base if idents[-2] in ("officer", "panelist", "event", "ev", "post", "copy", "preset", "session", "announcement") else base
            name, n = base, 2
            while name in kwargs_names(kwargs):
                name, n = f"{base}{n}", n + 1
            names[expr] = name
            kwargs.append((name, expr))
            parts.append(f"%({name})s")
    msgid = "".join(parts)
    args = "".join(f", {k}={v}" for k, v in kwargs)
    return f"_({msgid!r}{args})".replace("_('", '_("', 1) if "'" not in msgid and '"' not in msgid else f"_({msgid!r}{args})"


def kwargs_names(kwargs: list[tuple[str, str]]) -> set[str]:
    return {k for k, _ in kwargs}


def fix(path: Path) -> int:
    src = path.read_text()
    tree = ast.parse(src)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "flash" and node.args:
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):
                new = convert_call(src, first)
                if new:
                    edits.append((first, new))
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                edits.append((first, f"_({ast.get_source_segment(src, first)})"))
    if not edits:
        return 0
    lines = src.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for node, new in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        start = offsets[node.lineno - 1] + len(lines[node.lineno - 1].encode()[: node.col_offset].decode())
        end = offsets[node.end_lineno - 1] + len(lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode())
        src = src[:start] + new.replace('"', '"') + src[end:]
    if not re.search(r"gettext as _\b", src):
        m = re.search(r"^from __future__ import annotations\n", src, re.M)
        src = src[: m.end()] + "\nfrom flask_babel import gettext as _\n" + src[m.end():]
    path.write_text(src)
    return len(edits)


if __name__ == "__main__":
    print(sum(fix(Path(p)) for p in sys.argv[1:]), "flash() calls wrapped")
