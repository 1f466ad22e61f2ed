"""Self-directed learning and the hours report through their pages: the educator's form and its
refusals, the reviewer's form and its refusals, the queue listing requests beside submissions,
the setting, and the report's page and CSV with bad choices."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import IssuedCredential, Issuer, LearningRequest, StaffAccount
from app.services.learning import self_directed
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.portfolio_helpers import PDF, make_educator, sign_in_educator
from tests.app.workspace.test_achievements import sign_in
from tests.app.workspace.test_reviews import page

FORM = {
    "organisation": "district7", "kind": "book_study", "title": "Building Thinking Classrooms",
    "provider": "Staff book club", "started_on": "2026-09-01", "ended_on": "2026-11-30",
    "hours": "9", "description": "Weekly chapters; I now use *vertical whiteboards*.",
    "links": "https://notes.example.org/btc",
}  # fmt: skip


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer("District 7", slug="district7", owner=owner)


@pytest.fixture
def sdl(issuer: Issuer, make_achievement: Any) -> Any:
    return make_achievement(issuer, "Self-directed learning", credits_available=1,
                            credit_unit="clock_hours")  # fmt: skip


@pytest.fixture
def learner(issuer: Issuer, make_achievement: Any, make_award: Any) -> Any:
    found = make_educator("ann.lee@school.example.org")
    make_award(issuer, make_achievement(issuer, "Module badge"), "ann.lee@school.example.org")
    return found


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_setting_is_chosen_by_editors_from_the_organisations_hour_achievements(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, sdl: Any, make_achievement: Any
) -> None:
    make_achievement(issuer, "CEU badge", credits_available=1, credit_unit="ceu")
    sign_in(client, owner)
    path = f"/workspace/{issuer.slug}/self-directed-learning"
    form = page(web.get(path))
    assert form.unlabelled_inputs() == [] and "CEU badge" not in form.text
    refused = web.submit(path, data={"achievement": "not-an-achievement"})
    assert "Choose one of this organisation" in page(refused, 400).text
    assert web.submit(path, data={"achievement": sdl.public_id}).status_code == 303
    assert self_directed.setting_of(issuer) == sdl


def test_an_educator_records_learning_and_bad_input_is_shown(
    client: Any, web: Web, issuer: Issuer, sdl: Any, learner: Any
) -> None:
    self_directed.set_achievement(issuer, sdl.public_id, actor=Actor(label="t"), env=service_env())
    sign_in_educator(client, learner)
    form = page(web.get("/me/learning/new"))
    assert form.unlabelled_inputs() == []
    refused = web.submit("/me/learning/new", data={**FORM, "title": "", "hours": "lots"})
    text = page(refused, 400).text
    assert "Give the learning a title." in text and "Enter a number of hours" in text
    assert count(LearningRequest) == 0
    refused = web.submit("/me/learning/new", data={**FORM, "organisation": "elsewhere"})
    assert "Choose one of your organisations" in page(refused, 400).text
    saved = web.submit(
        "/me/learning/new",
        data={**FORM, "action": "submit", "file": (io.BytesIO(PDF), "reading-log.pdf")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 303
    found = db.session.scalar(select(LearningRequest))
    assert (
        found is not None
        and found.state == "submitted"
        and found.files[0].file.filename == "reading-log.pdf"
    )
    shown = page(web.get(saved.headers["Location"])).text
    assert "Waiting for a decision" in shown and "vertical whiteboards" in shown


def test_an_educator_without_a_confirmed_name_is_asked_for_it_first(
    client: Any, web: Web, issuer: Issuer, sdl: Any, learner: Any
) -> None:
    self_directed.set_achievement(issuer, sdl.public_id, actor=Actor(label="t"), env=service_env())
    learner.credential_name = None
    db.session.commit()
    sign_in_educator(client, learner)
    answer = web.submit("/me/learning/new", data={**FORM, "action": "submit"})
    assert answer.status_code == 303 and "/me/name" in answer.headers["Location"]
    assert db.session.scalar(select(LearningRequest.state)) == "draft"


def test_the_reviewer_decides_from_the_queue_and_refusals_change_nothing(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, sdl: Any, learner: Any
) -> None:
    from schemas.self_directed import load_learning_request

    env = service_env()
    self_directed.set_achievement(issuer, sdl.public_id, actor=Actor(label="t"), env=env)
    found = self_directed.create(learner, load_learning_request(FORM), env)
    self_directed.submit(found, learner, env)
    sign_in(client, owner)
    queue = page(web.get(f"/workspace/{issuer.slug}/reviews"))
    path = f"/workspace/{issuer.slug}/learning-requests/{found.public_id}"
    assert path in queue.hrefs() and "Building Thinking Classrooms" in queue.text
    assert "no category of your credit rules counts it yet" in page(web.get(path)).text
    before = count(IssuedCredential)
    refused = web.submit(path, data={"decision": "decline", "note": ""})
    assert "Say why it is declined" in page(refused, 400).text
    refused = web.submit(path, data={"decision": "approve", "hours": "-3"})
    assert "Enter between 0.25" in page(refused, 400).text
    assert count(IssuedCredential) == before
    assert web.submit(path, data={"decision": "approve", "hours": "7.5"}).status_code == 303
    assert count(IssuedCredential) == before + 1
    again = web.submit(path, data={"decision": "approve"})
    assert "not waiting for a decision" in page(again, 409).text
    decided = page(web.get(f"/workspace/{issuer.slug}/reviews?show=decided")).text
    assert "Building Thinking Classrooms" in decided and "7.5" in decided


def test_the_hours_report_page_and_csv_with_bad_choices(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer
) -> None:
    sign_in(client, owner)
    path = f"/workspace/{issuer.slug}/reports/hours"
    shown = page(web.get(path + "?from=2026-01-01&to=2026-03-31&period=month"))
    assert (
        "Jan 2026" in shown.text
        and "Mar 2026" in shown.text
        and "No hours in this range" in shown.text
    )
    refused = page(web.get(path + "?from=yesterday&period=fortnight&rule=nope"), 400).text
    assert "Enter a date as YYYY-MM-DD." in refused and "Choose month, quarter or year." in refused
    csv_answer = client.get(path + ".csv?from=2026-01-01&to=2026-12-31", base_url=BASE_URL)
    assert csv_answer.status_code == 200 and csv_answer.mimetype == "text/csv"
    assert csv_answer.get_data(as_text=True).startswith("period,period_start,school,category")
    bad = client.get(path + ".csv?to=2020-01-01&from=2026-01-01", base_url=BASE_URL)
    assert bad.status_code == 400
