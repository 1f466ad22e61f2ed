"""Data at scale: a PostgreSQL database with 1,000,000 credentials, and the workspace credential
list, its search and filters, the API's date filters and the reports timed through the real
routes (Flask test client, signed in as the owner), p50/p99 against issue 16's 150 ms.

Build once (a few minutes), then reuse::

    .venv/bin/python bench/scale.py                # builds cairn_scale, then times
    .venv/bin/python bench/scale.py --reuse        # times the database built before
    .venv/bin/python bench/scale.py --reuse --explain   # and EXPLAIN ANALYZE the slowest SQL

The rows are generated in the database (``INSERT ... SELECT generate_series``), shaped like real
ones: a few issuers (one holding most rows: the worst case for its workspace), eight
achievements with skewed popularity, about 300,000 recipients who hold several credentials each,
three years of award dates, 70% with an expiry, 1% revoked, 0.5% suspended, 40% claimed, an
audit event per award and revocation, and page views and downloads for a fifth of them. Each
row's ``document`` is one really signed credential with its id replaced, so its **signature does
not verify**: this is a query benchmark, not a signing one. Status-list allocations are not
generated (reads never look at them); ``status_index`` is simply unique per issuer (past the
real list).
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._instance import BASE_URL, make_issuer_and_achievement, settings  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cairn_scale"
TARGET_MS = 150.0
#: The throw-away key store's passphrase: fixed, so a --reuse run opens the keys of the build.
BENCH_PASSPHRASE = "scale-bench-only"  # noqa: S105 - a benchmark's throw-away keys
OWNER = "owner@scale.example.org"
#: Share of the rows the timed workspace holds; the rest are spread over three other issuers.
MAIN_SHARE = 0.94
ACHIEVEMENTS = (
    "Formative Assessment in Practice",
    "Restorative Circles",
    "Literacy Across the Content Areas",
    "Data-Driven Instruction",
    "Mentoring New Teachers",
    "Inclusive Classrooms",
    "Digital Citizenship",
    "Science of Reading",
)
FIRST = (  # noqa: SIM905 - a list of names is easier to read as one
    "Ana Ben Chloe Dev Ema Farid Grace Hana Ivan Jade Kofi Lena Mateo Nia Omar Priya Quinn Rosa "
    "Sam Tariq Uma Vera Wes Xia Yara Zane Alma Bruno Carmen Dario Elif Femi Gita Hugo Ines Joao "
    "Kira Luis Maya Noor"
).split()
LAST = (  # noqa: SIM905 - as FIRST
    "Abbott Baker Chen Diaz Evans Fischer Garcia Haddad Ito Jensen Kumar Lopez Moreau Nakamura "
    "Okafor Patel Quinn Rossi Silva Tanaka Usman Varga Weber Xu Yilmaz Zhang Alvarez Becker "
    "Costa Dubois Eriksen Ferreira Gomez Horvat Ivanova Jovanovic Kowalski Larsen Murphy Novak "
    "Olsen Petrov Ramos Santos Torres Ueda Vasquez Walsh Young Zimmermann Ahmed Brown Castro "
    "Dimitrov Ekwueme Fontaine Gupta Hughes Ibrahim Johansson"
).split()


class Timer:
    """Wall-clock milliseconds of repeated calls."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    @contextmanager
    def measure(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.samples.append((time.perf_counter() - started) * 1000)


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p99 of 30 samples is the largest)."""
    ordered = sorted(samples)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


# --- building the database -------------------------------------------------------------------


def _achievements(application: Any, issuer: Any, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Create ``names`` as achievements of ``issuer``; their (id, current version id)."""
    from app.services.org import achievements
    from app.services.org.achievements import AchievementInput
    from app.services.org.audit import Actor
    from app.wiring import service_env

    made = []
    for name in names:
        achievement = achievements.create_achievement(
            issuer,
            AchievementInput(
                name=name,
                description=f"Completed {name}.",
                criteria_markdown="Complete every activity and a **reflection**.",
                credits_available=2.5,
                default_validity_days=365,
            ),
            actor=Actor(label="bench"),
            env=service_env(),
        )
        made.append((achievement.id, achievements.current_version(achievement).id))
    return made


