"""Modules through the browser: staff build a module, an educator enrols, answers, attaches
evidence and invites a learning partner, who sees only the checklist and confirms it; completion
issues a credential that cites the evidence pages and verifies. Also: review mode, rules not
met, autosave, and who may see what (another educator, another issuer, a wrong or used token)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement,
    Enrolment,
    IssuedCredential,
    Issuer,
    Module,
    PortfolioItem,
    StaffAccount,
    Submission,
)
from app.services.learning import answers, authoring
from app.wiring import service_env
from credentials import verify_credential
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.educator.educator_helpers import count, latest_mail, make_educator, sign_in_as
from tests.app.mail_helpers import latest_delivered

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SECRET_ANSWER = "My exit tickets showed that half the class confused area and perimeter."


def browser(app: Flask) -> Web:
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    return Web(client)


def sign_in_staff(web: Web, account: StaffAccount) -> None:
    sign_in_directly(web.client, "staff", account.id)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


class Fields(HTMLParser):
    """A page's form fields and labels, and whether it has inline script or style."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: list[dict[str, str]] = []
        self.labels: set[str] = set()
        self.inline = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag in ("input", "textarea", "select") and found.get("type") != "hidden":
            self.fields.append(found)
        elif tag == "label" and "for" in found:
            self.labels.add(found["for"])
        if (tag == "script" and "src" not in found) or tag == "style" or "style" in found:
            self.inline += 1
        self.inline += sum(1 for k in found if k.startswith("on"))


def assert_accessible(html: str) -> None:
    """Every visible field has a label; nothing the Content-Security-Policy would block."""
    page = Fields(html)
    assert page.inline == 0
    assert [f.get("name") for f in page.fields if f.get("id") not in page.labels] == []


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


@pytest.fixture
def staff_web(app: Flask, owner: StaffAccount) -> Web:
    web = browser(app)
    sign_in_staff(web, owner)
    return web


def build_module(staff_web: Web, issuer: Issuer, badge: Achievement, **rules: str) -> Module:
    """Staff create a module with two activities and three prompts, through the workspace."""
    base = f"/workspace/{issuer.slug}/modules"
    form = {
        "title": "Formative Assessment in Practice",
        "summary": "Four weeks of exit tickets.",
        "learning_outcomes": "Design exit tickets\r\nAdjust instruction",
        "achievement": badge.public_id,
        "enrolment_mode": "open",
        "requires_partner": "1",
        "award_mode": "automatic",
        **rules,
    }
    assert staff_web.submit(f"{base}/new", data=form).status_code == 303
    module = db.session.scalars(select(Module)).one()
    for number, prompts in (
        (1, ("What did you try?", "What surprised you?")),
        (2, ("What next?",)),
    ):
        page = f"{base}/{module.public_id}/activities/new"
        created = staff_web.submit(page, data={
            "title": f"Activity {number}", "directions": "Read **this**.\n\n<script>x</script>",
            "resources": "Exit ticket guide https://example.org/guide",
        })  # fmt: skip
        assert created.status_code == 303, text(created)[:400]
        activity_page = created.headers["Location"]
        for prompt in prompts:
            added = staff_web.submit(
                activity_page, activity_page + "/prompts", data={"text": prompt}
            )
            assert added.status_code == 303
    published = staff_web.submit(f"{base}/{module.public_id}", f"{base}/{module.public_id}/publish")
    assert published.status_code == 303
    db.session.refresh(module)
    assert module.published and authoring.prompt_count(module) == 3
    return module


def answer_everything(web: Web, module: Module, answer: str = SECRET_ANSWER) -> None:
    for activity in module.activities:
        page = f"/me/modules/{module.public_id}/activities/{activity.id}"
        saved = web.submit(page, data={f"prompt-{p.id}": answer for p in activity.prompts})
        assert saved.status_code == 303, text(saved)[:400]


def partner_path(partner_email: str) -> str:
    match = re.search(r"/partner/[A-Za-z0-9_-]+", latest_delivered(partner_email, "partner_invite"))
    assert match
    return match.group(0)


