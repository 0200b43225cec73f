"""The one CSV writer for every export an officer opens in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` is a formula to Excel, LibreOffice and Google
Sheets, and so is one starting with a tab or carriage return (they skip it, then read the
formula after it). Anyone who can put text into a registration (a name, an address such as
`=cmd|'/Ccalc.exe'!A0@example.org`) could otherwise run it on the officer's machine. Every
text cell that starts so gets a leading apostrophe (OWASP's "CSV injection" advice), which the
spreadsheet shows as text and hides. Numbers are written as numbers: only text is quoted, so a
negative count stays a number.

The attendance export escaped the name by hand and missed the address; one writer used by
every export cannot forget a column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: object) -> str | int | float:
    """One value as a spreadsheet-safe cell: None empty, dates ISO 8601, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """csv.writer's writerow/writerows, every cell through `cell`."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Writable) -> SafeWriter:
    return SafeWriter(out)
