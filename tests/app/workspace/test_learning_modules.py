"""The workspace's module screens: create and edit with the issuer's awardable achievements
only, the activities and prompts editor (answered prompts are edited, never deleted), publish
rules, the enrolments table, cohort CSV upload with a verdict per row, and roles."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    Activity,
    AuditEvent,
    EmailMessage,
    Enrolment,
    Issuer,
    Module,
    Prompt,
    StaffAccount,
)
from app.services.learning import answers, authoring, educators, enrolments
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org import achievements, staff
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.educator.test_learning_modules import assert_accessible
from tests.app.mail_helpers import latest_delivered

ACTOR = Actor(label="test")


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def sign_in(web: Web, account: StaffAccount) -> None:
    sign_in_directly(web.client, "staff", account.id)


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
def signed_in(web: Web, owner: StaffAccount) -> Web:
    sign_in(web, owner)
    return web


def module_form(badge: Achievement, **fields: str) -> dict[str, str]:
    return {
        "title": "Formative Assessment in Practice",
        "summary": "Exit tickets for a term.",
        "learning_outcomes": "Design exit tickets",
        "achievement": badge.public_id,
        "enrolment_mode": "open",
        "award_mode": "automatic",
        **fields,
    }


def published_module(issuer: Issuer, badge: Achievement, **rules: Any) -> Module:
    env = service_env()
    module = authoring.create_module(
        issuer, ModuleInput(title="M", summary="S", achievement_public_id=badge.public_id, **rules),
        actor=ACTOR, env=env,
    )  # fmt: skip
    for title in ("Read", "Try"):
        activity = authoring.add_activity(module, ActivityInput(title=title), actor=ACTOR, env=env)
        for prompt in ("What?", "Why?"):
            authoring.add_prompt(activity, f"{title}: {prompt}", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    return module


def test_the_workspace_nav_links_to_modules(signed_in, issuer) -> None:
    page = text(signed_in.get(f"/workspace/{issuer.slug}/"))
    assert f'href="/workspace/{issuer.slug}/modules"' in page
    assert "No modules yet" in text(signed_in.get(f"/workspace/{issuer.slug}/modules"))


def test_a_module_is_created_with_one_of_the_issuers_awardable_achievements(
    signed_in, issuer, badge, make_achievement, make_issuer
) -> None:
    archived = make_achievement(issuer, "Old badge")
    achievements.set_archived(archived, True, actor=ACTOR, env=service_env())
    theirs = make_achievement(make_issuer("Other", slug="other"), "Their badge")
    page = f"/workspace/{issuer.slug}/modules/new"
    form = text(signed_in.get(page))
    assert f'value="{badge.public_id}"' in form
    assert archived.public_id not in form and theirs.public_id not in form

    refused = signed_in.submit(page, data=module_form(theirs, title=""))
    assert refused.status_code == 400
    assert "Give the module a title." in text(refused)
    refused = signed_in.submit(page, data=module_form(theirs))
    assert refused.status_code == 400 and "Choose an achievement from the list." in text(refused)
    refused = signed_in.submit(page, data=module_form(badge, enrolment_mode="everyone"))
    assert refused.status_code == 400 and "Choose who may enrol." in text(refused)
    assert count(Module) == 0

    created = signed_in.submit(
        page, data=module_form(badge, requires_partner="1", award_mode="review")
    )
    assert created.status_code == 303
    module = db.session.scalars(select(Module)).one()
    assert (module.title, module.requires_partner, module.award_mode, module.published) == (
        "Formative Assessment in Practice", True, "review", False,
    )  # fmt: skip
    assert module.learning_outcomes == ["Design exit tickets"]
    detail = text(signed_in.get(created.headers["Location"]))
    assert "Draft" in detail and "a learning partner confirms the checklist" in detail

    edit = f"/workspace/{issuer.slug}/modules/{module.public_id}/edit"
    assert signed_in.submit(edit, data=module_form(badge, title="Exit Tickets")).status_code == 303
    db.session.refresh(module)
    assert (module.title, module.requires_partner, module.award_mode) == (
        "Exit Tickets",
        False,
        "automatic",
    )


def test_publishing_needs_a_prompt(signed_in, issuer, badge) -> None:
    module = authoring.create_module(issuer, ModuleInput(title="M", summary="S", achievement_public_id=badge.public_id),
                                   actor=ACTOR, env=service_env())  # fmt: skip
    page = f"/workspace/{issuer.slug}/modules/{module.public_id}"
    response = signed_in.submit(page, f"{page}/publish")
    assert response.status_code == 303
    assert "Add at least one activity with a reflection prompt" in text(signed_in.get(page))
    db.session.refresh(module)
    assert not module.published


def test_the_activity_editor_adds_edits_reorders_and_deletes(signed_in, issuer, badge) -> None:
    module = published_module(issuer, badge)
    base = f"/workspace/{issuer.slug}/modules/{module.public_id}"
    _read, tried = module.activities

    refused = signed_in.submit(
        f"{base}/activities/new", data={"title": "Watch", "resources": "not a link"}
    )
    assert refused.status_code == 400 and "end each line with a link" in text(refused)
    added = signed_in.submit(f"{base}/activities/new", data={
        "title": "Watch", "directions": "Watch *the* video.", "resources": "Video https://video.example.org/v",
    })  # fmt: skip
    assert added.status_code == 303
    watch = db.session.scalars(select(Activity).where(Activity.title == "Watch")).one()
    assert (watch.position, watch.resources) == (
        3,
        [{"title": "Video", "url": "https://video.example.org/v"}],
    )

    signed_in.submit(base, f"{base}/activities/{watch.id}/move", data={"direction": "up"})
    db.session.refresh(module)
    assert [a.title for a in module.activities] == ["Read", "Watch", "Try"]

    page = f"{base}/activities/{watch.id}"
    editor = text(signed_in.get(page))
    assert "No prompts yet" in editor and 'name="text"' in editor
    assert signed_in.submit(page, f"{page}/prompts", data={"text": "  "}).status_code == 400
    signed_in.submit(page, f"{page}/prompts", data={"text": "What did you notice?"})
    signed_in.submit(page, f"{page}/prompts", data={"text": "What will you change?"})
    first, second = watch.prompts
    signed_in.submit(page, f"{base}/prompts/{second.id}/move", data={"direction": "up"})
    db.session.refresh(watch)
    assert [p.text for p in watch.prompts] == ["What will you change?", "What did you notice?"]
    assert signed_in.submit(page, f"{base}/prompts/{first.id}/delete").status_code == 303
    assert [
        p.text for p in db.session.scalars(select(Prompt).where(Prompt.activity_id == watch.id))
    ] == ["What will you change?"]
    assert signed_in.submit(base, f"{base}/activities/{tried.id}/delete").status_code == 303
    db.session.refresh(module)
    assert [(a.position, a.title) for a in module.activities] == [(1, "Read"), (2, "Watch")]


def test_answered_prompts_are_edited_but_deleting_them_is_refused(signed_in, issuer, badge) -> None:
    module = published_module(issuer, badge)
    ann = educators.create("ann@school.example.org", "Ann Lee", service_env(), verified=True)
    db.session.commit()
    enrolment = enrolments.enrol(ann, module, service_env())
    read = module.activities[0]
    answered = read.prompts[0]
    answers.save_answers(enrolment, ann, read, {answered.id: "Because."}, service_env())

    base = f"/workspace/{issuer.slug}/modules/{module.public_id}"
    page = f"{base}/activities/{read.id}"
    response = signed_in.submit(page, f"{base}/prompts/{answered.id}/delete")
    assert response.status_code == 303
    assert "Educators have answered this prompt, so it cannot be deleted" in text(
        signed_in.get(page)
    )
    refused = signed_in.submit(base, f"{base}/activities/{read.id}/delete")
    assert "cannot be deleted" in text(signed_in.get(refused.headers["Location"]))
    assert (
        signed_in.submit(
            page, f"{base}/prompts/{answered.id}", data={"text": "What, exactly?"}
        ).status_code
        == 303
    )
    db.session.refresh(answered)
    assert answered.text == "What, exactly?" and count(Prompt) == 4

    # The enrolments table shows the educator's progress.
    detail = text(signed_in.get(base))
    assert "Ann Lee" in detail and "1 of 4 prompts" in detail and "In progress" in detail
    for html in (detail, text(signed_in.get(page)), text(signed_in.get(f"{base}/edit")),
                 text(signed_in.get(f"{base}/cohort")), text(signed_in.get(f"{base}/activities/new"))):  # fmt: skip
        assert_accessible(html)


CSV = (
    b"Email,Name\r\n"
    b"ann@school.example.org,Ann Lee\r\n"
    b"new.teacher@school.example.org,New Teacher\r\n"
    b"new.teacher@school.example.org,Twice\r\n"
    b"not an email,Nobody\r\n"
)


def test_a_cohort_is_previewed_then_enrolled_and_invited(app, signed_in, issuer, badge) -> None:
    module = published_module(issuer, badge, enrolment_mode="cohort")
    educators.create("ann@school.example.org", "Ann Lee", service_env(), verified=True)
    db.session.commit()
    page = f"/workspace/{issuer.slug}/modules/{module.public_id}/cohort"
    events = count(AuditEvent)
    preview = signed_in.submit(page, data={"file": (io.BytesIO(CSV), "cohort.csv")},
                               content_type="multipart/form-data")  # fmt: skip
    assert preview.status_code == 200
    shown = text(preview)
    assert "Preview of cohort.csv" in shown
    assert "&#39;not an email&#39; is not an email address" in shown
    assert "appears earlier in this file" in shown and "Enrol 2 educators" in shown
    assert (count(Enrolment), count(EmailMessage), count(AuditEvent)) == (0, 0, events)

    data = re.search(r'name="data" value="([^"]+)"', shown)
    assert data
    token = signed_in.csrf_token(page)
    done = signed_in.client.post(page + "/confirm", data={"csrf_token": token, "data": data.group(1)},
                                 base_url=BASE_URL)  # fmt: skip
    assert done.status_code == 303
    assert "Enrolled 2 educators" in text(signed_in.get(done.headers["Location"]))
    assert count(Enrolment) == 2
    invites = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "module_invite"))
    assert sorted(m.to_address for m in invites) == [
        "ann@school.example.org",
        "new.teacher@school.example.org",
    ]
    # Each invitation carries its sign-in link as delivered; the stored copy no longer does.
    for address in ("ann@school.example.org", "new.teacher@school.example.org"):
        assert f"{BASE_URL}/me/sign-in/" in latest_delivered(address, "module_invite")
    assert not any("/me/sign-in/" in m.body_text for m in db.session.scalars(select(EmailMessage)))
    # Delivered: in tests, into the development outbox.
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*-module_invite.eml"))
    assert len(outbox) == 2
    assert "To: new.teacher@school.example.org" in "".join(p.read_text() for p in outbox)
    table = text(signed_in.get(f"/workspace/{issuer.slug}/modules/{module.public_id}"))
    assert "New Teacher" in table and "by staff" in table


def test_unreadable_cohort_files_are_refused(signed_in, issuer, badge) -> None:
    module = published_module(issuer, badge)
    page = f"/workspace/{issuer.slug}/modules/{module.public_id}/cohort"
    refused = signed_in.submit(page, data={"file": (io.BytesIO(b"name\nAnn\n"), "c.csv")},
                               content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400 and "including an &#39;email&#39; column" in text(refused)
    token = signed_in.csrf_token(page)
    garbage = signed_in.client.post(
        page + "/confirm", data={"csrf_token": token, "data": "%%%"}, base_url=BASE_URL
    )
    assert garbage.status_code == 400 and "upload it again" in text(garbage)
    assert count(Enrolment) == 0


def test_roles_editors_build_awarders_enrol_viewers_look(
    app: Flask, issuer, badge, make_staff
) -> None:
    module = published_module(issuer, badge)
    base = f"/workspace/{issuer.slug}/modules/{module.public_id}"
    for role in ("viewer", "awarder"):
        account = make_staff(f"{role}@district7.example.org", name=role.title())
        staff.set_role(issuer, account, role, actor=ACTOR, env=service_env())
        client = app.test_client()
        client.environ_base["HTTP_REFERER"] = BASE_URL + "/"
        web = Web(client)
        sign_in(web, account)
        page = text(web.get(base))
        assert "Unpublish" not in page and "Add an activity" not in page
        assert ("Enrol a cohort" in page) == (role == "awarder")
        token = web.csrf_token(base + "/cohort" if role == "awarder" else base.rsplit("/", 1)[0])
        edit = web.client.post(base + "/edit", data={"csrf_token": token, **module_form(badge, title="X")},
                               base_url=BASE_URL)  # fmt: skip
        assert edit.status_code == 403
        cohort = web.client.get(base + "/cohort", base_url=BASE_URL)
        assert cohort.status_code == (200 if role == "awarder" else 403)
    db.session.refresh(module)
    assert module.title == "M"
