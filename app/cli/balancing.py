"""``cairn serve``'s gunicorn worker: gthread, taking new connections only while it holds no more
than the least loaded of its sibling workers plus one, so kept-alive connections are spread evenly.

gthread workers share one listening socket and each takes whatever connection it wakes up for
first. A client that keeps its connections alive (a proxy, a load generator, a busy app) stays
with the worker that took them, and on the 2-core machine one worker was seen taking all 8 of 8
connections, or 62 and 64 of 64, leaving the other worker (and its core) idle: half the
throughput, and each request queued behind its neighbours in the busy worker's one Python
interpreter. Which way a burst of connections fell decided whether a run passed.

Each worker also hands Python's lock between its threads every millisecond rather than every
5 (``sys.setswitchinterval``): a thread back from I/O (a database read, the next request handed
over by gthread's poller thread) otherwise waits up to 5 ms for a busy thread to let go, several
times a request; at 8 connections that was the tail of ``/api/verify`` (p99 37-45 ms, max
119-136 ms, against 30-31 ms and 62-71 ms at 1 ms; load average 9-10).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import sys
import time
from multiprocessing.sharedctypes import RawArray
from typing import Any, ClassVar

from gunicorn.workers.gthread import ThreadWorker

#: A worker whose entry is older than this is not counted (stopped, stuck, or gone): the others
#: then take connections as plain gthread workers do. Every worker's loop writes its entry at
#: least once a second (gthread's poll timeout).
STALE_SECONDS = 3.0
#: How often a worker that has stopped taking connections looks again at the others' counts when
#: nothing happens on its own connections (gthread's own loop waits up to a second), so that a
#: connection never waits long in the listening socket's queue for a worker to take it.
RECHECK_SECONDS = 0.02
#: How long a thread runs before Python offers its lock to another waiting thread (5 ms by
#: default).
SWITCH_INTERVAL = 0.001


class Board:
    """Each worker's open connections and when it last wrote them, in memory shared by the
    processes gunicorn forks (made before the fork)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        # For each slot: connections, monotonic time of the last write (0: free).
        self._cells: Any = RawArray(ctypes.c_double, 2 * slots)
        self._claiming = multiprocessing.Lock()

    def claim(self, now: float) -> int | None:
        """A free slot for this worker (None when every slot is taken: it then runs unbalanced)."""
        with self._claiming:
            for slot in range(self.slots):
                stamp = self._cells[2 * slot + 1]
                if stamp == 0.0 or now - stamp > STALE_SECONDS:
                    self._cells[2 * slot] = 0.0
                    self._cells[2 * slot + 1] = now
                    return slot
        return None

    def write(self, slot: int, connections: int, now: float) -> None:
        """A worker's own count."""
        self._cells[2 * slot] = connections
        self._cells[2 * slot + 1] = now

    def release(self, slot: int) -> None:
        """A stopping worker's slot: no longer counted, free for the next."""
        self._cells[2 * slot + 1] = 0.0

    def least_of_others(self, slot: int, now: float) -> int | None:
        """The fewest connections any other live worker holds (None: no other live worker)."""
        cells = self._cells[:]
        oldest = now - STALE_SECONDS
        counts = [
            int(cells[2 * other])
            for other in range(self.slots)
            if other != slot and cells[2 * other + 1] != 0.0 and cells[2 * other + 1] >= oldest
        ]
        return min(counts) if counts else None


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with gthread's ``worker_connections`` limit lowered, while another worker is
    alive, to one more than the least loaded other worker holds: the workers take turns
    accepting. And :data:`SWITCH_INTERVAL`. Nothing else of gthread changes (requests,
    keep-alive, shutdown)."""

    #: Set on the subclass :func:`worker_class` makes, before gunicorn forks the workers.
    board: ClassVar[Board]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before gthread's __init__, which sets both counters.
        self._slot: int | None = None
        self._connections = 0
        self._configured_limit = 0
        super().__init__(*args, **kwargs)

    @property
    def nr_conns(self) -> int:
        """gthread's count of this worker's open connections, published on the board."""
        return self._connections

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._connections = value
        # A stopping worker has left the board (its count falling to 0 must not hold the others).
        slot = self._slot  # read once: a signal handler may clear it meanwhile
        if slot is not None and self.alive:
            self.board.write(slot, value, time.monotonic())

    @property
    def worker_connections(self) -> int:
        """Read by gthread's loop on every turn to decide whether to accept: the configured
        limit, or one more than the least loaded other worker holds when that is lower."""
        slot = self._slot
        if slot is None:
            return self._configured_limit
        now = time.monotonic()
        self.board.write(slot, self._connections, now)
        least = self.board.least_of_others(slot, now)
        if least is None:
            return self._configured_limit
        return min(self._configured_limit, least + 1)

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._configured_limit = value

    def init_process(self) -> None:
        # In the forked worker (gunicorn builds the worker object in the master).
        self._slot = self.board.claim(time.monotonic())
        sys.setswitchinterval(SWITCH_INTERVAL)
        super().init_process()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._leave()

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._leave()

    def _leave(self) -> None:
        slot, self._slot = self._slot, None
        if slot is not None:
            self.board.release(slot)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # A worker that is not accepting wakes up soon to look at the others' counts again.
        if not self._accepting and self.alive:
            timeout = min(timeout, RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)


def worker_class(workers: int) -> type[BalancedThreadWorker]:
    """The worker class for one server of ``workers`` processes, with its board (room for as
    many again, for workers started while others stop)."""
    return type(
        "BalancedThreadWorker",
        (BalancedThreadWorker,),
        {"board": Board(max(2 * workers, 2)), "__module__": __name__},
    )
