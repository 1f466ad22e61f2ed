"""Awarding: build, sign once, store exactly as signed. Used by the single-award form, the CLI,
bulk CSV jobs (through :func:`issue_many`) and replacements alike.

A credential's ``id`` is its public URL, ``<base>/credentials/<uuid>``. Its status entry is a
random index in the issuer's revocation list. It is signed at issue time with the issuer's
current key (Data Integrity ``eddsa-rdfc-2022``, or VC-JWT ES256 when the issuer chose JWT) and
the signed text is what Cairn serves for ever after.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

import credentials
from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AuditEvent,
    EmailMessage,
    IssuedCredential,
    Issuer,
    MagicLink,
    ManageLink,
    WebhookDelivery,
)
from app.services._core import events, plain_rows, shared_reads
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound, ServiceError
from app.services._core.transaction import all_or_nothing
from app.services.awarding import grouping, signing, status_lists
from app.services.awarding.credit import credit_of_document
from app.services.mail import emails
from app.services.org import achievements, audit, issuers
from app.services.org.audit import Actor
from credentials import CredentialError, build_credential
from schemas.awards import AwardFields

#: How Cairn writes the ids it makes (credentials, bulk jobs). Anything else in a URL cannot
#: name one, and is refused before it reaches the database (PostgreSQL errors on a NUL byte).
ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class EvidenceInput:
    """Evidence for an award: a URL, a narrative, or both."""

    url: str | None = None
    name: str | None = None
    narrative: str | None = None


@dataclass(frozen=True)
class ResultInput:
    """A result of the award: a rubric level (``result_description`` and ``achieved_level``
    are the ids of a ``ResultDescription`` and one of its ``RubricCriterionLevel``s), a value,
    or a status."""

    result_description: str | None = None
    achieved_level: str | None = None
    value: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class AwardInput:
    """One award (validated by ``schemas.awards``).

    ``valid_until`` overrides the achievement's default validity; ``no_expiry`` removes it.
    """

    email: str
    name: str | None = None
    narrative: str | None = None
    evidence: tuple[EvidenceInput, ...] = ()
    valid_until: datetime | None = None
    no_expiry: bool = False
    show_name: bool = True
    awarded_date: datetime | None = None
    results: tuple[ResultInput, ...] = ()
    #: The credit this award earned (``creditsEarned``), when it differs from what the
    #: achievement makes available; in the achievement's credit unit.
    credits_earned: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The recipient earned it in Cairn, signed in (a module, a reviewed submission), so it is
    #: in their backpack already: claimed when issued, and the award email asks no claim.
    claimed: bool = False


def award_input(fields: AwardFields) -> AwardInput:
    """The issuing service's input for an award the award schema validated."""
    return AwardInput(
        email=fields["email"],
        name=fields["name"],
        narrative=fields["narrative"],
        evidence=tuple(
            EvidenceInput(url=e["url"], name=e["name"], narrative=e["narrative"])
            for e in fields["evidence"]
        ),
        valid_until=fields["valid_until"],
        no_expiry=fields["no_expiry"],
        show_name=fields["show_name"],
        credits_earned=fields.get("credits_earned"),
    )


def _in_the_future(valid_until: datetime, now: datetime) -> datetime:
    if valid_until <= now:
        raise Invalid("The expiry date must be in the future.", "valid_until")
    return valid_until


def check(award: AwardInput, now: datetime) -> None:
    """What an award must be before anything is reserved for it: its email an address, and an
    expiry of its own (when it has one) in the future.

    :raises Invalid: naming the field (``email`` or ``valid_until``).
    """
    check_email(award.email)
    if award.valid_until is not None and not award.no_expiry:
        _in_the_future(award.valid_until, now)


def credential_url(credential_id: str, env: ServiceEnv) -> str:
    """The public URL (and ``id``) of a credential."""
    return f"{env.base_url}/credentials/{credential_id}"


