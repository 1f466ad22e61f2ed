"""What every API award looks up, its token and its achievement, from a per-process cache
whose entries a version number in Redis invalidates at once in every process: any committed
change to a token, a membership, a staff account, an issuer or an achievement bumps it. Without
Redis every request reads them (``tokens.check``, ``achievements.get``).

Why: the token's query (the token, its creator, its issuer and the creator's role, loaded as
ORM objects) was a tenth of an API award's CPU, and the achievement's query then opened the
request's database connection (a checkout, its ping, BEGIN, ROLLBACK). With the cache a
request asks Redis one short question (the version) and puts the remembered rows into its
session without a query: an award that joins another's batch touches no database at all.

Correctness: an entry is used only while the version read *before* it was loaded is still the
current one, and the version is bumped after the commit of every change that could alter a
check's answer (revoked, expired early, renamed, scopes, the creator demoted, removed or
disabled, the issuer's profile), before that change's request answers. So a revoked token is
refused on the very next request, by every process. When Redis cannot be asked, the token is
read from the database, as without Redis. Entries also expire after ``KEEP_FOR`` seconds, a
bound on staleness should a bump itself fail after its commit (logged).

The same version governs what a batch of awards remembers across transactions
(``app/services/_core/shared_reads.py``, given to the award's service call by
:func:`with_shared_reads`): so the models those reads come from are watched here too.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import rate_limits
from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    ApiToken,
    Issuer,
    IssuerKey,
    Membership,
    StaffAccount,
    WebhookEndpoint,
)
from app.services._core.env import ServiceEnv
from app.services._core.shared_reads import ReadStore, SharedReads, attached, columns
from app.services.org import achievements, tokens

log = logging.getLogger(__name__)

#: The Redis key holding the version (a random number at first, so that a flushed Redis never
#: brings back a version an entry was stored under).
VERSION_KEY = rate_limits.READ_ALONG
#: What a change to these invalidates: the token, its creator (active?), the creator's role,
#: the issuer (its profile goes into credentials), the achievement (archived, new version);
#: and what a batch of awards remembers (``shared_reads``): the achievement's versions (and
#: pathways), the issuer's keys and its webhook endpoints.
WATCHED = (
    ApiToken,
    Membership,
    StaffAccount,
    Issuer,
    Achievement,
    AchievementVersion,
    IssuerKey,
    WebhookEndpoint,
)
#: The most tokens a process remembers, and for how long at most.
MAX_ENTRIES = 1024
KEEP_FOR = 60.0
#: ``session.info`` key: this transaction changed something watched.
_CHANGED = "cairn_lookup_change"
_EXTENSION = "cairn_lookups"


@dataclass
class _Entry:
    """A usable token as last read: the columns of its rows and its creator's role."""

    version: bytes
    token: dict[str, Any]
    issuer: dict[str, Any]
    creator: dict[str, Any]
    role: str | None
    until: float


@dataclass
class _Cache:
    """One application's (so one process's) remembered tokens and its Redis client."""

    redis: Any
    #: The URL ``redis`` was made from (None: a client given by a test).
    url: str | None = None
    entries: dict[str, _Entry] = field(default_factory=dict)
    #: (issuer id, public id) -> (version, the achievement's columns, until)
    achievements: dict[tuple[int, str], tuple[bytes, dict[str, Any], float]] = field(
        default_factory=dict
    )
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: What batches of awards remember under the same version (``shared_reads``).
    reads: ReadStore = field(default_factory=ReadStore)


def init_app(app: Flask, redis: Any = None) -> None:
    """Use a cache when Redis is configured (``redis``: a client to use instead, for tests)."""
    url = app.config.get("REDIS_URL")
    if redis is None and url:
        from redis import Redis

        redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        app.extensions[_EXTENSION] = _Cache(redis, url)
    elif redis is not None:
        app.extensions[_EXTENSION] = _Cache(redis)


def _cache() -> _Cache | None:
    cache: _Cache | None = current_app.extensions.get(_EXTENSION)
    return cache


def _version(cache: _Cache) -> bytes | None:
    """The current version, or None when Redis cannot say (then nothing is cached)."""
    if cache.url is not None:
        # Read by this request's rate-limit hit when it was counted in the same Redis (one
        # round trip for both; it was read before anything below is looked up, as here).
        counted = rate_limits.read_along(cache.url)
        if counted is not None:
            return counted
    from redis.exceptions import RedisError

    try:
        pipe = cache.redis.pipeline(transaction=False)
        pipe.set(VERSION_KEY, secrets.randbelow(2**62), nx=True)
        pipe.get(VERSION_KEY)
        version: bytes | None = pipe.execute()[1]
    except (RedisError, OSError) as exc:
        log.warning("token cache: Redis unavailable, reading the token: %s", exc)
        return None
    return version


