"""The audit log page and its CSV export, and the per-achievement reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, StaffAccount
from app.services.awarding import revocation
from app.services.org import achievements, audit, staff
from app.services.org.audit import Actor
from app.wiring import service_env
from app.workspace import audit as audit_view
from tests.app.conftest import BASE_URL, sign_in_directly

TEST = Actor(label="test")


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    """Sign in by writing the session (the sign-in form itself is tested with the auth views)."""
    sign_in_directly(client, "staff", account.id)


@pytest.fixture
def owner(make_staff):
    return make_staff()


@pytest.fixture
def issuer(make_issuer, owner):
    return make_issuer(owner=owner)


@pytest.fixture
def history(issuer, make_achievement, make_award, make_issuer) -> dict[str, Any]:
    """An achievement, two awards, a revocation and a suspension; and another issuer's award."""
    achievement = make_achievement(issuer)
    first = make_award(issuer, achievement, "first@school.example.org")
    second = make_award(issuer, achievement, "second@school.example.org")
    revocation.revoke(first, "Awarded in error", actor=TEST, env=service_env())
    revocation.suspend(second, "Under review", actor=TEST, env=service_env())
    elsewhere = make_issuer("Elsewhere")
    make_award(
        elsewhere, make_achievement(elsewhere, "Secret badge"), "secret@elsewhere.example.org"
    )
    return {"achievement": achievement, "first": first, "second": second}


def shown_actions(html: str) -> list[str]:
    return re.findall(r"<td><code>([a-z_.]+)</code></td>", html)


def own_actions(issuer: Any) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.issuer_id == issuer.id)
            .order_by(AuditEvent.id.desc())
        )
    )


def test_the_log_lists_events_newest_first_and_filters_by_action(
    web, owner, issuer, history
) -> None:
    sign_in(web.client, owner)
    page = f"/workspace/{issuer.slug}/audit"
    html = web.get(page).get_data(as_text=True)
    assert shown_actions(html) == own_actions(issuer)
    assert shown_actions(html)[:2] == ["credential.suspend", "credential.revoke"]
    assert "secret@elsewhere.example.org" not in html and "Secret badge" not in html
    assert "reason: Awarded in error" in html
    assert f'href="/workspace/{issuer.slug}/credentials/{history["first"].id}"' in html
    assert '<option value="credential.revoke">credential.revoke</option>' in html
    assert f'href="/workspace/{issuer.slug}/audit.csv"' in html

    revokes = web.get(f"{page}?action=credential.revoke").get_data(as_text=True)
    assert shown_actions(revokes) == ["credential.revoke"]
    assert '<option value="credential.revoke" selected>' in revokes
    for junk in ("action=no.such", "before=abc", "before=-1", "before=999999999999999999999999"):
        response = web.get(f"{page}?{junk}")
        assert response.status_code == 200
        assert shown_actions(response.get_data(as_text=True)) == own_actions(issuer), junk


def test_the_log_pages_with_before_id(web, owner, issuer, history, monkeypatch) -> None:
    monkeypatch.setattr(audit_view, "PAGE_SIZE", 2)
    sign_in(web.client, owner)
    expected = own_actions(issuer)
    assert len(expected) == 6  # three full pages
    seen: list[str] = []
    path = f"/workspace/{issuer.slug}/audit"
    for _ in range(10):
        html = web.get(path).get_data(as_text=True)
        seen += shown_actions(html)
        older = re.search(r'href="([^"]+)" rel="next">Older events', html)
        if older is None:
            break
        path = older.group(1).replace("&amp;", "&")
        assert "before=" in path
    assert seen == expected
    filtered = web.get(f"/workspace/{issuer.slug}/audit?action=credential.issue").get_data(
        as_text=True
    )
    assert shown_actions(filtered) == ["credential.issue", "credential.issue"]
    assert "Older events" not in filtered


def test_the_log_filters_by_staff_member_date_range_and_subject(
    web, owner, issuer, history, make_staff
) -> None:
    colleague = make_staff("colleague@district7.example.org", name="Cal Colleague")
    staff.set_role(issuer, colleague, "awarder", actor=Actor(owner), env=service_env())
    revocation.unsuspend(history["second"], "Checked", actor=Actor(colleague), env=service_env())
    sign_in(web.client, owner)
    page = f"/workspace/{issuer.slug}/audit"
    html = web.get(page).get_data(as_text=True)
    assert f'<option value="{colleague.id}">colleague@district7.example.org</option>' in html
    assert '<option value="credential">credential</option>' in html

    theirs = web.get(f"{page}?staff={colleague.id}").get_data(as_text=True)
    assert shown_actions(theirs) == ["credential.unsuspend"]
    assert f'<option value="{colleague.id}" selected>' in theirs
    mine = web.get(f"{page}?staff={owner.id}").get_data(as_text=True)
    assert shown_actions(mine) == ["staff.role"]

    second = history["second"].id
    about = web.get(f"{page}?subject=credential&subject_id={second}").get_data(as_text=True)
    assert shown_actions(about) == [
        "credential.unsuspend",
        "credential.suspend",
        "credential.issue",
    ]
    today = service_env().now.date()
    dated = web.get(f"{page}?from={today}&to={today}").get_data(as_text=True)
    assert shown_actions(dated) == own_actions(issuer)
    tomorrow = today + timedelta(days=1)
    none = web.get(f"{page}?from={tomorrow}").get_data(as_text=True)
    assert shown_actions(none) == [] and "No events match these filters." in none
    yesterday = today - timedelta(days=1)
    assert shown_actions(web.get(f"{page}?to={yesterday}").get_data(as_text=True)) == []
    # Filters combine, and values the log cannot match are ignored.
    both = web.get(f"{page}?staff={colleague.id}&action=credential.revoke").get_data(as_text=True)
    assert shown_actions(both) == []
    for junk in ("staff=abc", "staff=999999", "from=yesterday", "to=2026-13-40", "subject=nope"):
        response = web.get(f"{page}?{junk}")
        assert response.status_code == 200
        assert shown_actions(response.get_data(as_text=True)) == own_actions(issuer), junk


