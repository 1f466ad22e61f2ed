"""Bulk awards through the workspace: upload, preview verdicts, confirm, progress, results, and
every kind of bad file answered with an explanation rather than an error page."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import BulkJob, BulkRow, IssuedCredential, StaffAccount
from app.services.awarding import bulk
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import verify_credential
from tests.app.conftest import BASE_URL, Web, sign_in_directly

TEST = Actor(label="test")


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    """Sign in by writing the session (the sign-in form itself is tested with the auth views)."""
    sign_in_directly(client, "staff", account.id)


FUTURE = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
FILE = (
    "email,name,expiry\r\n"
    "good1@school.example.org,Good One,\r\n"
    "good2@school.example.org,Good Two,never\r\n"
    "not-an-email,Bad Email,\r\n"
    "past@school.example.org,Past Expiry,2001-01-01\r\n"
    "GOOD1@school.example.org,Good One Again,\r\n"
    "holder@school.example.org,Already Holds,\r\n"
    f"good3@school.example.org,Good Three,{FUTURE}\r\n"
).encode()


@pytest.fixture
def owner(make_staff):
    return make_staff()


@pytest.fixture
def issuer(make_issuer, owner):
    return make_issuer(owner=owner)


@pytest.fixture
def achievement(issuer, make_achievement):
    return make_achievement(issuer)


@pytest.fixture
def signed_in(web, owner) -> Web:
    sign_in(web.client, owner)
    return web


def upload_page(issuer: Any, achievement: Any) -> str:
    return f"/workspace/{issuer.slug}/achievements/{achievement.public_id}/bulk"


def upload(
    web: Web, issuer: Any, achievement: Any, data: bytes, filename: str = "awards.csv"
) -> Any:
    page = upload_page(issuer, achievement)
    return web.submit(
        page, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def job_path(issuer: Any, response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    location = response.headers["Location"]
    assert re.search(rf"/workspace/{issuer.slug}/jobs/[0-9a-f-]{{36}}$", location), location
    return location.removeprefix(BASE_URL)


def table_rows(html: str) -> list[tuple[str, ...]]:
    """(row, email, verdict, message) for each row of a job page's table."""
    found = re.findall(
        r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]*)</td>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*"
        r'<td><span class="status status-(\w+)">\w+</span></td>\s*<td>([^<]*)</td>',
        html,
    )
    return [tuple(item) for item in found]


