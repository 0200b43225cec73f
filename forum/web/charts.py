"""Geometry for the officer pages' inline SVG charts (server-rendered: no JS, no CDN).

One plot area and one way to pick round axis maxima, shared by the sign-up line chart
(web/subscribers.py), the delivery bar chart and the calendar answers per session
(manage overview). Templates draw
the SVG from these numbers and always add a table with the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from forum.ce.evaluations import QuestionResult
from forum.core.timezones import format_date
from forum.mail.health import OUTCOMES, DayMail

WIDTH, HEIGHT = 640, 240


def nice_max(value: int) -> int:
    """A round axis maximum at or above `value`, divisible into 4 (1 for an empty chart)."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if value <= step * 4:
            return step * 4 if value > 4 else max(value, 1)
    return value


@dataclass(frozen=True)
class Plot:
    """The plot area inside a WIDTH x HEIGHT view box, with room for axis labels."""

    width: int = WIDTH
    height: int = HEIGHT
    left: float = 56.0
    top: float = 16.0
    right: float = WIDTH - 16.0
    bottom: float = HEIGHT - 44.0

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.left, self.top, self.right, self.bottom

    def y(self, value: float, y_max: int) -> float:
        """Vertical position of `value` on an axis from 0 to `y_max`."""
        return self.bottom - (self.bottom - self.top) * (value / y_max)

    def y_ticks(self, y_max: int) -> list[tuple[float, int]]:
        return [(self.y(v, y_max), v) for v in sorted({0, y_max // 2, y_max})]


@dataclass(frozen=True)
class Bar:
    """One stacked bar segment: class (its outcome), geometry and count."""

    outcome: str
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass
class BarChart:
    """A stacked bar chart of mail per day, plus the rows of its text alternative."""

    plot: Plot
    bars: list[Bar]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    days: list[tuple[str, DayMail]]  # label, counts: every day with mail
    totals: dict[str, int]
    first: str
    last: str


def delivery_chart(series: Sequence[DayMail]) -> BarChart:
    """Stacked bars (sent, failed, waiting) for each day of `series`, oldest first."""
    plot = Plot()
    y_max = nice_max(max((d.total for d in series), default=0))
    n = max(len(series), 1)
    slot = (plot.right - plot.left) / n
    bar_width = max(slot * 0.7, 1.0)
    bars = []
    for i, day in enumerate(series):
        x, base = plot.left + slot * i + (slot - bar_width) / 2, 0
        for outcome in OUTCOMES:
            count = getattr(day, outcome)
            if count:
                top = plot.y(base + count, y_max)
                bars.append(Bar(outcome, x, top, bar_width, plot.y(base, y_max) - top, count))
                base += count
    idx = sorted({0, (len(series) - 1) // 2, len(series) - 1}) if series else []
    labels = [format_date(d.day, weekday=False) for d in series]
    return BarChart(
        plot=plot,
        bars=bars,
        y_ticks=plot.y_ticks(y_max),
        x_ticks=[(plot.left + slot * (i + 0.5), labels[i]) for i in idx],
        days=[(labels[i], d) for i, d in enumerate(series) if d.total],
        totals={o: sum(getattr(d, o) for d in series) for o in OUTCOMES},
        first=labels[0] if labels else "",
        last=labels[-1] if labels else "",
    )


@dataclass
class GroupedBars:
    """Bars side by side per category (e.g. registered vs attended per session)."""

    plot: Plot
    bars: list[Bar]  # `outcome` is the series key, for the CSS class
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    series: dict[str, str]  # key -> legend label
    rows: list[tuple[str, list[int]]]  # category label, one value per series: the table alternative


def grouped_bars(categories: Sequence[str], series: dict[str, tuple[str, Sequence[int]]]) -> GroupedBars:
    """One group of bars per category, one bar per series (key -> (label, values))."""
    plot = Plot()
    keys = list(series)
    y_max = nice_max(max((v for _, values in series.values() for v in values), default=0))
    n = max(len(categories), 1)
    slot = (plot.right - plot.left) / n
    group = slot * 0.76
    width = max(group / max(len(keys), 1), 1.0)
    bars = []
    for i in range(len(categories)):
        x0 = plot.left + slot * i + (slot - group) / 2
        for j, key in enumerate(keys):
            value = series[key][1][i]
            top = plot.y(value, y_max)
            bars.append(Bar(key, x0 + j * width, top, width * 0.92, plot.bottom - top, value))
    step = max(1, -(-len(categories) // 8))  # at most about 8 labels under the axis
    x_ticks = [(plot.left + slot * (i + 0.5), categories[i]) for i in range(0, len(categories), step)]
    return GroupedBars(
        plot=plot,
        bars=bars,
        y_ticks=plot.y_ticks(y_max),
        x_ticks=x_ticks,
        series={key: label for key, (label, _) in series.items()},
        rows=[(c, [series[k][1][i] for k in keys]) for i, c in enumerate(categories)],
    )


@dataclass(frozen=True)
class CountBar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float


@dataclass
class CountChart:
    """One bar per labelled count (a funnel, a histogram), plus the rows of its table."""

    plot: Plot
    bars: list[CountBar]
    y_ticks: list[tuple[float, int]]

    @property
    def rows(self) -> list[tuple[str, int]]:
        return [(bar.label, bar.count) for bar in self.bars]


def count_bars(counts: Sequence[tuple[str, int]]) -> CountChart:
    """Bars for (label, count) pairs in the given order, on the shared plot area."""
    plot = Plot()
    y_max = nice_max(max((n for _, n in counts), default=0))
    slot = (plot.right - plot.left) / max(len(counts), 1)
    width = max(min(slot * 0.7, 80.0), 1.0)
    bars = []
    for i, (label, count) in enumerate(counts):
        x = plot.left + slot * i + (slot - width) / 2
        top = plot.y(count, y_max)
        bars.append(CountBar(label, count, x, top, width, plot.bottom - top, plot.left + slot * (i + 0.5)))
    return CountChart(plot=plot, bars=bars, y_ticks=plot.y_ticks(y_max))


@dataclass
class RowChart:
    """Horizontal stacked bars, one row per label (e.g. calendar answers per session)."""

    width: int
    height: int
    label_width: float
    row_height: float
    bars: list[tuple[int, Bar]]  # (row index, segment); Bar.outcome is the key
    labels: list[tuple[float, str]]  # (text baseline y, label)
    x_max: int


def stacked_rows(rows: Sequence[tuple[str, dict[str, int]]], keys: Sequence[str]) -> RowChart:
    """One horizontal bar per row, its segments in `keys` order, on a common 0..max scale."""
    label_width, row_height, right = 200.0, 28.0, WIDTH - 16.0
    x_max = nice_max(max((sum(c.get(k, 0) for k in keys) for _, c in rows), default=0))
    scale = (right - label_width) / x_max
    bars: list[tuple[int, Bar]] = []
    labels: list[tuple[float, str]] = []
    for i, (label, counts) in enumerate(rows):
        top, x = 8.0 + i * row_height, label_width
        labels.append((top + row_height * 0.6, label))
        for key in keys:
            count = counts.get(key, 0)
            if count:
                bars.append((i, Bar(key, x, top + 4, count * scale, row_height - 8, count)))
                x += count * scale
    return RowChart(
        width=WIDTH,
        height=int(16 + row_height * max(len(rows), 1)),
        label_width=label_width,
        row_height=row_height,
        bars=bars,
        labels=labels,
        x_max=x_max,
    )


@dataclass(frozen=True)
class Segment:
    """One part of a horizontal bar: its class, geometry and count."""

    kind: str
    x: float
    width: float
    count: int


def seat_bar(taken: int, limit: int, waiting: int, width: float = WIDTH - 32.0) -> list[Segment]:
    """A series' seats as one horizontal bar: taken, left, then the waiting list beyond the limit.

    The scale runs to the larger of the limit and taken + waiting, so a long queue shows as
    longer than the room.
    """
    total = max(limit, taken + waiting, 1)
    scale = width / total
    parts = [("taken", taken), ("left", max(limit - taken, 0)), ("waiting", waiting)]
    segments, x = [], 16.0
    for kind, count in parts:
        if count:
            segments.append(Segment(kind, x, count * scale, count))
            x += count * scale
    return segments


def answer_charts(questions: Iterable[QuestionResult]) -> dict[int, GroupedBars]:
    """The bars of each answered rating or choice question, by question id. An event's
    evaluation results and a mentoring period's are the same CE results, drawn the same way
    (templates/ce/_question_results.html)."""
    return {
        r.question.id: grouped_bars(
            [label for label, _n in r.counts], {"answers": (_("Answers"), [n for _l, n in r.counts])}
        )
        for r in questions
        if r.counts and r.answered
    }
