"""``POST /api/v1/issuers/<slug>/awards`` and the workspace award form under load (on demand):
awards per second, latency percentiles and CPU per award at 16 connections against the
production server (``cairn serve``) and PostgreSQL::

    createdb -h 127.0.0.1 -U postgres cairn_bench_speed
    .venv/bin/python bench/api_awards.py --database-url postgresql://postgres@127.0.0.1/cairn_bench_speed

It seeds a throw-away production instance with the ``cairn`` command line (a staff account, an
issuer it owns, an achievement, an API token with ``awards:write``), serves it with Redis and a
``cairn worker`` as production runs (``--redis``, flushed first; ``--redis none``: the embedded
default) and drives it with ``wrk`` (installed with apt-get when missing): first the API with
the token, then the award form with a signed-in session and its CSRF token, every request a
whole award to a recipient of its own (signed, stored, audited, its email queued; mail goes to
a closed local port, so nothing leaves the machine). Then it checks that one credential was
stored per success, with distinct status indices, an intact audit chain, and that a sample
verifies, and prints PASS or FAIL against issue 11's targets. The database named by
``--database-url`` is emptied first. Benchmarks report; they never fail on slow numbers. Exit
status: 0 after a report, 1 if something broke, 2 if wrk cannot be had. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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
    stop_group,
    wrk_version,
)

#: Every request its own recipient: the body is ``BENCH_BODY_TEMPLATE`` with each ``{n}``
#: replaced by ``<wrk thread>-<request number>``; headers from ``BENCH_AUTHORIZATION`` and
#: ``BENCH_COOKIE`` when set; the result line from serving.py's ``done`` hook.
AWARDS_LUA = r"""
local counter = 0
local template = os.getenv("BENCH_BODY_TEMPLATE")
local threads = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
if os.getenv("BENCH_AUTHORIZATION") then
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
end
if os.getenv("BENCH_COOKIE") then
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
end
local run = os.getenv("BENCH_RUN") or "r"

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1  -- thread_id: a global, set by setup() in this thread's own state
  local tag = run .. "-" .. thread_id .. "-" .. counter
  return wrk.format(nil, nil, nil, (template:gsub("{n}", tag)))
end
""" + LUA[LUA.index("function done") :]
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throw-away instance)
#: The targets of issue 11: awards a second and the 99th percentile at 16 connections.
TARGET_RATE = 300.0
TARGET_P99_MS = 100.0
#: The benchmarks' Redis database (flushed before the run), as bench/_instance.py's.
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


@contextlib.contextmanager
def rq_worker(env: dict[str, str], workdir: Path) -> Iterator[int]:
    """A ``cairn worker`` (RQ, as a production deployment runs beside the web server) until
    the block ends; its process id."""
    with (workdir / "worker.log").open("ab") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "cairn"), "worker"],
            env=env,
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process.pid
    finally:
        stop_group(process)


def cpu_of(pid: int | None) -> float:
    """CPU seconds used so far by process ``pid`` (0 for None or a process that is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def empty_postgres(url: str) -> None:
    """Drop every table of the benchmark's own database (it is seeded afresh), and vacuum it:
    each run drops and makes a few hundred tables, indexes and triggers, and on a server
    without autovacuum (this machine's) the system catalogs kept every dead row, so each run
    was slower than the one before (202, 182, then 158 awards/s)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM"))
    engine.dispose()


def seed(env: dict[str, str], workdir: Path) -> tuple[str, str]:
    """A staff account owning an issuer with an achievement, and an API token; the
    achievement's id and the token."""
    import subprocess

    cairn(env, workdir, "db", "upgrade")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "cairn"),
            "staff",
            "create",
            "--email",
            "owner@north.example.org",
            "--name",
            "Olive Owner",
            "--password-stdin",
        ],
        env=env,
        cwd=workdir,
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    cairn(
        env,
        workdir,
        "issuers",
        "create",
        "--name",
        "North District Professional Learning",
        "--slug",
        "north",
        "--owner",
        "owner@north.example.org",
    )
    achievement = cairn(
        env,
        workdir,
        "achievements",
        "create",
        "--issuer",
        "north",
        "--name",
        "Formative Assessment in Practice",
        "--description",
        "Designs and uses formative assessment.",
        "--criteria",
        "Completed the six-week course.",
        "--valid-days",
        "730",
    ).strip()
    token = cairn(
        env,
        workdir,
        "tokens",
        "create",
        "--issuer",
        "north",
        "--scope",
        "awards:write",
        "--name",
        "bench",
    ).strip()
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


