"""Where the CPU time of the credential page goes, in-process (on demand).

Run with ``.venv/bin/python bench/credential_page.py [--n 2000] [--not-kept] [--profile]``. It
builds a throw-away instance (SQLite in a temporary directory, an issuer, an achievement, one
award), then calls the WSGI application itself (no test client, no server) with a browser's
``GET /credentials/<id>`` and no cookie ``n`` times, and prints the CPU time of this thread
(``time.thread_time``: load on the other core barely changes it) per request. By default the
lane serves the page it keeps (``app/public/kept_pages.py``); ``--not-kept`` forgets the kept
page before each request, so every request is rendered by Flask (with the verdict still reused):
the cost a first view per process, or a view with a cookie, pays. ``bench/serving.py`` measures
the same page under gunicorn and wrk. Benchmarks report; they never fail on slow numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _instance import make_issuer_and_achievement, settings

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the figure; 0 unless something broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="timed requests (2000)")
    parser.add_argument("--not-kept", action="store_true", help="render every request in Flask")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed part")
    args = parser.parse_args(argv)

    from app import create_app
    from app.extensions import db
    from app.public import documents
    from app.services.awarding import issuing
    from app.services.awarding.issuing import AwardInput
    from app.services.delivery import analytics
    from app.services.org.audit import Actor
    from app.wiring import service_env

    workdir = Path(tempfile.mkdtemp(prefix="cairn-bench-page-"))
    try:
        database = f"sqlite:///{workdir / 'cairn.sqlite3'}"
        application = create_app(settings(database, workdir / "keys", signing_processes=1))
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
            credential_id = award.id
        lane = application.wsgi_app
        if not isinstance(lane, documents.DocumentLane):
            raise RuntimeError("the document lane is not in front of the application")
        answered: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
            answered.append(status)

        def once() -> None:
            if args.not_kept:
                lane.pages.clear()
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": f"/credentials/{credential_id}",
                "QUERY_STRING": "",
                "SERVER_NAME": "badges.example.org",
                "SERVER_PORT": "443",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "wsgi.url_scheme": "https",
                "wsgi.input": io.BytesIO(),
                "wsgi.errors": sys.stderr,
                "wsgi.multithread": True,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "wsgi.version": (1, 0),
                "HTTP_HOST": "badges.example.org",
                "HTTP_ACCEPT": BROWSER,
                "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9",
                "REMOTE_ADDR": "127.0.0.1",
            }
            body = b"".join(application(environ, start_response))
            if not answered[-1].startswith("200") or b"status-banner-valid" not in body:
                raise RuntimeError(f"the page was not served as valid: {answered[-1]}")

        for _ in range(50):
            once()
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        start = time.thread_time()
        for _ in range(args.n):
            once()
        total = time.thread_time() - start
        if profile is not None:
            profile.disable()
        with application.app_context():
            analytics.flush_pending()
            views = analytics.for_credential(credential_id)["view"]
        if views != args.n + 50:
            raise RuntimeError(f"{views} views counted for {args.n + 50} pages served")
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    how = "rendered by Flask each time (--not-kept)" if args.not_kept else "the lane's kept page"
    print(f"GET /credentials/<id> (browser, no cookie), in-process, {args.n} requests: {how}")
    print(f"load: {load} (1/5/15-minute load average)")
    print(f"CPU time of this thread per request: {total / args.n * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
