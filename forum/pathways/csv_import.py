"""CSV import of external pathway resources (officer page and `flask forum import-resources`).

Good rows are added through `pathways.save_external` (the same checks as the form); bad
ones are skipped and reported with the line they start on, so a long file is fixed in
one pass.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from forum.core.extensions import db
from forum.models.pathways import Resource
from forum.pathways.service import PathwayError, save_external


@dataclass
class ImportReport:
    """What a CSV import did: how many were added, and each bad row with its line number."""

    added: int = 0
    rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{self.added} added, {len(self.bad)} skipped (of {self.rows} rows)"


IMPORT_COLUMNS = ("title", "url", "kind", "minutes", "topics", "description")


def import_resources(lines: Iterable[str]) -> ImportReport:
    """Add external resources from CSV with a header naming some of IMPORT_COLUMNS.

    `title`, `url` and `kind` are required; bad rows are skipped and reported with the
    line they start on, the good ones are added (a URL already on file is a bad row).
    """
    report = ImportReport()
    reader = csv.reader(lines)
    columns: dict[str, int] | None = None
    start = 1
    known = set(db.session.scalars(select(Resource.url).where(Resource.url != "")))
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not cells or not any(c.strip() for c in cells):
            continue
        if columns is None:
            lowered = [c.strip().lower() for c in cells]
            missing = [name for name in ("title", "url", "kind") if name not in lowered]
            if missing:
                report.bad.append(
                    (line, f"The first row must name the columns; missing: {', '.join(missing)}.")
                )
                return report
            columns = {name: lowered.index(name) for name in IMPORT_COLUMNS if name in lowered}
            continue
        report.rows += 1

        def cell(name: str, cells: list[str] = cells, columns: dict[str, int] = columns) -> str:
            pos = columns.get(name)
            return cells[pos].strip() if pos is not None and pos < len(cells) else ""

        url = cell("url")
        if url in known:
            report.bad.append((line, f"{url} is already on file."))
            continue
        try:
            with db.session.begin_nested():
                save_external(
                    None,
                    title=cell("title"),
                    url=url,
                    kind=cell("kind"),
                    minutes=cell("minutes"),
                    topics=cell("topics"),
                    description=cell("description"),
                )
        except PathwayError as exc:
            report.bad.append((line, str(exc)))
            continue
        known.add(url)
        report.added += 1
    return report