# --- the whole flow ---------------------------------------------------------------------------


def test_the_whole_module_flow_ends_in_a_verifiable_credential(
    app, staff_web, issuer, badge, local_fetch
) -> None:
    module = build_module(staff_web, issuer, badge)
    ann = make_educator("ann.lee@school.example.org", "Ann Lee")
    web = browser(app)
    sign_in_as(web, ann)

    catalogue = text(web.get("/me/modules"))
    assert "Formative Assessment in Practice" in catalogue and "Open to join" in catalogue
    home = f"/me/modules/{module.public_id}"
    assert web.submit(home, f"{home}/enrol").status_code == 303
    assert "0 of 3 prompts answered" in text(web.get(home))

    activity = module.activities[0]
    page = text(web.get(f"{home}/activities/{activity.id}"))
    assert "<strong>this</strong>" in page and "<script>x</script>" not in page  # sanitised
    assert 'href="https://example.org/guide"' in page and "module-autosave.js" in page
    answer_everything(web, module)
    assert "3 of 3 prompts answered" in text(web.get(home))
    assert_accessible(text(web.get(home)))
    assert_accessible(text(web.get(f"{home}/activities/{activity.id}")))
    assert_accessible(text(web.get("/me/modules")))

    upload = web.submit(home, f"{home}/evidence", data={
        "kind": "file", "title": "", "file": (io.BytesIO(PDF), "lesson-plan.pdf"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert upload.status_code == 303, text(upload)[:500]
    link = web.submit(home, f"{home}/evidence", data={
        "kind": "link", "title": "Slides", "url": "https://slides.example.org/deck",
    })  # fmt: skip
    assert link.status_code == 303
    assert "lesson-plan.pdf" in text(web.get(home))

    invited = web.submit(
        home, f"{home}/partner", data={"name": "Sam Coach", "email": "sam@school.example.org"}
    )
    assert invited.status_code == 303
    partner = browser(app)
    checklist = partner.get(partner_path("sam@school.example.org"))
    shown = text(checklist)
    assert checklist.status_code == 200
    assert "Formative Assessment in Practice" in shown and "Ann Lee" in shown
    assert "Activity 1" in shown and "Activity 2" in shown and "complete" in shown
    assert SECRET_ANSWER not in shown and "lesson-plan.pdf" not in shown and "Slides" not in shown
    assert_accessible(shown)
    assert checklist.headers["Cache-Control"] == "no-store"
    assert checklist.headers["Referrer-Policy"] == "no-referrer"
    confirmed = partner.submit(partner_path("sam@school.example.org"))
    assert confirmed.status_code == 303
    assert "You confirmed this checklist" in text(partner.get(confirmed.headers["Location"]))

    # Complete, publishing everything the module holds.
    items = [i.public_id for i in answers.module_items(db.session.scalars(select(Enrolment)).one())]
    assert len(items) == 5
    done = web.submit(home, f"{home}/complete", data={"publish": items})
    assert done.status_code == 303, text(done)[:800]
    assert "Your badge has been issued" in text(web.get(done.headers["Location"]))

    enrolment = db.session.scalars(select(Enrolment)).one()
    assert enrolment.state == "awarded"
    credential = db.session.get(IssuedCredential, enrolment.credential_id)
    assert credential is not None and credential.recipient_email == "ann.lee@school.example.org"
    evidence = json.loads(credential.document)["evidence"]
    published = {i.public_id: i for i in db.session.scalars(select(PortfolioItem))}
    assert [e["id"] for e in evidence[:-1]] == [
        f"{BASE_URL}/evidence/{public_id}" for public_id in items
    ]
    assert all(published[public_id].publish for public_id in items)
    assert evidence[-1]["narrative"].startswith(
        "Completed the module “Formative Assessment in Practice”"
    )
    assert "confirmed by a learning partner" in evidence[-1]["narrative"]
    env = service_env()
    report = verify_credential(credential.document, loader=env.loader,
                               now=env.now + timedelta(seconds=1), fetch=local_fetch,
                               recipient="ann.lee@school.example.org")  # fmt: skip
    assert report.valid, report.as_json()["checks"]

    # The partner is thanked, by email, once.
    thanked = web.submit(home, f"{home}/partner/thanks", data={"note": "Thank you for the chats!"})
    assert thanked.status_code == 303
    note = latest_mail("sam@school.example.org", "partner_thanks")
    assert "Thank you for the chats!" in note.body_text
    db.session.refresh(enrolment)
    assert enrolment.partner_note == "Thank you for the chats!"


def test_review_mode_queues_a_submission(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge, award_mode="review", requires_partner="")
    assert not module.requires_partner
    ann = make_educator("ann.lee@school.example.org")
    web = browser(app)
    sign_in_as(web, ann)
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    answer_everything(web, module)
    page = text(web.get(home))
    assert "Submit for review" in page
    submitted = web.submit(home, f"{home}/complete", data={})
    assert submitted.status_code == 303
    assert "a reviewer will look at your work" in text(web.get(submitted.headers["Location"]))
    submission = db.session.scalars(select(Submission)).one()
    assert (submission.origin, submission.state, len(submission.items)) == (
        "module",
        "submitted",
        3,
    )
    assert count(IssuedCredential) == 0
    assert db.session.scalars(select(Enrolment)).one().state == "in_review"
    # The work is now read-only.
    activity = module.activities[0]
    page = text(web.get(f"{home}/activities/{activity.id}"))
    assert "can no longer be changed" in page and "data-autosave" not in page
    refused = web.submit(
        home, f"{home}/activities/{activity.id}", data={f"prompt-{activity.prompts[0].id}": "x"}
    )
    assert refused.status_code == 400 and "with a reviewer" in text(refused)


def test_completion_is_refused_with_a_message_until_the_rules_are_met(
    app, staff_web, issuer, badge
) -> None:
    module = build_module(staff_web, issuer, badge)
    web = browser(app)
    sign_in_as(web, make_educator("ann.lee@school.example.org"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    refused = web.submit(home, f"{home}/complete", data={})
    assert refused.status_code == 400
    assert (
        "Not complete yet. Answer every reflection prompt; still to do: Activity 1; Activity 2."
        in text(refused)
    )
    answer_everything(web, module)
    refused = web.submit(home, f"{home}/complete", data={})
    assert refused.status_code == 400 and "Invite a learning partner" in text(refused)
    assert count(IssuedCredential) == 0 and count(Submission) == 0


def test_nothing_is_published_unless_the_educator_ticks_it(app, staff_web, issuer, badge) -> None:
    """Privacy by default: the completion form ticks no answer, and completing without ticking
    anything issues a credential that cites no answer and publishes no item."""
    module = build_module(staff_web, issuer, badge, requires_partner="")
    web = browser(app)
    sign_in_as(web, make_educator("ann.lee@school.example.org", "Ann Lee"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    answer_everything(web, module)
    page = text(web.get(home))
    boxes = re.findall(r'<input type="checkbox" id="publish-\d+" name="publish"[^>]*>', page)
    assert len(boxes) == 3 and not any("checked" in box for box in boxes)
    assert "Nothing is published unless you tick it." in page
    done = web.submit(home, f"{home}/complete", data={})
    assert done.status_code == 303, text(done)[:800]
    credential = db.session.scalars(select(IssuedCredential)).one()
    evidence = json.loads(credential.document)["evidence"]
    assert [e.get("id") for e in evidence] == [None]  # only the completion narrative
    assert SECRET_ANSWER not in credential.document
    assert not any(item.publish for item in db.session.scalars(select(PortfolioItem)))


def test_answers_autosave_as_json_to_the_same_address(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge)
    web = browser(app)
    sign_in_as(web, make_educator("ann.lee@school.example.org"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    activity = module.activities[0]
    page = f"{home}/activities/{activity.id}"
    first = activity.prompts[0]
    saved = web.submit(
        page, data={f"prompt-{first.id}": "Draft"}, headers={"Accept": "application/json"}
    )
    assert saved.status_code == 200
    assert saved.get_json() == {
        "saved": 1,
        "answered": 1,
        "total": 3,
        "percent": 33,
        "activity_done": False,
    }
    too_long = web.submit(
        page, data={f"prompt-{first.id}": "x" * 50_001}, headers={"Accept": "application/json"}
    )
    assert too_long.status_code == 400 and "50,000" in too_long.get_json()["message"]
    assert ">Draft</textarea>" in text(web.get(page))


def test_evidence_files_are_type_checked(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge)
    web = browser(app)
    sign_in_as(web, make_educator("ann.lee@school.example.org"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    refused = web.submit(home, f"{home}/evidence", data={
        "kind": "file", "file": (io.BytesIO(b"MZ\x90\x00" * 20), "tool.exe"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400 and "That file type is not accepted" in text(refused)
    no_url = web.submit(home, f"{home}/evidence", data={"kind": "link", "title": "Slides"})
    assert no_url.status_code == 400 and "Give the link" in text(no_url)
    assert count(PortfolioItem) == 0


def test_module_evidence_obeys_the_one_evidence_limit(app, staff_web, issuer, badge) -> None:
    # The same MAX_EVIDENCE_BYTES governs module evidence and portfolio uploads.
    app.config["MAX_EVIDENCE_BYTES"] = 1024
    module = build_module(staff_web, issuer, badge)
    web = browser(app)
    sign_in_as(web, make_educator("ann.lee@school.example.org"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    refused = web.submit(home, f"{home}/evidence", data={
        "kind": "file", "file": (io.BytesIO(b"%PDF-" + b"0" * 2000), "plan.pdf"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400 and "1 KB" in text(refused)
    assert count(PortfolioItem) == 0
    accepted = web.submit(home, f"{home}/evidence", data={
        "kind": "file", "file": (io.BytesIO(b"%PDF-" + b"0" * 500), "plan.pdf"),
    }, content_type="multipart/form-data")  # fmt: skip
    assert accepted.status_code == 303
    assert count(PortfolioItem) == 1


# --- who may see what -------------------------------------------------------------------------


def test_another_educators_enrolment_is_404(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge)
    ann, bob = (
        make_educator("ann@school.example.org", "Ann"),
        make_educator("bob@school.example.org", "Bob"),
    )
    ann_web, bob_web = browser(app), browser(app)
    sign_in_as(ann_web, ann)
    sign_in_as(bob_web, bob)
    home = f"/me/modules/{module.public_id}"
    ann_web.submit(home, f"{home}/enrol")
    answer_everything(ann_web, module)
    activity = module.activities[0]
    assert bob_web.get(f"{home}/activities/{activity.id}").status_code == 404
    token = bob_web.csrf_token(home)
    for path, data in (
        (f"{home}/activities/{activity.id}", {f"prompt-{activity.prompts[0].id}": "mine"}),
        (f"{home}/complete", {}),
        (f"{home}/partner", {"name": "X", "email": "x@school.example.org"}),
        (f"{home}/evidence", {"kind": "narrative", "title": "t", "body": "b"}),
    ):
        response = bob_web.client.post(path, data={"csrf_token": token, **data}, base_url=BASE_URL)
        assert response.status_code == 404, path
    assert SECRET_ANSWER not in text(bob_web.get(home))  # Bob sees the module, not Ann's work
    assert count(Enrolment) == 1 and count(PortfolioItem) == 3


def test_cohort_modules_and_drafts_are_invisible_to_others(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge, enrolment_mode="cohort")
    web = browser(app)
    sign_in_as(web, make_educator("ann@school.example.org"))
    assert web.get(f"/me/modules/{module.public_id}").status_code == 404
    assert "Formative Assessment" not in text(web.get("/me/modules"))
    assert web.get("/me/modules/no-such-module").status_code == 404


def test_partner_tokens_work_once_and_only_while_current(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge)
    web = browser(app)
    sign_in_as(web, make_educator("ann@school.example.org"))
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    partner = browser(app)
    assert partner.get("/partner/" + "A" * 43).status_code == 404
    assert partner.get("/partner/short").status_code == 404
    token = partner.csrf_token("/login")  # any form gives the partner's browser a CSRF token
    assert (
        partner.client.post(
            "/partner/" + "A" * 43, data={"csrf_token": token}, base_url=BASE_URL
        ).status_code
        == 404
    )

    web.submit(home, f"{home}/partner", data={"name": "Sam", "email": "sam@school.example.org"})
    first = partner_path("sam@school.example.org")
    early = partner.client.post(first, data={"csrf_token": token}, base_url=BASE_URL)
    assert early.status_code == 409 and "has not completed every activity yet" in text(early)
    web.submit(home, f"{home}/partner", data={"name": "Sam", "email": "sam@school.example.org"})
    current = partner_path("sam@school.example.org")
    assert current != first and partner.get(first).status_code == 404  # replaced
    answer_everything(web, module)
    assert partner.submit(current).status_code == 303
    enrolment = db.session.scalars(select(Enrolment)).one()
    confirmed_at = enrolment.partner_confirmed_at
    again = partner.client.post(current, data={"csrf_token": token}, base_url=BASE_URL)
    assert again.status_code == 409 and "already confirmed" in text(again)
    db.session.refresh(enrolment)
    assert enrolment.partner_confirmed_at == confirmed_at
    reinvite = web.submit(
        home, f"{home}/partner", data={"name": "Eve", "email": "eve@school.example.org"}
    )
    assert reinvite.status_code == 400 and "already confirmed" in text(reinvite)
    db.session.refresh(enrolment)
    assert enrolment.partner_email == "sam@school.example.org"


def test_another_issuers_staff_get_404(
    app, staff_web, issuer, badge, make_staff, make_issuer
) -> None:
    module = build_module(staff_web, issuer, badge)
    outsider = make_staff("eve@other.example.org", name="Eve")
    other = make_issuer("Other Org", slug="other-org", owner=outsider)
    web = browser(app)
    sign_in_staff(web, outsider)
    assert web.get(f"/workspace/{issuer.slug}/modules/{module.public_id}").status_code == 404
    # Their own workspace does not open another issuer's module either.
    assert web.get(f"/workspace/{other.slug}/modules/{module.public_id}").status_code == 404
    token = web.csrf_token(f"/workspace/{other.slug}/modules")
    response = web.client.post(f"/workspace/{other.slug}/modules/{module.public_id}/unpublish",
                               data={"csrf_token": token}, base_url=BASE_URL)  # fmt: skip
    assert response.status_code == 404
    db.session.refresh(module)
    assert module.published


def test_complete_is_offered_only_once_nothing_is_missing(app, staff_web, issuer, badge) -> None:
    module = build_module(staff_web, issuer, badge)
    ann = make_educator("ann.lee@school.example.org")
    web = browser(app)
    sign_in_as(web, ann)
    home = f"/me/modules/{module.public_id}"
    web.submit(home, f"{home}/enrol")
    first = module.activities[0]
    # Nothing done: what is missing is listed, with the next step linked, and no Complete button.
    page = web.get(home).get_data(as_text=True)
    assert "Still to do before you can complete it:" in page
    assert "still to do: Activity 1; Activity 2." in page
    assert "Invite a learning partner to confirm your checklist." in page
    assert f'href="{home}/activities/{first.id}">Continue with “Activity 1”' in page
    assert 'href="#partner">Invite a learning partner</a>' in page
    assert "Complete the module and get the badge" not in page
    assert f'action="{home}/complete"' not in page
    # Every prompt answered, the partner still missing: the one step left, still no button.
    answer_everything(web, module)
    page = web.get(home).get_data(as_text=True)
    assert "still to do: Activity" not in page and "Continue with" not in page
    assert "Invite a learning partner to confirm your checklist." in page
    assert "Complete the module and get the badge" not in page
    # The service still refuses a completion posted anyway.
    refused = web.submit(home, f"{home}/complete", data={})
    assert refused.status_code == 400
    assert "Complete the module and get the badge" not in text(refused)
