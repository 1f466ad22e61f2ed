"""Prometheus metrics counted in the process where things happen (requests, verifications),
with the maintained ``prometheus_client`` library.

Under ``cairn serve`` (gunicorn, several worker processes) ``PROMETHEUS_MULTIPROC_DIR`` is set
before this module is first imported, so each worker writes its counts to a file there and
``/metrics`` adds every worker's up (``prometheus_client``'s multiprocess mode). Figures that
must be the same whichever process or machine answers (credentials issued, job progress, queue
depth) are not counted here: :mod:`app.ops` reads them from the database and Redis at each
scrape.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

#: Latency buckets in seconds: most pages answer in milliseconds, a bulk upload in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "cairn_http_requests",
    "HTTP requests answered, by route endpoint, method and status.",
    ("endpoint", "method", "status"),
)
REQUEST_SECONDS = Histogram(
    "cairn_http_request_duration_seconds",
    "Time to answer an HTTP request, by route endpoint, method and status.",
    ("endpoint", "method", "status"),
    buckets=BUCKETS,
)
VERIFICATIONS = Counter(
    "cairn_verifications",
    "Credentials and learning records verified, by outcome "
    "(valid, issuer_not_confirmed, not_valid).",
    ("outcome", "kind"),
)


def multiprocess_dir() -> str | None:
    """The folder worker processes write their counts to, when in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """A registry holding what this process (or, in multiprocess mode, every process sharing
    the folder) counted."""
    from prometheus_client import REGISTRY

    folder = multiprocess_dir()
    if folder is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return registry


def count_verification(outcome: str, kind: str = "credential") -> None:
    """Count one verification."""
    VERIFICATIONS.labels(outcome=outcome, kind=kind).inc()


def count_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its time."""
    # The label values in the metrics' own order (endpoint, method, status): prometheus_client
    # checks keyword labels' names on every call, a quarter of this function's time on a
    # credential's JSON, the cheapest request Cairn answers.
    code = str(status)
    REQUESTS.labels(endpoint, method, code).inc()
    REQUEST_SECONDS.labels(endpoint, method, code).observe(seconds)


def enable_multiprocess(folder: str) -> None:
    """Count in ``folder``, shared by every process started from this one (gunicorn's workers),
    from now on. ``prometheus_client`` chooses how values are kept when it is first imported,
    and Cairn's modules import it before ``cairn serve`` knows it will fork; the choice is made
    again here, before any labelled value exists (each is created on first use)."""
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        # Values counted in memory before now (none, normally) are dropped: they would be
        # missing from every scrape anyway. (Already in multiprocess mode: nothing to drop.)
        # prometheus_client refuses to clear while the variable names a folder.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        for metric in (REQUESTS, REQUEST_SECONDS, VERIFICATIONS):
            metric.clear()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def process_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (gunicorn's ``child_exit``); its counts stay."""
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]