def test_bulk_awards_end_to_end(
    signed_in, client, issuer, achievement, make_award, local_fetch
) -> None:
    holder = make_award(issuer, achievement, "holder@school.example.org")
    page = signed_in.get(upload_page(issuer, achievement)).get_data(as_text=True)
    for column in ("email", "name", "narrative", "evidence_url", "evidence_narrative", "expiry"):
        assert f"<code>{column}</code>" in page
    assert "never" in page and "bulk-template.csv" in page

    path = job_path(issuer, upload(signed_in, issuer, achievement, FILE))
    preview = signed_in.get(path).get_data(as_text=True)
    assert "Nothing has been issued yet" in preview
    assert "<strong>3</strong> will be issued" in preview
    assert "<strong>2</strong> cannot be issued" in preview
    assert "<strong>2</strong> will be skipped" in preview
    assert table_rows(preview) == [
        ("2", "good1@school.example.org", "ok", ""),
        ("3", "good2@school.example.org", "ok", ""),
        ("4", "not-an-email", "invalid", "&#39;not-an-email&#39; is not an email address"),
        ("5", "past@school.example.org", "invalid", "the expiry date is in the past"),
        ("6", "GOOD1@school.example.org", "duplicate", "appears earlier in this file"),
        ("7", "holder@school.example.org", "duplicate", "already holds this achievement"),
        ("8", "good3@school.example.org", "ok", ""),
    ]
    assert "Issue 3 credentials" in preview and "Cancel this upload" in preview
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 1

    job_id = path.rsplit("/", 1)[1]
    progress = signed_in.get(f"{path}/progress.json")
    assert progress.headers["Cache-Control"] == "no-store"
    assert progress.get_json() == {
        "state": "previewed", "total_rows": 7, "to_issue": 3, "done": 0, "issued": 0,
        "failed": 0, "skipped": 0, "percent": 0, "error": None,
    }  # fmt: skip

    confirmed = signed_in.submit(path, f"{path}/confirm")
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith(path)
    done = signed_in.get(path).get_data(as_text=True)
    assert "<h2>Done</h2>" in done
    assert 'status-issued">Issued</span> <strong>3</strong>' in done
    assert 'status-skipped">Skipped</span> <strong>4</strong>' in done
    assert 'status-failed">Failed</span> <strong>0</strong>' in done
    assert 'http-equiv="refresh"' not in done and "bulk-progress.js" not in done
    assert signed_in.get(f"{path}/progress.json").get_json() == {
        "state": "done", "total_rows": 7, "to_issue": 3, "done": 3, "issued": 3,
        "failed": 0, "skipped": 4, "percent": 100, "error": None,
    }  # fmt: skip

    results = signed_in.get(f"{path}/results.csv")
    assert results.mimetype == "text/csv"
    assert (
        results.headers["Content-Disposition"]
        == f'attachment; filename="cairn-bulk-results-{job_id}.csv"'
    )
    table = list(csv.reader(io.StringIO(results.get_data(as_text=True))))
    issued = {
        c.recipient_email: c
        for c in db.session.scalars(
            select(IssuedCredential).where(IssuedCredential.bulk_job_id == job_id)
        )
    }
    assert sorted(issued) == [
        "good1@school.example.org",
        "good2@school.example.org",
        "good3@school.example.org",
    ]
    url = f"{BASE_URL}/credentials/"
    # fmt: off
    assert table == [
        ["row", "email", "name", "verdict", "outcome", "message", "credential_url"],
        ["2", "good1@school.example.org", "Good One", "ok", "issued", "", url + issued["good1@school.example.org"].id],
        ["3", "good2@school.example.org", "Good Two", "ok", "issued", "", url + issued["good2@school.example.org"].id],
        ["4", "not-an-email", "Bad Email", "invalid", "skipped", "'not-an-email' is not an email address", ""],
        ["5", "past@school.example.org", "Past Expiry", "invalid", "skipped", "the expiry date is in the past", ""],
        ["6", "GOOD1@school.example.org", "Good One Again", "duplicate", "skipped", "appears earlier in this file", ""],
        ["7", "holder@school.example.org", "Already Holds", "duplicate", "skipped", "already holds this achievement", ""],
        ["8", "good3@school.example.org", "Good Three", "ok", "issued", "", url + issued["good3@school.example.org"].id],
    ]
    # fmt: on
    assert issued["good2@school.example.org"].valid_until is None
    assert issued["good3@school.example.org"].valid_until == datetime.fromisoformat(
        f"{FUTURE}T23:59:59+00:00"
    )
    env = service_env()
    for credential in issued.values():
        report = verify_credential(credential.document, loader=env.loader,
                                   now=env.now + timedelta(seconds=1), fetch=local_fetch)  # fmt: skip
        assert report.valid, report.as_json()["checks"]
    assert holder.id not in {c.id for c in issued.values()}

    # The same file again: everyone it could award now holds the achievement.
    again = job_path(issuer, upload(signed_in, issuer, achievement, FILE))
    second = signed_in.get(again).get_data(as_text=True)
    verdicts = {row: (verdict, message) for row, _, verdict, message in table_rows(second)}
    assert verdicts == {
        "2": ("duplicate", "already holds this achievement"),
        "3": ("duplicate", "already holds this achievement"),
        "4": ("invalid", "&#39;not-an-email&#39; is not an email address"),
        "5": ("invalid", "the expiry date is in the past"),
        "6": ("duplicate", "already holds this achievement"),
        "7": ("duplicate", "already holds this achievement"),
        "8": ("duplicate", "already holds this achievement"),
    }
    assert "No row in this file can be issued." in second and "Issue 0" not in second
    refused = signed_in.submit(again, f"{again}/confirm")
    assert refused.status_code == 302
    assert "No row in this file can be issued." in signed_in.get(again).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 4

    jobs = signed_in.get(f"/workspace/{issuer.slug}/jobs").get_data(as_text=True)
    assert jobs.count("awards.csv") == 2 and "Formative Assessment in Practice" in jobs


