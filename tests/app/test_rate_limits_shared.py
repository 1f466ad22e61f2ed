"""Rate limits hold for the whole deployment, not per worker process: `cairn serve` with two
gunicorn workers lets exactly the configured number of failed sign-ins through, on the embedded
default (the limits live in the application's database) and on Redis.

Each attempt goes on a connection of its own, so the kernel hands attempts to both workers;
with per-process counters (Flask-Limiter's in-memory storage) up to twice the limit would pass.
The Redis variant is skipped, with the reason, only when Redis is unreachable. The database is a
throw-away PostgreSQL database when CAIRN_TEST_DATABASE_URL names one, else a SQLite file.
About 10 s each (a server start-up and a few dozen argon2 checks).
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.guarantee_instance import (
    Instance,
    RedisUnavailable,
    free_port,
    kill_tree,
    redis_database,
    scratch_database,
    wait_for,
)

LIMIT = 10
ATTEMPTS = 30
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of the test's own (see ``redis_database``), flushed afterwards."""
    try:
        with redis_database() as url:
            yield url
    except RedisUnavailable as exc:
        pytest.skip(str(exc))


def request(
    port: int, method: str, path: str, body: str = "", cookie: str = ""
) -> http.client.HTTPResponse:
    """One request on a connection of its own (no keep-alive, so no worker is favoured)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Connection": "close"}
    if cookie:
        headers["Cookie"] = cookie
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body.encode(), headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def answering(port: int) -> bool:
    try:
        return request(port, "GET", "/login").status == 200
    except OSError:
        return False


def failed_sign_ins(port: int) -> list[int]:
    """The statuses of ``ATTEMPTS`` failed sign-ins from one client (distinct addresses, so only
    the per-client limit applies), each with a valid CSRF token."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/login")
    page = connection.getresponse()
    html = page.read().decode()
    connection.close()
    match = TOKEN.search(html)
    assert match, html[:500]
    cookie = page.getheader("Set-Cookie", "").split(";", 1)[0]
    assert cookie, "the sign-in page starts a session"
    from urllib.parse import urlencode

    statuses = []
    for n in range(ATTEMPTS):
        body = urlencode(
            {"csrf_token": match.group(1), "email": f"nobody{n}@example.org", "password": "wrong"}
        )
        statuses.append(request(port, "POST", "/login", body, cookie).status)
    return statuses


def serve_and_sign_in(instance: Instance, log: Path) -> list[int]:
    instance.cairn_ok("db", "upgrade")
    port = free_port()
    server = instance.start("serve", "--port", str(port), "--workers", "2", log=log)
    try:
        wait_for(lambda: answering(port), timeout=120, interval=0.2, what="cairn serve")
        return failed_sign_ins(port)
    finally:
        kill_tree(server)


def settings(**extra: str) -> dict[str, str]:
    # The window is an hour, so a slow machine cannot see it roll over mid-test.
    return {"CAIRN_LOGIN_RATE_LIMIT": f"{LIMIT} per hour", **extra}


def test_two_workers_share_one_sign_in_limit_in_the_database(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "cairn_limits") as url:
        instance = Instance(tmp_path, url, extra=settings())
        statuses = serve_and_sign_in(instance, tmp_path / "serve.log")
    log = (tmp_path / "serve.log").read_text()
    assert statuses == [400] * LIMIT + [429] * (ATTEMPTS - LIMIT), (
        f"{statuses.count(400)} passed",
        statuses,
        log[-3000:],
    )


def test_two_workers_share_one_sign_in_limit_in_redis(tmp_path: Path, redis_url: str) -> None:
    with scratch_database(tmp_path, "cairn_limits") as url:
        instance = Instance(tmp_path, url, extra=settings(CAIRN_REDIS_URL=redis_url))
        statuses = serve_and_sign_in(instance, tmp_path / "serve.log")
    log = (tmp_path / "serve.log").read_text()
    assert statuses == [400] * LIMIT + [429] * (ATTEMPTS - LIMIT), (
        f"{statuses.count(400)} passed",
        statuses,
        log[-3000:],
    )
