"""Where rate limits are counted: Redis when ``CAIRN_REDIS_URL`` is set, else the application's
own database, never the memory of one process.

Flask-Limiter's in-memory storage counts per process: with two gunicorn workers each lets the
whole limit through, and every further worker or machine adds as much again. The database is the
one thing every worker and machine of a deployment already shares (a SQLite file in WAL mode on
one machine, PostgreSQL on several), so the embedded default keeps its counters there, in
``rate_limit_counter``, rather than in a file of its own under ``instance/`` that a second
machine would not see.

:class:`DatabaseStorage` is a ``limits`` storage for the fixed-window strategy (Flask-Limiter's
default, which Cairn uses): one row per key and window, incremented by a single
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, atomic on SQLite and PostgreSQL alike,
so concurrent workers never lose a hit. Expired rows are pruned at most once a minute per process.

With Redis, :class:`RedisWithFallback` counts in Redis and, while Redis does not answer, in the
database (still one count for every worker and machine, never a per-process one), going back
to Redis once it answers again. A request is never refused or failed because Redis is down.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from typing import Any, cast

from flask import has_request_context, request
from limits.storage import RedisStorage, Storage
from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.rate_limit import KEY_LENGTH, RateLimitCounter

log = logging.getLogger(__name__)

#: The storage URI of the embedded default (registered with ``limits`` by the class below).
DATABASE_STORAGE_URI = "cairn-database://"
#: Prefix of Redis URLs counted by :class:`RedisWithFallback` (``cairn-redis://host:6379/0``).
FALLBACK_PREFIX = "cairn-"
#: Seconds Redis is left alone after it failed, before it is tried again (a dead Redis would
#: otherwise cost every limited request a connection attempt).
REDIS_RETRY_AFTER = 10.0
#: Seconds between two prunings of expired counters by one process.
PRUNE_EVERY = 60.0
#: How long a thread answers ``get``/``get_expiry`` for a key from its own last ``incr`` of it
#: outside a request (inside one, for the rest of that request: see :class:`LastCount`).
JUST_COUNTED = 1.0
#: Where a request keeps the count its own hit returned (in its WSGI environ: one per request).
_REQUEST_COUNT = "cairn.rate_limit_count"

_TABLE = cast(Table, RateLimitCounter.__table__)
#: Redis: add the hits and read the window's end in one round trip (``limits`` increments in
#: one and reads the window again in two more, ``get`` and ``ttl``, for the headers).
#: With a second key, also read that key (set to ``ARGV[3]`` first when missing): see
#: :data:`READ_ALONG`.
INCR_AND_TTL = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
local along = false
if KEYS[2] then
    redis.call("set", KEYS[2], ARGV[3], "NX")
    along = redis.call("get", KEYS[2])
end
return {current, redis.call("pttl", KEYS[1]), along}
"""
#: The version of the API's cached lookups (``app.api.lookups.VERSION_KEY``), read with an API
#: request's own hit when it is counted in Redis: every API request asks for it right after its
#: hit, and one round trip does for both. Set to a random number when missing, as lookups does.
READ_ALONG = "cairn:api-lookup-version"
#: Where a request keeps what its hit read along: ``(Redis URL, value)``.
_REQUEST_READ = "cairn.rate_limit_read"


class LastCount:
    """The count a request's own hit returned, answered to its reads of the same key: a
    request counts its hit and then reports the window in its ``RateLimit-*`` headers, which
    would otherwise read the counter twice more (two queries, or two Redis calls, on every
    limited request). That count is the right answer for its headers however long the request
    then takes (an award waits for its batch). Outside a request, a thread's last count is
    answered for ``JUST_COUNTED`` seconds."""

    def __init__(self) -> None:
        self._local = threading.local()

    def remember(self, key: str, hits: int, ends: float, now: float) -> None:
        if has_request_context():
            request.environ[_REQUEST_COUNT] = (key, hits, ends)
        self._local.last = (key, hits, ends, now)

    def recall(self, key: str) -> tuple[int, float] | None:
        """The hits and window end this request (else this thread) was just told for ``key``,
        or None."""
        now = time.time()
        if has_request_context():
            counted = request.environ.get(_REQUEST_COUNT)
            if counted is not None and counted[0] == key and now < counted[2]:
                return counted[1], counted[2]
        last = getattr(self._local, "last", None)
        if last is None:
            return None
        stored, hits, ends, at = last
        if stored == key and at <= now < at + JUST_COUNTED and now < ends:
            return hits, ends
        return None

    def forget(self) -> None:
        if has_request_context():
            request.environ.pop(_REQUEST_COUNT, None)
        self._local.last = None


