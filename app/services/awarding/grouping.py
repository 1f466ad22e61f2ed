"""Group commit for single awards: awards of one achievement by one actor that arrive while
another is being issued, in the same process, are issued together in one transaction.

Why: an award's own work (building and signing its credential) is a few milliseconds, but each
award issued alone also pays for a transaction of its own (a status index allocation, the
issuer's key and profile, the audit chain's head lock, a commit and its wait for the disk, the
pathway check). Under load those dominate. Here the first award to arrive is issued at once,
alone; the awards that arrive while it runs queue, and when it is done the first of them leads
them all through :func:`issuing.issue_many`, which refuses a bad award on its own and issues the
others. Nobody waits for a timer: at low load every award goes alone, as before; under load
batches grow by themselves.

Each award is still checked before it queues, answered with its own credential or refusal, and
audited under its own actor (the batch key includes the actor: staff account, label and address).
A batch that fails as a whole (a database error, a refusing handler) is not the members' fault:
each member then issues alone, so one bad award never costs the others theirs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeAlias

from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

from app.database import prepared
from app.extensions import db
from app.models import Achievement, AchievementVersion, IssuedCredential, Issuer
from app.services._core import plain_rows
from app.services._core.env import ServiceEnv
from app.services._core.errors import ServiceError
from app.services._core.shared_reads import columns
from app.services.org.audit import Actor


class Outcome(Protocol):
    """What ``issuing.issue_many`` says of one award (its ``Outcome``; issuing imports this
    module, so it is described here rather than imported)."""

    @property
    def credential(self) -> IssuedCredential | None: ...

    @property
    def refused(self) -> ServiceError | None: ...


#: What awards must share to go in one batch: issuer, achievement, actor (staff id, label,
#: address), whether recipients are emailed, whether pathways are followed.
BatchKey = tuple[int, int, int | None, str, str | None, bool, bool]
#: ``issue(awards, env, on_store)``: issuing.issue_many bound to the leader's objects; it calls
#: ``on_store`` with the outcomes before its commit.
IssueMany: TypeAlias = Callable[[list[Any], ServiceEnv, Callable[[list[Any]], None]], object]


@dataclass(eq=False)
class _Member:
    """One award waiting in (or leading) a batch."""

    #: The award (an ``issuing.AwardInput``), checked before it queued.
    data: Any
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    credential_id: str | None = None
    refused: ServiceError | None = None
    #: The stored credential's columns and its version's, as the leader flushed them: the
    #: member's answer is built from these rather than read back from the database.
    stored: dict[str, Any] | None = None
    version: dict[str, Any] | None = None


log = logging.getLogger(__name__)
_lock = threading.Lock()
_queues: dict[BatchKey, list[_Member]] = {}
_leading: set[BatchKey] = set()


def batch_key(
    issuer: Issuer, achievement: Achievement, actor: Actor, notify: bool, check_pathways: bool
) -> BatchKey:
    return (
        issuer.id,
        achievement.id,
        actor.staff_id,
        actor.label,
        actor.ip,
        notify,
        check_pathways,
    )


def session_is_clean() -> bool:
    """True when the caller's session holds no change of its own: only then may its award be
    committed by another thread's transaction (nothing of the caller's would go with it)."""
    session = db.session
    return not (session.new or session.dirty or session.deleted)


def award_in_batch(
    key: BatchKey,
    data: Any,
    issue: IssueMany,
    env: ServiceEnv,
    *,
    after_batch: Callable[[], None],
) -> IssuedCredential | None:
    """Issue ``data`` in a batch with the other awards of ``key`` queued meanwhile.

    :returns: the stored credential, loaded in the caller's session; None when its batch
        failed as a whole and the caller must issue it alone.
    :raises ServiceError: the refusal of this award (nothing of it is stored).
    """
    me = _Member(data)
    with _lock:
        _queues.setdefault(key, []).append(me)
        if key not in _leading:
            _leading.add(key)
            me.lead = True
    if not me.lead:
        me.wake.wait()
    if me.lead:
        _lead(key, issue, env, after_batch)
    if me.refused is not None:
        raise me.refused
    if me.credential_id is None or me.stored is None or me.version is None:
        return None
    # Another thread committed it. End this session's transaction (it holds no change of its
    # own) so that what it reads next sees the new row, keeping what it loaded before (the
    # batch changed none of it); then put the credential into it as stored, without reading
    # it back.
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    version = _attach(AchievementVersion, me.version)
    credential: IssuedCredential = _attach(IssuedCredential, me.stored)
    # What the answers read next; also keeps the version, which the session holds weakly.
    set_committed_value(credential, "achievement_version", version)
    return credential


def _attach(model: type[Any], values: dict[str, Any]) -> Any:
    """The row of ``model`` with ``values`` (every column, as just committed) in this thread's
    session, as if loaded: the one already there (the leader's own, expired by its commit)
    brought up to date, else a copy made persistent; either way without a query."""
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    present = db.session.identity_map.get(key)
    if present is None:
        row = plain_rows.as_loaded(model, values)
        db.session.add(row)
        return row
    for name, value in values.items():
        set_committed_value(present, name, value)
    return present


def _committed(batch: list[_Member]) -> bool:
    """Whether the batch's transaction committed, asked of the database itself."""
    first = next((m.credential_id for m in batch if m.credential_id), None)
    return first is not None and db.session.get(IssuedCredential, first) is not None


def _lead(
    key: BatchKey, issue: IssueMany, env: ServiceEnv, after_batch: Callable[[], None]
) -> None:
    """Issue every award queued under ``key`` (this thread's own among them), answer each, and
    hand the lead to the first award queued meanwhile."""
    with _lock:
        batch = _queues.pop(key, [])

    def stored(outcomes: list[Outcome]) -> None:
        version: dict[str, Any] | None = None
        for member, outcome in zip(batch, outcomes, strict=True):
            member.refused = outcome.refused
            member.credential_id = outcome.credential.id if outcome.credential else None
            if outcome.credential is not None:
                member.stored = columns(outcome.credential)
                version = version or columns(outcome.credential.achievement_version)
                member.version = version

    session = db.session()
    # The batch's commit keeps what the leader's session loaded, as each member's does (see
    # award_in_batch): the batch changed none of it, and its new credentials are in the session
    # as stored. Expired, the leader's answer read its achievement again (a transaction and a
    # query per batch).
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        # Its statements are the same few every batch: prepared once per connection.
        prepared(db.session.connection())
        # The batch's time is now, not when the leader's own request arrived.
        issue([member.data for member in batch], replace(env, now=env.clock()), stored)
    except Exception:
        session.expire_on_commit = expire
        db.session.rollback()
        if not _committed(batch):
            # Rolled back as a whole: every member issues alone.
            for member in batch:
                member.refused, member.credential_id, member.stored = None, None, None
        else:  # failed after its commit (a pathway handler): the credentials stand
            log.exception("after a batch of %d awards", len(batch))
    else:
        session.expire_on_commit = expire
        try:
            after_batch()
        except Exception:  # the awards are committed; what follows them must not undo that
            log.exception("after a batch of %d awards", len(batch))
    finally:
        with _lock:
            waiting = _queues.get(key)
            if waiting:
                waiting[0].lead = True
                waiting[0].wake.set()
            else:
                _leading.discard(key)
        for member in batch:
            if not member.lead:
                member.wake.set()
