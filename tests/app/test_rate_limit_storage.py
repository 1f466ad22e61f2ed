"""The database storage for rate limits: fixed windows counted atomically, expired counters
pruned, registered with ``limits``; the configuration picks Redis or the database and refuses
per-process counting in production. (Two real gunicorn workers: test_rate_limits_shared.py.)"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from flask import Flask
from limits.storage import storage_from_string
from sqlalchemy import func, select

from app import rate_limits
from app.config import DEFAULTS, ConfigError, check_config
from app.extensions import db
from app.models import RateLimitCounter
from app.rate_limits import DatabaseStorage

KEY = "LIMITER/192.0.2.1/auth.login/10/1/minute"


class Clock:
    """``time.time`` for the storage, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fixed = Clock(1_800_000_000.0)
    monkeypatch.setattr(rate_limits.time, "time", fixed)
    return fixed


@pytest.fixture
def storage(app: Flask) -> DatabaseStorage:
    return DatabaseStorage()


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(RateLimitCounter)) or 0


def test_the_scheme_is_registered_and_is_the_default_without_redis(app: Flask) -> None:
    assert isinstance(storage_from_string("cairn-database://"), DatabaseStorage)
    assert app.config["RATELIMIT_STORAGE_URI"] == "cairn-database://"
    # Redis, with the database while Redis does not answer (tests/app/test_faults.py).
    assert rate_limits.storage_uri({"REDIS_URL": "redis://127.0.0.1:6379/3"}) == (
        "cairn-redis://127.0.0.1:6379/3"
    )
    assert rate_limits.storage_uri({"REDIS_URL": None}) == "cairn-database://"


def test_a_fixed_window_counts_then_starts_again(storage: DatabaseStorage, clock: Clock) -> None:
    assert storage.get(KEY) == 0
    assert storage.get_expiry(KEY) == clock.now
    assert [storage.incr(KEY, 60) for _ in range(3)] == [1, 2, 3]
    assert storage.incr(KEY, 60, amount=2) == 5
    assert storage.get(KEY) == 5
    assert storage.get_expiry(KEY) == clock.now + 60
    clock.now += 59.5
    assert storage.incr(KEY, 60) == 6  # still the same window, which keeps its end
    assert storage.get_expiry(KEY) == clock.now + 0.5
    clock.now += 1
    assert storage.get(KEY) == 0  # the window has ended
    assert storage.incr(KEY, 60) == 1
    assert storage.get_expiry(KEY) == clock.now + 60
    assert storage.get("another key") == 0


def test_clear_reset_and_check(storage: DatabaseStorage, clock: Clock) -> None:
    storage.incr(KEY, 60)
    storage.incr("other", 60)
    storage.clear(KEY)
    assert storage.get(KEY) == 0 and storage.get("other") == 1
    assert storage.reset() == 1
    assert rows() == 0
    assert storage.check() is True


def test_expired_counters_are_pruned(storage: DatabaseStorage, clock: Clock) -> None:
    storage.incr("short", 10)
    storage.incr("long", 3600)
    assert rows() == 2
    clock.now += 30
    assert storage.prune() == 1
    assert rows() == 1 and storage.get("long") == 1
    # incr prunes by itself, at most once a minute.
    storage.incr("short", 10)
    clock.now += 11
    storage.incr("third", 10)
    assert rows() == 3  # pruned 41 s ago: not yet
    clock.now += rate_limits.PRUNE_EVERY
    storage.incr("fourth", 10)
    assert rows() == 2  # "long" and "fourth"


def test_long_keys_are_stored_by_their_hash_and_stay_apart(
    storage: DatabaseStorage, clock: Clock
) -> None:
    first, second = "email:" + "a" * 600, "email:" + "a" * 599 + "b"
    assert storage.incr(first, 60) == 1
    assert storage.incr(second, 60) == 1
    assert storage.incr(first, 60) == 2
    stored = set(db.session.scalars(select(RateLimitCounter.limit_key)))
    assert len(stored) == 2 and all(key.startswith("sha256:") for key in stored)


def test_concurrent_hits_are_never_lost(app: Flask, storage: DatabaseStorage) -> None:
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            with app.app_context():
                for _ in range(25):
                    storage.incr(KEY, 3600)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert storage.get(KEY) == 100


