"""The lead assessors' figures for an achievement's staged assessment: throughput (stages
decided per week), time in each stage (mean days from opening to decision) and percent
agreement of double-scored assessments per week; each one a table the charts and CSV share."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, AchievementVersion, AssessmentStage, Submission
from app.services.learning import calibration

WEEKS = 12
STAGE_ORDER = ("completeness", "assessment", "approval")


@dataclass(frozen=True)
class Report:
    """The three tables of the leads' view."""

    #: ``(week label, completeness, assessment, approval, total)`` stages decided that week.
    throughput: list[tuple[str, int, int, int, int]]
    #: ``(stage, decided, mean days, longest days, open now)``.
    time_in_stage: list[tuple[str, int, float | None, float | None, int]]
    #: ``(week label, criteria compared, agreed, percent or None)``.
    agreement: list[tuple[str, int, int, int | None]]


def weeks_to(now: datetime, count: int = WEEKS) -> list[datetime]:
    """The Mondays of the last ``count`` weeks, oldest first (this week last)."""
    this = calibration.monday(now)
    return [this - timedelta(weeks=count - 1 - i) for i in range(count)]


def report(achievement: Achievement, now: datetime) -> Report:
    """The achievement's figures over the last :data:`WEEKS` weeks (time in stage: all time)."""
    rows = list(
        db.session.scalars(
            select(AssessmentStage)
            .join(Submission, Submission.id == AssessmentStage.submission_id)
            .where(Submission.achievement_id == achievement.id)
        )
    )
    weeks = weeks_to(now)
    counts = {week: {s: 0 for s in STAGE_ORDER} for week in weeks}
    spent: dict[str, list[float]] = {s: [] for s in STAGE_ORDER}
    still_open = dict.fromkeys(STAGE_ORDER, 0)
    for stage in rows:
        if stage.state == "open":
            still_open[stage.stage] = still_open.get(stage.stage, 0) + 1
            continue
        if stage.decided_at is None:
            continue
        spent.setdefault(stage.stage, []).append(
            (stage.decided_at - stage.opened_at).total_seconds() / 86400
        )
        week = calibration.monday(stage.decided_at)
        if week in counts:
            counts[week][stage.stage] = counts[week].get(stage.stage, 0) + 1
    throughput = [
        (
            week.strftime("%d %b"),
            c["completeness"],
            c["assessment"],
            c["approval"],
            sum(c.values()),
        )
        for week, c in counts.items()
    ]
    time_in_stage = [
        (
            name,
            len(spent[name]),
            round(sum(spent[name]) / len(spent[name]), 1) if spent[name] else None,
            round(max(spent[name]), 1) if spent[name] else None,
            still_open[name],
        )
        for name in STAGE_ORDER
    ]
    agreement = [
        (a.label, a.compared, a.agreed, a.percent)
        for a in calibration.agreement_by_week(achievement, weeks)
    ]
    return Report(throughput=throughput, time_in_stage=time_in_stage, agreement=agreement)


TABLES = ("throughput", "time-in-stage", "agreement", "criteria", "assessors")


def csv_of(table: str, achievement: Achievement, version: AchievementVersion, now: datetime) -> str:
    """One table of the report as CSV (``table`` among :data:`TABLES`)."""
    found = report(achievement, now)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if table == "throughput":
        writer.writerow(["week_starting", "completeness", "assessment", "approval", "total"])
        writer.writerows(found.throughput)
    elif table == "time-in-stage":
        writer.writerow(["stage", "decided", "mean_days", "longest_days", "open_now"])
        writer.writerows(
            [
                (s, d, "" if m is None else m, "" if x is None else x, o)
                for s, d, m, x, o in found.time_in_stage
            ]
        )
    elif table == "agreement":
        writer.writerow(["week_starting", "criteria_compared", "agreed", "percent_agreement"])
        writer.writerows([(w, c, a, "" if p is None else p) for w, c, a, p in found.agreement])
    else:
        criteria, members = calibration.agreement(achievement, version)
        writer.writerow(
            [
                "criterion" if table == "criteria" else "assessor",
                "compared",
                "agreed",
                "percent_agreement",
            ]
        )
        for row in criteria if table == "criteria" else members:
            writer.writerow([row.label, row.compared, row.agreed,
                             "" if row.percent is None else row.percent])  # fmt: skip
    return buffer.getvalue()
