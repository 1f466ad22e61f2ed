"""Pathways: an achievement earned by holding N of a set of other achievements (e.g. a coaching
pathway badge that stacks module badges). Checked after every award; when a recipient's
current credentials (not revoked, suspended or expired) satisfy a pathway, it is awarded, or
queued for review."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy import func, inspect, select

from app.extensions import db
from app.models import Achievement, AchievementVersion, IssuedCredential, Issuer, Submission
from app.services._core import events, shared_reads
from app.services._core.env import ServiceEnv
from app.services._core.errors import ServiceError
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput
from app.services.learning import educators, reviews
from app.services.org.audit import Actor

log = logging.getLogger(__name__)

#: A pathway award can complete another pathway; follow such chains this far at most.
MAX_DEPTH = 5


def pathways_including(
    issuer: Issuer, achievement_public_id: str
) -> list[tuple[Achievement, AchievementVersion]]:
    """The issuer's unarchived achievements whose current version is a pathway naming this one."""
    rows = db.session.execute(
        select(Achievement, AchievementVersion)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(
            Achievement.issuer_id == issuer.id,
            Achievement.archived_at.is_(None),
            AchievementVersion.pathway_required.is_not(None),
        )
    ).all()
    return [(a, v) for a, v in rows if achievement_public_id in (v.pathway_members or [])]


def _addresses(email: str) -> list[str]:
    """The addresses whose credentials count for the recipient of ``email``: all confirmed
    addresses of the educator who has it (credentials of one person may arrive at a school
    and a personal address), else just this one."""
    educator = educators.find_by_email(email)
    found = educators.verified_emails(educator) if educator is not None else []
    # An address someone added but never confirmed proves nothing about whose it is.
    return list(dict.fromkeys([email, *found])) if email in found else [email]


def _held(issuer: Issuer, emails: list[str], public_ids: list[str], env: ServiceEnv) -> int:
    """How many of these achievements the addresses hold a credential of that counts now:
    a valid one (not revoked, not suspended, not expired)."""
    return (
        db.session.scalar(
            select(func.count(func.distinct(Achievement.public_id)))
            .select_from(IssuedCredential)
            .join(Achievement, Achievement.id == IssuedCredential.achievement_id)
            .where(
                IssuedCredential.issuer_id == issuer.id,
                IssuedCredential.recipient_email.in_(emails),
                IssuedCredential.status_sql(env.now) == "valid",
                Achievement.public_id.in_(public_ids),
            )
        )
        or 0
    )


def after_award(credential: IssuedCredential, env: ServiceEnv, *, depth: int = 0) -> list[str]:
    """Award (or queue for review) every pathway this credential completes for its recipient.

    :returns: what happened, e.g. ``["awarded <credential id>", "queued <submission id>"]``.
    """
    issuer = db.session.get(Issuer, credential.issuer_id)
    achievement = db.session.get(Achievement, credential.achievement_id)
    if issuer is None or achievement is None or depth >= MAX_DEPTH:
        return []
    done: list[str] = []
    email = credential.recipient_email
    addresses = _addresses(email)
    for pathway, version in pathways_including(issuer, achievement.public_id):
        if issuing.holders(issuer, pathway, addresses):
            continue  # already holds the pathway achievement (at one of their addresses)
        if _held(issuer, addresses, list(version.pathway_members), env) < (
            version.pathway_required or 0
        ):
            continue
        if version.pathway_award_mode == "review":
            educator = educators.find_by_email(email) or educators.create(
                email, credential.recipient_name or "", env, verified=False
            )
            if reviews.open_submission(educator, pathway) is not None:
                continue
            submission = reviews.submit(
                educator, pathway, [], "Completed the pathway.", env, origin="pathway"
            )
            done.append(f"queued {submission.public_id}")
            continue
        awarded = issuing.award(
            issuer,
            pathway,
            AwardInput(
                email=email,
                name=credential.recipient_name,
                narrative=f"Completed the pathway: {version.pathway_required} of its achievements.",
            ),
            actor=Actor(label="pathway"),
            env=env,
            check_pathways=False,
        )
        done.append(f"awarded {awarded.id}")
        done.extend(after_award(awarded, env, depth=depth + 1))
    return done


