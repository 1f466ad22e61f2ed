"""The hours report's stacked bar chart: segments stack from the baseline in the groups' order,
the tallest bar reaches the top, and groups past the palette fold into "Other"."""

from __future__ import annotations

from app.workspace.hours import HEIGHT, LABEL_SPACE, SERIES, TOP_SPACE, stacked_chart


def test_segments_stack_and_the_tallest_bar_reaches_the_top() -> None:
    chart = stacked_chart(
        [
            ("Q1 2026", [10.0, 15.0], 25.0),
            ("Q2 2026", [0.0, 0.0], 0.0),
            ("Q3 2026", [5.0, 0.0], 5.0),
        ],
        ["North", "South"],
    )
    baseline = HEIGHT - LABEL_SPACE
    first, empty, third = chart.bars
    assert [s.name for s in first.segments] == ["North", "South"]
    assert first.segments[0].y + first.segments[0].height == baseline
    assert first.segments[1].y + first.segments[1].height == first.segments[0].y
    assert first.top == TOP_SPACE and empty.segments == [] and empty.total == 0
    assert third.segments[0].height == round((baseline - TOP_SPACE) * 5 / 25, 2)
    assert [b.short for b in chart.bars] == ["Q1", "Q2", "Q3"]


def test_groups_past_the_palette_fold_into_other() -> None:
    groups = [f"School {n}" for n in range(SERIES + 2)]
    chart = stacked_chart([("2026", [1.0] * len(groups), float(len(groups)))], groups)
    assert chart.series[-1] == "Other" and len(chart.series) == SERIES
    assert chart.bars[0].segments[-1].value == 3.0
