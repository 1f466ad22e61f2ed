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


# --- Horizontal bars (the leaders' dashboard: one bar per category) ---

#: A horizontal bar chart's rows: the label's line, then the bar, then a gap; sized so the
#: label stays readable when the drawing shrinks to a phone and its text is enlarged.
ROW_HEIGHT = 64
BAR_THICKNESS = 22
#: Room right of the longest bar for its value.
VALUE_SPACE = 90
#: Labels longer than this are cut in the drawing (the table beside it has them whole).
LABEL_CHARS = 40


@dataclass(frozen=True)
class Row:
    """One horizontal bar: its label above it, its length and its value after it."""

    y: float
    label: str
    full_label: str
    length: float
    value: float
    shown: str


@dataclass(frozen=True)
class BarRows:
    """A horizontal bar chart: rows top to bottom, and the drawing's size."""

    rows: list[Row]
    width: int
    height: int
    bar_thickness: int


def _shown(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def bar_rows(series: Sequence[tuple[str, float]], suffix: str = "") -> BarRows:
    """Horizontal bars for ``(label, value)`` pairs, the largest reaching the right; a zero
    is a sliver, so the category is still seen. ``suffix`` follows each value (e.g. "%")."""
    largest = max((value for _, value in series), default=0)
    room = WIDTH - VALUE_SPACE
    rows = []
    for index, (label, value) in enumerate(series):
        length = room * value / largest if largest else 0.0
        cut = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"
        rows.append(
            Row(
                y=index * ROW_HEIGHT,
                label=cut,
                full_label=label,
                length=round(max(length, 2.0), 2),
                value=value,
                shown=_shown(value) + suffix,
            )
        )
    return BarRows(
        rows=rows,
        width=WIDTH,
        height=max(len(rows), 1) * ROW_HEIGHT,
        bar_thickness=BAR_THICKNESS,
    )
