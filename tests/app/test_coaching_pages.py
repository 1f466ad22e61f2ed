"""The coaching pages through the test client: the plan form (refusals keep what was typed),
the coach's log, a dispute's comment for the coach and not the leaders, the coach's summary
preview, the settings forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import CoachingPlan, CoachingSession, RecognitionRule
from app.services.learning import coaching
from app.wiring import service_env
from tests.app.coaching_helpers import PRIVATE_NOTE, District, district, log
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.portfolio_helpers import sign_in_educator


@pytest.fixture
def d(make_staff, make_issuer, make_achievement) -> District:
    return district(make_staff, make_issuer, make_achievement)


def token_of(client: FlaskClient, path: str) -> str:
    page = client.get(path, base_url=BASE_URL).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, path
    return found.group(1)


def as_staff(client: FlaskClient, account: Any) -> None:
    sign_in_directly(client, "staff", account.id)


def test_the_plan_form_refuses_a_stranger_and_keeps_what_was_typed(
    client: FlaskClient, d: District
) -> None:
    as_staff(client, d.owner)
    path = f"/workspace/{d.issuer.slug}/coaching/plans/new"
    token = token_of(client, path)
    focus = coaching.types_for(d.issuer, service_env())[0]
    form: dict[str, Any] = {
        "csrf_token": token, "school": d.school.public_id, "coach": str(d.coach.id),
        "coaching_type": str(focus.id), "face_to_face": "3", "virtual": "1",
        "educators": [d.ann.emails[0].email],
        "educators_text": "nobody@nowhere.example.org",
        f"recipient-{d.school_leader.id}": "summary",
    }  # fmt: skip
    refused = client.post(path, data=form, base_url=BASE_URL)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "nobody@nowhere.example.org is not someone this organisation knows" in page
    assert "nobody@nowhere.example.org</textarea>" in page  # kept
    assert f'value="{d.ann.emails[0].email}" checked' in page
    before = db.session.scalar(select(db.func.count()).select_from(CoachingPlan))
    form["educators_text"] = d.ben.emails[0].email
    saved = client.post(path, data=form, base_url=BASE_URL)
    assert saved.status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(CoachingPlan)) == before + 1
    plan = db.session.scalars(select(CoachingPlan).order_by(CoachingPlan.id.desc())).first()
    assert plan is not None
    assert {p.email for p in plan.participants} == {d.ann.emails[0].email, d.ben.emails[0].email}
    assert [(r.staff_id, r.report_format) for r in plan.recipients] == [
        (d.school_leader.id, "summary")
    ]
    # The edit form shows the plan as saved.
    edit = client.get(
        f"/workspace/{d.issuer.slug}/coaching/plans/{plan.public_id}/edit", base_url=BASE_URL
    )
    assert f'value="{d.ben.emails[0].email}" checked' in edit.get_data(as_text=True)


def test_the_coach_logs_a_session_and_reads_what_leaders_get(
    client: FlaskClient, d: District
) -> None:
    as_staff(client, d.coach)
    base = f"/workspace/{d.issuer.slug}/coaching/plans/{d.plan.public_id}"
    token = token_of(client, base + "/sessions/new")
    ann = next(p for p in d.plan.participants if p.email.startswith("ann"))
    refused = client.post(base + "/sessions/new", data={"csrf_token": token, "held_on": "",
                          "mode": "virtual", "notes": "Kept notes"}, base_url=BASE_URL)  # fmt: skip
    assert refused.status_code == 400 and "Kept notes</textarea>" in refused.get_data(as_text=True)
    logged = client.post(base + "/sessions/new", data={
        "csrf_token": token, "held_on": service_env().now.date().isoformat(), "mode": "virtual",
        "participants": [str(ann.id)], "focus": "Questioning", "notes": "Shared notes here",
        "private_notes": PRIVATE_NOTE, "next_steps": "Try wait time",
    }, base_url=BASE_URL)  # fmt: skip
    assert logged.status_code == 302
    session = db.session.scalars(select(CoachingSession)).one()
    report = f"{base}/sessions/{session.public_id}/report"
    full = client.get(report, base_url=BASE_URL).get_data(as_text=True)
    summary = client.get(report + "?format=summary", base_url=BASE_URL).get_data(as_text=True)
    assert "Shared notes here" in full and "Shared notes here" not in summary
    assert "Try wait time" in summary and PRIVATE_NOTE not in full + summary
    # A leader cannot ask for another format than theirs.
    as_staff(client, d.district_leader)
    asked = client.get(report + "?format=full", base_url=BASE_URL).get_data(as_text=True)
    assert "Shared notes here" not in asked


def test_a_disputes_comment_is_for_the_coach_not_the_leaders(
    client: FlaskClient, d: District
) -> None:
    session = log(d, who=(d.ann,))
    sign_in_educator(client, d.ann)
    token = token_of(client, "/me/coaching")
    answer = f"/me/coaching/sessions/{session.public_id}/answer"
    refused = client.post(
        answer, data={"csrf_token": token, "answer": "dispute"}, base_url=BASE_URL
    )
    assert refused.status_code == 400 and "Say what did not happen" in refused.get_data(
        as_text=True
    )
    done = client.post(answer, data={"csrf_token": token, "answer": "dispute",
                       "comment": "It was only ten minutes."}, base_url=BASE_URL)  # fmt: skip
    assert done.status_code == 303
    again = client.post(answer, data={"csrf_token": token, "answer": "confirm"}, base_url=BASE_URL)
    assert again.status_code == 409
    plan = f"/workspace/{d.issuer.slug}/coaching/plans/{d.plan.public_id}"
    as_staff(client, d.coach)
    assert "It was only ten minutes." in client.get(plan, base_url=BASE_URL).get_data(as_text=True)
    for leader in (d.school_leader, d.district_leader):
        as_staff(client, leader)
        page = client.get(plan, base_url=BASE_URL).get_data(as_text=True)
        assert "Not as logged" in page and "It was only ten minutes." not in page


def test_the_settings_forms(client: FlaskClient, d: District) -> None:
    as_staff(client, d.owner)
    path = f"/workspace/{d.issuer.slug}/coaching/settings"
    token = token_of(client, path)
    slug = d.issuer.slug
    dup = client.post(f"/workspace/{slug}/coaching/types", data={"csrf_token": token,
                      "name": "Leadership coaching"}, base_url=BASE_URL)  # fmt: skip
    assert dup.status_code == 400 and "already a coaching type" in dup.get_data(as_text=True)
    added = client.post(f"/workspace/{slug}/coaching/types", data={"csrf_token": token,
                        "name": "Peer observation"}, base_url=BASE_URL)  # fmt: skip
    assert added.status_code == 302
    bad = client.post(f"/workspace/{slug}/coaching/recognition", data={"csrf_token": token,
                      "achievement": d.cycle_badge.public_id, "kind": "partner", "count": "x"},
                      base_url=BASE_URL)  # fmt: skip
    assert bad.status_code == 400 and "whole number" in bad.get_data(as_text=True)
    client.post(f"/workspace/{slug}/coaching/recognition/{d.cycle_badge.public_id}/remove",
                data={"csrf_token": token}, base_url=BASE_URL)  # fmt: skip
    assert db.session.scalars(select(RecognitionRule)).all() == []
