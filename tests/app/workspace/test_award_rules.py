"""The Award rules page (editors): a rubric editor that works without JavaScript (add and remove
criteria and levels by posting the form), the portfolio-submissions switch and a pathway; saving
is a new version, labelled readably in the history; the public achievement page shows the
rubric. The schema reads the form and a JSON body alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Achievement, Issuer, StaffAccount
from app.services.org import achievements
from tests.app.conftest import BASE_URL, Web
from tests.app.public.conftest import Page, assert_csp_clean
from tests.app.workspace.test_achievements import FormReader, add_member, sign_in


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(owner: StaffAccount, make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer, "Action Research Project")


@pytest.fixture
def signed_in(client: FlaskClient, owner: StaffAccount) -> None:
    sign_in(client, owner)


def rules_path(issuer: Issuer, badge: Achievement) -> str:
    return f"/workspace/{issuer.slug}/achievements/{badge.public_id}/rules"


def page(response: Any, status: int = 200) -> Page:
    assert response.status_code == status, (
        response.status_code,
        response.get_data(as_text=True)[:800],
    )
    html = response.get_data(as_text=True)
    assert_csp_clean(html)
    return Page(html)


def form_of(html: str, action: str = "") -> dict[str, str]:
    reader = FormReader()
    reader.feed(html)
    return dict(reader.forms[action])


RUBRIC_FORM = {
    "rubric-0-name": "Evidence of impact",
    "rubric-0-description": "How clearly the work shows an effect on students.",
    "rubric-0-levels-0-name": "Emerging", "rubric-0-levels-0-points": "1",
    "rubric-0-levels-1-name": "Proficient", "rubric-0-levels-1-points": "2",
    "rubric-0-levels-2-name": "", "rubric-0-levels-2-points": "",  # a spare row left blank
    "rubric-1-name": "Reflection",
    "rubric-1-levels-0-name": "Developing", "rubric-1-levels-1-name": "Secure",
    "rubric-2-name": "",  # a spare criterion left blank
}  # fmt: skip


def test_editors_reach_it_from_the_achievement_page(client, web: Web, owner, issuer, badge, make_staff) -> None:  # fmt: skip
    sign_in(client, owner)
    detail = page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}"))
    assert rules_path(issuer, badge) in detail.hrefs()
    awarder = make_staff("awarder@district7.example.org", name="Al Awarder")
    add_member(awarder, issuer, "awarder")
    sign_in(client, awarder)
    assert rules_path(issuer, badge) not in page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}")).hrefs()  # fmt: skip
    assert web.get(rules_path(issuer, badge)).status_code == 403


def test_rows_are_added_and_removed_without_saving(signed_in, web: Web, issuer, badge) -> None:
    path = rules_path(issuer, badge)
    first = page(web.get(path))
    assert first.unlabelled_inputs() == []
    html = web.get(path).get_data(as_text=True)
    # Enter in a field presses the form's first button: it is Save.
    assert html.index('value="save"') < html.index('value="add_criterion"')
    added = web.submit(path, data={"op": "add_criterion"})
    shown = page(added)
    names = {i["name"] for i in shown.inputs}
    assert {
        "rubric-0-name",
        "rubric-0-levels-2-name",
    } <= names and "rubric-0-levels-3-name" not in names
    assert shown.unlabelled_inputs() == []
    more = web.submit(path, data={**form_of(added.get_data(as_text=True)), "op": "add_level:0"})
    assert "rubric-0-levels-3-name" in {i["name"] for i in page(more).inputs}
    fewer = web.submit(path, data={**RUBRIC_FORM, "op": "remove_level:0:0"})
    values = form_of(fewer.get_data(as_text=True))
    assert values["rubric-0-levels-0-name"] == "Proficient"  # Emerging is gone
    removed = web.submit(path, data={**RUBRIC_FORM, "op": "remove_criterion:0"})
    assert form_of(removed.get_data(as_text=True))["rubric-0-name"] == "Reflection"
    assert web.submit(path, data={**RUBRIC_FORM, "op": "remove_level:9:9"}).status_code == 200
    assert achievements.current_version(badge).version == 1  # nothing saved


def test_saving_a_rubric_and_submissions_makes_a_version(
    signed_in, web: Web, issuer, badge, client
) -> None:
    path = rules_path(issuer, badge)
    response = web.submit(path, data={**RUBRIC_FORM, "accepts_submissions": "1", "op": "save"})
    assert response.status_code == 303
    version = achievements.current_version(badge)
    assert version.version == 2 and version.accepts_submissions
    assert [c["id"] for c in version.rubric] == ["evidence-of-impact", "reflection"]
    assert [lvl["id"] for lvl in version.rubric[0]["levels"]] == ["emerging", "proficient"]
    assert version.rubric[0]["levels"][1]["points"] == "2"
    detail = page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}"))
    assert "rubric, portfolio submissions" in detail.text  # the history, readably
    # The page shows what was saved, and sending it back unchanged makes no version.
    html = web.get(path).get_data(as_text=True)
    unchanged = web.submit(path, data={**form_of(html), "op": "save"}, follow_redirects=True)
    assert "Nothing changed" in unchanged.get_data(as_text=True)
    assert achievements.current_version(badge).version == 2
    # The public achievement page shows the rubric, with the ids its credentials use.
    public = client.get(
        f"/achievements/{badge.public_id}", base_url=BASE_URL, headers={"Accept": "text/html"}
    )
    text = page(public).text
    assert "Rubric" in text and "Evidence of impact" in text and "Proficient" in text
    assert 'id="rubric-evidence-of-impact-proficient"' in public.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rubric-0-name": "Impact", "rubric-0-levels-0-name": "Only one"}, "rubric-0-levels", "2 to 10 levels"),
        ({"rubric-0-levels-0-name": "A", "rubric-0-levels-1-name": "B"}, "rubric-0-name", "Name the criterion."),
        ({"rubric-0-name": "X", "rubric-0-levels-0-name": "A", "rubric-0-levels-1-name": "B",
          "rubric-0-levels-1-points": "lots"}, "rubric-0-levels-1-points", "Points are a number"),
        ({"pathway_required": "2"}, "pathway_members", "Choose the achievements"),
        ({"pathway_required": "two"}, "pathway_required", "whole number"),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused_beside_their_field(signed_in, web: Web, issuer, badge, data, field, message) -> None:  # fmt: skip
    response = web.submit(rules_path(issuer, badge), data={**data, "op": "save"})
    shown = page(response, 400)
    assert message in shown.text
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert achievements.current_version(badge).version == 1


def test_a_pathway(signed_in, web: Web, issuer, badge, make_achievement, make_issuer) -> None:
    modules = [make_achievement(issuer, f"Coaching module {n}") for n in (1, 2, 3)]
    path = rules_path(issuer, badge)
    shown = page(web.get(path))
    boxes = {i["value"] for i in shown.inputs if i.get("name") == "pathway_members"}
    assert boxes == {m.public_id for m in modules}  # not itself
    too_many = web.submit(
        path, data={"pathway_members": [modules[0].public_id], "pathway_required": "2"}
    )
    assert "Only 1 achievements are chosen" in page(too_many, 400).text
    theirs = make_achievement(make_issuer("Coaching Collective", slug="coaching"), "Theirs")
    foreign = web.submit(
        path, data={"pathway_members": [theirs.public_id], "pathway_required": "1"}
    )
    assert "only name this organisation's achievements" in page(foreign, 400).text
    saved = web.submit(path, data={"pathway_members": [m.public_id for m in modules[:2]],
                                   "pathway_required": "2", "pathway_award_mode": "review"})  # fmt: skip
    assert saved.status_code == 303
    version = achievements.current_version(badge)
    assert (version.pathway_required, version.pathway_award_mode) == (2, "review")
    assert version.pathway_members == [m.public_id for m in modules[:2]]
    detail = page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}"))
    assert "pathway: how many, pathway achievements, pathway: automatic or review" in detail.text


def test_the_same_schema_reads_a_json_body(
    signed_in, client: FlaskClient, web: Web, issuer, badge
) -> None:
    token = web.csrf_token(rules_path(issuer, badge))
    body = {"rubric": [{"name": "Impact", "levels": [{"name": "Low"}, {"name": "High", "points": "2"}]}],
            "accepts_submissions": True}  # fmt: skip
    response = client.post(rules_path(issuer, badge), json=body, base_url=BASE_URL,
                           headers={"X-CSRFToken": token})  # fmt: skip
    assert response.status_code == 200 and response.get_json() == {"version": 2}
    assert achievements.current_version(badge).rubric[0]["levels"][1]["id"] == "high"
    bad = client.post(rules_path(issuer, badge), json={"rubric": [{"name": "Solo", "levels": [{"name": "x"}]}]},
                      base_url=BASE_URL, headers={"X-CSRFToken": token})  # fmt: skip
    assert bad.status_code == 400 and "rubric-0-levels" in bad.get_json()["fields"]
    db.session.expire_all()
    assert achievements.current_version(badge).version == 2
