"""Reports: per achievement, how many credentials were issued and how many are valid, revoked,
suspended or expired; as a table and as CSV."""

from __future__ import annotations

import csv
import io

from flask import Response, render_template

from app.services._core.spreadsheets import safe_cell
from app.services.awarding.queries import COUNTS, report, totals
from app.wiring import service_env
from app.workspace import bp, current_issuer, workspace_view


@bp.get("/<slug>/reports")
@workspace_view("viewer")
def reports(slug: str) -> str:
    """Counts per achievement, with totals."""
    issuer = current_issuer()
    rows = report(issuer, service_env().now)
    return render_template(
        "workspace/reports.html", issuer=issuer, rows=rows, totals=totals(rows), counts=COUNTS
    )


@bp.get("/<slug>/reports.csv")
@workspace_view("viewer")
def reports_csv(slug: str) -> Response:
    """The same counts as CSV."""
    issuer = current_issuer()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("achievement", "achievement_id", "version", "archived", *COUNTS))
    for row in report(issuer, service_env().now):
        writer.writerow(
            (
                safe_cell(row["version"].name),
                row["achievement"].public_id,
                row["version"].version,
                "yes" if row["achievement"].archived_at else "no",
                *(row[name] for name in COUNTS),
            )
        )
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cairn-report-{issuer.slug}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