def test_paging_keeps_the_filters(web, owner, issuer, history, monkeypatch) -> None:
    monkeypatch.setattr(audit_view, "PAGE_SIZE", 1)
    sign_in(web.client, owner)
    today = service_env().now.date()
    html = web.get(f"/workspace/{issuer.slug}/audit?subject=credential&from={today}").get_data(
        as_text=True
    )
    older = re.search(r'href="([^"]+)" rel="next">Older events', html)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "subject=credential" in link and f"from={today}" in link and "before=" in link
    assert len(shown_actions(web.get(link).get_data(as_text=True))) == 1


def test_owners_export_the_log_as_csv(web, owner, issuer, history) -> None:
    sign_in(web.client, owner)
    response = web.get(f"/workspace/{issuer.slug}/audit.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="cairn-audit-{issuer.slug}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == audit.CSV_COLUMNS
    assert [row[3] for row in rows[1:]] == list(reversed(own_actions(issuer)))
    revoke = next(row for row in rows if row[3] == "credential.revoke")
    assert revoke[5] == history["first"].id
    assert json.loads(revoke[7])["reason"] == "Awarded in error"
    assert "secret@elsewhere.example.org" not in response.get_data(as_text=True)


def test_only_owners_export_and_viewers_read(web, client, issuer, history, make_staff) -> None:
    for role in ("editor", "awarder", "viewer"):
        account = make_staff(f"{role}@district7.example.org", name=role.title())
        staff.set_role(issuer, account, role, actor=TEST, env=service_env())
        sign_in(client, account)
        assert web.get(f"/workspace/{issuer.slug}/audit.csv").status_code == 403, role
        html = web.get(f"/workspace/{issuer.slug}/audit").get_data(as_text=True)
        assert "audit.csv" not in html and "credential.revoke" in html
        assert web.get(f"/workspace/{issuer.slug}/reports").status_code == 200
        assert web.get(f"/workspace/{issuer.slug}/reports.csv").status_code == 200


def test_outsiders_get_404_and_anonymous_visitors_sign_in(
    web, client, issuer, history, make_staff, make_issuer
) -> None:
    paths = [
        f"/workspace/{issuer.slug}/{tail}"
        for tail in ("audit", "audit.csv", "reports", "reports.csv")
    ]
    for path in paths:
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    outsider = make_staff("out@elsewhere.example.org", name="Out Sider")
    make_issuer("Somewhere Else", owner=outsider)
    sign_in(client, outsider)
    for path in paths:
        response = web.get(path)
        assert response.status_code == 404 and "District 7" not in response.get_data(as_text=True)


def test_reports_count_credentials_per_achievement(
    web, owner, issuer, history, make_achievement, make_award
) -> None:
    sign_in(web.client, owner)
    formula = make_achievement(issuer, '=HYPERLINK("https://evil.example")')
    expiring = make_award(issuer, formula, "x@school.example.org",
                          valid_until=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
    make_award(issuer, formula, "y@school.example.org")
    expiring.valid_until = datetime.now(UTC) - timedelta(days=1)  # only time expires one
    db.session.commit()
    achievements.set_archived(formula, True, actor=TEST, env=service_env())

    html = web.get(f"/workspace/{issuer.slug}/reports").get_data(as_text=True)
    cells = re.findall(r"<tr>\s*<td><a[^>]*>([^<]+)</a>.*?</td>\s*((?:<td>\d+</td>)+)", html, re.S)
    counts = {name: re.findall(r"\d+", numbers) for name, numbers in cells}
    assert counts == {
        "=HYPERLINK(&#34;https://evil.example&#34;)": ["2", "1", "0", "0", "1"],
        "Formative Assessment in Practice": ["2", "0", "1", "1", "0"],
    }
    assert "<td><strong>4</strong></td>" in html  # total issued
    assert f"achievement={history['achievement'].public_id}" in html

    response = web.get(f"/workspace/{issuer.slug}/reports.csv")
    assert (
        response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["achievement", "achievement_id", "version", "archived", "issued", "valid",
                       "revoked", "suspended", "expired"]  # fmt: skip
    assert sorted(rows[1:]) == sorted([
        ["'=HYPERLINK(\"https://evil.example\")", formula.public_id, "1", "yes", "2", "1", "0", "0", "1"],
        ["Formative Assessment in Practice", history["achievement"].public_id, "1", "no", "2", "0", "1", "1", "0"],
    ])  # fmt: skip


def test_reports_with_nothing_to_report(web, owner, issuer) -> None:
    sign_in(web.client, owner)
    assert "nothing to report" in web.get(f"/workspace/{issuer.slug}/reports").get_data(
        as_text=True
    )
    rows = list(
        csv.reader(
            io.StringIO(web.get(f"/workspace/{issuer.slug}/reports.csv").get_data(as_text=True))
        )
    )
    assert len(rows) == 1
