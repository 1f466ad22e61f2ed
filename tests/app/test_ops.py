"""Health, readiness, metrics, request ids and the request log (app/ops.py, app/logs.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from app import create_app, logs
from app.config import ConfigError
from app.extensions import db
from app.infrastructure import metrics
from app.models import BulkJob
from app.services.awarding import bulk
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, rate_limited_app, sign_in_directly

TOKEN = "m" * 40
#: Nothing listens on port 1 of this machine (a privileged port no test opens).
DEAD_POSTGRES = "postgresql+psycopg://cairn@127.0.0.1:1/cairn"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def settings(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.sqlite3'}",
        "KEYS_DIR": str(tmp_path / "keys"),
        "BASE_URL": BASE_URL,
        "JOBS_INLINE": True,
        "RATELIMIT_ENABLED": False,
        "KEY_KDF_FOR_TESTS": True,
        **more,
    }


@pytest.fixture
def dead_app(tmp_path: Path) -> Iterator[Flask]:
    """An application whose database and Redis do not answer."""
    application = create_app(settings(tmp_path, DATABASE_URL=DEAD_POSTGRES, REDIS_URL=DEAD_REDIS))
    yield application
    with application.app_context():
        db.engine.dispose()


def scrape(client: FlaskClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/metrics parsed: sample name to {sorted labels: value}."""
    response = client.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, base_url=BASE_URL
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


# --- /healthz and /readyz -----------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database(dead_app: Flask) -> None:
    client = dead_app.test_client()
    response = client.get("/healthz", base_url=BASE_URL)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ok_when_the_database_answers(app: Flask, client: FlaskClient) -> None:
    response = client.get("/readyz", base_url=BASE_URL)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_names_what_failed_without_internal_details(dead_app: Flask) -> None:
    response = dead_app.test_client().get("/readyz", base_url=BASE_URL)
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "failed", "redis": "failed"},
    }
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_checks_a_live_redis(tmp_path: Path) -> None:
    from tests.app.guarantee_instance import REDIS_CANDIDATES

    application = create_app(settings(tmp_path, REDIS_URL=REDIS_CANDIDATES[0]))
    with application.app_context():
        db.create_all()
        from app.ops import check_redis

        if check_redis(REDIS_CANDIDATES[0]) is not None:
            pytest.skip("no Redis on 127.0.0.1:6379")
        response = application.test_client().get("/readyz", base_url=BASE_URL)
        db.engine.dispose()
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_probes_are_never_rate_limited_and_set_no_cookie(tmp_path: Path) -> None:
    for application in rate_limited_app(tmp_path, METRICS_TOKEN=TOKEN):
        client = application.test_client()
        for _ in range(3):
            for path in ("/healthz", "/readyz"):
                response = client.get(path, base_url=BASE_URL)
                assert response.status_code == 200
                assert "Set-Cookie" not in response.headers
                assert not any(h.lower().startswith("ratelimit") for h, _ in response.headers)


def test_a_signed_in_browser_probing_gets_no_cookie_back(
    app: Flask, client: FlaskClient, make_staff: Any
) -> None:
    account = make_staff("owner@a.example.org")
    sign_in_directly(client, "staff", account.id)
    for path in ("/healthz", "/readyz"):
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token(client: FlaskClient) -> None:
    assert client.get("/metrics", base_url=BASE_URL).status_code == 404


def test_metrics_need_the_bearer_token(app: Flask, client: FlaskClient) -> None:
    app.config["METRICS_TOKEN"] = TOKEN
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = client.get("/metrics", headers=headers, base_url=BASE_URL)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "cairn_" not in response.get_data(as_text=True)
    assert (
        client.get(
            "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, base_url=BASE_URL
        ).status_code
        == 200
    )


def test_a_short_metrics_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CAIRN_METRICS_TOKEN"):
        create_app(settings(tmp_path, METRICS_TOKEN="short"))


