"""Self-directed learning: an educator records learning done elsewhere (a conference, a book
study, a webinar, a community of practice, a chat series) with its hours and evidence, and asks
an organisation they belong to for credit; the organisation's staff approve it (perhaps for
other hours) or decline it in the review queue. Approval awards a credential of the achievement
the organisation named for self-directed learning, with the approved hours as ``creditsEarned``,
through the awarding service, so it counts toward renewal like any other credential.

An educator belongs to an organisation when they hold one of its credentials or are enrolled in
one of its modules; only organisations that have named their achievement take requests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import (
    Achievement,
    Educator,
    Enrolment,
    IssuedCredential,
    Issuer,
    LearningRequest,
    LearningRequestFile,
    Module,
    SelfDirectedSetting,
    StaffAccount,
    StoredFile,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services._core.formatting import format_decimal
from app.services._core.transaction import all_or_nothing
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.learning import claims, credit_rules, educators, portfolio
from app.services.learning.educators import actor as educator_actor
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor
from schemas.self_directed import KIND_LABELS

EDITABLE_STATES = ("draft", "withdrawn")
CLOSED_STATES = ("approved", "declined", "withdrawn")
MAX_FILES = 10
#: Units whose credit is hours, so approved hours can be signed as ``creditsEarned``.
HOUR_UNITS = (None, "clock_hours")


# ------------------------------------------------------------------------- the organisation


def setting_of(issuer: Issuer) -> Achievement | None:
    """The achievement the organisation awards self-directed learning as, if it named one."""
    found = db.session.get(SelfDirectedSetting, issuer.id)
    return db.session.get(Achievement, found.achievement_id) if found is not None else None


def set_achievement(
    issuer: Issuer, achievement_id: str | None, *, actor: Actor, env: ServiceEnv
) -> Achievement | None:
    """Name the achievement self-directed learning is awarded as (``None``: stop taking
    requests; requests already made stay); audited.

    :raises Invalid: for an achievement that is not the organisation's, is archived, or
        carries credit in a unit other than hours.
    """
    row = db.session.get(SelfDirectedSetting, issuer.id)
    chosen = None
    if achievement_id:
        chosen = db.session.scalar(
            select(Achievement).where(
                Achievement.issuer_id == issuer.id, Achievement.public_id == achievement_id
            )
        )
        if chosen is None or chosen.archived_at is not None:
            raise Invalid("Choose one of this organisation's achievements.", "achievement")
        if achievements.current_version(chosen).credit_unit not in HOUR_UNITS:
            raise Invalid(
                "Choose an achievement whose credit is in hours: approved requests are "
                "awarded with the hours approved.",
                "achievement",
            )
    if chosen is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(
            SelfDirectedSetting(issuer_id=issuer.id, achievement_id=chosen.id, updated_at=env.now)
        )
    else:
        row.achievement_id, row.updated_at = chosen.id, env.now
    audit.record("self_directed.setting", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="issuer", subject_id=issuer.slug,
                 detail={"achievement": chosen.public_id if chosen else None})  # fmt: skip
    db.session.commit()
    return chosen


def categories_of(issuer: Issuer) -> list[str]:
    """The category names of the organisation's credit rules, each once, in order."""
    names: dict[str, None] = {}
    for rule in credit_rules.list_for(issuer):
        for category in rule.categories:
            names[str(category["name"])] = None
    return list(names)


def counted_in(issuer: Issuer, achievement: Achievement) -> list[tuple[str, str]]:
    """``(rules, category)`` for each of the organisation's credit rules with a category that
    counts ``achievement`` (where approved hours will count)."""
    return [
        (rule.name, str(category["name"]))
        for rule in credit_rules.list_for(issuer)
        for category in rule.categories
        if achievement.public_id in category.get("achievements", [])
    ]


