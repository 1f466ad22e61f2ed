"""Infrastructure behind interfaces: the mail transport and job runner ``app.wiring`` chooses
from the configuration, and the email templates (one folder per message)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.infrastructure.jobs import InlineRunner, RqRunner, ThreadPoolRunner
from app.infrastructure.mail import OutboxTransport, SmtpTransport, UnconfiguredTransport
from app.services.mail import emails
from app.wiring import reconfigure_mail, wiring
from tests.app.test_rate_limits_shared import redis_url  # noqa: F401  (a fixture)

APP = Path(__file__).resolve().parents[3] / "app"


def build(tmp_path: Path, **settings: Any) -> Flask:
    config = {
        "ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cairn.sqlite3'}",
        "KEYS_DIR": str(tmp_path / "keys"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "KEY_KDF_FOR_TESTS": True,
        **settings,
    }
    return create_app(config)


@pytest.mark.parametrize(
    ("settings", "transport"),
    [({}, OutboxTransport), ({"SMTP_HOST": "smtp.example.org"}, SmtpTransport)],
)
def test_the_mail_transport_follows_the_configuration(
    tmp_path: Path, settings: dict[str, Any], transport: type
) -> None:
    app = build(tmp_path, **settings)
    with app.app_context():
        assert isinstance(wiring().mail, transport)


def test_production_without_smtp_has_no_transport(tmp_path: Path) -> None:
    app = build(tmp_path)
    app.config["ENV"] = "production"  # as if check_config had let it through
    reconfigure_mail(app)
    with app.app_context():
        assert isinstance(wiring().mail, UnconfiguredTransport)


def test_smtp_settings_come_from_the_configuration(tmp_path: Path) -> None:
    app = build(
        tmp_path,
        BASE_URL="https://badges.example.org",
        SMTP_HOST="smtp.example.org",
        SMTP_PORT="465",
        SMTP_SECURITY="ssl",
        SMTP_USERNAME="cairn",
        SMTP_PASSWORD="secret",
        SMTP_CA_FILE="/etc/ssl/private-ca.pem",
    )
    with app.app_context():
        mail = wiring().mail
        assert isinstance(mail, SmtpTransport)
        settings = mail.settings
    assert (settings.host, settings.port, settings.security) == ("smtp.example.org", 465, "ssl")
    assert (settings.username, settings.password) == ("cairn", "secret")
    assert settings.ca_file == "/etc/ssl/private-ca.pem"
    assert settings.local_hostname == "badges.example.org"  # said in EHLO


@pytest.mark.parametrize(
    ("settings", "runner"),
    [
        ({"JOBS_INLINE": True}, InlineRunner),
        ({"REDIS_URL": "redis://127.0.0.1:6379/15"}, RqRunner),
        ({}, ThreadPoolRunner),
    ],
)
def test_the_job_runner_follows_the_configuration(
    tmp_path: Path, settings: dict[str, Any], runner: type
) -> None:
    app = build(tmp_path, **settings)
    with app.app_context():
        assert isinstance(wiring().jobs, runner)


def test_every_message_has_its_three_templates() -> None:
    folder = APP / "templates" / "email"
    kinds = {path.name for path in folder.iterdir() if path.is_dir()}
    for kind in kinds:
        assert {p.name for p in (folder / kind).iterdir()} == {
            "subject.txt",
            "body.txt",
            "body.html",
        }, kind
    # Every message the code queues has its folder (and no folder is left over). Services queue
    # most; an edge queues the few whose link it builds (the invitation to lead, in app/auth).
    source = "\n".join(p.read_text() for p in APP.rglob("*.py"))
    queued = set(re.findall(r'queue_template\(\s*"(\w+)"', source))
    queued |= {"invite", "reset"}  # chosen by a condition (queue_account_link)
    assert queued == kinds


def test_values_are_escaped_in_the_html_body_only() -> None:
    subject, text, html = emails.render(
        "sign_in", link="https://badges.example.org/me/sign-in/a&b", minutes=15
    )
    assert subject == "Your Cairn sign-in link"
    assert text.endswith("Sign in to Cairn: https://badges.example.org/me/sign-in/a&b\n")
    assert 'href="https://badges.example.org/me/sign-in/a&amp;b"' in html
    assert "a&b" not in html


@pytest.mark.parametrize(
    ("locale", "said"), [("en", "December 5, 2026"), ("en_GB", "5 December 2026")]
)
def test_dates_in_mail_are_written_for_the_locale_given(locale: str, said: str) -> None:
    subject, text, html = emails.render(
        "expiry",
        locale=locale,
        link="https://badges.example.org/credentials/1",
        recipient_name="Ann",
        issuer_name="District 7",
        issuer_email=None,
        achievement_name="Exit Tickets",
        expires=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
    )
    assert subject == f"“Exit Tickets” from District 7 expires on {said}"
    assert f"expires on {said}." in text and f"expires on {said}." in html


def test_the_thread_pool_queues_a_waiting_job_once_and_a_started_one_again() -> None:
    """Every award asks for ``deliver_email``: while one such run waits unstarted it does the
    work of all the asks; once it has started, a new ask queues another run (it may have passed
    the new mail), and jobs with other arguments are queued apart."""
    import threading

    started = threading.Event()
    release = threading.Event()
    runs: list[tuple[str, tuple[Any, ...]]] = []

    def perform(name: str, args: tuple[Any, ...]) -> None:
        runs.append((name, args))
        if name == "block":
            started.set()
            release.wait(10)

    runner = ThreadPoolRunner(perform, workers=1)
    runner.submit("block")
    assert started.wait(10)  # the one thread is busy: what follows waits in the queue
    for _ in range(5):
        runner.submit("deliver_email")
    runner.submit("run_bulk_job", "a")
    runner.submit("run_bulk_job", "b")
    runner.submit("run_bulk_job", "a")
    release.set()
    done = threading.Event()
    runner.submit("done")
    runner.submit("block")  # started before: may run again
    runner._pool.submit(done.set)  # type: ignore[union-attr]  (after everything queued)
    assert done.wait(10)
    assert runs == [("block", ()), ("deliver_email", ()), ("run_bulk_job", ("a",)),
                    ("run_bulk_job", ("b",)), ("done", ()), ("block", ())]  # fmt: skip


def test_rq_queues_a_waiting_job_without_arguments_once_until_it_starts(
    redis_url: str,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every batch of awards asks for ``deliver_email``: while one waits unstarted in Redis,
    asking again is one ``SET NX`` and queues nothing; once a worker starts it (and deletes
    the marker), the next ask queues another. Jobs with arguments are always queued."""
    import app.wiring
    import app.worker
    from app.infrastructure.jobs import QUEUE_NAME, waiting_key

    runner = RqRunner(redis_url)
    for _ in range(5):
        runner.submit("deliver_email")
    runner.submit("run_bulk_job", "a")
    runner.submit("run_bulk_job", "a")
    queue = runner.queue()
    queued = [job.args for job in queue.get_jobs()]
    assert queued == [("deliver_email",), ("run_bulk_job", "a"), ("run_bulk_job", "a")]
    connection = runner.connection()
    assert 0 < connection.ttl(waiting_key("deliver_email")) <= RqRunner.WAITING_FOR

    class Started:
        """What ``rq.get_current_job`` gives the entry point inside a worker."""

        def __init__(self) -> None:
            self.connection = connection

    ran: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr("rq.get_current_job", lambda: Started())
    monkeypatch.setattr(app.wiring, "perform", lambda name, *args: ran.append((name, args)))
    monkeypatch.setattr(app.worker, "_app", Flask("worker"))
    app.worker.perform_job("deliver_email")
    assert ran == [("deliver_email", ())]
    assert not connection.exists(waiting_key("deliver_email"))
    runner.submit("deliver_email")
    assert [job.args for job in queue.get_jobs()][-1] == ("deliver_email",)
    assert queue.count == 4
    assert QUEUE_NAME in waiting_key("deliver_email")