#: One issuer's credentials, generated. ``:first`` and ``:rows`` pick the series; the pseudo
#: random choices hash the row number so every build makes the same rows.
CREDENTIALS_SQL = """
INSERT INTO issued_credential (
    id, issuer_id, achievement_id, achievement_version_id, recipient_email, recipient_name,
    document, proof_format, issued_at, valid_from, valid_until, status_index, revoked_at,
    revocation_reason, revocation_public_reason, suspended_at, suspension_reason,
    awarded_by_id, is_private, show_on_profile, claimed_at, credit, credit_unit
)
SELECT
    c.id, :issuer_id, a.achievement_id, a.version_id, c.email, c.name,
    replace(replace(:template, :template_id, c.id), :template_email, c.email),
    :proof_format, c.issued_at, c.issued_at,
    CASE WHEN c.h % 10 < 7 THEN c.issued_at + interval '365 days' END,
    1000000 + c.g,  -- past every index the real list hands out
    CASE WHEN c.h % 100 = 42 THEN c.issued_at + interval '30 days' END,
    CASE WHEN c.h % 100 = 42 THEN 'Issued in error (generated)' END,
    CASE WHEN c.h % 100 = 42 THEN 'Issued in error' END,
    CASE WHEN c.h % 200 = 7 THEN c.issued_at + interval '10 days' END,
    CASE WHEN c.h % 200 = 7 THEN 'Under review (generated)' END,
    :owner_id, false, c.h % 9 = 0,
    CASE WHEN c.h % 5 < 2 THEN c.issued_at + interval '2 days' END,
    :credit, :credit_unit  -- the template's, as issuing stores it (every row is its document)
FROM (
    SELECT
        g,
        h,
        md5(:salt || g)::uuid::text AS id,
        'teacher' || r || '@school' || (r % 200) || '.example.org' AS email,
        (CAST(:first_names AS text[]))[1 + r % 40] || ' '
            || (CAST(:last_names AS text[]))[1 + (r / 40) % 60] AS name,
        CAST(:now AS timestamp)
            - make_interval(secs => (CAST(:rows AS int) - g) * (94608000.0 / CAST(:rows AS int)))
            AS issued_at,
        -- Skewed popularity: the first achievements are awarded far more often.
        (ARRAY[1,1,1,1,1,1,2,2,2,2,3,3,3,4,4,5,5,6,7,8])[1 + (h / 7) % 20] AS pick
    FROM (
        SELECT g, abs(hashint4(g)) AS h, abs(hashint4(g + 7919)) % CAST(:recipients AS int) AS r
        FROM generate_series(1, CAST(:rows AS int)) AS g
    ) AS numbered
) AS c
JOIN (SELECT * FROM unnest(CAST(:achievement_ids AS int[]), CAST(:version_ids AS int[]))
      WITH ORDINALITY AS t(achievement_id, version_id, pick)) AS a ON a.pick = c.pick
"""

#: An audit event per award (and per revocation and suspension), continuing the issuer's chain
#: (the hashes are placeholders: the chain does not verify, nothing here reads it).
AUDIT_SQL = """
INSERT INTO audit_event (issuer_id, actor_id, actor, action, subject_type, subject_id, detail,
                         created_at, chain_seq, prev_hash, hash)
SELECT :issuer_id, :owner_id, :owner_email, e.action, 'credential', e.id, '{}', e.at,
       CAST(:head AS int) + row_number() OVER (ORDER BY e.at, e.action, e.id),
       md5(e.id || 'p') || md5(e.id || 'q'), md5(e.id || 'h') || md5(e.id || 'i')
FROM (
    SELECT id, 'credential.issue' AS action, issued_at AS at FROM issued_credential
    WHERE issuer_id = :issuer_id
    UNION ALL
    SELECT id, 'credential.revoke', revoked_at FROM issued_credential
    WHERE issuer_id = :issuer_id AND revoked_at IS NOT NULL
    UNION ALL
    SELECT id, 'credential.suspend', suspended_at FROM issued_credential
    WHERE issuer_id = :issuer_id AND suspended_at IS NOT NULL
) AS e
"""

#: Page views for a fifth of the credentials, downloads and LinkedIn shares for fewer.
ACTIVITY_SQL = """
INSERT INTO credential_activity (credential_id, day, kind, count)
SELECT id, (issued_at + make_interval(days => d))::date, kind, 1 + abs(hashint4(status_index)) % 4
FROM issued_credential,
     (VALUES ('view', 3, 0), ('view', 5, 20), ('download', 17, 4), ('linkedin', 29, 6))
         AS k(kind, modulus, d)
WHERE issuer_id = :issuer_id AND abs(hashint4(status_index)) % k.modulus = 0
"""