def test_a_request_reports_the_window_it_just_counted_without_asking_again(
    app: Flask, storage: DatabaseStorage, clock: Clock
) -> None:
    """The ``RateLimit-*`` headers read the window straight after the hit: served from the
    count the hit returned, not two more queries; a thread that did not count, or a read a
    second later, asks the database."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = db.engine

    def counted(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert storage.incr(KEY, 60) == 1
        before = len(statements)
        assert (storage.get(KEY), storage.get_expiry(KEY)) == (1, clock.now + 60)
        assert len(statements) == before
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(_incr_in(app, storage)))
        thread.start()
        thread.join()
        assert other == [2]
        assert storage.get(KEY) == 1  # this request's own count, within the second
        clock.now += rate_limits.JUST_COUNTED
        assert storage.get(KEY) == 2  # later: the database's
        assert len(statements) > before + 1
        storage.incr(KEY, 60)
        storage.clear(KEY)
        assert storage.get(KEY) == 0
    finally:
        event.remove(engine, "before_cursor_execute", counted)


def _incr_in(app: Flask, storage: DatabaseStorage) -> int:
    with app.app_context():
        return storage.incr(KEY, 60)


def production(**extra: Any) -> dict[str, Any]:
    """A production configuration that starts (every default, strong secrets), plus ``extra``."""
    return {
        **DEFAULTS,
        "ENV": "production",
        "BASE_URL": "https://badges.example.org",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "KEY_PASSPHRASE": secrets.token_urlsafe(32),
        "SMTP_HOST": "smtp.example.org",
        "SMTP_SECURITY": "starttls",
        "MAIL_FROM": "Badges <badges@example.org>",
        **extra,
    }


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("RATELIMIT_STORAGE_URI", "memory://", "must not be memory://"),
        ("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True, "IN_MEMORY_FALLBACK"),
        ("RATELIMIT_IN_MEMORY_FALLBACK", "10 per minute", "IN_MEMORY_FALLBACK"),
        ("RATELIMIT_SWALLOW_ERRORS", True, "SWALLOW_ERRORS"),
    ],
)
def test_production_refuses_per_process_rate_limits(setting: str, value: Any, message: str) -> None:
    check_config(production())  # the baseline starts
    with pytest.raises(ConfigError, match=message):
        check_config(production(**{setting: value}))


def test_production_accepts_a_shared_storage_named_by_the_operator() -> None:
    check_config(production(RATELIMIT_STORAGE_URI="redis+sentinel://sentinel.example.org:26379"))


def test_with_redis_a_request_counts_and_reports_its_window_in_one_call(tmp_path: Any) -> None:
    """An API request with Redis: its hit is one Redis call that returns the count and the
    window's end, and its ``RateLimit-*`` headers come from that answer, however long the
    request took (an award waits for its batch), not from two more calls."""
    from tests.app.conftest import BASE_URL, PASSWORD, rate_limited_app
    from tests.app.guarantee_instance import RedisUnavailable, redis_database

    try:
        with redis_database() as url:
            _one_call_per_request(tmp_path, url, BASE_URL, PASSWORD, rate_limited_app)
    except RedisUnavailable as exc:
        pytest.skip(str(exc))


def _one_call_per_request(
    tmp_path: Any, url: str, base_url: str, password: str, rate_limited_app: Any
) -> None:
    from app.extensions import limiter
    from app.rate_limits import RedisWithFallback
    from app.services.org import issuers, staff, tokens
    from app.services.org.audit import Actor
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    built = rate_limited_app(tmp_path, API_RATE_LIMIT="3/minute", REDIS_URL=url)
    application = next(built)
    try:
        env = service_env()
        owner = staff.create_account(email="o@a.example.org", name="O", password=password,
                                     actor=Actor(label="test"), env=env)  # fmt: skip
        issuer = issuers.create_issuer(IssuerProfileInput(name="Issuer A"), slug="issuer-a",
                                       owner=owner, actor=Actor(label="test"), env=env)  # fmt: skip
        secret = tokens.create(issuer, creator=owner, name="lms", scopes=["achievements:read"],
                               expires_at=None, actor=Actor(owner), env=env).secret  # fmt: skip
        storage = limiter.storage
        assert isinstance(storage, RedisWithFallback)
        reads: list[str] = []

        def noted(name: str, real: Any) -> Any:
            def call(*args: Any) -> Any:
                reads.append(name)
                return real(*args)

            return call

        for name in ("get", "get_expiry", "incr"):
            setattr(storage.redis, name, noted(name, getattr(storage.redis, name)))
        client = application.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        answers = [
            client.get("/api/v1/issuers/issuer-a/achievements", base_url=base_url, headers=headers)
            for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
        assert 55 <= int(answers[0].headers["RateLimit-Reset"]) <= 60
        assert reads == []  # counted by the script alone, read by nobody
        assert not storage.using_database
    finally:
        built.close()  # its teardown: the database connections closed


def test_an_api_request_reads_the_lookup_version_with_its_hit(tmp_path: Any) -> None:
    """With Redis, an API request's hit also reads the version of the API's cached lookups
    (``app/api/lookups.py``) in the same script, and the lookups use it rather than asking
    Redis again: one round trip for both. It is read by each request, so a token revoked
    between two requests is refused by the second; a request counted elsewhere (rate limits
    off) asks Redis itself."""
    from tests.app.conftest import BASE_URL, PASSWORD, rate_limited_app
    from tests.app.guarantee_instance import RedisUnavailable, redis_database

    try:
        with redis_database() as url:
            _version_read_along(tmp_path, url, BASE_URL, PASSWORD, rate_limited_app)
    except RedisUnavailable as exc:
        pytest.skip(str(exc))


def _version_read_along(
    tmp_path: Any, url: str, base_url: str, password: str, rate_limited_app: Any
) -> None:
    from flask import current_app
    from sqlalchemy import event

    from app.api import lookups
    from app.services.org import issuers, staff, tokens
    from app.services.org.audit import Actor
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    built = rate_limited_app(tmp_path, API_RATE_LIMIT="100/minute", REDIS_URL=url)
    application = next(built)
    try:
        env = service_env()
        owner = staff.create_account(email="o@a.example.org", name="O", password=password,
                                     actor=Actor(label="test"), env=env)  # fmt: skip
        issuer = issuers.create_issuer(IssuerProfileInput(name="Issuer A"), slug="issuer-a",
                                       owner=owner, actor=Actor(label="test"), env=env)  # fmt: skip
        secret = tokens.create(issuer, creator=owner, name="lms", scopes=["achievements:read"],
                               expires_at=None, actor=Actor(owner), env=env).secret  # fmt: skip
        cache = current_app.extensions["cairn_lookups"]
        asked: list[int] = []
        pipeline = cache.redis.pipeline

        def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
            asked.append(1)
            return pipeline(*args, **kwargs)

        cache.redis.pipeline = counted_pipeline
        token_reads: list[str] = []

        def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "api_token" in statement:
                token_reads.append(statement)

        event.listen(db.engine, "before_cursor_execute", note)
        client = application.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        def get() -> Any:
            return client.get(
                "/api/v1/issuers/issuer-a/achievements", base_url=base_url, headers=headers
            )

        first, second = get(), get()
        assert (first.status_code, second.status_code) == (200, 200)
        assert [a.headers["RateLimit-Remaining"] for a in (first, second)] == ["99", "98"]
        assert asked == []  # the version came with each hit
        assert len(token_reads) >= 1  # the first read it and remembered it
        reads = len(token_reads)
        assert get().status_code == 200
        assert len(token_reads) == reads  # the third used the entry: the version had not moved
        tokens.revoke(tokens.list_for(issuer)[0], actor=Actor(owner), env=service_env())
        asked.clear()  # the revocation's bump
        assert get().status_code == 401  # the version its hit read was the bumped one
        assert asked == []

        # Lookups on another Redis than the one counting (an operator's own rate-limit
        # storage) never take the counted request's read: they ask their own Redis.
        cache.url = url + "?another"
        assert get().status_code == 401
        assert asked == [1]
        assert lookups.VERSION_KEY == rate_limits.READ_ALONG
        event.remove(db.engine, "before_cursor_execute", note)
    finally:
        built.close()
