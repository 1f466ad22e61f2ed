"""The server-drawn bar chart's geometry."""

from __future__ import annotations

import pytest

from app.workspace import charts


def test_bars_fit_the_drawing_and_scale_to_the_largest() -> None:
    chart = charts.bar_chart([("a", 0), ("b", 5), ("c", 10)])
    assert chart.largest == 10 and len(chart.bars) == 3
    empty, half, full = chart.bars
    assert empty.height == 1.5 and empty.y == chart.baseline - 1.5  # a sliver for an empty week
    assert full.y == charts.TOP_SPACE and full.y + full.height == chart.baseline
    assert abs(half.height - full.height / 2) < 0.01
    assert empty.x >= charts.SIDE_SPACE
    assert full.x + full.width <= chart.width - charts.SIDE_SPACE
    assert [b.label for b in chart.bars] == ["a", "b", "c"]


def test_all_zero_and_empty_series() -> None:
    assert {b.height for b in charts.bar_chart([("a", 0), ("b", 0)]).bars} == {1.5}
    assert charts.bar_chart([]).bars == []


def test_parts_are_drawn_at_the_bars_feet_on_the_same_scale() -> None:
    chart = charts.bar_chart([("a", 0), ("b", 4), ("c", 10)], parts=[0, 2, 12])
    empty, some, full = chart.bars
    assert chart.has_parts and not charts.bar_chart([("a", 1)]).has_parts
    assert (empty.part, empty.part_height) == (0, 0.0)
    assert some.part == 2 and abs(some.part_height * 2 - some.height) < 0.02
    assert full.part == 10 and full.part_height == full.height  # never more than the bar
    with pytest.raises(ValueError):
        charts.bar_chart([("a", 1)], parts=[])


def test_a_ceiling_fixes_the_top_of_the_scale() -> None:
    from app.workspace.charts import bar_chart as draw

    half = draw([("a", 50), ("b", 100)], ceiling=100)
    assert half.bars[0].height * 2 == half.bars[1].height
    alone = draw([("a", 50)], ceiling=100)
    assert alone.bars[0].height == half.bars[0].height  # 50 % is half-way, not the top
