"""Browser-test fixtures: a real ``cairn serve`` on a free port with its own SQLite database, and
Debian's Chromium driven by Playwright (sync API).

* ``site`` (session): migrates a temporary database, seeds it with the ``cairn`` commands in a
  subprocess (a staff account, an issuer, an achievement, a valid and a revoked credential) and
  serves it with ``cairn serve`` (gunicorn) on 127.0.0.1. Stopped and deleted after the session.
* ``browser`` (session): Chromium at ``/usr/bin/chromium`` (Playwright cannot download its own
  browser here), headless.
* ``page``: a fresh desktop-sized context and page per test; ``new_page(**context_options)``
  for phones, JavaScript off or axe runs.
* ``shot(page, name)``: saves a full-page screenshot under ``$CAIRN_SCREENSHOTS`` (default
  ``/tmp/cairn-screenshots``), outside the repository.
* ``cairn_commands(site, ...)``: more ``cairn`` commands against the running instance's database
  (one process for all of them), for tests that seed more than the session does.

Nothing here touches the internet: the server's base URL is its own loopback address, so every
DID document and status list a verification needs is answered from its own database.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(os.environ.get("CAIRN_SCREENSHOTS") or "/tmp/cairn-screenshots")
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct horse battery staple"
STAFF_EMAIL = "tess@example.org"
#: The revocation's internal note (staff and the audit log) and its public reason (the page).
REVOKE_NOTE = "Awarded in error: the workshop was not completed"
REVOKE_REASON = "Issued in error"
_START_TIMEOUT = 40.0
_CLI_TIMEOUT = 120.0


@dataclass(frozen=True)
class Site:
    """The running instance and what was seeded into it."""

    base_url: str
    workdir: Path
    issuer_slug: str
    issuer_name: str
    achievement_id: str
    achievement_name: str
    valid_id: str
    revoked_id: str
    staff_email: str = STAFF_EMAIL
    password: str = PASSWORD
    revoke_reason: str = REVOKE_REASON
    revoke_note: str = REVOKE_NOTE

    def url(self, path: str) -> str:
        """An absolute URL on this instance."""
        return self.base_url + path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cairn_executable() -> str:
    """The `cairn` command of this virtualenv (or on PATH)."""
    found = Path(sys.executable).with_name("cairn")
    return str(found) if found.exists() else shutil.which("cairn") or "cairn"


# The seeding runs the ``cairn`` commands one after the other in one Python process (through the
# CLI's own ``main``, arguments and all): a fresh process per command would spend ~2 s on imports
# each. It says "migrated" once the schema exists, so the server can start meanwhile, and ends
# with one JSON line of what it made.
SEED_SCRIPT = """
import contextlib, io, json, sys
from app.cli import main

def run(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(argv))
    if status:
        sys.exit(f"cairn {' '.join(argv)} exited with {status}")
    return out.getvalue()

plan = json.loads(sys.argv[1])
run("db", "upgrade")
print("migrated", flush=True)
sys.stdin = io.StringIO(plan["password"] + "\\n")
run(*plan["staff"])
run(*plan["issuer"])
achievement = run(*plan["achievement"]).strip()
ids = []
for award in plan["awards"]:
    document = run(*award, "--achievement", achievement)
    ids.append(json.loads(document)["id"].rsplit("/", 1)[-1])
run("revoke", ids[1], "--reason", plan["note"], "--public-reason", "issued_in_error")
print(json.dumps({"achievement_id": achievement, "valid_id": ids[0], "revoked_id": ids[1]}))
"""
SEED_PLAN = {
    "password": PASSWORD,
    "note": REVOKE_NOTE,
    "staff": ["staff", "create", "--email", STAFF_EMAIL, "--name", "Tess Teacher", "--password-stdin"],
    "issuer": [
        "issuers", "create",
        "--name", "North District Professional Learning",
        "--slug", "north",
        "--url", "https://north.example.org",
        "--email", "pd@north.example.org",
        "--description", "Professional learning for the teachers of the North District.",
        "--owner", STAFF_EMAIL,
    ],
    "achievement": [
        "achievements", "create",
        "--issuer", "north",
        "--name", "Formative Assessment in Practice",
        "--description", "Designs and uses formative assessment to adapt teaching.",
        "--criteria", "Completed the six-week course and submitted a **classroom portfolio**.",
        "--outcome", "Plans hinge questions",
        "--credits", "12",
        "--valid-days", "730",
    ],
    "awards": [
        [
            "award", "--issuer", "north", "--recipient", email, "--name", name,
            "--narrative", "Portfolio reviewed by the district coach.",
            "--evidence", "https://north.example.org/portfolios/42",
            "--json", "--no-email",
        ]
        for email, name in (("ann@example.org", "Ann Example"), ("bob@example.org", "Bob Example"))
    ],
}  # fmt: skip


# More commands against a running instance, in one process like the seeding: each item of the
# JSON list is ``[argv, stdin]``; it prints one JSON list of what each command printed.
COMMANDS_SCRIPT = """
import contextlib, io, json, sys
from app.cli import main

outputs = []
for argv, stdin in json.loads(sys.argv[1]):
    sys.stdin = io.StringIO(stdin)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    if status:
        sys.exit(f"cairn {' '.join(argv)} exited with {status}")
    outputs.append(out.getvalue())