def build(application: Any, rows: int) -> None:
    """Make the owner, the issuers and their achievements through the services, then generate
    the rows in SQL."""
    import flask_migrate
    from sqlalchemy import func, select, text

    from app import MIGRATIONS
    from app.extensions import db
    from app.models import AuditChainHead, AuditEvent, IssuedCredential, Membership
    from app.services.awarding import issuing
    from app.services.awarding.issuing import AwardInput
    from app.services.org import issuers, staff
    from app.services.org.audit import Actor
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    flask_migrate.upgrade(directory=MIGRATIONS)
    env = service_env()
    actor = Actor(label="bench")
    owner = staff.create_account(
        email=OWNER, name="Scale Owner", password=None, actor=actor, env=env
    )
    main, first = make_issuer_and_achievement(application)
    db.session.add(
        Membership(staff_id=owner.id, issuer_id=main.id, role="owner", created_at=env.now)
    )
    db.session.commit()
    # One real credential: its signed text is every generated row's document.
    real = issuing.award(
        main,
        first,
        AwardInput(email="template@school0.example.org", name="Template Teacher"),
        actor=actor,
        env=env,
        notify=False,
    )
    made = [(main, [(first.id, real.achievement_version_id)])]
    made[0][1].extend(_achievements(application, main, ACHIEVEMENTS[1:]))
    for number in range(3):
        other = issuers.create_issuer(
            IssuerProfileInput(
                name=f"Neighbouring District {number + 1}", url=f"https://d{number}.example.org"
            ),
            slug=None,
            owner=None,
            actor=actor,
            env=env,
        )
        made.append((other, _achievements(application, other, ACHIEVEMENTS[:4])))
    db.session.commit()
    shares = [int(rows * MAIN_SHARE)] + [int(rows * (1 - MAIN_SHARE) / 3)] * 3
    shares[0] += rows - sum(shares) - 1  # the real credential counts too
    started = time.perf_counter()
    for (issuer, achievements_), count in zip(made, shares, strict=True):
        ids = [a for a, _ in achievements_]
        versions = [v for _, v in achievements_]
        # Fewer achievements than picks: wrap the skewed picks onto the ones there are.
        while len(ids) < 8:
            ids, versions = ids + ids, versions + versions
        db.session.execute(
            text(CREDENTIALS_SQL),
            {
                "issuer_id": issuer.id,
                "template": real.document,
                "template_id": real.id,
                "template_email": real.recipient_email,
                "proof_format": real.proof_format,
                "credit": real.credit,
                "credit_unit": real.credit_unit,
                "owner_id": owner.id,
                "salt": f"{issuer.slug}-",
                "first_names": FIRST,
                "last_names": LAST,
                "now": env.now.replace(tzinfo=None),  # the columns hold naive UTC
                "rows": count,
                "recipients": max(1, int(count * 0.3)),
                "achievement_ids": ids[:8],
                "version_ids": versions[:8],
            },
        )
        head = db.session.scalar(
            select(func.coalesce(func.max(AuditEvent.chain_seq), 0)).where(
                AuditEvent.issuer_id == issuer.id
            )
        )
        db.session.execute(
            text(AUDIT_SQL),
            {"issuer_id": issuer.id, "owner_id": owner.id, "owner_email": OWNER, "head": head},
        )
        last = db.session.execute(
            select(AuditEvent.chain_seq, AuditEvent.hash)
            .where(AuditEvent.issuer_id == issuer.id)
            .order_by(AuditEvent.chain_seq.desc())
            .limit(1)
        ).one()
        chain = db.session.get(AuditChainHead, issuer.id)
        if chain is not None:
            chain.seq, chain.hash = last
        db.session.execute(text(ACTIVITY_SQL), {"issuer_id": issuer.id})
        db.session.commit()
        print(
            f"  {issuer.slug}: {count:,} credentials in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    total = db.session.scalar(select(func.count()).select_from(IssuedCredential))
    took = time.perf_counter() - started
    print(f"  {total:,} credentials, vacuumed and analysed in {took:.0f} s")


# --- timing the routes ------------------------------------------------------------------------


def routes(application: Any) -> tuple[Any, list[tuple[str, str, dict[str, str]]]]:
    """The owner's client and what to time: (label, path, extra headers)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Achievement, IssuedCredential, Issuer, Membership, StaffAccount
    from app.services.org import account_sessions, tokens
    from app.services.org.audit import Actor
    from app.wiring import service_env

    env = service_env()
    owner = db.session.scalar(select(StaffAccount).where(StaffAccount.email == OWNER))
    issuer = db.session.scalar(
        select(Issuer)
        .join(Membership, Membership.issuer_id == Issuer.id)
        .where(Membership.staff_id == owner.id)
    )
    started = account_sessions.start(
        "staff", owner.id, user_agent="bench", now=env.now, lifetime=timedelta(hours=12)
    )
    client = application.test_client()
    with client.session_transaction(base_url=BASE_URL) as session:
        session["staff_id"] = owner.id
        session["staff_session"] = started.token
        session.permanent = True
    token = tokens.create(
        issuer,
        creator=owner,
        name=f"scale bench {secrets.token_hex(3)}",
        scopes=["credentials:read"],
        expires_at=None,
        actor=Actor(label="bench"),
        env=env,
    ).secret
    api = {"Authorization": f"Bearer {token}"}
    popular, rare = (
        db.session.execute(
            select(Achievement.public_id)
            .where(Achievement.issuer_id == issuer.id)
            .order_by(Achievement.id)
        )
        .scalars()
        .all()[0:8:7]
    )
    sample = db.session.scalar(
        select(IssuedCredential)
        .where(
            IssuedCredential.issuer_id == issuer.id,
            IssuedCredential.recipient_name.is_not(None),
        )
        .order_by(IssuedCredential.issued_at.desc())
        .offset(12_345)
        .limit(1)
    )
    slug = issuer.slug
    base = f"/workspace/{slug}/credentials"
    now = env.now
    month_ago = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    a_year_ago = (now - timedelta(days=365)).isoformat().replace("+00:00", "Z")
    eleven_months = (now - timedelta(days=335)).isoformat().replace("+00:00", "Z")
    week_ago = (now - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    listing = f"/api/v1/issuers/{slug}/credentials"
    plan: list[tuple[str, str, dict[str, str]]] = [
        ("list: first page", base, {}),
        ("list: page 2 (Older link)", "OLDER:" + base, {}),
        ("list: deep page (?page=2000, OFFSET 99,950)", f"{base}?page=2000", {}),
        ("search: recipient email", f"{base}?q={sample.recipient_email}", {}),
        ("search: part of an email", f"{base}?q={sample.recipient_email.split('@')[0]}@", {}),
        ("search: recipient name", f"{base}?q={sample.recipient_name.replace(' ', '+')}", {}),
        ("filter: popular achievement", f"{base}?achievement={popular}", {}),
        ("filter: rare achievement", f"{base}?achievement={rare}", {}),
        ("filter: status revoked", f"{base}?status=revoked", {}),
        ("filter: status suspended", f"{base}?status=suspended", {}),
        ("filter: status expired", f"{base}?status=expired", {}),
        ("filter: status valid", f"{base}?status=valid", {}),
        ("filter: not claimed", f"{base}?claimed=no", {}),
        ("filter: rare achievement + revoked", f"{base}?achievement={rare}&status=revoked", {}),
        ("API list: first page", f"{listing}?limit=50", api),
        (
            "API: issued in a month",
            f"{listing}?issued_from={a_year_ago}&issued_before={eleven_months}",
            api,
        ),
        ("API: updated_since a week", f"{listing}?updated_since={week_ago}", api),
        ("API: updated_since a month", f"{listing}?updated_since={month_ago}", api),
        ("API: exact recipient", f"{listing}?recipient={sample.recipient_email}", api),
        ("API: report", f"/api/v1/issuers/{slug}/reports/awards", api),
        ("report: /reports", f"/workspace/{slug}/reports", {}),
        ("report: /reports.csv", f"/workspace/{slug}/reports.csv", {}),
        ("report: dashboard", f"/workspace/{slug}/", {}),
        ("report: achievement page", f"/workspace/{slug}/achievements/{popular}", {}),
        ("report: hours (default range)", f"/workspace/{slug}/reports/hours", {}),
    ]
    return client, plan


OLDER = re.compile(r'<a href="([^"]+)" rel="next"')


def resolve(client: Any, path: str) -> str:
    """``OLDER:<path>``: the first page's "Older" link."""
    if not path.startswith("OLDER:"):
        return path
    page = client.get(path[6:], base_url=BASE_URL).get_data(as_text=True)
    found = OLDER.search(page)
    if not found:
        raise SystemExit(f"no Older link on {path[6:]}")
    return found.group(1).replace("&amp;", "&")


@contextmanager
def statements(application: Any) -> Iterator[list[tuple[float, str, Any]]]:
    """The SQL statements run meanwhile: (ms, statement, parameters)."""
    from sqlalchemy import event

    from app.extensions import db

    seen: list[tuple[float, str, Any]] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        took = (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000
        seen.append((took, statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def _explain(statement: str, parameters: Any, options: str) -> list[Any]:
    from app.extensions import db

    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"EXPLAIN ({options}) " + statement, parameters)
        rows = [row[0] for row in cursor.fetchall()]
        connection.rollback()  # EXPLAIN ANALYZE runs the statement: keep nothing it did
        return rows
    finally:
        connection.close()


def explain(statement: str, parameters: Any) -> list[str]:
    """EXPLAIN ANALYZE of one statement, as psycopg runs it."""
    return [str(line) for line in _explain(statement, parameters, "ANALYZE, COSTS OFF")]


def work(seen: list[tuple[float, str, Any]]) -> tuple[int, float]:
    """What the database did for one request, whatever the machine's load: the 8 KiB pages
    its SELECTs touched (shared buffers hit or read) and their execution time (ms)."""
    pages, took = 0, 0.0
    for _, statement, parameters in seen:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        ((plan,),) = [_explain(statement, parameters, "ANALYZE, BUFFERS, FORMAT JSON")]
        top = plan[0] if isinstance(plan, list) else plan
        pages += top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0)
        took += top["Execution Time"]
    return pages, took


def time_routes(application: Any, requests: int, show_plans: bool) -> bool:
    """Time each route; print p50/p99 and PASS/FAIL. True when every route passes."""
    from app.extensions import db

    client, plan = routes(application)
    passed = True
    print(
        f"\n{'route':48} {'p50 ms':>8} {'p99 ms':>8} {'SQL':>4} {'pages':>7} {'db ms':>7}"
        "  result (target p99 < 150 ms)"
    )
    for label, path, headers in plan:
        url = resolve(client, path)
        for _ in range(2):  # warm: the first request of a kind compiles templates and queries
            response = client.get(url, base_url=BASE_URL, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{label}: {url} answered {response.status_code}")
        timer = Timer()
        for _ in range(requests):
            db.session.remove()
            with timer.measure():
                response = client.get(url, base_url=BASE_URL, headers=headers)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {url} answered {response.status_code}")
        with statements(application) as seen:
            client.get(url, base_url=BASE_URL, headers=headers)
        pages, db_ms = work(seen)
        p50 = statistics.median(timer.samples)
        p99 = percentile(timer.samples, 0.99)
        ok = p99 < TARGET_MS
        passed &= ok
        print(
            f"{label:48} {p50:8.1f} {p99:8.1f} {len(seen):4} {pages:7} {db_ms:7.1f}  "
            f"{'PASS' if ok else 'FAIL'} ({p99 / TARGET_MS:.2f}x of the target)",
            flush=True,
        )
        if show_plans and seen:
            took, statement, parameters = max(seen, key=lambda item: item[0])
            print(f"    slowest statement ({took:.1f} ms): {' '.join(statement.split())[:300]}")
            for line in explain(statement, parameters):
                print(f"      {line}")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--reuse", action="store_true", help="time the database built before (migrated to head)"
    )
    parser.add_argument("--requests", type=int, default=30, help="timed requests per route")
    parser.add_argument("--only", default="", help="time only routes whose label contains this")
    parser.add_argument(
        "--skip",
        default="",
        help="leave out routes whose label contains this (e.g. 'hours': minutes per request)",
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slow queries")
    args = parser.parse_args(argv)

    import flask_migrate

    from app import MIGRATIONS, create_app

    # Kept between runs (the keys of the database --reuse times), like the database itself.
    workdir = Path(tempfile.gettempdir()) / "cairn-scale"
    workdir.mkdir(exist_ok=True)
    config = settings(args.database_url, workdir / "keys", signing_processes=1)
    # The keys must outlive one run for --reuse: a fixed secret for this throw-away database.
    config.update(KEY_PASSPHRASE=BENCH_PASSPHRASE, JOBS_INLINE=True, KEY_KDF_FOR_TESTS=True)
    application = create_app(config)
    with application.app_context():
        if args.reuse:
            flask_migrate.upgrade(directory=MIGRATIONS)
        else:
            print(f"building {args.rows:,} credentials in {args.database_url}", flush=True)
            build(application, args.rows)
        if args.only or args.skip:
            global routes
            every = routes

            def only(app_: Any) -> tuple[Any, list[tuple[str, str, dict[str, str]]]]:
                client, plan = every(app_)
                return client, [
                    p for p in plan if args.only in p[0] and not (args.skip and args.skip in p[0])
                ]

            routes = only  # type: ignore[assignment]
        passed = time_routes(application, args.requests, args.explain)
    print("\nall routes PASS" if passed else "\nsome routes FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
