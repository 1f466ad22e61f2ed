"""The review queue in the workspace: filters and the waiting count in the navigation; a
submission's statement, items and files (for that issuer's staff only); the rubric as radio
groups; approve (a valid, schema-clean credential with the rubric results and published
evidence), ask for changes (the educator is emailed and can resubmit), decline; viewers cannot
decide (403)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import EmailMessage, IssuedCredential, Issuer, Review, StaffAccount
from app.services.learning import reviews
from app.wiring import service_env
from credentials import schema_errors
from tests.app.conftest import BASE_URL, Web
from tests.app.portfolio_helpers import (
    PDF,
    PNG,
    add_item,
    make_educator,
    portfolio_badge,
    sign_in_educator,
    verify,
)
from tests.app.public.conftest import Page, assert_csp_clean
from tests.app.workspace.test_achievements import add_member, sign_in

LEVELS = {"level-evidence-of-impact": "proficient", "level-reflection": "secure"}


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(owner: StaffAccount, make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    return portfolio_badge(issuer, make_achievement)


@pytest.fixture
def submitted(badge: Any) -> tuple[Any, Any, list[Any]]:
    ann = make_educator()
    items = [
        add_item(ann, "Action research report", publish=True, file=(PNG, "chart.png")),
        add_item(
            ann, "Private reflection", body="Only for **reviewers**.", file=(PDF, "notes.pdf")
        ),
    ]
    submission = reviews.submit(
        ann, badge, [i.public_id for i in items], "I studied *exit tickets*.", service_env()
    )
    return ann, submission, items


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def page(response: Any, status: int = 200) -> Page:
    assert response.status_code == status, (
        response.status_code,
        response.get_data(as_text=True)[:800],
    )
    html = response.get_data(as_text=True)
    assert_csp_clean(html)
    return Page(html)


def review_path(issuer: Issuer, submission: Any) -> str:
    return f"/workspace/{issuer.slug}/reviews/{submission.public_id}"


def test_the_queue_and_its_count_in_the_navigation(client, web: Web, owner, issuer, submitted, make_staff) -> None:  # fmt: skip
    _, submission, _ = submitted
    sign_in(client, owner)
    home = page(web.get(f"/workspace/{issuer.slug}/"))
    assert re.search(r"Reviews 1 waiting", home.text)
    queue = page(web.get(f"/workspace/{issuer.slug}/reviews"))
    assert "Ann Lee" in queue.text and "Action Research Project" in queue.text
    assert review_path(issuer, submission) in queue.hrefs()
    reviews.decide(submission, owner, "decline", "Not yet.", {}, service_env())
    assert "Ann Lee" not in page(web.get(f"/workspace/{issuer.slug}/reviews")).text
    assert "Ann Lee" in page(web.get(f"/workspace/{issuer.slug}/reviews?show=decided")).text
    assert "Ann Lee" not in page(web.get(f"/workspace/{issuer.slug}/reviews?show=changes")).text
    assert "Reviews 1 waiting" not in page(web.get(f"/workspace/{issuer.slug}/")).text
    # Viewers get no Reviews link and no queue.
    viewer = make_staff("viewer@district7.example.org", name="Vera Viewer")
    add_member(viewer, issuer, "viewer")
    sign_in(client, viewer)
    assert "Reviews" not in page(web.get(f"/workspace/{issuer.slug}/")).text
    assert web.get(f"/workspace/{issuer.slug}/reviews").status_code == 403
    assert web.get(review_path(issuer, submission)).status_code == 403


def test_the_review_page_shows_everything_submitted(
    client, web: Web, owner, issuer, submitted
) -> None:
    _, submission, (public, private) = submitted
    sign_in(client, owner)
    shown = page(web.get(review_path(issuer, submission)))
    html = web.get(review_path(issuer, submission)).get_data(as_text=True)
    assert "<em>exit tickets</em>" in html and "<strong>reviewers</strong>" in html
    assert (
        "Private reflection" in shown.text
        and "Private: only this submission's reviewers see it" in shown.text
    )
    assert "ann.lee@school.example.org" in shown.text
    assert shown.unlabelled_inputs() == []
    radios = [i for i in shown.inputs if i.get("type") == "radio"]
    assert {r["name"] for r in radios} == {"level-evidence-of-impact", "level-reflection"}
    assert len(radios) == 5
    assert "Emerging (1 point)" in shown.text and "Proficient (2 points)" in shown.text
    assert re.search(r'<button type="submit" disabled hidden', html)  # Enter decides nothing
    for item, data, media_type in ((public, PNG, "image/png"), (private, PDF, "application/pdf")):
        path = f"{review_path(issuer, submission)}/items/{item.public_id}/file"
        assert path in shown.hrefs()
        served = web.get(path)
        assert served.status_code == 200 and served.data == data
        assert served.headers["Content-Type"] == media_type
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    # An item of the same educator that is not in this submission is not served.
    other = add_item(submitted[0], "Not submitted", file=(PDF, "x.pdf"))
    assert (
        web.get(f"{review_path(issuer, submission)}/items/{other.public_id}/file").status_code
        == 404
    )


def test_staff_of_another_issuer_see_nothing(
    client, web: Web, submitted, make_staff, make_issuer
) -> None:
    _, submission, (_, private) = submitted
    stranger = make_staff("coach@coaching.example.org", name="Cora Coach")
    theirs = make_issuer("Coaching Collective", slug="coaching", owner=stranger)
    sign_in(client, stranger)
    for path in (
        f"/workspace/{theirs.slug}/reviews/{submission.public_id}",
        f"/workspace/{theirs.slug}/reviews/{submission.public_id}/items/{private.public_id}/file",
        f"/workspace/district-7-professional-learning/reviews/{submission.public_id}",
    ):
        assert web.get(path).status_code == 404, path
    token = web.csrf_token(f"/workspace/{theirs.slug}/reviews")
    response = client.post(f"/workspace/{theirs.slug}/reviews/{submission.public_id}",
                           data={"csrf_token": token, "decision": "approve", **LEVELS}, base_url=BASE_URL)  # fmt: skip
    assert response.status_code == 404
    assert "Ann Lee" not in page(web.get(f"/workspace/{theirs.slug}/reviews")).text
    db.session.refresh(submission)
    assert submission.state == "submitted"


def test_viewers_cannot_decide(client, web: Web, issuer, submitted, make_staff) -> None:
    _, submission, _ = submitted
    viewer = make_staff("viewer@district7.example.org", name="Vera Viewer")
    add_member(viewer, issuer, "viewer")
    sign_in(client, viewer)
    token = web.csrf_token(f"/workspace/{issuer.slug}/")
    response = client.post(review_path(issuer, submission), base_url=BASE_URL,
                           data={"csrf_token": token, "decision": "approve", **LEVELS})  # fmt: skip
    assert response.status_code == 403
    assert count(IssuedCredential) == count(Review) == 0


def test_approving_issues_the_credential(
    client, web: Web, owner, issuer, submitted, local_fetch
) -> None:
    _, submission, (public, private) = submitted
    awarder = owner
    sign_in(client, awarder)
    path = review_path(issuer, submission)
    missing = web.submit(
        path, data={"decision": "approve", "level-evidence-of-impact": "proficient"}
    )
    shown = page(missing, 400)
    assert "Choose a level for “Reflection”" in shown.text
    assert 'id="level-reflection-error"' in missing.get_data(as_text=True)
    assert count(IssuedCredential) == 0
    # The level already chosen is still chosen.
    assert any(i.get("value") == "proficient" and "checked" in i for i in shown.inputs)

    response = web.submit(path, data={"decision": "approve", "feedback": "Strong work.", **LEVELS})
    assert response.status_code == 303
    db.session.refresh(submission)
    credential = db.session.get(IssuedCredential, submission.credential_id)
    assert submission.state == "approved" and credential is not None
    document = json.loads(credential.document)
    achievement = document["credentialSubject"]["achievement"]
    described = {
        d["id"]: {level["id"] for level in d["rubricCriterionLevel"]}
        for d in achievement["resultDescription"]
    }
    results = document["credentialSubject"]["result"]
    assert len(results) == 2
    assert all(r["achievedLevel"] in described[r["resultDescription"]] for r in results)
    assert [r["achievedLevel"].rsplit("#", 1)[1] for r in results] == [
        "rubric-evidence-of-impact-proficient", "rubric-reflection-secure"]  # fmt: skip
    assert [e["id"] for e in document["evidence"]] == [
        f"https://badges.example.org/evidence/{public.public_id}"
    ]
    assert private.public_id not in credential.document
    assert schema_errors(document) == []
    assert verify(credential, local_fetch).valid
    # The public achievement version page lands on the rubric criterion and level ids.
    version_page = web.get(achievement["id"][len(BASE_URL) :], headers={"Accept": "text/html"})
    html = version_page.get_data(as_text=True)
    for result in results:
        assert f'id="{result["resultDescription"].rsplit("#", 1)[1]}"' in html
        assert f'id="{result["achievedLevel"].rsplit("#", 1)[1]}"' in html
    # Deciding again is refused with a message, and changes nothing.
    again = web.submit(path, data={"decision": "decline", "feedback": "Oops"})
    assert (
        "Nothing was decided: This submission is not waiting for review." in page(again, 409).text
    )
    assert count(IssuedCredential) == 1


def test_asking_for_changes_emails_the_educator_who_resubmits(
    client: FlaskClient, web: Web, owner, issuer, submitted
) -> None:
    ann, submission, (public, _) = submitted
    sign_in(client, owner)
    path = review_path(issuer, submission)
    empty = web.submit(path, data={"decision": "request_changes", "feedback": "  "})
    assert "Say what needs to change" in page(empty, 400).text
    response = web.submit(
        path, data={"decision": "request_changes", "feedback": "Add student samples."}
    )
    assert response.status_code == 303
    mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).one()
    link = f"{BASE_URL}/me/submissions/{submission.public_id}"
    assert mail.to_address == "ann.lee@school.example.org" and link in mail.body_text
    assert "Add student samples." in mail.body_text
    # The educator follows the link and sends it again.
    sign_in_educator(client, ann)
    shown = page(web.get(link[len(BASE_URL) :]))
    assert "Add student samples." in shown.text
    resent = web.submit(link[len(BASE_URL) :], f"/me/submissions/{submission.public_id}/resubmit",
                        data={"items": [public.public_id], "statement": "With samples now."})  # fmt: skip
    assert resent.status_code == 303
    db.session.refresh(submission)
    assert submission.state == "submitted"
    sign_in(client, owner)
    again = page(web.get(path))
    assert "Earlier reviews" in again.text and "Asked for changes by Pat Owner" in again.text


def test_declining(client, web: Web, owner, issuer, submitted) -> None:
    _, submission, _ = submitted
    sign_in(client, owner)
    response = web.submit(
        review_path(issuer, submission), data={"decision": "decline", "feedback": "Out of scope."}
    )
    assert response.status_code == 303
    db.session.refresh(submission)
    assert submission.state == "declined" and count(IssuedCredential) == 0
    mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).one()
    assert "declined" in mail.body_text
    shown = page(web.get(review_path(issuer, submission)))
    assert "Your review" not in shown.text  # no form once decided


def test_an_unknown_decision_is_refused(client, web: Web, owner, issuer, submitted) -> None:
    _, submission, _ = submitted
    sign_in(client, owner)
    response = web.submit(
        review_path(issuer, submission), data={"decision": "maybe", "feedback": "x"}
    )
    assert "Approve, ask for changes, or decline." in page(response, 400).text
    assert count(Review) == 0
