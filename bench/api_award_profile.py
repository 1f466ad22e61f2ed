"""Where an API award's CPU goes, in-process (on demand): ``POST /api/v1/issuers/<slug>/awards``
through Flask's test client against PostgreSQL (and Redis, as production), one at a time and
from ``--threads`` threads at once (so that awards are grouped), with SQL statements per award
(SQLAlchemy events), CPU per award (this process and the database's backends, from ``/proc``);
with ``--statements``, the threaded run's SQL, most frequent first; with ``--profile``, a
cProfile of the threaded run on each thread's CPU clock, summed by package::

    createdb -h 127.0.0.1 -U postgres cairn_bench_profile
    .venv/bin/python bench/api_award_profile.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/cairn_bench_profile --profile

The database is emptied first; the Redis database (``--redis``, default the benchmarks' 15) is
flushed. No server, no wrk: what it measures is Cairn's own work per award, not the network's.
See bench/README.md (``api_awards.py``).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _instance import BASE_URL, DEFAULT_REDIS
from api_awards import cpu_by_process, cpu_used

PASSWORD = "correct horse battery staple"  # noqa: S105 (a throw-away instance)
#: Where a function's own time is counted (the first of these its file's path contains).
GROUPS = ("sqlalchemy", "psycopg", "pyld", "credentials/", "jinja2", "werkzeug", "flask_limiter",
          "limits", "flask", "marshmallow", "webargs", "redis", "rq", "json", "cryptography",
          "app/", "schemas/")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Seed, award, count, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="PostgreSQL (emptied first)")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="Redis to use and FLUSH; 'none'")
    parser.add_argument("--awards", type=int, default=400, help="awards in the threaded run")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="cProfile the threaded run")
    parser.add_argument(
        "--statements", action="store_true", help="list the threaded run's SQL, most frequent first"
    )
    args = parser.parse_args(argv)

    from sqlalchemy import event, text

    from app import create_app
    from app.extensions import db
    from app.services.org import achievements, issuers, staff, tokens
    from app.services.org.achievements import AchievementInput
    from app.services.org.audit import Actor
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-profile-"))
    config: dict[str, Any] = {
        "ENV": "testing", "DATABASE_URL": args.database_url, "KEYS_DIR": str(tmp / "keys"),
        "BASE_URL": BASE_URL, "OUTBOX_DIR": str(tmp / "outbox"), "KEY_KDF_FOR_TESTS": True,
        # Counted as in production, but never refused.
        "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "1000000/minute",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.threads + 4},
    }  # fmt: skip
    if args.redis != "none":
        from redis import Redis

        Redis.from_url(args.redis).flushdb()
        config["REDIS_URL"] = args.redis  # jobs wait in Redis: no worker runs them here
    app = create_app(config)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        db.create_all()
        env = service_env()
        owner = staff.create_account(email="owner@north.example.org", name="Olive Owner",
                                     password=PASSWORD,
                                     actor=Actor(label="bench"), env=env)  # fmt: skip
        issuer = issuers.create_issuer(
            IssuerProfileInput(name="North District"), slug="north", owner=owner,
            actor=Actor(label="bench"), env=env,
        )  # fmt: skip
        achievement = achievements.create_achievement(
            issuer,
            AchievementInput(name="Formative Assessment in Practice", description="Designs and "
                             "uses formative assessment.", criteria_markdown="Completed the "
                             "six-week course.", default_validity_days=730),
            actor=Actor(owner), env=env,
        )  # fmt: skip
        secret = tokens.create(issuer, creator=owner, name="bench", scopes=["awards:write"],
                               expires_at=None, actor=Actor(owner), env=env).secret  # fmt: skip
        achievement_id = achievement.public_id
        db.session.remove()
        engine = db.engine
    marker = f"postgres {engine.url.database} "  # its backends' process titles
    numbers = iter(range(10**9))
    numbers_lock = threading.Lock()

    def award(client: Any) -> None:
        with numbers_lock:
            n = next(numbers)
        body = {"achievement": achievement_id,
                "recipient": {"email": f"api-{n}@example.org", "name": f"Ann Example {n}"},
                "evidence": [{"url": "https://north.example.org/portfolios/42"}],
                "narrative": "Portfolio reviewed by the district coach."}  # fmt: skip
        answer = client.post("/api/v1/issuers/north/awards", json=body, base_url=BASE_URL,
                             headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        if answer.status_code != 201:
            raise SystemExit(
                f"the award answered {answer.status_code}: {answer.get_data()[:300]!r}"
            )

    def run(threads: int, awards: int, profiles: list[cProfile.Profile] | None = None) -> list[str]:
        """Award from ``threads`` threads; print the figures, return the statements run."""
        each = max(1, awards // threads)
        statements: list[str] = []

        def note(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        def work() -> None:
            client = app.test_client()
            profile = cProfile.Profile(time.thread_time) if profiles is not None else None
            if profile is not None and profiles is not None:
                profiles.append(profile)
                profile.enable()
            for _ in range(each):
                award(client)
            if profile is not None:
                profile.disable()

        workers = [threading.Thread(target=work) for _ in range(threads)]
        event.listen(engine, "before_cursor_execute", note)
        cpu, backends, wall = time.process_time(), cpu_by_process(marker), time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        postgres = cpu_used(backends, cpu_by_process(marker))
        event.remove(engine, "before_cursor_execute", note)
        done = each * threads
        label = "profiled, " if profiles is not None else ""
        print(f"{threads:2d} thread(s), {done} awards ({label}{done / wall:.0f}/s): "
              f"{len(statements) / done:5.2f} statements, CPU this process {cpu / done * 1000:6.2f}"
              f" ms + PostgreSQL {postgres / done * 1000:5.2f} ms an award")  # fmt: skip
        return statements

    run(1, 10)  # warm: the key cache, the templates, the statement caches
    run(1, max(10, args.awards // 4))
    listed = run(args.threads, args.awards)
    if args.statements:
        print("statements of the threaded run (count, the first 120 characters):")
        for statement, count in collections.Counter(listed).most_common():
            print(f"  {count:6d}  {' '.join(statement.split())[:120]}")
    if args.profile:
        profiles: list[cProfile.Profile] = []
        run(args.threads, args.awards, profiles)
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        own: collections.Counter[str] = collections.Counter()
        for (file, _, _name), (_, _, self_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            own[next((g for g in GROUPS if g in file), "other")] += self_time
        total = sum(own.values())
        print(f"where the threaded run's CPU went (cProfile, {total:.1f} s profiled):")
        for group, seconds in own.most_common():
            print(f"  {group:14} {seconds / total * 100:5.1f}%")
        out = tmp / "api_award.prof"
        stats.dump_stats(out)
        print(f"profile: {out} (python -m pstats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
