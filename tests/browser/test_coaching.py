"""Coaching in Chromium, through the real server (issue 15): an owner makes a coaching plan for
a school (coach, educator, focus, sessions agreed, the school's leader on full reports and the
district leader on summaries, a coaching-cycle achievement); the coach logs a session with
private notes; the educator confirms it on /me/coaching, which completes the cycle and awards
the achievement; each leader reads the report in their format, never the private notes.
Screenshots at 1280 and 390 px of the coaching settings, the plan form, the coach's log, the
plan page, the educator's coaching and partnerships pages and both reports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, Site, _instance_env
from tests.browser.test_educator_journey import (
    axe_violations,
    educator_sign_in,
    flash,
    staff_sign_in,
)
from tests.browser.test_phone_width import PHONE, PHONE_OPTIONS

Shot = Callable[[Page, str], Path]
COACH = "cora.coach@north.example.org"
LEADER = "lena.principal@north.example.org"
DISTRICT = "dina.superintendent@north.example.org"
EDUCATOR = "ada.coached@north.example.org"
PRIVATE = "Ada was anxious about the observation; follow up gently."
NOTES = "We planned think-alouds for the guided reading block and rehearsed two of them."
NEXT_STEPS = "Ada tries a think-aloud in two lessons before our next session."
BADGE = "Coaching Cycle: Guided Reading"

#: Seeds what the workspace cannot make yet (staff with passwords, a school, its roster and
#: leaders, the coaching-cycle rule), through the services, in the instance's own database.
SEED = """
import json, sys
from app import create_app
from app.extensions import db
from app.services.learning import educators, recognition
from app.services.org import achievements, issuers, schools, staff
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.wiring import service_env

plan = json.loads(sys.argv[1])
app = create_app()
with app.app_context():
    env = service_env()
    actor = Actor(label="browser-test")
    issuer = issuers.get_by_slug("north")
    people = {}
    for email, name in plan["staff"]:
        account = staff.create_account(email=email, name=name, password=plan["password"],
                                       actor=actor, env=env)
        staff.set_role(issuer, account, "viewer", actor=actor, env=env)
        people[email] = account
    school = schools.create(issuer, "Northside Elementary", actor=actor, env=env)
    schools.set_members(school, [plan["educator"]], actor=actor, env=env)
    schools.appoint(issuer, people[plan["leader"]], school, actor=actor, env=env)
    schools.appoint(issuer, people[plan["district"]], None, actor=actor, env=env)
    ada = educators.create(plan["educator"], "Ada Lovelace", env, verified=True,
                           name_confirmed=True)
    db.session.commit()
    badge = achievements.create_achievement(issuer, AchievementInput(
        name=plan["badge"], description="Completed a coaching cycle in guided reading.",
        criteria_markdown="Confirmed coaching sessions with an instructional coach."),
        actor=actor, env=env)
    recognition.set_rule(issuer, badge.public_id, "coaching", 1, False, actor=actor, env=env)
    print(json.dumps({"badge": badge.public_id}))