def organisations_for(educator: Educator) -> list[Issuer]:
    """The organisations the educator belongs to (holding one of their credentials or
    enrolled in one of their modules) that take self-directed learning requests, by name."""
    ids = {entry.credential.issuer_id for entry in educators.backpack(educator)}
    ids |= set(
        db.session.scalars(
            select(Module.issuer_id)
            .join(Enrolment, Enrolment.module_id == Module.id)
            .where(Enrolment.educator_id == educator.id)
        )
    )
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Issuer)
            .join(SelfDirectedSetting, SelfDirectedSetting.issuer_id == Issuer.id)
            .where(Issuer.id.in_(ids))
            .order_by(func.lower(Issuer.name))
        )
    )


def organisation_for(educator: Educator, slug: str) -> Issuer:
    """One of :func:`organisations_for`.

    :raises Invalid: for any other organisation (``organisation``).
    """
    for issuer in organisations_for(educator):
        if issuer.slug == slug:
            return issuer
    raise Invalid(
        "Choose one of your organisations that award credit for self-directed learning.",
        "organisation",
    )


# ------------------------------------------------------------------------------ the educator


def _fill(request: LearningRequest, issuer: Issuer, loaded: dict[str, Any]) -> None:
    category = loaded.get("category") or None
    if category is not None and category not in categories_of(issuer):
        raise Invalid("Choose one of the organisation's categories (or none).", "category")
    if loaded["ended_on"] < loaded["started_on"]:
        raise Invalid("It cannot end before it started.", "ended_on")
    request.issuer_id = issuer.id
    request.kind = loaded["kind"]
    request.title = loaded["title"].strip()
    request.provider = (loaded.get("provider") or "").strip()
    request.started_on = loaded["started_on"]
    request.ended_on = loaded["ended_on"]
    request.hours = float(loaded["hours"])
    request.description = (loaded.get("description") or "").strip()
    request.category = category
    request.links = list(loaded.get("links") or [])


@dataclass(frozen=True)
class Upload:
    """An evidence file as uploaded: its bytes, its name, and the largest size allowed."""

    data: bytes
    filename: str
    max_bytes: int


def _attach(request: LearningRequest, upload: Upload | None, env: ServiceEnv) -> None:
    if upload is None or not upload.data:
        return
    if len(request.files) >= MAX_FILES:
        raise Invalid(f"Attach at most {MAX_FILES} files.", "file")
    stored = portfolio.store_file(
        upload.data, upload.filename, max_bytes=upload.max_bytes, now=env.now
    )
    db.session.add(
        LearningRequestFile(public_id=str(uuid.uuid4()), request_id=request.id, file_id=stored.id)
    )
    db.session.flush()
    db.session.refresh(request)


def create(
    educator: Educator,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    upload: Upload | None = None,
) -> LearningRequest:
    """Record learning as a draft request (``loaded`` by ``schemas.self_directed``).

    :raises Invalid: for an organisation the educator does not belong to (or that takes no
        requests), an unknown category, or an unacceptable file.
    """
    issuer = organisation_for(educator, loaded["organisation"])
    request = LearningRequest(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        state="draft",
        created_at=env.now,
        updated_at=env.now,
        decision_note="",
    )
    _fill(request, issuer, loaded)
    db.session.add(request)
    db.session.flush()
    _attach(request, upload, env)
    _record_educator("learning_request.create", request, educator, env)
    return request


def _editable(request: LearningRequest, educator: Educator) -> None:
    if request.educator_id != educator.id:
        raise NotFound("There is no such request.")
    if request.state not in EDITABLE_STATES:
        raise Conflict("This request has been submitted: withdraw it first to change it.")


def update_request(
    request: LearningRequest,
    educator: Educator,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    upload: Upload | None = None,
) -> LearningRequest:
    """Change a draft (or withdrawn) request, adding a file if one is uploaded.

    :raises Conflict: once it is submitted or decided.
    """
    _editable(request, educator)
    issuer = organisation_for(educator, loaded["organisation"])
    _fill(request, issuer, loaded)
    request.updated_at = env.now
    _attach(request, upload, env)
    _record_educator("learning_request.update", request, educator, env)
    return request


