"""Charts drawn on the server as inline SVG (no script, no CDN): the geometry of a bar chart,
which a template turns into ``<rect>`` elements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The drawing's coordinate space; the SVG scales to its container's width.
WIDTH = 600
HEIGHT = 200
#: Room below the bars for their labels, and above them for the largest value.
LABEL_SPACE = 34
TOP_SPACE = 30
#: Room at either side, so the first and last labels are not cut off when the text is enlarged
#: for a phone.
SIDE_SPACE = 24


@dataclass(frozen=True)
class Bar:
    """One bar: where it is drawn, its label below and its value above."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    #: The part of the value drawn darker at the bar's foot (e.g. the week's awards claimed
    #: since), and its height; 0 when the chart has no parts.
    part: int = 0
    part_height: float = 0.0


@dataclass(frozen=True)
class BarChart:
    """A bar chart's bars, the drawing's size and the baseline's height."""

    bars: list[Bar]
    width: int
    height: int
    baseline: float
    largest: int
    #: Whether the bars have parts drawn at their feet.
    has_parts: bool = False


def bar_chart(
    series: Sequence[tuple[str, int]],
    parts: Sequence[int] | None = None,
    *,
    ceiling: int = 0,
) -> BarChart:
    """Bars for ``(label, value)`` pairs, scaled so the largest reaches the top; a zero is a
    sliver on the baseline, so an empty week is still seen as a week. ``parts`` (one per
    bar, none larger than its value) are drawn at the bars' feet on the same scale; with a
    ``ceiling``, the top of the drawing stands for it rather than for the largest value."""
    if parts is not None and len(parts) != len(series):
        raise ValueError("one part per bar")
    # ``ceiling``: the top of the scale when it is fixed (100 for percentages).
    largest = max(max((value for _, value in series), default=0), ceiling)
    baseline = HEIGHT - LABEL_SPACE
    room = baseline - TOP_SPACE
    step = (WIDTH - 2 * SIDE_SPACE) / max(len(series), 1)
    bar_width = step * 0.7
    bars = []
    for index, (label, value) in enumerate(series):
        height = max(room * value / largest, 0.0) if largest else 0.0
        height = max(height, 1.5)
        part = min(parts[index], value) if parts is not None else 0
        part_height = room * part / largest if part else 0.0
        bars.append(
            Bar(
                x=round(SIDE_SPACE + index * step + (step - bar_width) / 2, 2),
                y=round(baseline - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                label=label,
                value=value,
                part=part,
                part_height=round(part_height, 2),
            )
        )
    return BarChart(
        bars=bars,
        width=WIDTH,
        height=HEIGHT,
        baseline=baseline,
        largest=largest,
        has_parts=parts is not None,
    )
