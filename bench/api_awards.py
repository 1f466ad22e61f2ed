"""``POST /api/v1/issuers/<slug>/awards`` under load (on demand): awards per second and latency
percentiles at 16 connections against the production server (``cairn serve``).

Run with ``.venv/bin/python bench/api_awards.py`` (SQLite in a temporary directory) or, for the
figure the issue asks for, against PostgreSQL::

    createdb -h 127.0.0.1 -U postgres cairn_bench_api
    .venv/bin/python bench/api_awards.py --database-url postgresql://postgres@127.0.0.1/cairn_bench_api

It seeds a throw-away production instance with the ``cairn`` command line (a staff account, an
issuer it owns, an achievement, an API token with ``awards:write``), serves it and drives it
with ``wrk`` (installed with apt-get when missing), every request a full award: signed, stored,
audited, its email queued (mail goes to a closed local port, so nothing leaves the machine).
The database named by ``--database-url`` is emptied first. Benchmarks report; they never fail
on slow numbers. Exit status: 0 after a report, 1 if something broke, 2 if wrk cannot be had.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import (
    LUA,
    BenchError,
    WrkMissing,
    cairn,
    cairn_command,
    ensure_wrk,
    free_port,
    production_env,
    run_wrk,
    serving,
    wrk_version,
)

#: The request's Authorization header, from the environment (wrk's script reads it).
AUTH_LUA = LUA.replace(
    'local accept = os.getenv("BENCH_ACCEPT")',
    'wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")\n'
    'local accept = os.getenv("BENCH_ACCEPT")',
)
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throw-away instance)


def empty_postgres(url: str) -> None:
    """Drop every table of the benchmark's own database (it is seeded afresh)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(env: dict[str, str], workdir: Path) -> tuple[str, str]:
    """A staff account owning an issuer with an achievement, and an API token; the
    achievement's id and the token."""
    import subprocess

    cairn(env, workdir, "db", "upgrade")
    subprocess.run(
        [str(Path(sys.executable).parent / "cairn"), "staff", "create", "--email",
         "owner@north.example.org", "--name", "Olive Owner", "--password-stdin"],
        env=env, cwd=workdir, input=PASSWORD + "\n", text=True, check=True, capture_output=True,
    )  # fmt: skip
    cairn(env, workdir, "issuers", "create", "--name", "North District Professional Learning",
          "--slug", "north", "--owner", "owner@north.example.org")  # fmt: skip
    achievement = cairn(
        env, workdir, "achievements", "create", "--issuer", "north",
        "--name", "Formative Assessment in Practice",
        "--description", "Designs and uses formative assessment.",
        "--criteria", "Completed the six-week course.", "--valid-days", "730",
    ).strip()  # fmt: skip
    token = cairn(env, workdir, "tokens", "create", "--issuer", "north", "--scope", "awards:write",
                  "--name", "bench").strip()  # fmt: skip
    return achievement, token


def check_award(url: str, body: bytes, token: str) -> str:
    """One award before the run, so a refusal shows as such rather than as a fast rate.

    :raises BenchError: unless it is 201.
    """
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (loopback)
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            answer: dict[str, str] = json.loads(response.read())
            return answer["url"]
    except urllib.error.HTTPError as exc:
        raise BenchError(f"the award answered {exc.code}: {exc.read()[:400]!r}") from None


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", help="PostgreSQL to use (emptied first); else SQLite")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="timed seconds (15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds (3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    try:
        wrk = ensure_wrk()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="cairn-bench-api-") as tmp:
            workdir = Path(tmp)
            env = production_env(workdir)
            env["CAIRN_SMTP_HOST"], env["CAIRN_SMTP_PORT"] = "127.0.0.1", str(free_port())
            env["CAIRN_API_RATE_LIMIT"] = "1000000/minute"
            if args.database_url:
                empty_postgres(args.database_url)
                env["CAIRN_DATABASE_URL"] = args.database_url
            print("seeding a production instance with the cairn command line ...", file=sys.stderr)
            achievement, token = seed(env, workdir)
            script = workdir / "bench.lua"
            script.write_text(AUTH_LUA)
            body = workdir / "award.json"
            body.write_text(json.dumps({
                "achievement": achievement,
                "recipient": {"email": "ann@example.org", "name": "Ann Example"},
                "evidence": [{"url": "https://north.example.org/portfolios/42"}],
                "narrative": "Portfolio reviewed by the district coach.",
            }))  # fmt: skip
            wrk_env = {"BENCH_POST_FILE": str(body), "BENCH_CONTENT_TYPE": "application/json",
                       "BENCH_AUTHORIZATION": f"Bearer {token}"}  # fmt: skip
            port = free_port()
            log = workdir / "server.log"
            with serving(cairn_command(port, args.workers), env, port, "/", log) as base:
                url = f"{base}/api/v1/issuers/north/awards"
                first = check_award(url, body.read_bytes(), token)
                print(f"  one award first: {first}", file=sys.stderr)
                print(f"  warm-up {args.warmup} s, then {args.duration} s", file=sys.stderr)
                run_wrk(wrk, script, url, args.connections, args.warmup, 2, wrk_env)
                raw = run_wrk(wrk, script, url, args.connections, args.duration, 2, wrk_env)
            statuses: dict[str, int] = {}
            for line in log.read_text(errors="replace").splitlines():
                if "POST /api/v1/" in line:
                    status = line.split('" ', 1)[-1].split(" ", 1)[0]
                    statuses[status] = statuses.get(status, 0) + 1
            if set(statuses) - {"201"}:
                print(f"  answers by status: {statuses}", file=sys.stderr)
                print(
                    "\n".join(log.read_text(errors="replace").splitlines()[-15:]), file=sys.stderr
                )
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    seconds = raw["duration_us"] / 1e6
    database = "PostgreSQL" if args.database_url else "SQLite"
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    print(
        f"POST /api/v1/issuers/<slug>/awards, {args.connections} connections, "
        f"{args.workers} workers, {database}, {wrk_version(wrk)}"
    )
    print(
        f"  {raw['requests'] / seconds:.1f} awards/s  p50 {raw['p50_us'] / 1000:.1f} ms  "
        f"p90 {raw['p90_us'] / 1000:.1f} ms  p99 {raw['p99_us'] / 1000:.1f} ms  "
        f"max {raw['max_us'] / 1000:.1f} ms  non-2xx {raw['status']}  socket errors {errors}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