def remove_file(
    request: LearningRequest, educator: Educator, file_id: str, env: ServiceEnv
) -> None:
    """Remove an evidence file from a draft (or withdrawn) request.

    :raises NotFound: for a file the request does not have.
    """
    _editable(request, educator)
    found = file_of(request, file_id)
    stored_id = found.file_id
    db.session.delete(found)
    db.session.flush()
    stored = db.session.get(StoredFile, stored_id)
    if stored is not None:
        db.session.delete(stored)
    request.updated_at = env.now
    _record_educator("learning_request.update", request, educator, env)


def delete_request(request: LearningRequest, educator: Educator, env: ServiceEnv) -> None:
    """Delete a draft (or withdrawn) request and its files."""
    _editable(request, educator)
    stored_ids = [f.file_id for f in request.files]
    db.session.execute(
        delete(LearningRequestFile).where(LearningRequestFile.request_id == request.id)
    )
    if stored_ids:
        db.session.execute(delete(StoredFile).where(StoredFile.id.in_(stored_ids)))
    _record_educator("learning_request.delete", request, educator, env, commit=False)
    db.session.delete(request)
    db.session.commit()


def submit(request: LearningRequest, educator: Educator, env: ServiceEnv) -> LearningRequest:
    """Send a draft (or withdrawn) request to the organisation's review queue.

    :raises Conflict: when it was already submitted, the organisation no longer takes requests,
        or the educator has not confirmed the name their credentials carry
        (``credential_name``).
    """
    _editable(request, educator)
    claims.credential_name(educator)  # asked before anything can be issued in their name
    issuer = required(db.session.get(Issuer, request.issuer_id), "missing issuer")
    if setting_of(issuer) is None:
        raise Conflict(f"{issuer.name} does not take requests for credit at the moment.")
    request.state = "submitted"
    request.submitted_at = request.updated_at = env.now
    _record_educator("learning_request.submit", request, educator, env)
    return request


