"""The workspace's audit log: every recorded event, newest first, filtered by action, staff
member, date range and subject, a page at a time; and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, render_template, request, stream_with_context

from app.services.org import audit
from app.workspace import bp, current_issuer, workspace_view
from app.workspace.credentials import int_arg

PAGE_SIZE = 50
#: The longest subject id the filter accepts (credential and job ids are UUIDs).
SUBJECT_ID_LENGTH = 64


@dataclass(frozen=True)
class LogFilter:
    """What the log is narrowed to; an unusable value in the query string is ignored."""

    action: str = ""
    staff: int | None = None
    start: date | None = None
    end: date | None = None
    subject_type: str = ""
    subject_id: str = ""

    def args(self) -> dict[str, Any]:
        """The filter as query-string arguments, for the paging links."""
        found: dict[str, Any] = {
            "action": self.action,
            "staff": self.staff,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "subject": self.subject_type,
            "subject_id": self.subject_id,
        }
        return {key: value for key, value in found.items() if value}

    def query(self) -> dict[str, Any]:
        """The filter as :func:`audit.events` arguments; the end date is inclusive."""
        return {
            "action": self.action or None,
            "actor_id": self.staff,
            "since": _midnight(self.start) if self.start else None,
            "until": _midnight(self.end + timedelta(days=1)) if self.end else None,
            "subject_type": self.subject_type or None,
            "subject_id": self.subject_id or None,
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def read_filter(actions: list[str], staff_ids: set[int], subjects: list[str]) -> LogFilter:
    """The filter in the query string, keeping only values the log can match."""
    action = request.args.get("action", "")
    staff = request.args.get("staff", type=int)
    subject_type = request.args.get("subject", "")
    subject_id = request.args.get("subject_id", "").strip()[:SUBJECT_ID_LENGTH]
    return LogFilter(
        action=action if action in actions else "",
        staff=staff if staff in staff_ids else None,
        start=_date_arg("from"),
        end=_date_arg("to"),
        subject_type=subject_type if subject_type in subjects else "",
        subject_id=subject_id if subject_type in subjects else "",
    )


@bp.get("/<slug>/audit")
@workspace_view("viewer")
def audit_log(slug: str) -> str:
    """The log, a page at a time (``before`` is the oldest id already seen), filtered."""
    issuer = current_issuer()
    actions = audit.actions(issuer.id)
    staff = audit.actors(issuer.id)
    subjects = audit.subject_types(issuer.id)
    chosen = read_filter(actions, {account_id for account_id, _ in staff}, subjects)
    before = int_arg("before", None)
    # One more than a page, to learn whether there is an older page without counting.
    found = audit.events(issuer.id, limit=PAGE_SIZE + 1, before_id=before, **chosen.query())
    events, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    return render_template(
        "workspace/audit_log.html",
        issuer=issuer,
        events=events,
        actions=actions,
        action=chosen.action,
        staff=staff,
        subjects=subjects,
        chosen=chosen,
        filtered=bool(chosen.args()),
        before=before,
        older=events[-1].id if more and events else None,
        link_args=chosen.args(),
    )


@bp.get("/<slug>/audit.csv")
@workspace_view("owner")
def audit_export(slug: str) -> Response:
    """The whole log as CSV, oldest first, streamed."""
    issuer = current_issuer()
    response = Response(stream_with_context(audit.export_csv(issuer.id)), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="cairn-audit-{issuer.slug}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
