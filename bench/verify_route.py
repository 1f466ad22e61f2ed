"""Where the CPU time of ``POST /api/verify`` on a baked PNG goes, in-process (on demand).

Run with ``.venv/bin/python bench/verify_route.py [--n 300]``. It builds a throw-away instance
(SQLite in a temporary directory, an issuer, an achievement, one award), posts the award's baked
``badge.png`` to ``/api/verify`` through Flask's test client ``n`` times, and prints the CPU time
(``time.thread_time``: load on the other core barely changes it) of the request and of its
parts: the verifier and, inside it, canonicalisation, the Ed25519 proof checks, the JSON Schema
check and unbaking; the database reads of the local fetcher (DID document, status list) and of
the credential's own record; the analytics count. ``bench/serving.py`` measures the same request
under gunicorn and wrk (requests/s, p99); this says what each one costs. Benchmarks report;
they never fail on slow numbers.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import importlib
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _instance import BASE_URL, make_issuer_and_achievement, settings

_SERVICE = "app.services.verification.verifier"
_FETCHER = _SERVICE + ".LocalFirstFetcher"
#: What is timed: (label, module path, attribute). Indented parts run inside the verifier.
PARTS = (
    ("verifier (credentials.verify_credential)", _SERVICE, "verify_credential"),
    ("  canonicalise (credential; list when new)", "credentials.verify.checks", "canonize"),
    ("  proofs given the canonical form", "credentials.proofs.data_integrity", "verify_proof"),
    ("  JSON Schema", "credentials.schema", "judge_schema"),
    ("  unbake the PNG", "credentials.baking", "unbake"),
    ("  local fetches (DID document, status list)", _FETCHER, "local"),
    ("the credential's own record", _FETCHER, "own_state"),
    (
        "a kept verdict's dependency read (one query)",
        "app.services.verification.reuse",
        "dependency_key",
    ),
    ("the analytics count (upsert, commit)", "app.services.delivery.analytics", "record"),
)


def _resolve(path: str) -> Any:
    """A module, or a class inside one, by dotted path."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


@contextlib.contextmanager
def timing(spent: collections.Counter[str]) -> Iterator[None]:
    """Wrap every part of :data:`PARTS` to add its CPU time to ``spent``; undo afterwards."""
    undo: list[tuple[Any, str, Any]] = []
    for label, owner_path, name in PARTS:
        owner = _resolve(owner_path)
        original = getattr(owner, name, None)
        if original is None:
            continue  # an older revision without this part (run against main to compare)

        def timed(
            *args: Any, _fn: Callable[..., Any] = original, _label: str = label, **kw: Any
        ) -> Any:
            start = time.thread_time()
            try:
                return _fn(*args, **kw)
            finally:
                spent[_label] += time.thread_time() - start

        setattr(owner, name, timed)
        undo.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the table; 0 unless something broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=300, help="timed requests (300)")
    parser.add_argument(
        "--no-reuse",
        action="store_true",
        help="verify every request in full (no kept verdict): the figure before reuse",
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed part")
    args = parser.parse_args(argv)

    from app import create_app
    from app.extensions import db
    from app.public import verdicts
    from app.services.awarding import issuing
    from app.services.awarding.issuing import AwardInput
    from app.services.org.audit import Actor
    from app.wiring import service_env

    workdir = Path(tempfile.mkdtemp(prefix="cairn-bench-verify-"))
    try:
        application = create_app(
            settings(
                f"sqlite:///{workdir / 'cairn.sqlite3'}", workdir / "keys", signing_processes=1
            )
        )
        with application.app_context():
            db.create_all()
            issuer, achievement = make_issuer_and_achievement(application)
            award = issuing.award(
                issuer,
                achievement,
                AwardInput(email="teacher@school.example.org", name="Ann Teacher"),
                actor=Actor(label="bench"),
                env=service_env(),
            )
            client = application.test_client()
            png = client.get(f"/credentials/{award.id}/badge.png", base_url=BASE_URL).data

            def once() -> None:
                answer = client.post(
                    "/api/verify", base_url=BASE_URL, data=png, content_type="image/png"
                ).get_json()
                if not answer or not answer.get("valid"):
                    raise RuntimeError(f"/api/verify did not find the PNG valid: {answer}")

            if args.no_reuse:
                verdicts.submissions().size = 0  # keeps nothing: every request verifies in full
            for _ in range(20):
                once()
            spent: collections.Counter[str] = collections.Counter()
            profile = cProfile.Profile() if args.profile else None
            with timing(spent), profile or contextlib.nullcontext():
                start = time.thread_time()
                for _ in range(args.n):
                    once()
                total = time.thread_time() - start
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    kept = "every request verified in full" if args.no_reuse else "kept verdicts reused"
    print(f"POST /api/verify, baked PNG ({len(png)} bytes), in-process, {args.n} requests, {kept}")
    print(f"load: {load} (1/5/15-minute load average); CPU time of this thread per request")
    print(f"  {'the whole request (Flask test client)':46}{total / args.n * 1e3:8.2f} ms  100.0%")
    for label, _, _ in PARTS:
        share = spent[label] / total
        print(f"  {label:46}{spent[label] / args.n * 1e3:8.2f} ms  {share:6.1%}")
    accounted = sum(spent[label] for label, _, _ in PARTS if not label.startswith("  "))
    rest = total - accounted
    label = "Flask, routing, JSON answer, the rest"
    print(f"  {label:46}{rest / args.n * 1e3:8.2f} ms  {rest / total:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