def withdraw(request: LearningRequest, educator: Educator, env: ServiceEnv) -> LearningRequest:
    """Take a submitted request back (it can be changed and submitted again).

    :raises Conflict: unless it is waiting for a decision.
    """
    if request.educator_id != educator.id:
        raise NotFound("There is no such request.")
    result = db.session.execute(
        update(LearningRequest)
        .where(LearningRequest.id == request.id, LearningRequest.state == "submitted")
        .values(state="withdrawn", updated_at=env.now)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("Only a request waiting for a decision can be withdrawn.")
    _record_educator("learning_request.withdraw", request, educator, env)
    return request


def _record_educator(
    event: str,
    request: LearningRequest,
    educator: Educator,
    env: ServiceEnv,
    *,
    commit: bool = True,
) -> None:
    audit.record(event, actor=educator_actor(educator), now=env.now, issuer_id=request.issuer_id,
                 subject_type="learning_request", subject_id=request.public_id,
                 detail={"hours": request.hours, "kind": request.kind})  # fmt: skip
    if commit:
        db.session.commit()


def requests_of(educator: Educator) -> list[LearningRequest]:
    """The educator's requests, newest first."""
    return list(
        db.session.scalars(
            select(LearningRequest)
            .where(LearningRequest.educator_id == educator.id)
            .order_by(LearningRequest.id.desc())
        )
    )


def get_for_educator(educator: Educator, public_id: str) -> LearningRequest:
    """One of the educator's requests.

    :raises NotFound: when it is someone else's or does not exist (alike).
    """
    found = db.session.scalar(select(LearningRequest).where(LearningRequest.public_id == public_id))
    if found is None or found.educator_id != educator.id:
        raise NotFound("There is no such request.")
    return found


def file_of(request: LearningRequest, file_id: str) -> LearningRequestFile:
    """One of the request's evidence files.

    :raises NotFound: when the request has no such file.
    """
    for attached in request.files:
        if attached.public_id == file_id:
            return attached
    raise NotFound("This request has no such file.")


# ---------------------------------------------------------------------------------- the staff


def queue(issuer: Issuer, *, states: tuple[str, ...] = ("submitted",)) -> list[LearningRequest]:
    """The organisation's requests in these states (never drafts): waiting ones oldest first,
    the others most recently changed first."""
    states = tuple(s for s in states if s != "draft")
    order = (
        (LearningRequest.submitted_at, LearningRequest.id)
        if states == ("submitted",)
        else (LearningRequest.updated_at.desc(), LearningRequest.id.desc())
    )
    return list(
        db.session.scalars(
            select(LearningRequest)
            .where(LearningRequest.issuer_id == issuer.id, LearningRequest.state.in_(states))
            .order_by(*order)
        )
    )


def waiting_count(issuer: Issuer) -> int:
    """How many of the organisation's requests wait for a decision."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(LearningRequest)
            .where(LearningRequest.issuer_id == issuer.id, LearningRequest.state == "submitted")
        )
        or 0
    )


def get_for_issuer(issuer: Issuer, public_id: str) -> LearningRequest:
    """One of the organisation's requests (a draft is the educator's alone).

    :raises NotFound: when it is another organisation's, a draft, or does not exist.
    """
    found = db.session.scalar(select(LearningRequest).where(LearningRequest.public_id == public_id))
    if found is None or found.issuer_id != issuer.id or found.state == "draft":
        raise NotFound("There is no such request.")
    return found


def issuer_of(request: LearningRequest) -> Issuer:
    """The organisation a request asks for credit."""
    return required(db.session.get(Issuer, request.issuer_id), "missing issuer")


def educator_of(request: LearningRequest) -> Educator:
    """The educator who made the request."""
    return required(db.session.get(Educator, request.educator_id), "missing educator")


def _claim(request: LearningRequest, state: str, reviewer: StaffAccount, env: ServiceEnv) -> None:
    """Move the request out of ``submitted`` in this transaction, or raise: two reviewers
    deciding at once must not both succeed (nor award two credentials). The conditional UPDATE
    takes the row lock, so the second waits for the first and then finds nothing to change."""
    result = db.session.execute(
        update(LearningRequest)
        .where(LearningRequest.id == request.id, LearningRequest.state == "submitted")
        .values(state=state, decided_at=env.now, updated_at=env.now, decided_by_id=reviewer.id)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("This request has just been decided by someone else.")


def narrative_for(request: LearningRequest, hours: float, issuer: Issuer) -> str:
    """The credential's narrative: the learning it recognises, named."""
    kind = KIND_LABELS.get(request.kind, request.kind).split(" (")[0]
    by = f" ({request.provider})" if request.provider else ""
    when = (
        request.started_on.isoformat()
        if request.started_on == request.ended_on
        else f"{request.started_on.isoformat()} to {request.ended_on.isoformat()}"
    )
    lines = [
        f"Self-directed learning: {kind.lower()} “{request.title}”{by}, {when}; "
        f"{format_decimal(hours, 'en')} hours approved by {issuer.name}."
    ]
    if request.description:
        lines.append(_shortened(request.description, 4000))
    return "\n\n".join(lines)


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def evidence_for(request: LearningRequest) -> tuple[EvidenceInput, ...]:
    """The credential's ``evidence``: each link the educator gave, and each file by name (the
    files themselves stay with the organisation, so no address of theirs is signed)."""
    entries = [
        EvidenceInput(url=link["url"], name=link.get("name") or request.title)
        for link in request.links
    ]
    entries += [
        EvidenceInput(
            name=attached.file.filename,
            narrative="An evidence file submitted with the request for credit, kept by the "
            "awarding organisation.",
        )
        for attached in request.files
    ]
    return tuple(entries)


