"""``cairn serve``'s gunicorn worker (``app/cli/balancing.py``): the workers take turns accepting
connections, so kept-alive connections are spread evenly, and each runs a 1 ms switch interval."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gunicorn.config import Config

from app.cli import balancing
from app.cli.balancing import STALE_SECONDS, BalancedThreadWorker, Board

ROOT = Path(__file__).resolve().parents[3]


def test_the_board_counts_live_workers_other_than_the_asker() -> None:
    board = Board(4)
    first, second, third = (board.claim(100.0) for _ in range(3))
    assert sorted([first, second, third]) == [0, 1, 2]  # type: ignore[type-var]
    assert first is not None and second is not None and third is not None
    board.write(first, 5, 100.0)
    board.write(second, 2, 100.0)
    board.write(third, 7, 100.0)
    assert board.least_of_others(first, 100.5) == 2
    assert board.least_of_others(second, 100.5) == 5
    # A worker that stopped writing (stuck, killed) is no longer counted, and its slot is free.
    assert board.least_of_others(first, 100.0 + STALE_SECONDS + 1) is None
    board.write(third, 7, 104.0)
    assert board.least_of_others(first, 104.5) == 7
    assert board.claim(104.5) not in (None, third)
    # A stopping worker leaves at once.
    board.release(third)
    assert board.least_of_others(first, 104.5) is None
    full = Board(1)
    assert full.claim(1.0) == 0 and full.claim(1.5) is None


@pytest.fixture
def workers() -> Iterator[list[BalancedThreadWorker]]:
    made: list[BalancedThreadWorker] = []
    yield made
    for each in made:  # what gthread opens when it builds a worker (its pipe, its tmp file)
        each.method_queue.close()
        each.tmp.close()


def worker(
    cls: type[BalancedThreadWorker], age: int, made: list[BalancedThreadWorker]
) -> BalancedThreadWorker:
    config = Config()
    config.set("threads", 8)
    made.append(cls(age, os.getpid(), [], None, 30, config, logging.getLogger("test")))
    return made[-1]


def test_a_worker_accepts_while_it_holds_no_more_than_the_least_loaded_other_plus_one(
    workers: list[BalancedThreadWorker],
) -> None:
    cls = balancing.worker_class(2)
    one, two = worker(cls, 1, workers), worker(cls, 2, workers)
    configured = Config().worker_connections
    # Alone (before the fork, or the other worker not started): gthread's own limit.
    assert one.worker_connections == configured
    one._slot = cls.board.claim(time.monotonic())
    assert one.worker_connections == configured
    two._slot = cls.board.claim(time.monotonic())
    one.nr_conns = 3
    two.nr_conns = 1
    # gthread's loop accepts while nr_conns < worker_connections.
    assert (one.nr_conns < one.worker_connections, two.nr_conns < two.worker_connections) == (
        False,
        True,
    )
    two.nr_conns = 3
    assert one.nr_conns < one.worker_connections and two.nr_conns < two.worker_connections
    two.nr_conns = 4
    assert one.nr_conns < one.worker_connections
    assert not two.nr_conns < two.worker_connections
    # A stopping worker's falling count does not hold the other back.
    two._leave()
    two.nr_conns = 0
    assert one.worker_connections == configured


APP = """
import os, sys, json

def app(environ, start_response):
    body = json.dumps([os.getpid(), sys.getswitchinterval()]).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
"""
CONFIG = """
from app.cli import balancing
worker_class = balancing.worker_class(2)
"""


def ask(sock: socket.socket) -> list[float]:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(4096)
    answer: list[float] = json.loads(body)
    return answer


@pytest.mark.skipif(sys.platform != "linux", reason="gunicorn's workers fork")
def test_kept_alive_connections_are_spread_over_the_workers(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(APP)
    (tmp_path / "conf.py").write_text(CONFIG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(tmp_path / "conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
         "--pythonpath", str(tmp_path), "tiny:app"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # Both workers up: answers from two processes on fresh connections.
        deadline = time.monotonic() + 30
        seen: set[float] = set()
        while len(seen) < 2 and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    seen.add(ask(sock)[0])
            except OSError:
                time.sleep(0.1)
        assert len(seen) == 2, "gunicorn did not start two workers"
        time.sleep(STALE_SECONDS)  # the probes' connections closed and counted off
        for _ in range(3):
            # A burst of connections, all in the listening socket's queue before any is taken.
            sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
            try:
                answers = [ask(sock) for sock in sockets]
                # Kept alive: each connection stays with the worker that took it.
                assert [ask(sock)[0] for sock in sockets] == [a[0] for a in answers]
            finally:
                for sock in sockets:
                    sock.close()
            per_worker = sorted(
                sum(1 for a in answers if a[0] == pid) for pid in {a[0] for a in answers}
            )
            assert len(per_worker) == 2 and per_worker[1] - per_worker[0] <= 4, per_worker
            assert {a[1] for a in answers} == {balancing.SWITCH_INTERVAL}
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