def test_a_worker_gathers_mail_for_a_run_soon_after_its_last(
    redis_url: str,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under load every batch of awards asks for a mail run: a worker starts one at once when
    its last ended long ago, and otherwise first waits until ``MAIL_GATHER`` seconds have
    passed since then, its marker still standing meanwhile, so the batches committed during
    the wait queue no run of their own and the next run takes all their mail. Other jobs
    never wait."""
    import app.wiring
    import app.worker
    from app.infrastructure.jobs import waiting_key

    runner = RqRunner(redis_url)
    connection = runner.connection()
    queue = runner.queue()

    class Started:
        def __init__(self) -> None:
            self.connection = connection

    clock = [1000.0]
    ran: list[tuple[str, tuple[Any, ...], float]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        # While the run waits, its marker stands: another batch's ask queues nothing.
        assert connection.exists(waiting_key("deliver_email"))
        runner.submit("deliver_email")
        slept.append(seconds)
        clock[0] += seconds

    def perform(name: str, *args: Any) -> None:
        ran.append((name, args, clock[0]))
        if name == "deliver_email":
            clock[0] += 0.01  # the run itself

    monkeypatch.setattr("rq.get_current_job", lambda: Started())
    monkeypatch.setattr(app.wiring, "perform", perform)
    monkeypatch.setattr(app.worker, "_app", Flask("worker"))
    monkeypatch.setattr(app.worker, "_mail_ended", float("-inf"))
    monkeypatch.setattr(app.worker.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(app.worker.time, "sleep", sleep)

    runner.submit("deliver_email")
    app.worker.perform_job("deliver_email")  # the first run: at once
    assert slept == [] and ran == [("deliver_email", (), 1000.0)]
    assert not connection.exists(waiting_key("deliver_email"))

    runner.submit("deliver_email")
    clock[0] += 0.05
    app.worker.perform_job("run_bulk_job", "a")  # other jobs never wait
    app.worker.perform_job("deliver_webhooks")
    assert slept == []
    queued = queue.count
    app.worker.perform_job("deliver_email")  # 0.05 s after the last run ended
    assert slept == [pytest.approx(app.worker.MAIL_GATHER - 0.05)]
    assert queue.count == queued  # the ask made while it waited queued no second run
    assert ran[-1] == ("deliver_email", (), pytest.approx(1000.01 + app.worker.MAIL_GATHER))
    assert not connection.exists(waiting_key("deliver_email"))

    clock[0] += app.worker.MAIL_GATHER + 1  # long after: at once again
    app.worker.perform_job("deliver_email")
    assert len(slept) == 1
