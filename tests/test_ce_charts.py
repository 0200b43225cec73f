"""The grouped bar chart behind the attendance and evaluation charts: bar heights follow the
values on a round axis, and its table alternative carries the same numbers."""

from __future__ import annotations

from forum.web.charts import grouped_bars


def test_grouped_bars_scale_to_a_round_axis_and_keep_the_numbers_for_the_table() -> None:
    chart = grouped_bars(
        ["3/5", "3/12"], {"registered": ("Registered", [30, 30]), "attended": ("Attended", [24, 9])}
    )
    plot = chart.plot
    assert [v for _, v in chart.y_ticks] == [0, 20, 40]  # 30 rounds up to an axis of 40
    heights = {(b.outcome, b.count): b.height for b in chart.bars}
    full = plot.bottom - plot.top
    assert heights[("registered", 30)] == full * 30 / 40
    assert heights[("attended", 9)] == full * 9 / 40
    # side by side within each session's slot, registered left of attended
    first = [b for b in chart.bars if b.x < plot.left + (plot.right - plot.left) / 2]
    assert [b.outcome for b in sorted(first, key=lambda b: b.x)] == ["registered", "attended"]
    assert chart.rows == [("3/5", [30, 24]), ("3/12", [30, 9])]
    assert chart.series == {"registered": "Registered", "attended": "Attended"}


def test_many_sessions_get_at_most_about_eight_axis_labels() -> None:
    labels = [f"day {i}" for i in range(20)]
    chart = grouped_bars(labels, {"attended": ("Attended", list(range(20)))})
    assert 5 <= len(chart.x_ticks) <= 10
    assert len(chart.rows) == 20  # the table still lists every session


def test_an_all_zero_chart_has_a_nonzero_axis() -> None:
    chart = grouped_bars(["a"], {"answers": ("Answers", [0])})
    assert [v for _, v in chart.y_ticks] == [0, 1]
    assert chart.bars[0].height == 0