def check(secret: str, *, env: ServiceEnv) -> tokens.Authenticated | None:
    """What ``tokens.check`` answers (the same refusals, the same ``last_used_at`` note), from
    the cache when its entry is current."""
    cache = _cache()
    if cache is None or not tokens.well_formed(secret):
        return tokens.check(secret, env=env)
    version = _version(cache)
    if version is None:
        return tokens.check(secret, env=env)
    g.api_lookup_version = version
    wanted = tokens.hash_secret(secret)
    entry = cache.entries.get(wanted)
    if entry is None or entry.version != version or entry.until < time.monotonic():
        found = tokens.check(secret, env=env)
        if found is not None:
            _remember(cache, wanted, version, found)
        return found
    session = db.session()  # once: each ``db.session.x`` looks the session up again
    token = attached(ApiToken, entry.token, session)
    issuer = attached(Issuer, entry.issuer, session)
    creator = attached(StaffAccount, entry.creator, session)
    set_committed_value(token, "issuer", issuer)
    set_committed_value(token, "created_by", creator)
    if not token.is_usable(env.now) or not creator.is_active:
        return None
    if tokens.note_use(token, env):
        entry.token["last_used_at"] = env.now  # not token's: its commit expired it
    return tokens.Authenticated(token, entry.role)


def achievement(issuer: Issuer, public_id: str) -> Achievement:
    """What ``achievements.get`` answers, from the cache when its entry is current (read
    after :func:`check`, whose version it reuses within the request).

    :raises NotFound: as ``achievements.get``.
    """
    cache = _cache()
    version = g.get("api_lookup_version") if cache is not None else None
    if cache is None or version is None:
        return achievements.get(issuer, public_id)
    key = (issuer.id, public_id)
    entry = cache.achievements.get(key)
    if entry is not None and entry[0] == version and entry[2] >= time.monotonic():
        found: Achievement = attached(Achievement, entry[1])
        return found
    found = achievements.get(issuer, public_id)
    with cache.lock:
        if len(cache.achievements) >= MAX_ENTRIES:
            cache.achievements.clear()
        cache.achievements[key] = (version, columns(found), time.monotonic() + KEEP_FOR)
    return found


def with_shared_reads(env: ServiceEnv) -> ServiceEnv:
    """``env`` with the reads a batch of awards may take from earlier transactions, under the
    version this request read before its lookups (``env`` itself without one)."""
    cache = _cache()
    version = g.get("api_lookup_version") if cache is not None else None
    if cache is None or version is None:
        return env
    return replace(env, shared_reads=SharedReads(cache.reads, version))


def _remember(cache: _Cache, wanted: str, version: bytes, found: tokens.Authenticated) -> None:
    token = found.token
    entry = _Entry(
        version=version,
        token=columns(token),
        issuer=columns(token.issuer),
        creator=columns(token.created_by),
        role=found.role,
        until=time.monotonic() + KEEP_FOR,
    )
    with cache.lock:
        if len(cache.entries) >= MAX_ENTRIES:
            cache.entries.clear()
        cache.entries[wanted] = entry


# -- invalidation: every process, every session ---------------------------------------------


def _only_last_use(row: object) -> bool:
    """A token whose only change is ``last_used_at`` (noted at most once a minute): nothing a
    check answers changed, so no other process need forget it."""
    if not isinstance(row, ApiToken):
        return False
    state = inspect(row)
    changed = [a.key for a in state.attrs if a.history.has_changes()]
    return changed == ["last_used_at"]


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    if session.info.get(_CHANGED):
        return
    for rows in (session.new, session.deleted):
        if any(isinstance(row, WATCHED) for row in rows):
            session.info[_CHANGED] = True
            return
    for row in session.dirty:
        if isinstance(row, WATCHED) and not _only_last_use(row) and session.is_modified(row):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state: Any) -> None:
    # ORM-enabled update() and delete() statements change rows without flushing objects.
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper and issubclass(mapper.class_, WATCHED):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump(session: Session) -> None:
    if not session.info.pop(_CHANGED, False) or not has_app_context():
        return
    cache = _cache()
    if cache is None:
        return
    from redis.exceptions import RedisError

    try:
        pipe = cache.redis.pipeline(transaction=False)
        # Never INCR from nothing: after a flush, 1, 2, 3 … could meet an entry's old version.
        pipe.set(VERSION_KEY, secrets.randbelow(2**62), nx=True)
        pipe.incr(VERSION_KEY)
        pipe.execute()
    except (RedisError, OSError):
        log.exception("token cache: the version was not bumped; other processes may use a "
                      "changed token for up to %d s", KEEP_FOR)  # fmt: skip


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