def decide(
    request: LearningRequest,
    reviewer: StaffAccount,
    decision: str,
    *,
    hours: float | None,
    note: str,
    env: ServiceEnv,
    ip: str | None = None,
) -> LearningRequest:
    """Approve (award a credential of the organisation's self-directed learning achievement
    with ``hours``, or the hours asked for, as ``creditsEarned``) or decline with a reason;
    the educator is emailed either way. The decision and the credential are committed together.

    :raises Conflict: when the request is not waiting for a decision (or was just decided), or
        the organisation has named no achievement.
    :raises Invalid: for an unknown decision, hours out of range, or a decline without reason.
    """
    if request.state != "submitted":
        raise Conflict("This request is not waiting for a decision.")
    if decision not in ("approve", "decline"):
        raise Invalid("Approve or decline.", "decision")
    note = note.strip()
    if decision == "decline" and not note:
        raise Invalid("Say why it is declined (the educator sees it).", "note")
    issuer = required(db.session.get(Issuer, request.issuer_id), "missing issuer")
    educator = educator_of(request)
    actor = Actor(reviewer, ip=ip)
    if decision == "decline":
        with all_or_nothing():
            _claim(request, "declined", reviewer, env)
            request.decision_note = note
            _record_decision(request, actor, env, credential_id=None)
            _tell(educator, request, issuer, env)
        db.session.commit()
        emails.deliver_soon(env)
        return request
    approved = float(hours) if hours is not None else request.hours
    if not 0 < approved <= 1000:
        raise Invalid("Approve between 0.25 and 1,000 hours.", "hours")
    achievement = setting_of(issuer)
    if achievement is None:
        raise Conflict(
            "Choose the achievement self-directed learning is awarded as first "
            "(Credit rules → Self-directed learning)."
        )
    if achievements.current_version(achievement).credit_unit not in HOUR_UNITS:
        # Edited since it was chosen: its credit is no longer hours, so hours cannot be signed.
        raise Conflict(
            "The achievement self-directed learning is awarded as no longer carries credit in "
            "hours: choose another (Credit rules → Self-directed learning)."
        )
    award = AwardInput(
        email=educators.recipient_email(educator),
        name=educator.credential_name,
        narrative=narrative_for(request, approved, issuer),
        evidence=evidence_for(request),
        credits_earned=approved,
        claimed=True,
    )

    def record(credential: IssuedCredential) -> None:
        _claim(request, "approved", reviewer, env)
        request.approved_hours = approved
        request.decision_note = note
        request.credential_id = credential.id
        _record_decision(request, actor, env, credential_id=credential.id)
        _tell(educator, request, issuer, env)

    with all_or_nothing():
        issuing.award(issuer, achievement, award, actor=actor, env=env, notify=False,
                      on_store=record)  # fmt: skip
    emails.deliver_soon(env)
    return request


def _record_decision(
    request: LearningRequest, actor: Actor, env: ServiceEnv, *, credential_id: str | None
) -> None:
    audit.record(f"learning_request.{'approve' if credential_id else 'decline'}", actor=actor,
                 now=env.now, issuer_id=request.issuer_id, subject_type="learning_request",
                 subject_id=request.public_id,
                 detail={"hours_asked": request.hours, "hours_approved": request.approved_hours,
                         "credential": credential_id})  # fmt: skip


def _tell(educator: Educator, request: LearningRequest, issuer: Issuer, env: ServiceEnv) -> None:
    emails.queue_template(
        "learning_request",
        env,
        to=educators.recipient_email(educator),
        link=f"{env.base_url}/me/learning/{request.public_id}",
        secret=False,
        issuer_id=request.issuer_id,
        name=educator.name,
        approved=request.state == "approved",
        title=request.title,
        issuer_name=issuer.name,
        hours=format_decimal(request.approved_hours or request.hours, "en"),
        asked=format_decimal(request.hours, "en"),
        changed=request.approved_hours is not None and request.approved_hours != request.hours,
        note=request.decision_note,
    )