class Issuance:
    """What every award of one achievement version by one issuer shares, prepared once: the
    issuer profile, the achievement object, the signing key. Bulk jobs reuse one per chunk."""

    def __init__(
        self, issuer: Issuer, achievement: Achievement, version: AchievementVersion, env: ServiceEnv
    ):
        self.issuer, self.achievement, self.version, self.env = issuer, achievement, version, env
        self.profile = issuers.profile(issuer, env)
        self.ob_achievement = achievements.ob_achievement(achievement, version, issuer, env)
        self.proof_format = issuer.proof_format
        key_type = "ed25519" if self.proof_format == "di" else "p256"
        record, self.key = issuers.signing_key(issuer, key_type, env)
        self.verification_method = issuers.verification_method(issuer, record, env)

    def valid_until(self, award: AwardInput) -> datetime | None:
        """The credential's expiry: none, the award's own (refused unless in the future), or the
        achievement's default validity from now."""
        if award.no_expiry:
            return None
        if award.valid_until is not None:
            return _in_the_future(award.valid_until, self.env.now)
        days = self.version.default_validity_days
        return self.env.now + timedelta(days=days) if days else None

    def build(
        self, award: AwardInput, credential_id: str, index: int
    ) -> tuple[dict[str, Any], datetime | None]:
        """Build one unsigned credential; return it with its expiry.

        :raises ServiceError: for invalid award data (including anything the builder refuses).
        """
        arguments, valid_until = self.build_arguments(award, credential_id, index)
        try:
            unsigned = build_credential(
                issuer=self.profile, achievement=self.ob_achievement, **arguments
            )
        except (ValueError, CredentialError) as exc:
            raise _unbuildable(exc) from None
        return unsigned, valid_until

    def build_arguments(
        self, award: AwardInput, credential_id: str, index: int
    ) -> tuple[dict[str, Any], datetime | None]:
        """What :func:`build_credential` is given for one award besides the issuer and the
        achievement (:attr:`blueprint`), and the credential's expiry: :meth:`build` builds
        with them here, a bulk chunk's signing processes where they sign.

        :raises ServiceError: for invalid award data.
        """
        email = check_email(award.email)
        valid_until = self.valid_until(award)
        try:
            arguments = {
                "credential_id": credential_url(credential_id, self.env),
                "recipient": credentials.Recipient(
                    email=email,
                    salt=secrets.token_hex(16),  # a fresh salt per award
                    name=(award.name or None) if award.show_name else None,
                ),
                "valid_from": self.env.now,
                "valid_until": valid_until,
                "awarded_date": award.awarded_date or self.env.now,
                "narrative": award.narrative or None,
                "evidence": [
                    credentials.Evidence(
                        id=e.url or None, name=e.name or None, narrative=e.narrative or None
                    )
                    for e in award.evidence
                ],
                "credential_status": status_lists.entry(self.issuer, index, self.env),
                "results": [
                    credentials.Result(
                        value=r.value,
                        status=r.status,
                        result_description=r.result_description,
                        achieved_level=r.achieved_level,
                    )
                    for r in award.results
                ]
                + self.credit_results(award),
                "credits_earned": award.credits_earned,
            }
        except (ValueError, CredentialError) as exc:
            raise _unbuildable(exc) from None
        return arguments, valid_until

    @property
    def blueprint(self) -> signing.Blueprint:
        """What every credential of this issuance shares (:meth:`build_arguments`)."""
        return self.profile, self.ob_achievement

    def credit_results(self, award: AwardInput) -> list[credentials.Result]:
        """The credits earned as a ``Result`` of the achievement's credit ``ResultDescription``
        (which names the unit), beside ``creditsEarned`` (a bare number in OB 3.0)."""
        if award.credits_earned is None:
            return []
        return [
            credentials.Result(
                value=achievements.format_credit_value(award.credits_earned),
                result_description=description.id,
            )
            for description in self.ob_achievement.result_descriptions
            if description.result_type == credentials.CREDIT_RESULT_TYPE
        ]

    def sign(
        self, award: AwardInput, credential_id: str, index: int
    ) -> tuple[str, datetime | None]:
        """Build and sign one credential; return its stored text and expiry.

        :raises ServiceError: for invalid award data (including anything the builder refuses).
        """
        unsigned, valid_until = self.build(award, credential_id, index)
        try:
            text = signing.sign_one(
                unsigned,
                self.key,
                self.verification_method,
                self.proof_format,
                self.env.now,
                self.env.loader,
            )
        except (ValueError, CredentialError) as exc:
            raise Invalid(
                f"The credential could not be signed: {getattr(exc, 'message', exc)}"
            ) from None
        return text, valid_until


def _unbuildable(exc: Exception) -> Invalid:
    return Invalid(f"The credential could not be built: {getattr(exc, 'message', exc)}")


