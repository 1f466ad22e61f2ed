"""gunicorn settings for ``bench/bare_flask.py``: the worker ``cairn serve`` runs (gthread, the
workers taking turns accepting, a 1 ms switch interval), so the baseline has the same server."""

from __future__ import annotations

import os

from app.cli import balancing

workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = balancing.worker_class(workers)
