"""Wrap the user-visible literals of the doors' Python in gettext (a one-off helper; review the
diff): form field labels, descriptions and validator messages (lazy: `_l`, read when the
form renders in the reader's language), flash() messages, ValidationError and abort()
descriptions (`_`, read in the request). f-strings are left alone (they need placeholders by
hand) and listed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

LIT = r'"(?:[^"\\\n]|\\.)*"'
FIELD = re.compile(rf"\b(\w+Field)\(\s*(?P<lit>{LIT})")
VALIDATOR = re.compile(rf"\b(InputRequired|DataRequired|Optional|AnyOf|NoneOf)\(\s*(?P<lit>{LIT})")
MESSAGE_KW = re.compile(rf"\b(message|description)=(?P<lit>{LIT})")
FLASH = re.compile(rf"\bflash\(\s*(?P<lit>{LIT})")
RUNTIME = re.compile(rf"\b(ValidationError|abort\(\s*4\d\d,\s*(?:description|message)=)\(?\s*(?P<lit>{LIT})")
FSTR = re.compile(r"\b(flash|ValidationError|\w+Field)\(\s*f\"")


def has_letters(lit: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", lit))


def convert(src: str) -> tuple[str, int]:
    count = 0

    def lazy(m: re.Match[str]) -> str:
        nonlocal count
        lit = m.group("lit")
        if not has_letters(lit):
            return m.group(0)
        count += 1
        return m.group(0).replace(lit, f"_l({lit.replace('%', '%%') if False else lit})", 1)

    def now(m: re.Match[str]) -> str:
        nonlocal count
        lit = m.group("lit")
        if not has_letters(lit):
            return m.group(0)
        count += 1
        return m.group(0).replace(lit, f"_({lit})", 1)

    src = FIELD.sub(lazy, src)
    src = VALIDATOR.sub(lazy, src)
    src = MESSAGE_KW.sub(lazy, src)
    src = FLASH.sub(now, src)
    src = RUNTIME.sub(now, src)
    return src, count


def ensure_imports(src: str) -> str:
    need = []
    if "_l(" in src and not re.search(r"lazy_gettext as _l", src):
        need.append("lazy_gettext as _l")
    if re.search(r"(?<![\w.])_\(", src) and not re.search(r"gettext as _\b", src):
        need.append("gettext as _")
    if not need:
        return src
    line = "".join(f"from flask_babel import {n}\n" for n in need)
    m = re.search(r"^from __future__ import annotations\n", src, re.M)
    pos = m.end() if m else 0
    return src[:pos] + "\n" + line + src[pos:]


if __name__ == "__main__":
    total = 0
    for path in map(Path, sys.argv[1:]):
        src = path.read_text()
        new, n = convert(src)
        if n:
            new = ensure_imports(new)
            path.write_text(new)
            total += n
        for m in FSTR.finditer(new):
            line = new[: m.start()].count("\n") + 1
            print(f"f-string left: {path}:{line}")
    print(f"{total} literal(s) wrapped")
