"""A second Cairn instance for the consumer tests: a real HTTP server on 127.0.0.1 (a thread)
with its own SQLite database and keys, the OB 3.0 host Cairn connects to. Its verifier reaches
the first instance's documents (DID, status lists) through that instance's test client, since
neither may touch the internet."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from app.services.org import account_sessions
from app.wiring import _KEY, utcnow
from tests.app.conftest import BASE_URL


@dataclass
class SecondInstance:
    """The host: its application, origin and a browser-like client of its own."""

    app: Flask
    origin: str
    client: FlaskClient

    @property
    def discovery_url(self) -> str:
        return f"{self.origin}/ims/ob/v3p0/discovery"

    @property
    def allowed(self) -> str:
        """Its ``host:port``, for the first instance's ``OB_HOSTS_ALLOWED``."""
        return self.origin.removeprefix("http://")

    def sign_in(self, educator_id: int) -> None:
        """Sign the client in as an educator of this instance (a live server-side session)."""
        with self.app.app_context():
            started = account_sessions.start(
                "educator", educator_id, user_agent="pytest", now=utcnow(),
                lifetime=timedelta(hours=12),
            )  # fmt: skip
        with self.client.session_transaction(base_url=self.origin) as session:
            session["educator_id"] = educator_id
            session["educator_session"] = started.token
            session.permanent = True

    def consent(self, authorize_url: str, decision: str = "allow") -> TestResponse:
        """Open the consent page as the signed-in educator and answer it."""
        assert authorize_url.startswith(self.origin), authorize_url
        page = self.client.get(authorize_url[len(self.origin) :], base_url=self.origin)
        assert page.status_code == 200, page.get_data(as_text=True)[:500]
        html = page.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        action = re.search(r'<form method="post" action="([^"]+)" class="actions"', html)
        assert token and action
        return self.client.post(
            action.group(1).replace("&amp;", "&"),
            data={"csrf_token": token.group(1), "decision": decision},
            base_url=self.origin,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fetch_from(first: Flask) -> Any:
    def fetch(url: str) -> bytes:
        if not url.startswith(BASE_URL + "/"):
            raise OSError(f"not the first instance's URL: {url}")
        with first.app_context():
            answer = first.test_client().get(url[len(BASE_URL) :], base_url=BASE_URL)
            db.session.remove()
        if answer.status_code != 200:
            raise OSError(f"{url} answered {answer.status_code}")
        return answer.data

    return fetch


@contextmanager
def second_instance(first: Flask, directory: Path) -> Iterator[SecondInstance]:
    """Serve another Cairn on 127.0.0.1 and allow the first instance to call it."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    directory.mkdir(parents=True, exist_ok=True)
    host = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": f"sqlite:///{directory / 'host.sqlite3'}",
            "KEYS_DIR": str(directory / "keys"),
            "BASE_URL": origin,
            "JOBS_INLINE": True,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(directory / "outbox"),
            "KEY_KDF_FOR_TESTS": True,
        }
    )
    with host.app_context():
        db.create_all()
    host.extensions[_KEY].fetcher = _fetch_from(first)
    server = make_server("127.0.0.1", port, host, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    first.config["OB_HOSTS_ALLOWED"] = f"127.0.0.1:{port}"
    try:
        yield SecondInstance(host, origin, host.test_client())
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with host.app_context():
            db.session.remove()
            db.engine.dispose()