def store(
    issuance: Issuance,
    award: AwardInput,
    *,
    credential_id: str,
    index: int,
    document: str,
    valid_until: datetime | None,
    actor: Actor,
    bulk_job_id: str | None = None,
    notify: bool = True,
) -> IssuedCredential:
    """Add the signed credential, its audit event and its email to the session (not committed)."""
    credential = _credential(
        issuance,
        award,
        credential_id=credential_id,
        index=index,
        document=document,
        valid_until=valid_until,
        actor=actor,
        bulk_job_id=bulk_job_id,
    )
    db.session.add(credential)
    db.session.flush()  # the handlers read it through its relationships
    _announce(issuance, credential, notify)
    _audit_issue(issuance, credential, actor)
    return credential


def _credential(
    issuance: Issuance,
    award: AwardInput,
    *,
    credential_id: str,
    index: int,
    document: str,
    valid_until: datetime | None,
    actor: Actor,
    bulk_job_id: str | None,
) -> IssuedCredential:
    """The signed credential's row (not yet in the session)."""
    row = _credential_row(
        issuance,
        award,
        credential_id=credential_id,
        index=index,
        document=document,
        valid_until=valid_until,
        actor=actor,
        bulk_job_id=bulk_job_id,
    )
    return IssuedCredential(**{k: v for k, v in row.items() if k not in _NEW_CREDENTIAL})


#: What a new credential's other columns hold (what the ORM's flush writes when they are not
#: set: the model's defaults, NULL for the rest).
_NEW_CREDENTIAL = {
    "revoked_at": None,
    "revocation_reason": None,
    "revocation_public_reason": None,
    "suspended_at": None,
    "suspension_reason": None,
    "suspension_public_reason": None,
    "replaced_by_id": None,
    "is_private": False,
    "show_on_profile": False,
    "expiry_notice_sent_at": None,
}


def _credential_row(
    issuance: Issuance,
    award: AwardInput,
    *,
    credential_id: str,
    index: int,
    document: str,
    valid_until: datetime | None,
    actor: Actor,
    bulk_job_id: str | None,
) -> dict[str, Any]:
    """Every column of a new credential's row, as a plain dict (the batch path inserts it with
    Core; :func:`_credential` makes the ORM object of the values it sets)."""
    env = issuance.env
    credit, unit = credit_of_document(document)
    return {
        "id": credential_id,
        "issuer_id": issuance.issuer.id,
        "achievement_id": issuance.achievement.id,
        "achievement_version_id": issuance.version.id,
        "recipient_email": check_email(award.email),
        "recipient_name": award.name or None,
        "document": document,
        "proof_format": issuance.proof_format,
        "issued_at": env.now,
        "valid_from": env.now,
        "valid_until": valid_until,
        "status_index": index,
        "awarded_by_id": actor.staff_id,
        "bulk_job_id": bulk_job_id,
        "claimed_at": env.now if award.claimed else None,
        "credit": credit,
        "credit_unit": unit,
    } | _NEW_CREDENTIAL


def _announce(issuance: Issuance, credential: IssuedCredential, notify: bool) -> None:
    """What a stored (flushed) credential sets off in its transaction: its email, webhook
    deliveries (handlers of ``CredentialStored``)."""
    events.publish(
        events.CredentialStored(credential, issuance.issuer, issuance.version, notify, issuance.env)
    )


def _audit_issue(issuance: Issuance, credential: IssuedCredential, actor: Actor) -> None:
    """The credential's ``credential.issue`` event. Appending to the issuer's audit chain locks
    its head until the commit, and every award of the issuer waits for that lock: so it is the
    last thing an award does before committing."""
    audit.record_rows([_issue_event(issuance, credential, actor)])


def _issue_event(issuance: Issuance, credential: IssuedCredential, actor: Actor) -> audit.EventRow:
    return audit.new_row(
        "credential.issue",
        actor=actor,
        now=issuance.env.now,
        issuer_id=issuance.issuer.id,
        subject_type="credential",
        subject_id=credential.id,
        detail={
            "achievement": issuance.achievement.public_id,
            "version": issuance.version.version,
            "recipient": credential.recipient_email,
            "status_index": credential.status_index,
            "job": credential.bulk_job_id,
        },
    )


@dataclass(frozen=True)
class Outcome:
    """What :func:`issue_many` did with one award: its credential, or why it issued none."""

    credential: IssuedCredential | None = None
    refused: ServiceError | None = None


