"""The educator's portfolio and submissions pages: items (module answers too), uploads with their
type and size checks, publishing, deleting, the "Submit for a badge" flow, resubmitting after
changes were asked for, withdrawing; and that another educator sees none of it (404)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    Activity,
    Enrolment,
    Issuer,
    Module,
    PortfolioItem,
    Prompt,
    StoredFile,
    Submission,
)
from app.services.learning import portfolio, reviews
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.portfolio_helpers import (
    EXE,
    PDF,
    SVG_WITH_SCRIPT,
    add_item,
    make_educator,
    portfolio_badge,
    sign_in_educator,
)
from tests.app.public.conftest import Page, assert_csp_clean

LEVELS = {"evidence-of-impact": "exemplary", "reflection": "secure"}


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return portfolio_badge(issuer, make_achievement)


@pytest.fixture
def ann(client: FlaskClient) -> Any:
    educator = make_educator()
    sign_in_educator(client, educator)
    return educator


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def page(response: Any, status: int = 200) -> Page:
    assert response.status_code == status, (
        response.status_code,
        response.get_data(as_text=True)[:800],
    )
    html = response.get_data(as_text=True)
    assert_csp_clean(html)
    return Page(html)


def upload(web: Web, name: str, data: bytes, **fields: str) -> Any:
    payload = {"title": fields.pop("title", "My evidence"), "body": "", "url": "", **fields,
               "file": (io.BytesIO(data), name)}  # fmt: skip
    return web.submit("/me/portfolio/new", data=payload, content_type="multipart/form-data")


# --- the list and items ----------------------------------------------------------------------


def test_visitors_must_sign_in(client: FlaskClient) -> None:
    for path in ("/me/portfolio", "/me/portfolio/new", "/me/submissions", "/me/portfolio/submit"):
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]


def test_the_list_shows_items_and_module_answers(ann, web: Web, issuer, make_achievement) -> None:
    add_item(ann, "Exit tickets study")
    # An answer to a module prompt, saved the way the module page saves it.
    now = service_env().now
    module = Module(public_id="m-1", issuer_id=issuer.id, title="Formative assessment", summary="",
                    achievement_id=make_achievement(issuer).id, created_at=now, updated_at=now)  # fmt: skip
    db.session.add(module)
    db.session.flush()
    activity = Activity(module_id=module.id, position=1, title="Try it")
    db.session.add(activity)
    db.session.flush()
    prompt = Prompt(activity_id=activity.id, position=1, text="What did your exit tickets show?")
    enrolment = Enrolment(module_id=module.id, educator_id=ann.id, enrolled_at=now)
    db.session.add_all([prompt, enrolment])
    db.session.commit()
    portfolio.save_response(enrolment, prompt, ann, "Most students got it.", service_env())

    listed = page(web.get("/me/portfolio"))
    assert "Exit tickets study" in listed.text
    assert "What did your exit tickets show?" in listed.text and "Module answer" in listed.text
    assert listed.text.count("Private") >= 2


def test_adding_narrative_and_link_items(ann, web: Web) -> None:
    form = page(web.get("/me/portfolio/new"))
    assert form.unlabelled_inputs() == []
    response = web.submit(
        "/me/portfolio/new", data={"title": "Coaching log", "body": "*Week 1*", "url": ""}
    )
    assert response.status_code == 303
    link = web.submit(
        "/me/portfolio/new", data={"title": "Lesson video", "url": "https://video.example.org/v/1"}
    )
    assert link.status_code == 303
    kinds = dict(db.session.execute(select(PortfolioItem.title, PortfolioItem.kind)).all())
    assert kinds == {"Coaching log": "narrative", "Lesson video": "link"}
    assert not any(db.session.scalars(select(PortfolioItem.publish)))
    shown = page(web.get(link.headers["Location"]))
    assert "https://video.example.org/v/1" in shown.hrefs()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "Give the item a title."),
        ({"title": "x" * 201}, "title", "at most 200"),
        ({"title": "Bad link", "url": "javascript:alert(1)"}, "url", "https://"),
    ],
)
def test_invalid_items_are_refused_with_a_message(ann, web: Web, data, field, message) -> None:
    response = web.submit("/me/portfolio/new", data=data)
    shown = page(response, 400)
    assert message in shown.text
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count(PortfolioItem) == 0


def test_uploading_a_file(ann, web: Web) -> None:
    response = upload(web, "lesson plan.pdf", PDF, title="Lesson plan")
    assert response.status_code == 303
    item = db.session.scalars(select(PortfolioItem)).one()
    assert item.kind == "file" and item.file is not None
    assert item.file.media_type == "application/pdf" and item.file.filename == "lesson plan.pdf"
    served = web.get(f"/me/portfolio/{item.public_id}/file")
    assert served.status_code == 200 and served.data == PDF
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")


@pytest.mark.parametrize(
    ("name", "data"),
    [("lesson-plan.pdf", EXE), ("diagram.svg", SVG_WITH_SCRIPT), ("photo.png", PDF)],
)
def test_disguised_or_unsupported_uploads_are_refused(
    ann, web: Web, name: str, data: bytes
) -> None:
    response = upload(web, name, data)
    shown = page(response, 400)
    assert "That file type is not accepted (or its contents do not match its name)" in shown.text
    assert 'id="file-error"' in response.get_data(as_text=True)
    assert count(PortfolioItem) == 0 and count(StoredFile) == 0


def test_upload_limits_are_readable(app: Flask, ann, web: Web) -> None:
    app.config["MAX_EVIDENCE_BYTES"] = 1024
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024
    over_file_limit = upload(web, "big.pdf", b"%PDF-" + b"0" * 2000)
    assert "Evidence files may be at most 1 KB." in page(over_file_limit, 400).text
    over_request_limit = upload(web, "huge.pdf", b"%PDF-" + b"0" * 9000)
    shown = page(over_request_limit, 413)
    assert "The file is too large: evidence files may be at most 1 KB." in shown.text
    assert count(PortfolioItem) == 0 and count(StoredFile) == 0
    # The page says what is accepted before anyone tries.
    assert "At most 1 KB." in page(web.get("/me/portfolio/new")).text


def test_a_file_and_a_link_are_two_items(ann, web: Web) -> None:
    response = upload(web, "plan.pdf", PDF, url="https://docs.example.org/plan")
    assert "not both" in page(response, 400).text
    assert count(PortfolioItem) == 0


def test_editing_an_item(ann, web: Web) -> None:
    item = add_item(ann, "Draft", kind="link", url="https://old.example.org/")
    path = f"/me/portfolio/{item.public_id}"
    assert page(web.get(path)).unlabelled_inputs() == []
    refused = web.submit(path, data={"title": "Final", "body": "Text", "url": "not a url"})
    assert "https://" in page(refused, 400).text
    saved = web.submit(
        path, data={"title": "Final", "body": "Text", "url": "https://new.example.org/"}
    )
    assert saved.status_code == 303
    db.session.refresh(item)
    assert (item.title, item.body, item.url) == ("Final", "Text", "https://new.example.org/")


def test_a_module_answer_is_not_edited_here(ann, web: Web) -> None:
    item = add_item(ann, "My answer", kind="response")
    path = f"/me/portfolio/{item.public_id}"
    shown = page(web.get(path))
    assert "change it in the module instead" in shown.text
    assert 'name="title"' not in web.get(path).get_data(as_text=True)
    refused = web.submit(path, data={"title": "Changed", "body": "Changed"})
    assert "change it in the module instead" in page(refused, 409).text
    db.session.refresh(item)
    assert item.title == "My answer"


def test_publishing_explains_and_toggles_the_evidence_page(ann, web: Web) -> None:
    item = add_item(ann, "Exit tickets study")
    path = f"/me/portfolio/{item.public_id}"
    before = page(web.get(path)).text
    assert "Publishing it creates a public evidence page" in before
    assert web.get(f"/evidence/{item.public_id}").status_code == 404
    assert web.submit(path, f"{path}/publish", data={"publish": "1"}).status_code == 303
    assert web.get(f"/evidence/{item.public_id}").status_code == 200
    after = page(web.get(path))
    assert f"https://badges.example.org/evidence/{item.public_id}" in after.hrefs()
    assert web.submit(path, f"{path}/publish", data={"publish": "0"}).status_code == 303
    assert web.get(f"/evidence/{item.public_id}").status_code == 404


def test_deleting_an_item(ann, web: Web, badge) -> None:
    kept = add_item(ann, "In review")
    reviews.submit(ann, badge, [kept.public_id], "", service_env())
    gone = add_item(ann, "Old notes", file=(PDF, "notes.pdf"))
    confirm = page(web.get(f"/me/portfolio/{gone.public_id}/delete"))
    assert "Delete “Old notes”?" in confirm.text and "This cannot be undone." in confirm.text
    response = web.submit(f"/me/portfolio/{gone.public_id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/me/portfolio")
    assert count(PortfolioItem) == 1 and count(StoredFile) == 0
    refused = web.submit(f"/me/portfolio/{kept.public_id}/delete", follow_redirects=True)
    assert "withdraw the submission first" in page(refused).text
    assert count(PortfolioItem) == 1


def test_another_educators_items_and_submissions_answer_404(
    client: FlaskClient, web: Web, badge, make_achievement
) -> None:
    owner = make_educator()
    item = add_item(owner, "Ann's", file=(PDF, "plan.pdf"))
    submission = reviews.submit(owner, badge, [item.public_id], "", service_env())
    sign_in_educator(client, make_educator("bob@school.example.org", "Bob"))
    token = web.csrf_token("/me/portfolio")
    for path in (f"/me/portfolio/{item.public_id}", f"/me/portfolio/{item.public_id}/file",
                 f"/me/portfolio/{item.public_id}/delete", f"/me/submissions/{submission.public_id}"):  # fmt: skip
        assert web.get(path).status_code == 404, path
    for path in (f"/me/portfolio/{item.public_id}", f"/me/portfolio/{item.public_id}/publish",
                 f"/me/portfolio/{item.public_id}/delete", f"/me/submissions/{submission.public_id}/resubmit",
                 f"/me/submissions/{submission.public_id}/withdraw"):  # fmt: skip
        response = client.post(
            path, data={"csrf_token": token, "title": "Mine", "publish": "1"}, base_url=BASE_URL
        )
        assert response.status_code == 404, path
    # Bob cannot submit Ann's item either.
    other = portfolio_badge(badge.issuer, make_achievement, "Coaching Cycle")
    sent = web.submit(f"/me/portfolio/submit/{other.public_id}", data={"items": [item.public_id]})
    assert "not in your portfolio" in page(sent, 400).text
    db.session.refresh(item)
    assert (item.title, item.publish, count(Submission)) == ("Ann's", False, 1)
    assert "Ann's" not in page(web.get("/me/portfolio")).text


# --- submitting ------------------------------------------------------------------------------


def test_choosing_a_badge_lists_every_issuers_portfolio_badges(
    ann, web: Web, badge, make_issuer, make_achievement
) -> None:
    other = portfolio_badge(
        make_issuer("Coaching Collective", slug="coaching"), make_achievement, "Video Reflection"
    )
    make_achievement(badge.issuer, "Module badge (no submissions)")
    shown = page(web.get("/me/portfolio/submit"))
    assert "Action Research Project" in shown.text and "Video Reflection" in shown.text
    assert "Coaching Collective" in shown.text
    assert "Module badge" not in shown.text
    assert f"/me/portfolio/submit/{other.public_id}" in shown.hrefs()


def test_submit_for_a_badge(ann, web: Web, badge) -> None:
    report = add_item(ann, "Action research report")
    notes = add_item(ann, "Raw notes")
    path = f"/me/portfolio/submit/{badge.public_id}"
    form = page(web.get(path))
    assert form.unlabelled_inputs() == []
    assert "Evidence of impact" in form.text and "Exemplary" in form.text  # the rubric
    assert "the credential links to the public evidence page of each published item" in form.text
    empty = web.submit(path, data={"statement": "Nothing"})
    assert "Choose at least one portfolio item to submit." in page(empty, 400).text
    response = web.submit(path, data={"items": [report.public_id, notes.public_id], "publish": [report.public_id],
                                      "statement": "I studied **exit tickets**."})  # fmt: skip
    assert response.status_code == 303
    submission = db.session.scalars(select(Submission)).one()
    assert response.headers["Location"].endswith(f"/me/submissions/{submission.public_id}")
    assert submission.state == "submitted" and submission.statement == "I studied **exit tickets**."
    db.session.refresh(report)
    db.session.refresh(notes)
    assert report.publish and not notes.publish
    detail = page(web.get(response.headers["Location"]))
    assert "Waiting for review" in detail.text and "Withdraw this submission" in detail.text
    again = page(web.get(path))
    assert "You already have a submission for this badge" in again.text
    listed = page(web.get("/me/submissions"))
    assert "Action Research Project" in listed.text and "Waiting for review" in listed.text


def test_achievements_taking_no_submissions_answer_404(
    ann, web: Web, issuer, make_achievement
) -> None:
    plain = make_achievement(issuer, "Module badge")
    assert web.get(f"/me/portfolio/submit/{plain.public_id}").status_code == 404
    assert web.get("/me/portfolio/submit/no-such-thing").status_code == 404


def test_changes_requested_then_resubmitted(ann, web: Web, badge, make_staff) -> None:
    report = add_item(ann, "Action research report")
    submission = reviews.submit(ann, badge, [report.public_id], "First go.", service_env())
    reviews.decide(submission, make_staff(), "request_changes", "Add **student work**.",
                   {"reflection": "developing"}, service_env())  # fmt: skip
    path = f"/me/submissions/{submission.public_id}"
    shown = page(web.get(path))
    assert "Changes requested" in shown.text and "student work" in shown.text
    assert "Reflection Developing" in shown.text  # the level the reviewer noted
    assert shown.unlabelled_inputs() == []
    samples = add_item(ann, "Student work samples")
    response = web.submit(path, f"{path}/resubmit", data={
        "items": [report.public_id, samples.public_id], "publish": [samples.public_id], "statement": "Now with samples."})  # fmt: skip
    assert response.status_code == 303
    db.session.refresh(submission)
    assert submission.state == "submitted" and submission.statement == "Now with samples."
    assert {row.item.title for row in submission.items} == {
        "Action research report",
        "Student work samples",
    }
    assert (
        web.submit(path, f"{path}/resubmit", data={"items": [report.public_id]}).status_code == 400
    )


def test_withdrawing(ann, web: Web, badge) -> None:
    report = add_item(ann, "Action research report")
    submission = reviews.submit(ann, badge, [report.public_id], "", service_env())
    path = f"/me/submissions/{submission.public_id}"
    response = web.submit(path, f"{path}/withdraw", follow_redirects=True)
    assert "Withdrawn." in page(response).text
    db.session.refresh(submission)
    assert submission.state == "withdrawn"
    again = web.submit(path, f"{path}/withdraw", follow_redirects=True)
    assert "already been decided" in page(again).text


def test_approved_submission_links_the_credential(ann, web: Web, badge, make_staff) -> None:
    report = add_item(ann, "Action research report", publish=True)
    submission = reviews.submit(ann, badge, [report.public_id], "", service_env())
    reviews.decide(submission, make_staff(), "approve", "Well done.", LEVELS, service_env())
    shown = page(web.get(f"/me/submissions/{submission.public_id}"))
    assert "Approved" in shown.text and "see your credential" in shown.text
    assert any(submission.credential_id in href for href in shown.hrefs())
    item_page = page(web.get(f"/me/portfolio/{report.public_id}"))
    assert "1 credential links to this page as evidence" in item_page.text
    assert re.search(r"Evidence in your credential\s+Action Research Project", item_page.text)