def test_metrics_count_requests_awards_verifications_and_job_progress(
    app: Flask,
    client: FlaskClient,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
    make_staff: Any,
) -> None:
    app.config["METRICS_TOKEN"] = TOKEN
    before = scrape(client)
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer(owner=owner)
    achievement = make_achievement(issuer)
    credential = make_award(issuer, achievement)
    assert client.get(f"/credentials/{credential.id}", base_url=BASE_URL).status_code == 200
    client.get("/credentials/not-a-credential", base_url=BASE_URL)
    # A verification through the public API: counted by outcome.
    document = client.get(f"/credentials/{credential.id}?format=json", base_url=BASE_URL)
    verified = client.post("/api/verify", data=document.get_data(), base_url=BASE_URL,
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert verified.status_code == 200
    # A bulk job, previewed and queued but not run: its rows are reported as to do.
    job = bulk.create_job(issuer, achievement, filename="c.csv",
                          data=b"email\na@school.example.org\nb@school.example.org\n",
                          actor=Actor(label="test"), env=service_env(), max_rows=100)  # fmt: skip
    db.session.get(BulkJob, job.id).state = "queued"
    db.session.commit()

    after = scrape(client)

    def value(name: str, **labels: str) -> float:
        key = tuple(sorted(labels.items()))
        return after.get(name, {}).get(key, 0.0) - before.get(name, {}).get(key, 0.0)

    assert after["cairn_credentials_issued_total"][()] == 1
    assert value("cairn_http_requests_total", endpoint="public.credential", method="GET",
                 status="200") >= 1  # fmt: skip
    assert value("cairn_http_requests_total", endpoint="public.credential", method="GET",
                 status="404") == 1  # fmt: skip
    assert value("cairn_http_request_duration_seconds_count", endpoint="public.credential",
                 method="GET", status="404") == 1  # fmt: skip
    outcomes = {
        dict(labels)["outcome"]
        for labels, count in after["cairn_verifications_total"].items()
        if count > before.get("cairn_verifications_total", {}).get(labels, 0)
    }
    assert outcomes  # the public page and the API both verified it
    assert after["cairn_job_rows_total"][(("kind", "bulk_award"),)] == 2
    assert after["cairn_job_rows_done"][(("kind", "bulk_award"),)] == 0
    assert after["cairn_jobs"][(("kind", "bulk_award"), ("state", "queued"))] == 1
    assert after["cairn_dependency_up"][(("name", "database"),)] == 1


def test_metrics_say_when_the_database_is_down(dead_app: Flask) -> None:
    dead_app.config["METRICS_TOKEN"] = TOKEN
    found = scrape(dead_app.test_client())
    assert found["cairn_dependency_up"][(("name", "database"),)] == 0
    assert found["cairn_dependency_up"][(("name", "redis"),)] == 0
    assert "cairn_credentials_issued_total" not in found  # unknown, never a zero


def test_metrics_add_up_every_worker_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import values

    folder = tmp_path / "metrics"
    folder.mkdir()
    original = values.ValueClass
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    try:
        metrics.enable_multiprocess(str(folder))
        metrics.count_request("public.home", "GET", 200, 0.01)
        assert list(folder.glob("*.db"))  # counted in the shared folder, not in memory
        text = json.dumps(
            [
                (s.name, s.labels, s.value)
                for family in metrics.process_registry().collect()
                for s in family.samples
            ]
        )
        assert "cairn_http_requests_total" in text and "public.home" in text
    finally:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        values.ValueClass = original
        for metric in (metrics.REQUESTS, metrics.REQUEST_SECONDS, metrics.VERIFICATIONS):
            metric.clear()


# --- Request ids and the request log ----------------------------------------------------------


def test_a_request_id_is_kept_or_made(client: FlaskClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"}, base_url=BASE_URL)
    assert kept.headers["X-Request-ID"] == "lb-7f3a.42"
    made = client.get("/healthz", base_url=BASE_URL)
    assert len(made.headers["X-Request-ID"]) == 32
    for forged in ('x", "level": "critical', "a" * 129, "<script>"):
        answer = client.get("/healthz", headers={"X-Request-ID": forged}, base_url=BASE_URL)
        assert answer.headers["X-Request-ID"] != forged
        assert len(answer.headers["X-Request-ID"]) == 32


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = logs.JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "cairn.request"]


def test_each_request_is_one_json_line_without_secrets(
    app: Flask,
    client: FlaskClient,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
    make_staff: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer(owner=owner)
    make_award(issuer, make_achievement(issuer))
    sign_in_directly(client, "staff", owner.id)
    caplog.set_level(logging.DEBUG, logger="cairn.request")
    response = client.get(
        f"/workspace/{issuer.slug}/?secret=abc",
        headers={"X-Request-ID": "req-1"},
        base_url=BASE_URL,
    )
    assert response.status_code == 200
    client.get("/partner/a-secret-partner-token", base_url=BASE_URL)
    lines = request_lines(caplog)
    workspace = next(line for line in lines if line.get("request_id") == "req-1")
    assert workspace["method"] == "GET"
    assert workspace["route"] == "/workspace/<slug>/"
    assert workspace["status"] == 200
    assert workspace["issuer"] == issuer.slug
    assert isinstance(workspace["duration_ms"], float)
    assert workspace["event"] == "request" and workspace["level"] == "info"
    text = json.dumps(lines)
    for secret in ("secret=abc", "a-secret-partner-token", "owner@a.example.org", "cairn_session"):
        assert secret not in text
    cookie = client.get_cookie("cairn_session") or client.get_cookie("__Host-cairn")
    assert cookie is None or cookie.value not in text
    assert any(line["route"] == "/partner/<token>" for line in lines)


def test_log_format_is_json_in_production_and_configurable() -> None:
    assert logs.log_format({"ENV": "production"}) == "json"
    assert logs.log_format({"ENV": "development"}) == "text"
    assert logs.log_format({"ENV": "production", "LOG_FORMAT": "text"}) == "text"
    record = logging.LogRecord("cairn.job", logging.INFO, __file__, 1, "job %s done", ("x",), None)
    record.job = "deliver_email"
    record.request_id = "r1"
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "job x done" and line["job"] == "deliver_email"
    assert line["request_id"] == "r1" and line["level"] == "info"
    text = logs.TextFormatter().format(record)
    assert "job x done" in text and "job=deliver_email" in text


def test_a_json_line_is_the_text_json_dumps_gives() -> None:
    """The formatter reuses one encoder: each line must be exactly what ``json.dumps`` with the
    same options made, non-ASCII text, numbers, a value only ``str`` can write and an
    exception included."""
    from datetime import UTC, datetime

    class Opaque:
        def __str__(self) -> str:
            return "opaque-42"

    try:
        raise ValueError("é")
    except ValueError:
        import sys

        failure = sys.exc_info()
    record = logging.LogRecord(
        "cairn.request", logging.ERROR, __file__, 1, "GET %s %s", ("/é", 500), failure
    )
    for name, value in {
        "event": "request",
        "method": "GET",
        "route": "/é",
        "status": 500,
        "duration_ms": 1.25,
        "issuer": Opaque(),
        "request_id": "r-é",
    }.items():
        setattr(record, name, value)  # fmt: skip
    formatter = logs.JsonFormatter()
    expected = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": "error",
        "logger": "cairn.request",
        "message": "GET /é 500",
        "request_id": "r-é",
        "event": "request",
        "method": "GET",
        "route": "/é",
        "status": 500,
        "duration_ms": 1.25,
        "issuer": record.issuer,
        "exception": formatter.formatException(failure),
    }
    assert formatter.format(record) == json.dumps(expected, ensure_ascii=False, default=str)
    assert '"issuer": "opaque-42"' in formatter.format(record)


def test_a_new_request_id_is_a_random_uuids_hex() -> None:
    import uuid

    made = {logs.new_request_id() for _ in range(2000)}
    assert len(made) == 2000
    for found in made:
        parsed = uuid.UUID(hex=found)
        assert parsed.hex == found and len(found) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every other bit is random: each hex digit but the two fixed ones takes many values.
    for position in range(32):
        seen = {found[position] for found in made}
        assert len(seen) == (1 if position == 12 else 4 if position == 16 else 16)


def test_a_bad_log_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CAIRN_LOG_FORMAT"):
        create_app(settings(tmp_path, LOG_FORMAT="xml"))


def test_jobs_log_a_line_with_their_own_id(
    app: Flask,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.wiring import perform

    caplog.set_level(logging.INFO, logger="cairn.job")
    perform("deliver_email")
    lines = [json.loads(logs.JsonFormatter().format(r)) for r in caplog.records
             if r.name == "cairn.job"]  # fmt: skip
    started, finished = lines[-2:]
    assert started["outcome"] == "started" and finished["outcome"] == "done"
    assert finished["job"] == "deliver_email" and finished["duration_ms"] >= 0
    assert started["request_id"] == finished["request_id"]


def test_behind_a_proxy_the_visitors_address_is_the_forwarded_one(tmp_path: Path) -> None:
    application = create_app(settings(tmp_path, PROXY_HOPS=1))
    seen: list[str | None] = []

    @application.get("/_test/address")
    def address() -> str:
        from flask import request

        seen.append(request.remote_addr)
        return "ok"

    client = application.test_client()
    client.get("/_test/address", headers={"X-Forwarded-For": "203.0.113.7"},
               environ_base={"REMOTE_ADDR": "10.0.0.2"})  # fmt: skip
    direct = create_app(settings(tmp_path, KEYS_DIR=str(tmp_path / "k2")))
    direct.add_url_rule("/_test/address", view_func=address)
    direct.test_client().get("/_test/address", headers={"X-Forwarded-For": "203.0.113.7"},
                             environ_base={"REMOTE_ADDR": "10.0.0.2"})  # fmt: skip
    assert seen == ["203.0.113.7", "10.0.0.2"]
    with pytest.raises(ConfigError, match="CAIRN_PROXY_HOPS"):
        create_app(settings(tmp_path, PROXY_HOPS=-1))


def test_gunicorns_own_lines_come_out_in_cairns_format() -> None:
    """gunicorn applies ``logconfig_dict`` with dictConfig: done here in a separate process,
    as ``cairn serve``'s would, so this test's own logging is left alone."""
    import subprocess
    import sys

    script = (
        "import logging, logging.config\n"
        "from app import logs\n"
        "logging.config.dictConfig(logs.gunicorn_logconfig({'ENV': 'production'}))\n"
        "logging.getLogger('gunicorn.error').info('Booting worker with pid: %s', 42)\n"
        "logging.getLogger('gunicorn.access').info('GET /partner/secret-token 200')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["message"] for line in lines] == ["Booting worker with pid: 42"]
    assert lines[0]["logger"] == "gunicorn.error" and lines[0]["level"] == "info"
    assert "secret-token" not in done.stdout + done.stderr
