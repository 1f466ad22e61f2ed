"""What the API answers: one marshmallow schema per resource, and the query arguments of its
lists (the request bodies are the forms' schemas in ``schemas/``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.core import PageArgs
from app.models import CREDENTIAL_STATUSES, ROLES


def _nullable_time() -> fields.DateTime:
    """A time that may be ``null`` (always present in the answer)."""
    return fields.DateTime(allow_none=True, required=True)


class PageSchema(Schema):
    """A page of a list: its items, how many there are in all, and where the page starts."""

    total = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class AchievementOut(Schema):
    """An achievement and its current version."""

    id = fields.String(required=True, metadata={"description": "The achievement's id"})
    url = fields.String(required=True, metadata={"description": "Its public page (OB 3.0 id)"})
    version = fields.Integer(required=True)
    archived = fields.Boolean(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    criteria_markdown = fields.String(required=True)
    criteria_url = fields.String(allow_none=True, required=True)
    achievement_type = fields.String(required=True)
    learning_outcomes = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    alignments = fields.List(fields.Dict(), required=True)
    credits_available = fields.Float(allow_none=True, required=True)
    credit_unit = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "clock_hours, ceu or points; null: hours, unit not stated"},
    )
    default_validity_days = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class AchievementPage(PageSchema):
    """A page of achievements."""

    items = fields.List(fields.Nested(AchievementOut), required=True)


class AchievementListArgs(PageArgs):
    """Archived achievements are left out unless asked for."""

    include_archived = fields.Boolean(load_default=False)


class RecipientOut(Schema):
    """The recipient of a credential."""

    email = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)


class CredentialOut(Schema):
    """An issued credential: its id and public URL, status and dates."""

    id = fields.String(required=True)
    url = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CREDENTIAL_STATUSES))
    achievement = fields.String(required=True, metadata={"description": "The achievement's id"})
    achievement_version = fields.Integer(required=True)
    recipient = fields.Nested(RecipientOut, required=True)
    issued_at = fields.DateTime(required=True)
    valid_from = fields.DateTime(required=True)
    valid_until = _nullable_time()
    revoked_at = _nullable_time()
    suspended_at = _nullable_time()
    claimed_at = _nullable_time()
    replaced_by = fields.String(allow_none=True, required=True)
    job = fields.String(allow_none=True, required=True, metadata={"description": "A bulk job"})
    proof_format = fields.String(required=True)


class CredentialDetailOut(CredentialOut):
    """A credential with its signed document (JSON-LD text, or a VC-JWT)."""

    document = fields.String(required=True)
    revocation_reason = fields.String(allow_none=True, required=True)
    suspension_reason = fields.String(allow_none=True, required=True)


class CredentialPage(PageSchema):
    """A page of credentials, newest first."""

    items = fields.List(fields.Nested(CredentialOut), required=True)
    total_capped = fields.Boolean(
        required=True,
        metadata={
            "description": "True when counting stopped (past 10,000 matches): there are more "
            "than `total`"
        },
    )


class CredentialListArgs(PageArgs):
    """Filters: the achievement (its id), the recipient (an exact email address, or part of an
    email or name with ``q``), the status, issued in a time range, and changed since a time."""

    achievement = fields.String(validate=validate.Length(max=64))
    recipient = fields.String(validate=validate.Length(max=320))
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={
            "description": "Part of the recipient's email address or name; a whole address "
            "that some credential is addressed to finds exactly those credentials"
        },
    )
    status = fields.String(validate=validate.OneOf(CREDENTIAL_STATUSES))
    issued_from = fields.AwareDateTime()
    issued_before = fields.AwareDateTime()
    updated_since = fields.AwareDateTime(
        metadata={
            "description": "Issued, or changed (revoked, suspended, unsuspended, claimed, made "
            "private…: anything in the audit log), at or after this time"
        }
    )


class JobRowOut(Schema):
    """One row of a bulk job: what was asked, the verdict of the check, and the outcome."""

    row = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(allow_none=True, required=True)
    verdict = fields.String(required=True)
    message = fields.String(allow_none=True, required=True)
    outcome = fields.String(required=True)
    credential = fields.String(allow_none=True, required=True)


class JobOut(Schema):
    """A bulk job: its state, progress and per-row results."""

    id = fields.String(required=True)
    url = fields.String(required=True)
    achievement = fields.String(required=True)
    state = fields.String(required=True)
    total_rows = fields.Integer(required=True)
    to_issue = fields.Integer(required=True)
    issued = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    percent = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    finished_at = _nullable_time()
    rows = fields.List(fields.Nested(JobRowOut), required=True)
    rows_offset = fields.Integer(required=True)


class JobArgs(Schema):
    """Which of a job's rows to show: from ``rows_offset``, at most ``rows_limit``."""

    rows_offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    rows_limit = fields.Integer(load_default=1000, validate=validate.Range(min=0, max=5000))


class IssuerOut(Schema):
    """An organisation's public profile."""

    slug = fields.String(required=True)
    id = fields.String(required=True, metadata={"description": "Its OB 3.0 profile id (a DID)"})
    name = fields.String(required=True)
    url = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    proof_format = fields.String(required=True)


class MemberOut(Schema):
    """A staff member and their role."""

    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class MemberList(Schema):
    """The organisation's staff."""

    items = fields.List(fields.Nested(MemberOut), required=True)


class InvitationOut(Schema):
    """The answer to an invitation: the same whether or not the address has an account."""

    email = fields.String(required=True)
    role = fields.String(required=True)
    invited = fields.Boolean(required=True)


class AuditEventOut(Schema):
    """One audit event."""

    id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    subject_type = fields.String(allow_none=True, required=True)
    subject_id = fields.String(allow_none=True, required=True)
    detail = fields.Dict(required=True)


class AuditPage(Schema):
    """Audit events, newest first; ``next_before`` continues the list (a cursor)."""

    items = fields.List(fields.Nested(AuditEventOut), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class AuditArgs(Schema):
    """Filters of the audit log, and the cursor (``before``: an event id)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    before = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))  # an SQL integer
    action = fields.String(validate=validate.Length(max=64))
    subject_type = fields.String(validate=validate.Length(max=32))
    subject_id = fields.String(validate=validate.Length(max=64))
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


class ReportRowOut(Schema):
    """Awards of one achievement by status."""

    achievement = fields.String(required=True)
    name = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ReportOut(Schema):
    """Credentials per achievement and status, and the totals."""

    items = fields.List(fields.Nested(ReportRowOut), required=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class VerifyOut(Schema):
    """The verdict on a credential."""

    outcome = fields.String(required=True)
    summary = fields.String(required=True)
    checks = fields.List(fields.Dict(), required=True)