"""


@pytest.fixture
def coached(site: Site) -> dict[str, Any]:
    seed = {
        "password": PASSWORD,
        "staff": [(COACH, "Cora Coach"), (LEADER, "Lena Principal"), (DISTRICT, "Dina Superintendent")],
        "leader": LEADER, "district": DISTRICT, "educator": EDUCATOR, "badge": BADGE,
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SEED, json.dumps(seed)],
        env=_instance_env(site.workdir, site.base_url),
        cwd=site.workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seeded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seeded


def both_widths(page: Page, new_page: Callable[..., Page], shot: Shot, name: str) -> None:
    """Screenshots at 1280 px and at 390 px (same cookies); the phone page must fit."""
    page.wait_for_load_state("load")
    shot(page, f"coaching-{name}-1280")
    phone = new_page(**PHONE_OPTIONS, storage_state=page.context.storage_state())
    phone.goto(page.url)
    phone.wait_for_load_state("load")
    shot(phone, f"coaching-{name}-390")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a phone"
    phone.context.close()


def test_a_coaching_cycle_from_plan_to_report(
    site: Site,
    coached: dict[str, Any],
    new_page: Callable[..., Page],
    shot: Shot,
    browser: Browser,
) -> None:
    # The owner makes the plan.
    owner = new_page()
    staff_sign_in(owner, site, site.staff_email)
    owner.goto(site.url(f"/workspace/{site.issuer_slug}/coaching"))
    owner.get_by_role("link", name="Coaching settings").click()
    expect(owner.get_by_role("cell", name=BADGE, exact=True)).to_be_visible()
    both_widths(owner, new_page, shot, "settings")
    owner.get_by_role("link", name="Coaching", exact=True).first.click()
    owner.get_by_role("link", name="New coaching plan").click()
    owner.get_by_label("School", exact=True).select_option(label="Northside Elementary")
    owner.locator("#coach").select_option(label=f"Cora Coach ({COACH})")
    owner.get_by_label("Focus").select_option(label="Instructional coaching")
    owner.get_by_label("Face to face").fill("3")
    owner.get_by_label("Virtual", exact=True).fill("1")
    owner.get_by_label(f"Ada Lovelace {EDUCATOR}").check()
    owner.get_by_label("Lena Principal").select_option("full")
    owner.get_by_label("Dina Superintendent").select_option("summary")
    owner.get_by_label("Awarded for this plan").select_option(
        label=f"{BADGE} (1 confirmed session)"
    )
    both_widths(owner, new_page, shot, "plan-form")
    owner.get_by_role("button", name="Save the plan").click()
    expect(flash(owner)).to_contain_text("Saved the coaching plan")
    plan_url = owner.url
    expect(owner.get_by_role("heading", level=1)).to_have_text(
        "Northside Elementary: Instructional coaching"
    )

    # The coach logs a session.
    coach = new_page()
    staff_sign_in(coach, site, COACH)
    coach.goto(plan_url)
    coach.get_by_role("link", name="Log a session").click()
    coach.get_by_label("Face to face").check()
    coach.get_by_label("Focus").fill("Think-alouds in guided reading")
    coach.locator("#notes").fill(NOTES)
    coach.get_by_label("Agreed next steps").fill(NEXT_STEPS)
    coach.get_by_label("Links to evidence").fill(
        "Lesson plan | https://north.example.org/plans/ada-1"
    )
    coach.get_by_label("Private notes").fill(PRIVATE)
    both_widths(coach, new_page, shot, "log-session")
    coach.get_by_role("button", name="Log the session").click()
    expect(flash(coach)).to_contain_text("the report was sent to 2 leaders")
    expect(coach.get_by_text("1 of 3").first).to_be_visible()  # face to face, delivered of agreed
    expect(coach.get_by_text(PRIVATE)).to_be_visible()  # the coach's own
    both_widths(coach, new_page, shot, "plan-coach")
    blocking = {
        "plan": axe_violations(browser, plan_url, coach.context.storage_state(), "coaching-plan")
    }
    log_url = plan_url + "/sessions/new"
    blocking["log"] = axe_violations(
        browser, log_url, coach.context.storage_state(), "coaching-log"
    )

    # The educator confirms it; the cycle (one confirmed session) is complete.
    ada = new_page()
    educator_sign_in(ada, site, EDUCATOR)
    ada.get_by_role("link", name="Coaching").first.click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Coaching")
    expect(ada.get_by_text(NEXT_STEPS)).to_be_visible()
    expect(ada.get_by_text(PRIVATE)).to_have_count(0)
    both_widths(ada, new_page, shot, "educator-to-confirm")
    blocking["me"] = axe_violations(browser, ada.url, ada.context.storage_state(), "coaching-me")
    ada.get_by_role("button", name="Confirm this session").click()
    expect(flash(ada)).to_contain_text("its achievement is in your backpack")
    expect(ada.locator(".status").filter(has_text="Confirmed")).to_be_visible()
    both_widths(ada, new_page, shot, "educator-confirmed")
    ada.get_by_role("link", name="Your learning partnerships").click()
    expect(ada.get_by_role("heading", level=1)).to_have_text("Learning partnerships")
    both_widths(ada, new_page, shot, "partnerships")
    ada.goto(site.url("/me/"))
    expect(ada.get_by_text(BADGE).first).to_be_visible()

    # The school's leader reads the full report, the district leader the summary.
    for email, full in ((LEADER, True), (DISTRICT, False)):
        leader = new_page()
        staff_sign_in(leader, site, email)
        leader.goto(site.url(f"/workspace/{site.issuer_slug}/coaching"))
        leader.get_by_role("link", name="Northside Elementary: Instructional coaching").click()
        leader.get_by_role("link", name="Session report").click()
        expect(leader.get_by_role("heading", level=1)).to_have_text("Coaching session report")
        expect(leader.get_by_text(NEXT_STEPS)).to_be_visible()
        expect(leader.get_by_text(NOTES)).to_have_count(1 if full else 0)
        expect(leader.get_by_text(PRIVATE)).to_have_count(0)
        both_widths(leader, new_page, shot, f"report-{'full' if full else 'summary'}")
        blocking[email] = axe_violations(
            browser, leader.url, leader.context.storage_state(), "report"
        )
        leader.goto(plan_url)
        expect(leader.get_by_text(PRIVATE)).to_have_count(0)
    assert not any(blocking.values()), blocking