def test_a_running_job_shows_a_live_progress_bar(signed_in, issuer, achievement) -> None:
    path = job_path(
        issuer, upload(signed_in, issuer, achievement, b"email\nann@school.example.org\n")
    )
    job = db.session.get(BulkJob, path.rsplit("/", 1)[1])
    assert job is not None
    job.state = "running"  # as seen while a worker is part-way through it
    db.session.commit()
    html = signed_in.get(path).get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert f'data-progress-url="{path}/progress.json"' in html
    assert re.search(r'<progress id="bulk-progress-bar" max="1" value="0">', html)
    assert '<script src="/static/js/bulk-progress.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html
    with signed_in.get("/static/js/bulk-progress.js") as script:
        assert script.status_code == 200 and script.mimetype == "text/javascript"
        assert b"data-progress-url" in script.data and b"location.reload" in script.data


def test_cancelling_a_preview_issues_nothing(signed_in, issuer, achievement) -> None:
    path = job_path(
        issuer, upload(signed_in, issuer, achievement, b"email\nann@school.example.org\n")
    )
    assert signed_in.submit(path, f"{path}/cancel").status_code == 302
    html = signed_in.get(path).get_data(as_text=True)
    assert "Cancelled; nothing was issued." in html and "Cancel this upload" not in html
    signed_in.submit(path, f"{path}/confirm")
    assert "already been confirmed or cancelled" in signed_in.get(path).get_data(as_text=True)
    signed_in.submit(path, f"{path}/cancel")
    assert "Only a job that has not been confirmed" in signed_in.get(path).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 0


