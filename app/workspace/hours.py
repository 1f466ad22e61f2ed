"""The hours report (viewers and up): hours earned by the organisation's educators by school,
by category (from the chosen credit rules) and by period, over a chosen range; as tables, a
stacked bar chart drawn on the server as SVG (no script), and a CSV download."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from flask import Response, render_template, request
from marshmallow import ValidationError

from app.models import CreditRule, Issuer
from app.services._core.errors import NotFound
from app.services.learning import credit_rules, hours_report
from app.services.learning.hours_report import HoursReport
from app.wiring import service_env
from app.workspace import bp, current_issuer, workspace_view
from schemas.errors import flat_errors
from schemas.self_directed import default_range, load_hours_report

#: The ``rule`` choice that means no credit rules: clock hours as signed.
CLOCK_HOURS = "clock"
#: Series the chart colours apart; more schools or categories than this share "Other".
SERIES = 8
WIDTH, HEIGHT = 600, 240
LABEL_SPACE, TOP_SPACE, SIDE_SPACE = 34, 30, 24
INPUTS = ("from", "to", "period", "rule", "by")


@dataclass(frozen=True)
class Segment:
    """One group's part of a period's bar."""

    y: float
    height: float
    series: int
    name: str
    value: float


@dataclass(frozen=True)
class StackedBar:
    """One period's bar: its segments, total and label."""

    x: float
    width: float
    top: float
    total: float
    label: str
    short: str
    show_label: bool
    segments: list[Segment]


@dataclass(frozen=True)
class StackedChart:
    """A stacked bar chart's bars, names of its series, and the drawing's size."""

    bars: list[StackedBar]
    series: list[str]
    width: int
    height: int
    baseline: float


def _short(label: str) -> str:
    """A period's label short enough to sit under its bar on a phone."""
    return label.split(" ")[0] if not label.isdigit() else label


def _fold(values: list[float]) -> list[float]:
    """The last series' values and those past the palette, added into "Other"."""
    return [*values[: SERIES - 1], sum(values[SERIES - 1 :])]


def stacked_chart(rows: list[tuple[str, list[float], float]], groups: list[str]) -> StackedChart:
    """Bars per period, each stacked from its groups' hours (groups past the palette's size
    folded into "Other"), scaled so the tallest bar reaches the top."""
    names = list(groups)
    if len(names) > SERIES:
        names = [*names[: SERIES - 1], "Other"]
    folded = [
        (label, _fold(values) if len(groups) > SERIES else values, total)
        for label, values, total in rows
    ]
    largest = max((total for _, _, total in folded), default=0.0)
    baseline = HEIGHT - LABEL_SPACE
    room = baseline - TOP_SPACE
    step = (WIDTH - 2 * SIDE_SPACE) / max(len(folded), 1)
    width = step * 0.7
    every = max(1, math.ceil(len(folded) / 8))
    bars = []
    for index, (label, values, total) in enumerate(folded):
        x = SIDE_SPACE + index * step + (step - width) / 2
        y = float(baseline)
        segments = []
        for series, value in enumerate(values):
            if value <= 0 or largest <= 0:
                continue
            height = room * value / largest
            y -= height
            segments.append(Segment(round(y, 2), round(height, 2), series, names[series], value))
        bars.append(
            StackedBar(
                x=round(x, 2),
                width=round(width, 2),
                top=round(y, 2),
                total=total,
                label=label,
                short=_short(label),
                show_label=(len(folded) - 1 - index) % every == 0,
                segments=segments,
            )
        )
    return StackedChart(bars=bars, series=names, width=WIDTH, height=HEIGHT, baseline=baseline)


def _rule(issuer: Issuer, choice: str | None) -> CreditRule | None:
    """The credit rules chosen (by default the organisation's first), or none for clock hours.

    :raises NotFound: for rules the organisation does not have.
    """
    if choice == CLOCK_HOURS:
        return None
    if choice:
        return credit_rules.get(issuer, choice)
    rules = credit_rules.list_for(issuer)
    return rules[0] if rules else None


def _report(issuer: Issuer) -> tuple[HoursReport, dict[str, Any], dict[str, str]]:
    """The report the query string asks for, the values to show again, and its problems (a
    report of the defaults is made when the choices are refused)."""
    values = {name: request.args.get(name, "") for name in INPUTS}
    errors: dict[str, str] = {}
    try:
        data = load_hours_report(values)
    except ValidationError as error:
        errors = flat_errors(error, depth=1, first=True)
        data = load_hours_report({})
    today = service_env().now.astimezone(UTC).date()
    first, last = default_range(today)
    start, end = data["start"] or first, data["end"] or last
    if start > end:
        errors.setdefault("from", "The range cannot end before it starts.")
        start, end = first, last
    try:
        rule = _rule(issuer, data["rule"])
    except NotFound:
        errors["rule"] = "Choose one of this organisation's credit rules."
        rule = _rule(issuer, None)
    report = hours_report.build(issuer, start, end, data["period"], rule)
    shown = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "period": data["period"],
        "rule": rule.public_id if rule is not None else CLOCK_HOURS,
        "by": data["by"],
    }
    return report, shown, errors


@bp.get("/<slug>/reports/hours", endpoint="hours_report")
@workspace_view("viewer")
def hours_report_page(slug: str) -> tuple[str, int]:
    """Hours by school, category and period, with the chart and the CSV link."""
    issuer = current_issuer()
    report, values, errors = _report(issuer)
    by = values["by"]
    rows = report.cross(by)
    return (
        render_template(
            "workspace/hours_report.html",
            issuer=issuer,
            report=report,
            values=values,
            errors=errors,
            rules=credit_rules.list_for(issuer),
            clock=CLOCK_HOURS,
            by=by,
            groups=report.groups(by),
            rows=rows,
            chart=stacked_chart(rows, report.groups(by)),
            by_school=report.totals("school"),
            by_category=report.totals("category"),
        ),
        400 if errors else 200,
    )


@bp.get("/<slug>/reports/hours.csv")
@workspace_view("viewer")
def hours_report_csv(slug: str) -> Response:
    """The report as CSV: a row per period, school and category."""
    issuer = current_issuer()
    report, values, errors = _report(issuer)
    if errors:
        return Response(
            "; ".join(errors.values()) + "\n", status=400, mimetype="text/plain; charset=utf-8"
        )
    response = Response(hours_report.to_csv(report), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cairn-hours-{issuer.slug}-{values["from"]}-{values["to"]}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
