""" "Expiring soon" notices: once per credential, a set number of days before it expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.extensions import db
from app.models import AchievementVersion, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import required
from app.services.delivery import notices
from app.services.mail import emails
from app.services.org import audit
from app.services.org.audit import SYSTEM

BATCH_SIZE = 500


def due(env: ServiceEnv, days: int, *, limit: int = BATCH_SIZE) -> list[IssuedCredential]:
    """Unrevoked, unsuspended credentials expiring within ``days`` that have had no notice."""
    return list(
        db.session.scalars(
            select(IssuedCredential)
            .where(
                IssuedCredential.valid_until.is_not(None),
                IssuedCredential.valid_until > env.now,
                IssuedCredential.valid_until <= env.now + timedelta(days=days),
                IssuedCredential.revoked_at.is_(None),
                IssuedCredential.suspended_at.is_(None),
                IssuedCredential.expiry_notice_sent_at.is_(None),
            )
            # A fixed order means concurrent runs take row locks in the same order (no deadlock).
            .order_by(IssuedCredential.valid_until, IssuedCredential.id)
            .limit(limit)
        )
    )


def _claim(credential: IssuedCredential, env: ServiceEnv) -> bool:
    """Mark the notice as sent unless someone else already has. The conditional UPDATE locks
    the row (PostgreSQL) or the database (SQLite) until the caller commits, so a second run
    working at the same time finds the mark and sends nothing."""
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(IssuedCredential)
            .where(
                IssuedCredential.id == credential.id,
                IssuedCredential.expiry_notice_sent_at.is_(None),
            )
            .values(expiry_notice_sent_at=env.now)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return result.rowcount == 1


def queue_notices(env: ServiceEnv, days: int) -> int:
    """Queue a notice for every credential due one; return how many. The notice and the mark
    that it was sent are committed together, batch by batch."""
    count = 0
    seen: set[str] = set()
    while True:
        batch = [c for c in due(env, days) if c.id not in seen]
        if not batch:
            break
        for credential in batch:
            seen.add(credential.id)
            if not _claim(credential, env):
                continue
            issuer = required(db.session.get(Issuer, credential.issuer_id), "missing issuer")
            version = required(
                db.session.get(AchievementVersion, credential.achievement_version_id),
                "missing version",
            )
            notices.queue_expiry_notice(credential, issuer, version, env)
            audit.record(
                "credential.expiry_notice",
                actor=SYSTEM,
                now=env.now,
                issuer_id=issuer.id,
                subject_type="credential",
                subject_id=credential.id,
            )
            count += 1
        db.session.commit()
    return count


def send_notices(env: ServiceEnv) -> int:
    """The daily job: queue notices, then deliver them with anything else still waiting (this
    is also when messages that failed earlier get another try)."""
    count = queue_notices(env, env.settings.expiry_warning_days)
    if count or emails.pending_count():
        emails.deliver_soon(env)
    return count
