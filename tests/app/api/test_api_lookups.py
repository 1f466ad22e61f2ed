"""The API's cached lookups (``app/api/lookups.py``): two applications on one database and one
Redis stand for two server processes. A token one of them has cached is refused by it on the
very next request after the other revokes it, demotes or removes its creator, or disables the
creator's account; an achievement archived by one is refused by the other at once; a cached
lookup runs no query; without a usable Redis both are read."""

from __future__ import annotations

import re
from typing import Any

import fakeredis
import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import event

from app.api import lookups
from app.extensions import db
from app.services._core import shared_reads
from app.services.org import staff, tokens
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.api.conftest import statements
from tests.app.conftest import BASE_URL

READ = "/api/v1/issuers/district-7/achievements"


def get(application: Flask, secret: str) -> int:
    answer = application.test_client().get(
        READ, base_url=BASE_URL, headers={"Authorization": f"Bearer {secret}"}
    )
    return answer.status_code


def token_queries(application: Flask, secret: str) -> int:
    """How many statements a request ran that read the token table."""
    with statements(application) as seen:
        assert get(application, secret) == 200
    return len([statement for statement in seen if "api_token" in statement])


def test_a_cached_check_runs_no_query(app: Flask, other: Flask, setup: Any) -> None:
    secret = setup[3]
    assert token_queries(other, secret) >= 1  # first: read, then remembered
    assert token_queries(other, secret) == 0
    assert token_queries(other, secret) == 0


def test_revoked_in_one_process_refused_by_the_other_at_once(
    app: Flask, other: Flask, setup: Any
) -> None:
    issuer, owner, _admin, secret = setup
    assert get(other, secret) == 200
    assert get(other, secret) == 200  # cached now
    token = tokens.list_for(issuer)[0]
    tokens.revoke(token, actor=Actor(owner), env=service_env())
    assert get(other, secret) == 401
    assert get(app, secret) == 401


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), (None, 403)])
def test_creator_demoted_or_removed_in_one_process(
    app: Flask, other: Flask, setup: Any, role: str | None, status: int
) -> None:
    issuer, owner, _admin, secret = setup
    assert get(other, secret) == 200
    editor = staff.get_by_email("editor@district7.example.org")
    staff.set_role(issuer, editor, role, actor=Actor(owner), env=service_env())
    assert get(other, secret) == status


def test_creator_demoted_below_the_scope(app: Flask, other: Flask, setup: Any) -> None:
    issuer, owner, _admin, _secret = setup
    editor = staff.get_by_email("editor@district7.example.org")
    writer = tokens.create(issuer, creator=editor, name="w", scopes=["achievements:write"],
                           expires_at=None, actor=Actor(editor), env=service_env()).secret  # fmt: skip
    client = other.test_client()

    def create() -> int:
        return client.post(
            "/api/v1/issuers/district-7/achievements",
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {writer}"},
            json={"name": "X"},
        ).status_code

    assert create() in (201, 422)  # the token passes (the body may be refused)
    staff.set_role(issuer, editor, "awarder", actor=Actor(owner), env=service_env())
    assert create() == 403


def test_creator_disabled_in_one_process(app: Flask, other: Flask, setup: Any) -> None:
    _issuer, _owner, admin, secret = setup
    assert get(other, secret) == 200
    editor = staff.get_by_email("editor@district7.example.org")
    staff.set_active(editor, False, actor=Actor(admin), env=service_env())
    assert get(other, secret) == 401


def test_issuer_profile_change_forgets_the_cached_issuer(
    app: Flask, other: Flask, setup: Any
) -> None:
    issuer, _owner, _admin, secret = setup
    assert get(other, secret) == 200
    version = lookups._cache().redis.get(lookups.VERSION_KEY)  # type: ignore[union-attr]
    issuer.name = "District 7 Learning"
    db.session.commit()
    assert lookups._cache().redis.get(lookups.VERSION_KEY) != version  # type: ignore[union-attr]
    assert token_queries(other, secret) >= 1


def test_noting_the_last_use_forgets_nothing(app: Flask, other: Flask, setup: Any) -> None:
    secret = setup[3]
    cache = lookups._cache()
    assert cache is not None
    assert get(other, secret) == 200  # notes the first use (a write of last_used_at only)
    version = cache.redis.get(lookups.VERSION_KEY)
    assert get(other, secret) == 200
    assert cache.redis.get(lookups.VERSION_KEY) == version
    token = tokens.list_for(setup[0])[0]
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_a_flushed_redis_forgets_every_entry(
    app: Flask, other: Flask, setup: Any, server: fakeredis.FakeServer
) -> None:
    secret = setup[3]
    assert token_queries(other, secret) >= 1
    fakeredis.FakeRedis(server=server).flushdb()
    assert token_queries(other, secret) >= 1


