"""``cairn serve``: the application is built, and what it loaded put beyond the garbage
collector's full scans, before gunicorn starts (and forks) its workers."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from prometheus_client import values

from app.cli import balancing, main
from app.services.delivery import analytics
from tests.app.conftest import BASE_URL


class Untouchable:
    """Fails on any use: what a logger that builds no access line may be handed."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the access logger read {name}")

    def __getitem__(self, key: str) -> Any:
        raise AssertionError(f"the access logger read {key}")


def test_serve_freezes_what_it_loaded_before_gunicorn_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "CAIRN_ENV": "testing",
        "CAIRN_BASE_URL": BASE_URL,
        "CAIRN_DATABASE_URL": f"sqlite:///{tmp_path / 'cairn.sqlite3'}",
        "CAIRN_KEYS_DIR": str(tmp_path / "keys"),
        "CAIRN_OUTBOX_DIR": str(tmp_path / "outbox"),
    }.items():
        monkeypatch.setenv(name, value)
    # serve counts metrics in this folder (emptied first), shared by the workers it forks.
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    seen: dict[str, Any] = {}

    def run(server: BaseApplication) -> None:
        # The server loop is not under test: record what its workers would be forked with.
        seen["frozen"] = gc.get_freeze_count()
        seen["app"] = server.load()
        seen["threads"] = server.cfg.threads
        seen["worker_class"] = server.cfg.worker_class
        seen["child_exit"] = server.cfg.child_exit
        seen["worker_exit"] = server.cfg.worker_exit
        seen["accesslog"] = server.cfg.accesslog
        seen["logconfig"] = server.cfg.logconfig_dict
        seen["logger_class"] = server.cfg.logger_class

    monkeypatch.setattr(BaseApplication, "run", run)
    assert gc.get_freeze_count() == 0
    original = values.ValueClass
    try:
        status = main(["serve", "--port", "0", "--workers", "1"])
        multiprocess = getattr(values.ValueClass, "_multiprocess", False)
    finally:
        gc.unfreeze()
        # serve switched this process's metrics to the shared folder: switch them back.
        values.ValueClass = original
    assert multiprocess and not (metrics_dir / "counter_1.db").exists()
    assert seen["accesslog"] is None  # Cairn's own request log replaces gunicorn's
    assert seen["logconfig"]["root"]["handlers"] == ["cairn"]
    # ... nor any of its work: its access() builds nothing (these arguments break on any use),
    # while gunicorn's own logger's other duties stay its own.
    assert issubclass(seen["logger_class"], glogging.Logger)
    assert seen["logger_class"].access is not glogging.Logger.access
    untouchable = Untouchable()
    seen["logger_class"].access(cast(Any, None), untouchable, untouchable, untouchable, untouchable)
    assert status == 0
    assert isinstance(seen["app"], Flask)
    assert seen["threads"] == 8  # the default: a worker takes eight requests at once
    # gthread, the workers taking turns accepting (tests/app/cli/test_balancing.py).
    assert issubclass(seen["worker_class"], balancing.BalancedThreadWorker)
    assert seen["worker_class"].board.slots == 2
    # Everything alive when the application was built (the test process included) is frozen.
    assert seen["frozen"] > 50_000
    try:
        assert main(["serve", "--port", "0", "--workers", "1", "--threads", "3"]) == 0
    finally:
        gc.unfreeze()
        values.ValueClass = original
    assert seen["threads"] == 3
    # A worker that exits writes the page views it still holds in memory first.
    flushed: list[bool] = []
    monkeypatch.setattr(analytics, "flush_pending", lambda: flushed.append(True) or 0)
    seen["worker_exit"](None, None)
    assert flushed == [True]