@dataclass
class _Award:
    """One award on its way through :func:`issue_many`."""

    data: AwardInput
    credential_id: str = ""
    index: int = -1
    #: what building its credential takes besides the :attr:`Issuance.blueprint`
    arguments: dict[str, Any] | None = None
    valid_until: datetime | None = None
    document: str | None = None
    outcome: Outcome | None = None


def issue_many(
    issuer: Issuer,
    achievement: Achievement,
    awards: Sequence[AwardInput],
    *,
    actor: Actor,
    env: ServiceEnv,
    processes: int = 0,
    bulk_job_id: str | None = None,
    notify: bool = True,
    follow_pathways: bool = True,
    on_store: Callable[[list[Outcome]], None] | None = None,
    used_indices: set[int] | None = None,
) -> list[Outcome]:
    """Award several credentials of one achievement in one transaction: check each award,
    allocate status indexes, build, sign (on ``processes`` signing processes; 0: in this one),
    store, commit, then announce them (``CredentialsAwarded``). An award that cannot be issued
    is refused on its own; the others are issued.

    ``on_store`` is called with the outcomes before the commit, so what it writes is committed
    with the credentials or not at all; an exception it raises leaves nothing committed (e.g. a
    bulk job's lease was taken over).

    The status indexes are allocated, and committed, on a connection of their own
    (:func:`status_lists.allocate`, given ``used_indices`` when the caller keeps the issuer's
    used indices across calls); call it before the session writes anything.

    :returns: an outcome per award, in order.
    """
    started = start_many(
        issuer, achievement, awards, env=env, processes=processes, used_indices=used_indices
    )
    return started.finish(
        actor=actor,
        bulk_job_id=bulk_job_id,
        notify=notify,
        follow_pathways=follow_pathways,
        on_store=on_store,
    )


@dataclass
class StartedAwards:
    """The first half of :func:`issue_many`: the awards checked, their status indexes
    allocated (committed), their credentials built, and their signing under way (on the
    signing processes, when there are enough awards).

    A bulk job stores one chunk (:meth:`finish`) while the next one is signed. Dropping one
    unfinished stores nothing; its allocated indexes stay unused, as after a crash.
    """

    issuance: Issuance
    pending: list[_Award]
    to_sign: list[_Award]
    signatures: Callable[[], list[signing.Signed]]

    def finish(
        self,
        *,
        actor: Actor,
        bulk_job_id: str | None = None,
        notify: bool = True,
        follow_pathways: bool = True,
        on_store: Callable[[list[Outcome]], None] | None = None,
    ) -> list[Outcome]:
        """Wait for the signatures, store, call ``on_store``, commit, announce: the rest of
        :func:`issue_many` (the session must not have written anything since :func:`start_many`
        allocated, as there)."""
        _signed(self.to_sign, self.signatures())
        with all_or_nothing():  # a refusing handler or on_store leaves no credential behind
            outcomes = _store_all(
                self.issuance, self.pending, actor=actor, bulk_job_id=bulk_job_id, notify=notify
            )
            if on_store is not None:
                on_store(outcomes)
            db.session.commit()
        stored = tuple(o.credential for o in outcomes if o.credential is not None)
        env = self.issuance.env
        events.publish(events.CredentialsAwarded(stored, env, follow_pathways=follow_pathways))
        return outcomes


def start_many(
    issuer: Issuer,
    achievement: Achievement,
    awards: Sequence[AwardInput],
    *,
    env: ServiceEnv,
    processes: int = 0,
    used_indices: set[int] | None = None,
) -> StartedAwards:
    """Begin :func:`issue_many`: check, allocate (committed on a connection of its own: call
    it before the session writes anything), build, and start signing; nothing is stored until
    :meth:`StartedAwards.finish`."""
    pending = [_Award(data) for data in awards]
    for item in pending:
        item.outcome = _refusal(check, item.data, env.now)
    checked = [item for item in pending if item.outcome is None]
    indexes = status_lists.allocate(issuer, len(checked), env, used_indices) if checked else []
    version = shared_reads.remembered_row(
        ("achievement_version", achievement.id, achievement.current_version),
        AchievementVersion,
        env,
        lambda: achievements.current_version(achievement),
    )
    issuance = Issuance(issuer, achievement, version, env)
    for item, index in zip(checked, indexes, strict=True):
        item.credential_id, item.index = str(uuid.uuid4()), index
        item.outcome = _refusal(_build, issuance, item)
    built = [item for item in checked if item.outcome is None]
    # Built where they are signed (the signing processes, for a bulk chunk): see sign_later.
    signatures = signing.sign_later(
        [item.arguments or {} for item in built],
        key=issuance.key,
        vm=issuance.verification_method,
        proof_format=issuance.proof_format,
        created=env.now,
        loader=env.loader,
        processes=processes,
        blueprint=issuance.blueprint,
    )
    return StartedAwards(issuance, pending, built, signatures)