def test_without_redis_the_token_is_read(app: Flask, other: Flask, setup: Any) -> None:
    issuer, owner, _admin, secret = setup
    assert get(other, secret) == 200

    class Down:
        def pipeline(self, **_: Any) -> Any:
            raise RedisConnectionError("down")

    for application in (app, other):
        application.extensions["cairn_lookups"].redis = Down()
    assert token_queries(other, secret) >= 1
    # A revocation whose bump fails is still refused where Redis cannot be asked.
    tokens.revoke(tokens.list_for(issuer)[0], actor=Actor(owner), env=service_env())
    assert get(other, secret) == 401


def test_profile_snapshot_attached_as_loaded(app: Flask, other: Flask, setup: Any) -> None:
    """A cached token's issuer is the one stored: an API read shows its current profile."""
    issuer, _owner, _admin, secret = setup
    client = other.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(READ, base_url=BASE_URL, headers=headers).status_code == 200
    issuers_read = client.get("/api/v1/issuers/district-7", base_url=BASE_URL, headers=headers)
    assert issuers_read.status_code == 200
    assert issuers_read.get_json()["name"] == issuer.name


def test_a_flushed_redis_then_a_change_never_meets_an_old_version(
    app: Flask, other: Flask, setup: Any, server: fakeredis.FakeServer
) -> None:
    # The version starts at a random number, also when a change is the first to set it: counting
    # 1, 2, 3 … again after a flush could meet the version an entry was stored under.
    issuer, owner, _admin, secret = setup
    redis = fakeredis.FakeRedis(server=server)
    assert get(other, secret) == 200
    redis.flushdb()
    tokens.revoke(tokens.list_for(issuer)[0], actor=Actor(owner), env=service_env())
    assert int(redis.get(lookups.VERSION_KEY) or 0) > 1000
    assert get(other, secret) == 401


def award(application: Flask, secret: str, achievement_id: str, n: int) -> Any:
    return application.test_client().post(
        "/api/v1/issuers/district-7/awards",
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {secret}"},
        json={"achievement": achievement_id, "recipient": {"email": f"r{n}@example.org"}},
    )


def test_achievement_cached_and_archived_in_another_process(other: Flask, awarding: Any) -> None:
    from app.services.org import achievements

    _issuer, owner, writer, achievement = awarding
    public_id = achievement.public_id
    assert award(other, writer, public_id, 1).status_code == 201
    with statements(other) as seen:
        assert award(other, writer, public_id, 2).status_code == 201
    # Not looked up by its id (the leader's commit expires it; reading it back after is not a
    # lookup and happened before too).
    assert not [s for s in seen if re.search(r"WHERE achievement.public_id = ", s)], seen
    assert not [s for s in seen if "FROM api_token" in s]
    achievements.set_archived(achievement, True, actor=Actor(owner), env=service_env())
    refused = award(other, writer, public_id, 3)
    assert refused.status_code == 409, refused.get_json()
    assert award(other, writer, "no-such-achievement", 4).status_code == 404


def test_a_remembered_row_is_attached_exactly_as_loaded(app: Flask, setup: Any) -> None:
    """What a cache entry becomes in a request's session: the row as a query would load it
    (persistent, every column loaded, nothing pending, no query to read it), compared column by
    column with the row read from the database; the entry's own mutable values (a token's
    scopes) are copies, so a change in one request never reaches the cache."""
    from sqlalchemy import inspect

    from app.models import ApiToken

    issuer = setup[0]
    token_id = tokens.list_for(issuer)[0].id
    db.session.expire_all()
    loaded = db.session.get(ApiToken, token_id)
    values = shared_reads.columns(loaded)
    expected = dict(values)
    db.session.expunge_all()
    statements: list[str] = []
    engine = db.engine

    def note(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        row = shared_reads.attached(ApiToken, values)
        state = inspect(row)
        assert state.persistent and not state.modified
        assert not state.unloaded & set(values)  # every column; relationships lazy, as loaded
        assert not db.session.dirty and not db.session.new
        assert shared_reads.columns(row) == expected
        assert statements == []
        row.scopes.append("credentials:read")  # the request's own change
        assert values["scopes"] == expected["scopes"] != row.scopes
        assert shared_reads.attached(ApiToken, values) is row  # the session's own is used as it is
    finally:
        event.remove(engine, "before_cursor_execute", note)
        db.session.rollback()