def read_along(redis_url: str) -> bytes | None:
    """What this request's hit read of :data:`READ_ALONG` in the Redis at ``redis_url``, or
    None when it read nothing there (not counted in that Redis, or not yet counted)."""
    if not has_request_context():
        return None
    found = request.environ.get(_REQUEST_READ)
    if found is None or found[0] != redis_url:
        return None
    value = found[1]
    return value.encode() if isinstance(value, str) else value


def storage_uri(config: Any) -> str:
    """The limiter's storage for a configuration: Redis when configured, else the database."""
    redis_url: str | None = config.get("REDIS_URL")
    if not redis_url:
        return DATABASE_STORAGE_URI
    if redis_url.startswith(("redis://", "rediss://")):
        return FALLBACK_PREFIX + redis_url
    return redis_url


def _stored_key(key: str) -> str:
    # Keys hold a submitted address (at most 320 characters) plus a prefix and the limit; a
    # longer one is stored by its hash rather than refused or truncated into another's key.
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


class DatabaseStorage(Storage):
    """Fixed-window counters in the current application's database (see the module doc)."""

    STORAGE_SCHEME = ["cairn-database"]  # noqa: RUF012  (the type limits declares)

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()
        self._counted = LastCount()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @staticmethod
    def _engine() -> Engine:
        # Resolved on every call rather than kept: Flask-Limiter keeps one storage for its one
        # (module-level) limiter, and each application (tests build many) has its own engine.
        engine: Engine = db.engine
        return engine

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` hits to ``key``'s window, opening a new window of ``expiry`` seconds
        when there is none or it has ended; the count after adding."""
        now = time.time()
        engine = self._engine()
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        new = insert(_TABLE).values(
            limit_key=_stored_key(key), hits=amount, expires_at=now + expiry
        )
        ended = _TABLE.c.expires_at <= now
        statement = new.on_conflict_do_update(
            index_elements=[_TABLE.c.limit_key],
            set_={
                "hits": case((ended, new.excluded.hits), else_=_TABLE.c.hits + amount),
                "expires_at": case((ended, new.excluded.expires_at), else_=_TABLE.c.expires_at),
            },
        ).returning(_TABLE.c.hits, _TABLE.c.expires_at)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # A counter is not worth waiting for the disk: a crash forgets at most the last
                # fraction of a second of hits, never stores a wrong count.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            row = connection.execute(statement).one()
        hits, ends = int(row.hits), float(row.expires_at)
        self._counted.remember(_stored_key(key), hits, ends, now)
        if now - self._pruned_at >= PRUNE_EVERY:
            self.prune(now)
        return hits

    def prune(self, now: float | None = None) -> int:
        """Delete the counters whose window has ended; how many were deleted."""
        with self._prune_lock:
            moment = time.time() if now is None else now
            self._pruned_at = moment
            with self._engine().begin() as connection:
                result = connection.execute(delete(_TABLE).where(_TABLE.c.expires_at <= moment))
            return int(result.rowcount or 0)

    def _live(self, key: str) -> tuple[int, float] | None:
        recalled = self._counted.recall(_stored_key(key))
        if recalled is not None:
            return recalled
        now = time.time()
        with self._engine().connect() as connection:
            row = connection.execute(
                select(_TABLE.c.hits, _TABLE.c.expires_at).where(
                    _TABLE.c.limit_key == _stored_key(key), _TABLE.c.expires_at > now
                )
            ).first()
        return (int(row.hits), float(row.expires_at)) if row is not None else None

    def get(self, key: str) -> int:
        """Hits in ``key``'s current window (0 when it has none)."""
        live = self._live(key)
        return live[0] if live else 0

    def get_expiry(self, key: str) -> float:
        """When ``key``'s current window ends (now, when it has none)."""
        live = self._live(key)
        return live[1] if live else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self._engine().connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        self._counted.forget()
        with self._engine().begin() as connection:
            result = connection.execute(delete(_TABLE))
        return int(result.rowcount or 0)

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter."""
        self._counted.forget()
        with self._engine().begin() as connection:
            connection.execute(delete(_TABLE).where(_TABLE.c.limit_key == _stored_key(key)))


class RedisWithFallback(Storage):
    """Counters in Redis, or in the database while Redis does not answer (module doc)."""

    STORAGE_SCHEME = ["cairn-redis", "cairn-rediss"]  # noqa: RUF012  (the type limits declares)

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        redis_uri = str(uri or "")[len(FALLBACK_PREFIX) :]
        self.redis_url = redis_uri
        options.setdefault("socket_connect_timeout", 1)
        options.setdefault("socket_timeout", 1)
        self.redis = RedisStorage(redis_uri, **options)
        self.database = DatabaseStorage(DATABASE_STORAGE_URI)
        self._down_until = 0.0
        self._incr_and_ttl = self.redis.get_connection().register_script(INCR_AND_TTL.encode())
        self._counted = LastCount()

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _call(self, name: str, *args: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return getattr(self, f"_redis_{name}", getattr(self.redis, name))(*args)
            except Exception as exc:  # whatever the Redis client raises: count elsewhere
                known = self.redis.base_exceptions
                known = known if isinstance(known, tuple) else (known,)
                if not isinstance(exc, (*known, OSError)):
                    raise
                self._down_until = time.monotonic() + REDIS_RETRY_AFTER
                log.warning(
                    "Redis does not answer (%s); rate limits are counted in the database",
                    type(exc).__name__,
                )
        return getattr(self.database, name)(*args)

    @property
    def using_database(self) -> bool:
        """Whether counts go to the database just now (Redis failed lately)."""
        return time.monotonic() < self._down_until

    def _redis_incr(self, key: str, expiry: float, amount: int) -> int:
        now = time.time()
        keys, args = [self.redis.prefixed_key(key)], [int(expiry), amount]
        api = has_request_context() and request.blueprint == "api"
        if api:
            keys.append(READ_ALONG)
            args.append(secrets.randbelow(2**62))
        hits, left_ms, along = self._incr_and_ttl(keys, args)
        self._counted.remember(key, int(hits), now + max(int(left_ms), 0) / 1000, now)
        if api:
            request.environ[_REQUEST_READ] = (self.redis_url, along)
        return int(hits)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` hits to ``key``'s window (see :meth:`DatabaseStorage.incr`)."""
        hits: int = self._call("incr", key, expiry, amount)
        return hits

    def get(self, key: str) -> int:
        """Hits in ``key``'s current window."""
        recalled = self._counted.recall(key)
        if recalled is not None:
            return recalled[0]
        hits: int = self._call("get", key)
        return hits

    def get_expiry(self, key: str) -> float:
        """When ``key``'s current window ends."""
        recalled = self._counted.recall(key)
        if recalled is not None:
            return recalled[1]
        ends: float = self._call("get_expiry", key)
        return ends

    def check(self) -> bool:
        """Whether either store answers."""
        return bool(self.redis.check() or self.database.check())

    def reset(self) -> int | None:
        """Forget every counter in both stores."""
        self._counted.forget()
        found: int | None = self._call("reset")
        self.database.reset()
        return found

    def clear(self, key: str) -> None:
        """Forget ``key``'s counter in both stores."""
        self._counted.forget()
        self._call("clear", key)
        self.database.clear(key)
