"""Enrolling a cohort from a CSV file (columns ``email`` and ``name``, read like a bulk-award
file): a preview gives each row a verdict; enrolling creates the missing accounts and emails
everyone an invitation with a sign-in link. All or nothing."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Educator, Enrolment, Issuer, MagicLink, Module
from app.services._core import addresses
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, ServiceError
from app.services.awarding import bulk
from app.services.learning import authoring, educators
from app.services.mail import emails
from app.services.org.audit import Actor

#: How long the sign-in link in a cohort invitation works (days): invitations are read later
#: than a sign-in someone asked for.
INVITE_DAYS = 7
#: A cohort file sends one email per row; larger cohorts are split into several files.
MAX_COHORT_ROWS = 2000
#: What each cohort row's verdict means, in the order the preview lists them.
COHORT_VERDICTS = {
    "new": "will get an account and an invitation",
    "existing": "has an account; will be enrolled and told",
    "enrolled": "is already enrolled; skipped",
    "duplicate": "appears earlier in this file; skipped",
    "invalid": "cannot be enrolled",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CohortRow:
    """One row of a cohort file with its verdict (see ``COHORT_VERDICTS``)."""

    row_number: int
    email: str
    name: str
    verdict: str
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict in ("new", "existing")


def cohort_preview(module: Module, data: bytes) -> list[CohortRow]:
    """Read a cohort file (columns ``email`` and ``name``; read like a bulk-award file) and
    give each row a verdict. Nothing is stored.

    :raises ServiceError: for a file that is not such a CSV, or has too many rows.
    """
    rows = bulk.parse_csv(data, max_rows=MAX_COHORT_ROWS)
    enrolled = set(
        db.session.scalars(select(Enrolment.educator_id).where(Enrolment.module_id == module.id))
    )
    seen: set[str] = set()
    seen_educators: set[int] = set()
    verdicts = []
    for row in rows:
        name = (row.name or "").strip()
        try:
            email = addresses.check_email(row.email)
        except ServiceError:
            problem = f"{row.email!r} is not an email address" if row.email else "no email"
            verdicts.append(
                CohortRow(row.row_number, row.email[:320], name[:200], "invalid", problem)
            )
            continue
        educator = educators.find_by_email(email)
        if len(name) > authoring.MAX_TITLE:
            verdict, message = (
                "invalid",
                f"the name is longer than {authoring.MAX_TITLE} characters",
            )
        elif email in seen:
            verdict, message = "duplicate", None
        elif educator is not None and educator.id in seen_educators:
            verdict, message = "duplicate", "another address of the same educator is above"
        elif educator is not None and educator.id in enrolled:
            verdict, message = "enrolled", None
        else:
            verdict, message = ("existing" if educator is not None else "new"), None
        verdicts.append(CohortRow(row.row_number, email, name[:200], verdict, message))
        seen.add(email)
        if educator is not None:
            seen_educators.add(educator.id)
    return verdicts


def cohort_counts(rows: list[CohortRow]) -> dict[str, int]:
    """How many rows have each verdict."""
    counts = dict.fromkeys(COHORT_VERDICTS, 0)
    for row in rows:
        counts[row.verdict] += 1
    return counts


def _invitation_link(address: str, educator: Educator, env: ServiceEnv) -> str:
    # A single-use sign-in link, like the ones educators ask for, that lasts long enough for
    # an invitation to be read (only its hash is stored).
    token = secrets.token_urlsafe(32)
    db.session.add(
        MagicLink(
            token_hash=_hash(token),
            email=address,
            purpose="sign_in",
            educator_id=educator.id,
            created_at=env.now,
            expires_at=env.now + timedelta(days=INVITE_DAYS),
        )
    )
    return f"{env.base_url}/me/sign-in/{token}"


def _enrol_row(module: Module, row: CohortRow, issuer: Issuer, env: ServiceEnv) -> bool:
    """Enrol the educator of an accepted row (creating their account if need be) and queue
    their invitation; true when the account was created."""
    educator = educators.find_by_email(row.email)
    created = educator is None
    if educator is None:
        educator = educators.create(row.email, row.name, env, verified=False)
    db.session.add(
        Enrolment(
            module_id=module.id,
            educator_id=educator.id,
            state="in_progress",
            enrolled_at=env.now,
            enrolled_by="staff",
        )
    )
    emails.queue_template(
        "module_invite",
        env,
        to=row.email,
        link=_invitation_link(row.email, educator, env),
        secret=True,
        issuer_id=module.issuer_id,
        name=row.name or educator.name,
        issuer_name=issuer.name,
        module_title=module.title,
        module_summary=module.summary,
        days=INVITE_DAYS,
        base_url=env.base_url,
    )
    return created


def enrol_cohort(module: Module, data: bytes, *, actor: Actor, env: ServiceEnv) -> list[CohortRow]:
    """Enrol the rows of a cohort file that pass the preview (checked again now): educators
    without an account get one (their address unconfirmed until they sign in), and everyone
    enrolled is emailed an invitation with a sign-in link. All or nothing.

    :returns: the rows with their verdicts (``new`` and ``existing`` ones were enrolled).
    :raises Conflict: when the module is a draft.
    :raises ServiceError: for a file that cannot be read.
    """
    if not module.published:
        raise Conflict("Publish the module before enrolling a cohort.")
    rows = cohort_preview(module, data)
    issuer = authoring.issuer_of(module)
    created = 0
    for row in rows:
        if not row.ok:
            continue
        if _enrol_row(module, row, issuer, env):
            created += 1
    enrolled = sum(1 for row in rows if row.ok)
    # The verdict counts are named rows_*: their "enrolled" (rows already enrolled before)
    # once overwrote the number enrolled now.
    verdicts = {f"rows_{verdict}": n for verdict, n in cohort_counts(rows).items()}
    authoring.record(
        "module.cohort_enrol", module, actor, env, enrolled=enrolled, created=created, **verdicts
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Someone enrolled (or signed up) meanwhile; the file is simply checked again.
        db.session.rollback()
        raise Conflict(
            "Enrolments changed while the file was processed; upload it again."
        ) from None
    emails.deliver_soon(env)
    return rows