#: The rows an award adds beside its credential, that nothing reads back before the commit.
_PLAIN_ROWS = (ManageLink, MagicLink, EmailMessage, WebhookDelivery, AuditEvent)


def _store_all(
    issuance: Issuance, items: list[_Award], *, actor: Actor, bulk_job_id: str | None, notify: bool
) -> list[Outcome]:
    """Store every built and signed award (not committed); return the outcome of each.

    The credentials, their emails and webhook deliveries are written first; their audit events
    last, so the issuer's audit chain is locked (until the commit) for as short a time as can be.
    """
    ready = [item for item in items if item.outcome is None and item.document is not None]
    rows = [
        _credential_row(
            issuance,
            item.data,
            credential_id=item.credential_id,
            index=item.index,
            document=item.document or "",
            valid_until=item.valid_until,
            actor=actor,
            bulk_job_id=bulk_job_id,
        )
        for item in ready
    ]
    # One Core INSERT for them all, and the objects attached as if loaded: the handlers and
    # the callers read them (the ORM's flush of hundreds of new objects cost more).
    stored: list[IssuedCredential] = plain_rows.attached(IssuedCredential, rows)
    for item, credential in zip(ready, stored, strict=True):
        item.outcome = Outcome(credential=credential)
    # What the handlers and the audit chain add, a few rows per credential, is made as plain
    # dicts and inserted with Core, a statement per table: the ORM objects' constructors and
    # unit of work cost more than all the rest.
    with plain_rows.collected():
        for credential in stored:
            _announce(issuance, credential, notify)
        # The links, emails and deliveries (on PostgreSQL, one statement), before the audit
        # chain's head is locked: a bulk chunk's emails are most of what a chunk writes.
        plain_rows.write()
        plain_rows.insert_new(_PLAIN_ROWS)  # any a handler still added as ORM objects
        # The events, and the chain's new head with them, as the block ends (one statement).
        audit.record_rows([_issue_event(issuance, credential, actor) for credential in stored])
    db.session.flush()
    return [item.outcome or Outcome() for item in items]


def _refusal(step: Callable[..., object], *args: Any) -> Outcome | None:
    """Run one step of one award: None when it went through, the refusal when it did not."""
    try:
        step(*args)
    except ServiceError as error:
        return Outcome(refused=error)
    return None


def _build(issuance: Issuance, item: _Award) -> None:
    item.arguments, item.valid_until = issuance.build_arguments(
        item.data, item.credential_id, item.index
    )


def _signed(items: list[_Award], signed: list[signing.Signed]) -> None:
    """Give the built awards their signatures (signing is the expensive part, so it was spread
    over the signing processes when there were enough); one that could not be signed is
    refused."""
    for item, result in zip(items, signed, strict=True):
        if result.text is None:
            done = "signed" if result.built else "built"
            message = f"The credential could not be {done}: {result.error}"
            item.outcome = Outcome(refused=Invalid(message))
        item.document = result.text


