"""Issued credentials: search and filter them, see one in full, and revoke, suspend, unsuspend,
replace or re-announce it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import CREDENTIAL_STATUSES, IssuedCredential
from app.services._core.errors import NotFound, required
from app.services.awarding import issuing, revocation
from app.services.awarding import queries as credential_queries
from app.services.delivery import analytics, notices
from app.services.org import achievements, audit
from app.services.org import queries as org_queries
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.achievements import format_number
from app.workspace.awards import (
    AWARD_FIELDS,
    EVIDENCE_ROWS,
    blank_values,
    default_expiry,
    read_award_form,
)
from credentials import CredentialError, decode_jwt
from schemas.awards import MAX_EVIDENCE

PAGE_SIZE = 50
#: The list counts its matches up to here and then says "10,000+": an exact count of a
#: million credentials costs more than the page it labels.
COUNT_UP_TO = 10_000
#: Larger numbers than these in a query string are nonsense; refusing them keeps them away from
#: the database, where they would overflow its integers.
MAX_PAGE = 100_000
MAX_ID = 2**62


#: The modules of the awarder's screens (awards, bulk, credentials, audit log, reports).
SCREENS = frozenset(
    f"app.workspace.{name}" for name in ("awards", "bulk", "credentials", "audit", "reports")
)


@bp.url_value_preprocessor
def _refuse_nul_bytes(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the views and their role check: a NUL byte in a URL (``%00``) cannot name
    # anything, and PostgreSQL raises an error for one in a query instead of finding nothing.
    view = current_app.view_functions.get(endpoint or "")
    if view is None or view.__module__ not in SCREENS or not values:
        return
    if any(isinstance(value, str) and "\x00" in value for value in values.values()):
        raise NotFound("There is no such page.")


def int_arg(name: str, default: int | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """An integer query-string argument, or ``default`` when it is missing or unusable."""
    value = request.args.get(name, type=int)
    if value is None or not low <= value <= high:
        return default
    return value


#: The credential list's "claimed" filter: its value in the URL, and what it asks for.
CLAIMED_FILTER = {"yes": True, "no": False}


@bp.get("/<slug>/credentials")
@workspace_view("viewer")
def credentials(slug: str) -> str:
    """Every credential the issuer has awarded, newest first: search, filter, page through."""
    issuer = current_issuer()
    now = service_env().now
    text = request.args.get("q", "").replace("\x00", "").strip()[:320]
    achievement = request.args.get("achievement", "").strip()
    status = next((s for s in CREDENTIAL_STATUSES if s == request.args.get("status")), None)
    choices = achievements.list_for(issuer, include_archived=True)
    # Matched here, among the issuer's own achievements, so nothing unchecked reaches the
    # database (PostgreSQL refuses a NUL byte in a query instead of finding nothing).
    ids = tuple(a.id for a, _ in choices if a.public_id == achievement) if achievement else None
    claimed = CLAIMED_FILTER.get(request.args.get("claimed", ""))
    wanted = credential_queries.Search(
        text=text, achievement_ids=ids, status=status, claimed=claimed
    )
    found = credential_queries.search(
        issuer,
        wanted,
        now,
        page=int_arg("page", 1, high=MAX_PAGE) or 1,
        page_size=PAGE_SIZE,
        after=credential_queries.Cursor.decode(request.args.get("after")),
        before=credential_queries.Cursor.decode(request.args.get("before")),
        count_up_to=COUNT_UP_TO,
    )
    shown = found.credentials
    filters = {
        "q": text,
        "achievement": achievement,
        "status": status or "",
        "claimed": "" if claimed is None else ("yes" if claimed else "no"),
    }
    return render_template(
        "workspace/credentials.html",
        issuer=issuer,
        credentials=found.credentials,
        choices=choices,
        statuses=CREDENTIAL_STATUSES,
        filters=filters,
        link_args={name: value for name, value in filters.items() if value},
        page=found.page,
        pages=found.pages,
        total=found.total,
        capped=found.capped,
        older=found.older and bool(shown),
        newer=found.newer and bool(shown),
        older_cursor=credential_queries.Cursor.of(shown[-1]).encode() if shown else "",
        newer_cursor=credential_queries.Cursor.of(shown[0]).encode() if shown else "",
        now=now,
    )


def document_json(credential: IssuedCredential) -> dict[str, Any]:
    """The credential's JSON (the payload of a VC-JWT), or ``{}`` if it cannot be read."""
    try:
        if credential.proof_format == "jwt":
            return decode_jwt(credential.document).credential
        parsed = json.loads(credential.document)
    except (ValueError, CredentialError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


@bp.get("/<slug>/credentials/<credential_id>")
@workspace_view("viewer")
def credential(slug: str, credential_id: str) -> str:
    """One credential: who, what, when, its status and history, and what can be done to it."""
    issuer = current_issuer()
    found = issuing.get_credential(issuer, credential_id)
    env = service_env()
    achievement = org_queries.achievement(found.achievement_id)
    replaces = credential_queries.replaced_by(found)
    awarded_by = org_queries.staff_account(found.awarded_by_id)
    return render_template(
        "workspace/credential.html",
        issuer=issuer,
        credential=found,
        achievement=achievement,
        version=found.achievement_version,
        status=found.status_at(env.now),
        public_url=issuing.credential_url(found.id, env),
        document=document_json(found),
        replaces=replaces,
        awarded_by=awarded_by,
        public_reasons=revocation.PUBLIC_REASONS,
        activity=analytics.for_credential(found.id),
        events=audit.events(issuer.id, subject_type="credential", subject_id=found.id, limit=200),
    )


def _back(credential_id: str) -> Response:
    return redirect(url_for(".credential", slug=current_issuer().slug, credential_id=credential_id))


#: Each status change: its service, the list its public reason comes from (none for lifting a
#: suspension, which the public pages no longer mention), and the message when it is done.
OPERATIONS: dict[str, tuple[Any, Literal["revocation", "suspension"] | None, str]] = {
    "revoke": (
        revocation.revoke,
        "revocation",
        "Revoked. Anyone who checks it now sees it is revoked.",
    ),
    "suspend": (revocation.suspend, "suspension", "Suspended until the suspension is lifted."),
    "unsuspend": (revocation.unsuspend, None, "The suspension is lifted."),
}


def _act(credential_id: str, action: str) -> Response | str:
    """Run a status change from the credential page; report the outcome there. A revocation
    cannot be undone, so its form first answers with a confirm step that says so."""
    found = issuing.get_credential(current_issuer(), credential_id)
    reason = request.form.get("reason", "")
    operation, purpose, done = OPERATIONS[action]
    choice = request.form.get("public_reason", "")
    other = request.form.get("public_other", "")
    with refusal() as refused:
        note = revocation.internal_note(reason)
        public = revocation.public_reason(purpose, choice, other) if purpose else None
        if action == "revoke" and not confirmed():
            return _confirm_revoke(found, note, public or "", choice, other)
        kwargs = {"public": public} if purpose else {}
        operation(found, reason, actor=actor(), env=service_env(), **kwargs)
    refused.flash(done)
    return _back(credential_id)


def _confirm_revoke(
    credential: IssuedCredential, note: str, public: str, choice: str, other: str
) -> str:
    """The confirm step of a revocation: who loses what, the two reasons, and that it is final."""
    slug = current_issuer().slug
    page = url_for(".credential", slug=slug, credential_id=credential.id)
    return confirm_page(
        Confirmation(
            title="Revoke this credential?",
            undone=(
                "A revoked credential stays revoked: its status list says so to every verifier "
                "from now on, and it cannot be restored or un-revoked. To correct a mistake, "
                "replace it instead; to pause it, suspend it."
            ),
            action=url_for(".credential_revoke", slug=slug, credential_id=credential.id),
            button="Revoke permanently",
            cancel=page,
            facts=(
                ("Credential", credential.achievement_version.name),
                ("Recipient", credential.recipient_name or credential.recipient_email),
                ("Public reason", public),
                ("Internal note", note),
            ),
            fields={"reason": note, "public_reason": choice, "public_other": other},
        )
    )


@bp.post("/<slug>/credentials/<credential_id>/revoke")
@workspace_view("awarder")
def credential_revoke(slug: str, credential_id: str) -> Response | str:
    """Revoke a credential for good (a public reason and an internal note are required), after
    a confirm step."""
    return _act(credential_id, "revoke")


@bp.post("/<slug>/credentials/<credential_id>/suspend")
@workspace_view("awarder")
def credential_suspend(slug: str, credential_id: str) -> Response | str:
    """Suspend a credential (a public reason and an internal note are required)."""
    return _act(credential_id, "suspend")


@bp.post("/<slug>/credentials/<credential_id>/unsuspend")
@workspace_view("awarder")
def credential_unsuspend(slug: str, credential_id: str) -> Response | str:
    """Lift a credential's suspension (an internal note is required)."""
    return _act(credential_id, "unsuspend")


@bp.post("/<slug>/credentials/<credential_id>/resend")
@workspace_view("awarder")
def credential_resend(slug: str, credential_id: str) -> Response:
    """Send the recipient the award email again."""
    found = issuing.get_credential(current_issuer(), credential_id)
    with refusal() as refused:
        notices.resend_award_email(found, actor=actor(), env=service_env())
    refused.flash(f"The award email is on its way to {found.recipient_email} again.")
    return _back(credential_id)


def replace_values(credential: IssuedCredential, now: datetime) -> dict[str, Any]:
    """The award form filled in with what a credential says, ready to be corrected."""
    document = document_json(credential)
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    identifiers = subject.get("identifier")
    published_name = isinstance(identifiers, list) and any(
        isinstance(i, dict) and i.get("identityType") == "name" for i in identifiers
    )
    earned = subject.get("creditsEarned")
    evidence = document.get("evidence")
    rows = [
        {
            "url": str(item.get("id") or ""),
            "name": str(item.get("name") or ""),
            "narrative": str(item.get("narrative") or ""),
        }
        for item in (evidence if isinstance(evidence, list) else [])
        if isinstance(item, dict)
    ][:MAX_EVIDENCE]
    values = blank_values(min(MAX_EVIDENCE, max(EVIDENCE_ROWS, len(rows) + 1)))
    values["evidence"][: len(rows)] = rows
    values.update(
        email=credential.recipient_email,
        name=credential.recipient_name or "",
        show_name=published_name or not credential.recipient_name,
        narrative=str(subject.get("narrative") or ""),
        credits_earned=format_number(earned) if isinstance(earned, int | float) else "",
    )
    # Keep the credential's expiry: a correction should not extend or shorten it.
    if credential.valid_until is None:
        values["expiry"] = "never"
    elif credential.valid_until > now:
        values.update(expiry="date", expiry_date=credential.valid_until.date().isoformat())
    return values


@bp.route("/<slug>/credentials/<credential_id>/replace", methods=["GET", "POST"])
@workspace_view("awarder")
def credential_replace(slug: str, credential_id: str) -> Response | str | tuple[str, int]:
    """Issue a corrected credential and revoke this one, pointing at the correction."""
    issuer = current_issuer()
    found = issuing.get_credential(issuer, credential_id)
    env = service_env()
    version = found.achievement_version
    current = achievements.current_version(
        required(org_queries.achievement(found.achievement_id), "There is no such achievement.")
    )
    values = replace_values(found, env.now)
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        values, data, errors = read_award_form(request.form)
        reason = request.form.get("reason", "").strip()
        if not reason:
            errors["reason"] = "Give a reason; it is kept in the audit log."
        if data is not None and not errors:
            with refusal() as refused:
                replacement = revocation.replace(found, data, reason, actor=actor(), env=env)
            if refused:
                errors = refused.errors(AWARD_FIELDS)
            else:
                flash(
                    "Replaced: this is the corrected credential; the old one is revoked and "
                    f"points here. An email is on its way to {replacement.recipient_email}."
                )
                return redirect(
                    url_for(".credential", slug=issuer.slug, credential_id=replacement.id)
                )
    page = render_template(
        "workspace/credential_replace.html",
        issuer=issuer,
        credential=found,
        version=version,
        current=current,
        values=values,
        errors=errors,
        reason=reason,
        default_expiry=default_expiry(current),
        credit_version=current,
    )
    return (page, 400) if errors else page