def on_credentials_awarded(event: events.CredentialsAwarded) -> None:
    """Award (or queue for review) the pathways newly awarded credentials complete
    (subscribed in ``subscriptions``)."""
    if event.follow_pathways:
        after_awards(list(event.credentials), event.env)


def after_awards(credentials: list[IssuedCredential], env: ServiceEnv) -> list[str]:
    """``after_award`` for each committed credential, skipping achievements that no pathway
    names. One query says each credential's issuer and achievement and whether that issuer has
    any pathway at all (most have none: then nothing more is asked); then one query per
    achievement of an issuer with pathways, so bulk jobs stay cheap."""
    done: list[str] = []
    relevant: dict[int, bool] = {}
    achievement_of = _achievements_of(credentials, env)
    for credential in credentials:
        issuer_id, achievement_id, any_pathway = achievement_of[id(credential)]
        if not any_pathway:
            continue
        if achievement_id not in relevant:
            issuer = db.session.get(Issuer, issuer_id)
            achievement = db.session.get(Achievement, achievement_id)
            relevant[achievement_id] = bool(
                issuer and achievement and pathways_including(issuer, achievement.public_id)
            )
        if relevant[achievement_id]:
            try:
                done.extend(after_award(credential, env))
            except ServiceError as exc:
                # The credential that triggered the check is already issued; a pathway that
                # cannot be awarded (archived meanwhile, bad key) must not undo or fail it.
                db.session.rollback()
                log.warning("pathway check after %s failed: %s", credential.id, exc.message)
    if done:
        db.session.commit()
    return done


def _has_pathway(issuer_id: Any) -> Any:
    """SQL: whether the issuer ``issuer_id`` (a column) has an unarchived pathway."""
    return (
        select(AchievementVersion.id)
        .join(
            Achievement,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(
            Achievement.issuer_id == issuer_id,
            Achievement.archived_at.is_(None),
            AchievementVersion.pathway_required.is_not(None),
        )
        .exists()
    )


def _issuer_has_pathway(issuer_id: int) -> bool:
    return bool(db.session.scalar(select(_has_pathway(issuer_id))))


def _achievements_of(
    credentials: list[IssuedCredential], env: ServiceEnv
) -> dict[int, tuple[int, int, bool]]:
    """Each credential's issuer and achievement ids and whether that issuer has a pathway, by
    ``id()`` of the object. The commit that stored them expired them: reading the attributes
    would reload every credential, a query each (a bulk chunk's 250), so all of it is read in
    one query by primary key. A batch of API awards kept them loaded through its commit, and
    may know from the batches before it whether the issuer has a pathway (``shared_reads``):
    then nothing is read."""
    found: dict[int, tuple[int, int, bool]] = {}
    stored: dict[str, list[IssuedCredential]] = {}
    for credential in credentials:
        state = inspect(credential)
        loaded = state.dict
        if state.identity is None:  # not stored: the full check decides
            found[id(credential)] = (credential.issuer_id, credential.achievement_id, True)
        elif env.shared_reads is not None and "issuer_id" in loaded and "achievement_id" in loaded:
            issuer_id = loaded["issuer_id"]
            any_pathway = shared_reads.remembered(
                ("issuer has a pathway", issuer_id), env, partial(_issuer_has_pathway, issuer_id)
            )
            found[id(credential)] = (issuer_id, loaded["achievement_id"], any_pathway)
        else:
            stored.setdefault(state.identity[0], []).append(credential)
    keys = list(stored)
    for start in range(0, len(keys), 500):
        query = select(
            IssuedCredential.id,
            IssuedCredential.issuer_id,
            IssuedCredential.achievement_id,
            _has_pathway(IssuedCredential.issuer_id),
        ).where(IssuedCredential.id.in_(keys[start : start + 500]))
        for credential_id, issuer_id, achievement_id, any_pathway in db.session.execute(query):
            for credential in stored.pop(credential_id, []):
                found[id(credential)] = (issuer_id, achievement_id, bool(any_pathway))
    for left in stored.values():  # gone meanwhile: the attribute says so, as it did before
        for credential in left:
            found[id(credential)] = (credential.issuer_id, credential.achievement_id, True)
    return found


def open_reviews(issuer: Issuer) -> list[Submission]:
    """Pathway completions waiting for review."""
    return [s for s in reviews.queue(issuer) if s.origin == "pathway"]