def award(
    issuer: Issuer,
    achievement: Achievement,
    data: AwardInput,
    *,
    actor: Actor,
    env: ServiceEnv,
    notify: bool = True,
    check_pathways: bool = True,
    on_store: Callable[[IssuedCredential], None] | None = None,
) -> IssuedCredential:
    """Award one credential (:func:`issue_many`, together with the same achievement's awards
    arriving meanwhile: see ``grouping``), then queue its email; any pathway the new credential
    completes is awarded (or queued for review) in turn.

    ``on_store`` is called with the stored credential before the commit, so what it writes
    (e.g. the review that approved the award) is committed with the credential or not at all.

    :raises ServiceError: for bad input (nothing is stored).
    :raises Conflict: when the achievement is archived.
    """
    if achievement.issuer_id != issuer.id:
        raise NotFound("There is no such achievement.")
    achievements.require_awardable(achievement)
    check(data, env.now)  # refuse bad input at once, before anything is reserved or built

    if on_store is None and grouping.session_is_clean():
        # Queued with the same achievement's other awards of the moment (see ``grouping``).
        key = grouping.batch_key(issuer, achievement, actor, notify, check_pathways)

        def issue_batch(
            awards: list[AwardInput],
            batch_env: ServiceEnv,
            stored: Callable[[list[Outcome]], None],
        ) -> object:
            return issue_many(
                issuer, achievement, awards, actor=actor, env=batch_env, notify=notify,
                follow_pathways=check_pathways, on_store=stored,
            )  # fmt: skip

        grouped = grouping.award_in_batch(
            key, data, issue_batch, env, after_batch=lambda: emails.deliver_soon(env)
        )
        if grouped is not None:
            return grouped
    return _award_alone(
        issuer, achievement, data, actor=actor, env=env, notify=notify,
        check_pathways=check_pathways, on_store=on_store,
    )  # fmt: skip


def _award_alone(
    issuer: Issuer,
    achievement: Achievement,
    data: AwardInput,
    *,
    actor: Actor,
    env: ServiceEnv,
    notify: bool,
    check_pathways: bool,
    on_store: Callable[[IssuedCredential], None] | None,
) -> IssuedCredential:
    """Issue one award in a transaction of its own."""
    awarded: list[IssuedCredential] = []

    def stored(outcomes: list[Outcome]) -> None:
        (outcome,) = outcomes
        if outcome.credential is None:  # refused: raised before the commit, nothing is stored
            raise outcome.refused or Invalid("The credential could not be issued.")
        awarded.append(outcome.credential)
        if on_store is not None:
            on_store(outcome.credential)

    issue_many(
        issuer,
        achievement,
        [data],
        actor=actor,
        env=env,
        notify=notify,
        follow_pathways=check_pathways,
        on_store=stored,
    )
    emails.deliver_soon(env)
    return awarded[0]


def get_credential(issuer: Issuer, credential_id: str) -> IssuedCredential:
    """One of the issuer's credentials.

    :raises NotFound: when it does not exist or belongs to another issuer.
    """
    if not ID_PATTERN.fullmatch(credential_id):
        raise NotFound("There is no such credential.")
    credential = db.session.scalar(
        select(IssuedCredential).where(
            IssuedCredential.id == credential_id, IssuedCredential.issuer_id == issuer.id
        )
    )
    if credential is None:
        raise NotFound("There is no such credential.")
    return credential


def holders(issuer: Issuer, achievement: Achievement, emails_: Sequence[str]) -> set[str]:
    """Which of these (normalised) emails hold an unrevoked credential for the achievement."""
    wanted = list(dict.fromkeys(emails_))
    if not wanted:
        return set()
    if db.session.get_bind().dialect.name == "postgresql":
        # One index probe per address, whatever the planner believes. With ``IN (...)`` it
        # may scan every credential of the achievement and filter by address: its choice
        # when its statistics say the achievement has few credentials, as they do while a
        # bulk job gives a new achievement its first 100,000 (each chunk's check then read
        # all the rows before it: 100,000 rows took 1.6 times as long as they should).
        return set(
            db.session.scalars(
                _HOLDERS,
                {"emails": wanted, "issuer_id": issuer.id, "achievement_id": achievement.id},
            )
        )
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            db.session.scalars(
                select(IssuedCredential.recipient_email).where(
                    IssuedCredential.issuer_id == issuer.id,
                    IssuedCredential.achievement_id == achievement.id,
                    IssuedCredential.revoked_at.is_(None),
                    IssuedCredential.recipient_email.in_(wanted[start : start + 500]),
                )
            )
        )
    return found


#: :func:`holders` on PostgreSQL: each address looked up on its own (a LATERAL subquery with a
#: LIMIT is never flattened into a join the planner could turn into a scan).
_HOLDERS = text(
    "SELECT wanted.email FROM unnest(CAST(:emails AS varchar[])) AS wanted(email) "
    "CROSS JOIN LATERAL (SELECT 1 FROM issued_credential held "
    "WHERE held.issuer_id = :issuer_id AND held.achievement_id = :achievement_id "
    "AND held.recipient_email = wanted.email AND held.revoked_at IS NULL LIMIT 1) AS one"
)