print(json.dumps(outputs))
"""


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"cairn serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"cairn serve did not answer {url} within {_START_TIMEOUT} s:\n{log.read_text(errors='replace')[-4000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    # gunicorn's arbiter forks workers: signal the whole process group, which we own.
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _instance_env(workdir: Path, base_url: str) -> dict[str, str]:
    """The environment ``cairn serve`` and every ``cairn`` command of the instance run with."""
    env = {
        **os.environ,
        "CAIRN_ENV": "testing",
        "CAIRN_DATABASE_URL": f"sqlite:///{workdir / 'cairn.sqlite3'}",
        # Not "keys": the seeding runs `python -c` in workdir, where a keys/ folder would shadow
        # the `keys` package.
        "CAIRN_KEYS_DIR": str(workdir / "issuer-keys"),
        "CAIRN_BASE_URL": base_url,
        "CAIRN_SECRET_KEY": "browser-tests-secret-key-not-a-real-one",
        "CAIRN_KEY_PASSPHRASE": "browser-tests-key-passphrase",
        "CAIRN_OUTBOX_DIR": str(workdir / "outbox"),
        "CAIRN_JOBS_INLINE": "true",
        "CAIRN_RATELIMIT_ENABLED": "false",
        # Webhook receivers the browser tests start on this machine (any port of the loopback).
        "CAIRN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        # OB 3.0 hosts on this machine: the instance pushes to itself in the browser test.
        "CAIRN_OB_HOSTS_ALLOWED": "127.0.0.1",
        # gunicorn's control socket defaults to one path per user; keep this server's apart.
        "XDG_RUNTIME_DIR": str(workdir),
    }
    for name in ("CAIRN_REDIS_URL", "CAIRN_SMTP_HOST"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    """A seeded instance served by ``cairn serve`` (gunicorn), for the whole session."""
    workdir = Path(tempfile.mkdtemp(prefix="cairn-browser-"))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = _instance_env(workdir, base_url)
    log = workdir / "serve.log"
    process: subprocess.Popen[bytes] | None = None
    seeding: subprocess.Popen[str] | None = None
    try:
        # The working directory is the temporary one, so nothing lands in the repository.
        seeding = subprocess.Popen(
            [sys.executable, "-c", SEED_SCRIPT, json.dumps(SEED_PLAN)],
            env=env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert seeding.stdout is not None
        first = seeding.stdout.readline()
        if first.strip() != "migrated":
            _, errors = seeding.communicate(timeout=_CLI_TIMEOUT)
            raise RuntimeError(f"cairn db upgrade failed:\n{first}{errors}")
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    cairn_executable(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "2",
                ],
                env=env,
                cwd=workdir,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        output, errors = seeding.communicate(timeout=_CLI_TIMEOUT)
        if seeding.returncode != 0:
            raise RuntimeError(f"seeding with the cairn commands failed:\n{errors}")
        seeded = json.loads(output.strip().splitlines()[-1])
        _wait_until_serving(process, base_url + "/verify", log)
        yield Site(
            base_url=base_url,
            workdir=workdir,
            issuer_slug="north",
            issuer_name="North District Professional Learning",
            achievement_name="Formative Assessment in Practice",
            **seeded,
        )
    finally:
        if seeding is not None and seeding.poll() is None:
            seeding.kill()
            seeding.communicate()
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(site: Site) -> Iterator[Browser]:
    """Headless Chromium for the session. It needs ``site`` so that it closes first: gunicorn's
    graceful stop would otherwise wait on the browser's keep-alive connections."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`make test` does it)", pytrace=False
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Make pages in fresh contexts (``new_page(viewport=…, java_script_enabled=False)``); every
    context is closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> Page:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A desktop-sized page with JavaScript on."""
    return new_page()


def save_screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot named ``name`` for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, name)``: a full-page screenshot under ``$CAIRN_SCREENSHOTS``."""
    return save_screenshot


def cairn_commands(site: Site, *commands: list[str] | tuple[list[str], str]) -> list[str]:
    """Run ``cairn`` commands against ``site``'s database and keys, one after the other in one
    process; each is an argument list, or ``(arguments, stdin)``. Returns what each printed.

    :raises RuntimeError: when one of them fails (with its error output).
    """
    plan = [[list(c), ""] if isinstance(c, list) else [list(c[0]), c[1]] for c in commands]
    completed = subprocess.run(
        [sys.executable, "-c", COMMANDS_SCRIPT, json.dumps(plan)],
        env=_instance_env(site.workdir, site.base_url),
        cwd=site.workdir,
        capture_output=True,
        text=True,
        timeout=_CLI_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"cairn commands failed:\n{completed.stderr[-4000:]}")
    outputs: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return outputs


def assert_counted_linkedin(page: Page, site: Site, link: Locator, credential_id: str) -> None:
    """An "Add to LinkedIn" link goes through Cairn's click counter, never straight to
    linkedin.com, and the counter sends the browser on to LinkedIn's pre-filled form for this
    credential (read from its ``Location``: nothing is fetched from LinkedIn)."""
    href = link.get_attribute("href")
    assert href == f"/credentials/{credential_id}/linkedin", href
    onward = page.request.get(site.url(href), max_redirects=0)
    assert onward.status == 302
    target = urlsplit(onward.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "www.linkedin.com",
        "/profile/add",
    )
    assert parse_qs(target.query)["certId"] == [credential_id]
