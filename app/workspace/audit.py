"""The workspace's audit log: every recorded event, newest first, and its CSV export."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context

from app.services.org import audit
from app.workspace import bp, current_issuer, workspace_view
from app.workspace.credentials import int_arg

PAGE_SIZE = 50


@bp.get("/<slug>/audit")
@workspace_view("viewer")
def audit_log(slug: str) -> str:
    """The log, a page at a time (``before`` is the oldest id already seen), by action."""
    issuer = current_issuer()
    actions = audit.actions(issuer.id)
    action = request.args.get("action", "")
    action = action if action in actions else ""
    before = int_arg("before", None)
    # One more than a page, to learn whether there is an older page without counting.
    found = audit.events(issuer.id, limit=PAGE_SIZE + 1, before_id=before, action=action or None)
    events, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    return render_template(
        "workspace/audit_log.html",
        issuer=issuer,
        events=events,
        actions=actions,
        action=action,
        before=before,
        older=events[-1].id if more and events else None,
        link_args={"action": action} if action else {},
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