def rows_of(count: int) -> bytes:
    # Short addresses keep even 20,001 rows under the 500 KB at which Werkzeug's test client
    # spools a request body to a temporary file it never closes.
    return ("email\n" + "".join(f"p{i}@school.org\n" for i in range(count))).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "That is not a CSV file."),
        (b"%PDF-1.7\n\x81\x8d\x8f\x90\x9d binary", "The file is not UTF-8 or Windows-1252 text."),
        (b"name,narrative\nAnn Lee,Did it\n", "including an &#39;email&#39; column"),
        (b"email\tname\nann@school.example.org\tAnn\n", "including an &#39;email&#39; column"),
        (b"email,name\n", "The file has a header but no rows."),
        (b'email,name\n"ann@school.example.org,Ann\n', "The CSV file is malformed"),
        (rows_of(20_001), "The file has more than 20,000 rows; split it."),
    ],
    ids=[
        "empty",
        "png",
        "binary",
        "no-email-column",
        "tab-separated",
        "header-only",
        "bad-quote",
        "too-many-rows",
    ],
)
def test_unusable_files_are_explained_and_nothing_is_stored(
    signed_in, issuer, achievement, data: bytes, message: str
) -> None:
    response = upload(signed_in, issuer, achievement, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and 'id="file-error"' in html
    assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 0


def test_no_file_chosen(signed_in, issuer, achievement) -> None:
    response = signed_in.submit(
        upload_page(issuer, achievement), data={}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "Choose a CSV file to upload." in response.get_data(as_text=True)


def test_semicolons_and_windows_1252_are_understood(signed_in, issuer, achievement) -> None:
    data = "E-mail;Name;Expiry\r\njose@school.example.org;José Müller;never\r\n".encode("cp1252")
    path = job_path(issuer, upload(signed_in, issuer, achievement, data, "exports/awards é.csv"))
    html = signed_in.get(path).get_data(as_text=True)
    assert "<td>José Müller</td>" in html and "<td>never</td>" in html
    assert table_rows(html) == [("2", "jose@school.example.org", "ok", "")]
    assert "<h1>awards é.csv " in html and "exports" not in html


def test_a_file_larger_than_the_upload_limit_is_refused(
    signed_in, app, issuer, achievement
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = upload(signed_in, issuer, achievement, rows_of(500))
    assert response.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 0


def test_the_preview_pages_through_rows_200_at_a_time(signed_in, issuer, achievement) -> None:
    data = rows_of(448) + b"bad-address\np0@school.org\n"
    path = job_path(issuer, upload(signed_in, issuer, achievement, data))
    first = signed_in.get(path).get_data(as_text=True)
    third = signed_in.get(f"{path}?page=3").get_data(as_text=True)
    assert len(table_rows(first)) == 200 and table_rows(first)[0][0] == "2"
    assert [r[0] for r in table_rows(third)] == [str(n) for n in range(402, 452)]
    assert "page 1 of 3" in first and "?page=2" in first
    assert len(table_rows(signed_in.get(f"{path}?page=999").get_data(as_text=True))) == 50
    assert signed_in.get(f"{path}?page=x").status_code == 200
    invalid = signed_in.get(f"{path}?verdict=invalid").get_data(as_text=True)
    assert table_rows(invalid) == [
        ("450", "bad-address", "invalid", "&#39;bad-address&#39; is not an email address")
    ]
    duplicates = signed_in.get(f"{path}?verdict=duplicate").get_data(as_text=True)
    assert table_rows(duplicates) == [
        ("451", "p0@school.org", "duplicate", "appears earlier in this file")
    ]
    assert len(table_rows(signed_in.get(f"{path}?verdict=bogus").get_data(as_text=True))) == 200


def test_the_template_has_the_documented_columns(signed_in, issuer) -> None:
    response = signed_in.get(f"/workspace/{issuer.slug}/bulk-template.csv")
    assert (
        response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    )
    assert (
        response.get_data(as_text=True)
        == "email,name,narrative,evidence_url,evidence_narrative,expiry\r\n"
    )
    assert (
        bulk.parse_csv(response.data + b"a@b.example.org,,,,,\r\n", max_rows=10)[0].email
        == "a@b.example.org"
    )


def test_who_may_do_what(web, client, issuer, achievement, owner, make_staff, make_issuer) -> None:
    sign_in(client, owner)
    path = job_path(issuer, upload(web, issuer, achievement, b"email\nann@school.example.org\n"))
    viewer = make_staff("viewer@district7.example.org", name="Val Viewer")
    staff.set_role(issuer, viewer, "viewer", actor=TEST, env=service_env())
    sign_in(client, viewer)
    for readable in (
        path,
        f"{path}/progress.json",
        f"{path}/results.csv",
        f"/workspace/{issuer.slug}/jobs",
    ):
        assert web.get(readable).status_code == 200, readable
    assert "Cancel this upload" not in web.get(path).get_data(as_text=True)
    assert web.get(upload_page(issuer, achievement)).status_code == 403
    assert web.get(f"/workspace/{issuer.slug}/bulk-template.csv").status_code == 403
    for action in (f"{path}/confirm", f"{path}/cancel"):
        assert web.submit(path, action).status_code == 403
    refused = web.submit(path, upload_page(issuer, achievement),
                         data={"file": (io.BytesIO(FILE), "x.csv")}, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 1
    assert db.session.scalar(select(BulkJob.state)) == "previewed"

    outsider = make_staff("out@elsewhere.example.org", name="Out Sider")
    make_issuer("Elsewhere", owner=outsider)
    sign_in(client, outsider)
    token = web.csrf_token("/workspace/elsewhere/")
    for readable in (path, f"{path}/progress.json", f"{path}/results.csv", f"/workspace/{issuer.slug}/jobs",
                     upload_page(issuer, achievement), f"/workspace/{issuer.slug}/bulk-template.csv"):  # fmt: skip
        assert web.get(readable).status_code == 404, readable
    for action in (f"{path}/confirm", f"{path}/cancel", upload_page(issuer, achievement)):
        assert client.post(action, data={"csrf_token": token}, base_url=BASE_URL).status_code == 404
    assert db.session.scalar(select(BulkJob.state)) == "previewed"


def test_unknown_and_foreign_jobs_are_not_found(
    signed_in, issuer, make_issuer, make_achievement
) -> None:
    elsewhere = make_issuer("Elsewhere")
    foreign = bulk.create_job(elsewhere, make_achievement(elsewhere), filename="f.csv",
                              data=b"email\nx@elsewhere.example.org\n", actor=TEST, env=service_env(),
                              max_rows=10)  # fmt: skip
    token = signed_in.csrf_token(f"/workspace/{issuer.slug}/")
    for job_id in (foreign.id, "nope", "1" * 400):
        path = f"/workspace/{issuer.slug}/jobs/{job_id}"
        for suffix in ("", "/progress.json", "/results.csv"):
            assert signed_in.get(path + suffix).status_code == 404
        for action in ("confirm", "cancel"):
            response = signed_in.client.post(
                f"{path}/{action}", data={"csrf_token": token}, base_url=BASE_URL
            )
            assert response.status_code == 404
    assert db.session.get(BulkJob, foreign.id).state == "previewed"  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(BulkRow)) == 1
    assert "f.csv" not in signed_in.get(f"/workspace/{issuer.slug}/jobs").get_data(as_text=True)