class Session:
    """A signed-in browser: the session cookie (sent by hand: production cookies are ``Secure``,
    which urllib's cookie jar will not send over the loopback's plain HTTP) and CSRF tokens."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """GET (or POST ``form``) without following redirects; the status and the body."""
        import urllib.error
        import urllib.parse
        import urllib.request

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 (loopback)
        request.add_header("Cookie", self.cookie())
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=30)
        except urllib.error.HTTPError as exc:
            response = exc
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.read().decode("utf-8", "replace")

    def csrf(self, path: str) -> str:
        """The CSRF token of the form at ``path``."""
        import re

        status, page = self.open(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or found is None:
            raise BenchError(f"GET {path} answered {status} without a CSRF token")
        return found.group(1)

    def sign_in(self, email: str, password: str) -> None:
        token = self.csrf("/login")
        status, _ = self.open("/login", {"csrf_token": token, "email": email, "password": password})
        if status not in (302, 303):
            raise BenchError(f"signing in answered {status}")


def cpu_by_process(*markers: str) -> dict[int, float]:
    """CPU seconds used so far by each process whose command line (or, for PostgreSQL
    backends, process title) holds every one of ``markers``."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if all(marker in title for marker in markers):
            fields = stat.rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two :func:`cpu_by_process` snapshots (new processes whole)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def log_statuses(log: Path, method: str, route: str) -> dict[str, int]:
    """The answers by status of ``method`` requests to ``route`` (a route template, e.g.
    ``/api/v1/issuers/<slug>/awards``), from Cairn's request log (one JSON line per request,
    ``cairn.request``; gunicorn's access log is off)."""
    statuses: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{") or '"event": "request"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("method") == method and entry.get("route") == route:
            status = str(entry.get("status"))
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


def check_store(
    env: dict[str, str], workdir: Path, base: str, issued: int, in_flight: int
) -> list[str]:
    """After the runs: one credential per successful answer (no lost, no duplicate), distinct
    status indices, an intact audit chain, and a sample that verifies. The problems found."""
    import subprocess
    import urllib.request

    from sqlalchemy import create_engine, text

    problems: list[str] = []
    url = env["CAIRN_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as connection:
        # One statement, one snapshot: an award still in flight when wrk stopped may commit at
        # any moment, and counted between two statements it would look like a stray event.
        stored, indices, recipients, events = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT status_index), count(DISTINCT recipient_email), "
                "(SELECT count(*) FROM audit_event WHERE action = 'credential.issue') "
                "FROM issued_credential"
            )
        ).one()
        sample = [
            row[0]
            for row in connection.execute(
                text("SELECT document FROM issued_credential ORDER BY random() LIMIT 3")
            )
        ]
    engine.dispose()
    print(
        f"  stored {stored} credentials for {issued} successful answers; {indices} distinct "
        f"status indices, {recipients} distinct recipients, {events} issue events",
        file=sys.stderr,
    )
    # A request still being answered when wrk stops (at most one per connection and run) is
    # stored, but its answer is never read, so it is not in the request log.
    if not stored == indices == events == recipients or not 0 <= stored - issued <= in_flight:
        problems.append(f"stored {stored}, indices {indices}, events {events}, answers {issued}")
    audit = subprocess.run(
        [str(Path(sys.executable).parent / "cairn"), "audit", "verify"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if audit.returncode != 0:
        problems.append(f"cairn audit verify: {audit.stdout.strip()} {audit.stderr.strip()}")
    verified_count = 0
    documents = []
    for path in ("/issuers/north/did.json", "/status/north/revocation"):
        with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310 (loopback)
            served = workdir / path.strip("/").replace("/", "-")
            served.write_bytes(response.read())
        documents += ["--document", f"https://badges.example.org{path}={served}"]
    for number, document in enumerate(sample):
        file = workdir / f"sample-{number}.json"
        file.write_text(document)
        verified = subprocess.run(
            [str(Path(sys.executable).parent / "cairn"), "verify", *documents, str(file)],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        verified_count += verified.returncode == 0
        if verified.returncode != 0:
            problems.append(
                f"a stored credential does not verify: {verified.stdout[-600:]}"
                f"{verified.stderr[-600:]}"
            )
    print(
        f"  audit chain: {audit.stdout.strip().splitlines()[-1] if audit.stdout else '?'}; "
        f"{verified_count} of {len(sample)} sampled credentials verify (cairn verify)",
        file=sys.stderr,
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, measure the API and the form, check what was stored, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--database-url",
        required=True,
        help="a PostgreSQL database of the benchmark's own (emptied first)",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="timed seconds (15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds (3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per worker (cairn serve's default)"
    )
    parser.add_argument(
        "--redis",
        default=DEFAULT_REDIS,
        help=f"Redis database to use and FLUSH, as CAIRN_REDIS_URL, with a `cairn worker` "
        f"({DEFAULT_REDIS}); 'none' for the embedded default (no Redis)",
    )
    parser.add_argument("--port", type=int, default=0, help="the server's port (a free one)")
    parser.add_argument("--api-only", action="store_true", help="skip the award form's run")
    args = parser.parse_args(argv)
    redis_url = None if args.redis == "none" else args.redis
    try:
        wrk = ensure_wrk()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    results: dict[str, dict[str, int]] = {}
    cpu_seconds: dict[str, tuple[float, float, float]] = {}
    form_statuses: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="cairn-bench-api-") as tmp:
            workdir = Path(tmp)
            env = production_env(workdir)
            env["CAIRN_SMTP_HOST"], env["CAIRN_SMTP_PORT"] = "127.0.0.1", str(free_port())
            # The API's per-token limit (600 a minute by default) lifted for this run only;
            # every request is still counted, as in production.
            env["CAIRN_API_RATE_LIMIT"] = "1000000/minute"
            empty_postgres(args.database_url)
            env["CAIRN_DATABASE_URL"] = args.database_url
            if redis_url:
                from redis import Redis

                Redis.from_url(redis_url).flushdb()
                # As in production: rate-limit counters and the job queue in Redis, jobs (the
                # award emails, webhook deliveries) run by a `cairn worker`.
                env["CAIRN_REDIS_URL"] = redis_url
            print("seeding a production instance with the cairn command line ...", file=sys.stderr)
            achievement, token = seed(env, workdir)
            script = workdir / "awards.lua"
            script.write_text(AWARDS_LUA)
            api_body = json.dumps(
                {
                    "achievement": achievement,
                    "recipient": {"email": "api-{n}@example.org", "name": "Ann Example {n}"},
                    "evidence": [{"url": "https://north.example.org/portfolios/42"}],
                    "narrative": "Portfolio reviewed by the district coach.",
                }
            )
            port = args.port or free_port()
            log = workdir / "server.log"
            successes = 0
            with (
                (
                    rq_worker(env, workdir) if redis_url else contextlib.nullcontext(None)
                ) as worker_pid,
                serving(
                    cairn_command(port, args.workers, args.threads), env, port, "/", log
                ) as server,
            ):
                base = server.base
                api_url = f"{base}/api/v1/issuers/north/awards"
                first = check_award(api_url, api_body.replace("{n}", "first").encode(), token)
                successes += 1
                print(f"  one award first: {first}", file=sys.stderr)
                api_env = {
                    "BENCH_BODY_TEMPLATE": api_body,
                    "BENCH_RUN": "api",
                    "BENCH_CONTENT_TYPE": "application/json",
                    "BENCH_AUTHORIZATION": f"Bearer {token}",
                }
                database = args.database_url.rsplit("/", 1)[-1]
                server_marker, postgres_marker = f"--port {port}", f"postgres {database} "

                def timed(
                    url: str, run_env: dict[str, str]
                ) -> tuple[dict[str, int], tuple[float, float, float]]:
                    """A warm-up, then the timed run: wrk's result and the CPU seconds the
                    server, PostgreSQL and the worker used in it."""
                    warm = {**run_env, "BENCH_RUN": run_env["BENCH_RUN"] + "-warm"}
                    run_wrk(wrk, script, url, args.connections, args.warmup, 2, warm)
                    server, postgres = (
                        cpu_by_process(server_marker),
                        cpu_by_process(postgres_marker),
                    )
                    worker = cpu_of(worker_pid)
                    result = run_wrk(wrk, script, url, args.connections, args.duration, 2, run_env)
                    return result, (
                        cpu_used(server, cpu_by_process(server_marker)),
                        cpu_used(postgres, cpu_by_process(postgres_marker)),
                        cpu_of(worker_pid) - worker,
                    )

                print(f"  API: warm-up {args.warmup} s, then {args.duration} s", file=sys.stderr)
                results["API"], cpu_seconds["API"] = timed(api_url, api_env)
                api_statuses = log_statuses(log, "POST", "/api/v1/issuers/<slug>/awards")
                successes += api_statuses.get("201", 0) - 1
                if not args.api_only:
                    # The award form, signed in, with the session's CSRF token.
                    browser = Session(base)
                    browser.sign_in("owner@north.example.org", PASSWORD)
                    form_path = f"/workspace/north/achievements/{achievement}/award"
                    csrf = browser.csrf(form_path)
                    form_body = (
                        f"csrf_token={csrf}&email=form-{{n}}%40example.org&name=Ann+Example+{{n}}"
                        "&show_name=on&narrative=Portfolio+reviewed+by+the+district+coach."
                        "&evidence-0-url=https%3A%2F%2Fnorth.example.org%2Fportfolios%2F42"
                        "&expiry=default"
                    )
                    from urllib.parse import parse_qsl

                    status, _ = browser.open(
                        form_path, dict(parse_qsl(form_body.replace("{n}", "first")))
                    )
                    if status not in (302, 303):
                        raise BenchError(f"the award form answered {status}")
                    successes += 1
                    form_env = {
                        "BENCH_BODY_TEMPLATE": form_body,
                        "BENCH_RUN": "form",
                        "BENCH_CONTENT_TYPE": "application/x-www-form-urlencoded",
                        "BENCH_COOKIE": browser.cookie(),
                    }
                    print(
                        f"  form: warm-up {args.warmup} s, then {args.duration} s", file=sys.stderr
                    )
                    results["form"], cpu_seconds["form"] = timed(base + form_path, form_env)
                    form_statuses = log_statuses(
                        log, "POST", "/workspace/<slug>/achievements/<public_id>/award"
                    )
                    successes += form_statuses.get("302", 0) + form_statuses.get("303", 0) - 1
                problems = check_store(env, workdir, base, successes, 4 * args.connections)
            print(f"  answers by status: API {api_statuses}, form {form_statuses}", file=sys.stderr)
            if set(api_statuses) - {"201"} or set(form_statuses) - {"302", "303"}:
                problems.append("some answers were not successes")
                print(
                    "\n".join(log.read_text(errors="replace").splitlines()[-15:]), file=sys.stderr
                )
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()
    print(
        f"POST awards, {args.connections} connections, `cairn serve` with {args.workers} workers "
        f"x {args.threads or 'default'} threads, PostgreSQL, "
        f"{'Redis and a cairn worker' if redis_url else 'no Redis'}, {wrk_version(wrk)}, "
        "a distinct recipient per request"
    )
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    rates = {}
    for name, raw in results.items():
        seconds = raw["duration_us"] / 1e6
        rates[name] = raw["requests"] / seconds
        errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
        print(
            f"  {name:5} {rates[name]:7.1f} awards/s  p50 {raw['p50_us'] / 1000:6.1f} ms  "
            f"p90 {raw['p90_us'] / 1000:6.1f} ms  p99 {raw['p99_us'] / 1000:6.1f} ms  "
            f"max {raw['max_us'] / 1000:6.1f} ms  non-2xx/3xx {raw['status']}  "
            f"socket errors {errors}"
        )
    print("  CPU per award (what the run itself used, whatever else shared the machine):")
    per_award: dict[str, float] = {}
    for name, (server_cpu, postgres_cpu, worker_cpu) in cpu_seconds.items():
        awards = results[name]["requests"]
        # The request's path (server and database); the worker's mail and webhook runs apart:
        # they may run on other machines, and with a closed mail port they only fail.
        per_award[name] = (server_cpu + postgres_cpu) / awards * 1000
        print(
            f"  {name:5} server {server_cpu / awards * 1000:5.2f} ms + PostgreSQL "
            f"{postgres_cpu / awards * 1000:5.2f} ms = {per_award[name]:5.2f} ms an award: at "
            f"most {(os.cpu_count() or 1) * 1000 / per_award[name]:5.0f} awards/s on "
            f"{os.cpu_count()} idle cores (wrk's own share not counted); the worker's runs "
            f"{worker_cpu / awards * 1000:5.2f} ms more"
        )
    if rates.get("form"):
        print(f"  API / form: {rates['API'] / rates['form']:.2f}x")
    api = results["API"]
    p99 = api["p99_us"] / 1000
    for what, held, measured in (
        (f"API >= {TARGET_RATE:.0f} awards/s", rates["API"] >= TARGET_RATE,
         f"{rates['API']:.1f} awards/s, {rates['API'] / TARGET_RATE:.2f}x the target"),
        (f"API p99 < {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS,
         f"{p99:.1f} ms, {p99 / TARGET_P99_MS:.2f}x the limit"),
        (f"API CPU per award (server + PostgreSQL) <= "
         f"{(os.cpu_count() or 1) * 1000 / TARGET_RATE:.2f} ms "
         f"({TARGET_RATE:.0f}/s on {os.cpu_count()} idle cores)",
         per_award["API"] * TARGET_RATE <= (os.cpu_count() or 1) * 1000,
         f"{per_award['API']:.2f} ms"),
    ):  # fmt: skip
        print(f"  {'PASS' if held else 'FAIL'}  {what}: {measured}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
