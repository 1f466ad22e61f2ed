"""Schools and the leaders' dashboards in a browser, as a district would use them: the owner
keeps the schools page and appoints a principal; the principal opens their school's dashboard
from the staff home; the superintendent opens the district's dashboard and the year's PD goals.
Screenshots at 1280 and 390 px; every page fits a phone's width and passes axe."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import _CLI_TIMEOUT, PASSWORD, Site, _instance_env
from tests.browser.test_educator_journey import axe_violations, staff_sign_in

Shot = Callable[[Page, str], Path]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True}
PRINCIPAL = "pam.principal@north.example.org"
SUPERINTENDENT = "sam.super@north.example.org"

# A district's year so far, written through the services in one process against the running
# instance's database: two schools with rosters and job roles, aligned achievements with hours,
# credentials spread over the school year's months, enrolments, a superintendent (appointed) and
# a principal (an account, appointed in the browser), and two PD goals.
SEED = """
import sys
from datetime import UTC, datetime, timedelta
from sqlalchemy import select, update
from app import create_app
from app.extensions import db
from app.models import Enrolment, IssuedCredential, StaffAccount
from app.services.awarding.issuing import AwardInput, award
from app.services.learning import authoring, coaching, coaching_sessions, educators, leadership, pd_goals, plans
from app.services.learning.authoring import ModuleInput
from app.services.learning.coaching import PlanInput
from app.services.learning.coaching_sessions import SessionInput
from app.services.org import achievements, issuers, schools, staff
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.wiring import service_env

app = create_app()
with app.app_context():
    env = service_env()
    issuer = issuers.get_by_slug("north")
    owner = db.session.scalar(select(StaffAccount).where(StaffAccount.email == "tess@example.org"))
    actor = Actor(owner)
    for email, name in (("{principal}", "Pam Principal"), ("{superintendent}", "Sam Superintendent")):
        staff.create_account(email=email, name=name, password="{password}", actor=actor, env=env)
    sam = db.session.scalar(select(StaffAccount).where(StaffAccount.email == "{superintendent}"))
    schools.appoint(issuer, sam, None, actor=actor, env=env)
    iste = "ISTE Standards for Educators"
    def std(code, name):
        return {{"target_name": name, "target_code": code, "target_framework": iste,
                 "target_url": "https://iste.org/standards/educators"}}
    badges = {{}}
    for name, aligned, credits, unit in (
        ("Data-Informed Instruction", [std("2.7", "Analyst")], 10, "clock_hours"),
        ("Designing Learning Experiences", [std("2.5", "Designer"), std("2.7", "Analyst")], 1, "ceu"),
        ("Digital Citizenship Leader", [std("2.3", "Citizen")], 6, "clock_hours"),
        ("Collaborative Planning", [std("2.4", "Collaborator")], 4, "clock_hours"),
    ):
        badges[name] = achievements.create_achievement(issuer, AchievementInput(
            name=name, description=name + ": professional learning.", criteria_markdown="Took part.",
            alignments=tuple(aligned), credits_available=credits, credit_unit=unit), actor=actor, env=env)
    hill = schools.create(issuer, "Hillside Elementary", actor=actor, env=env)
    ridge = schools.create(issuer, "Ridgeview Middle School", actor=actor, env=env)
    roles = ["teacher"] * 6 + ["instructional coach", "administrator"]
    rosters = {{hill: {{f"teacher{{i}}@hillside.example.org": roles[i] for i in range(8)}},
               ridge: {{f"teacher{{i}}@ridgeview.example.org": roles[(i + 3) % 8] for i in range(10)}}}}
    for school, roster in rosters.items():
        schools.set_members(school, list(roster), roles=roster, actor=actor, env=env)
    start, _ = leadership.school_year_bounds(leadership.school_year_of(env.now.date()))
    days = max((env.now.date() - start).days, 1)
    module = authoring.create_module(issuer, ModuleInput(title="Using student data", summary="S",
        achievement_public_id=badges["Data-Informed Instruction"].public_id), actor=actor, env=env)
    plan = [(0, "Data-Informed Instruction"), (1, "Designing Learning Experiences"),
            (2, "Data-Informed Instruction"), (3, "Digital Citizenship Leader"),
            (5, "Collaborative Planning"), (6, "Data-Informed Instruction")]
    count = 0
    for school, roster in rosters.items():
        for index, email in enumerate(sorted(roster)):
            educator = educators.create(email, "Educator " + str(index), env, verified=True, name_confirmed=True)
            db.session.commit()
            enrolled = datetime.combine(start, datetime.min.time(), UTC) + timedelta(days=(index * 11) % days)
            done = enrolled + timedelta(days=9) if index % 3 == 0 else None
            db.session.add(Enrolment(module_id=module.id, educator_id=educator.id, enrolled_at=enrolled,
                state="awarded" if done else "in_progress", completed_at=done))
            db.session.commit()
            for position, name in plan:
                if position != index % 7:
                    continue
                count += 1
                made = award(issuer, badges[name], AwardInput(email=email), actor=actor, env=env, notify=False)
                when = datetime.combine(start, datetime.min.time(), UTC) + timedelta(days=(count * 23) % days)
                db.session.execute(update(IssuedCredential).where(IssuedCredential.id == made.id).values(issued_at=when))
                db.session.commit()
    base = {{"school_year": start.year, "need": "Teachers rarely use student data to adjust instruction.",
            "module_ids": [], "achievement_ids": [], "standards": []}}
    pd_goals.create(issuer, base | {{"goal": "Teachers use classroom data to plan instruction",
        "standards": ["2.7 Analyst"], "measure": "percent_earned", "target": 60}}, actor=actor, env=env)
    pd_goals.create(issuer, base | {{"goal": "Every school completes the data module",
        "module_ids": [module.public_id], "measure": "enrolments_completed", "target": 12}}, actor=actor, env=env)
    # Learning plans shared with the district (one kept private), and two coaching plans.
    year = plans.school_year_of(env.now.date())
    keys = {{s.name: s.key for s in plans.framework(issuer)}}
    ids = {{n: badges[n].public_id for n in badges}}
    for email, shared in (("teacher0@hillside.example.org", True), ("teacher1@hillside.example.org", True),
                          ("teacher2@hillside.example.org", False), ("teacher0@ridgeview.example.org", True),
                          ("teacher1@ridgeview.example.org", True)):
        educator = educators.find_by_email(email)
        made = plans.create(educator, {{"school_year": year, "organisation": "north"}}, env)
        plans.update_vision(made, {{"vision": "Every lesson starts from what my students showed me yesterday.",
                                   "research_question": None}}, env)
        for title, standards, chosen in (
            ("Use exit-ticket data every week", ["Analyst"], ["Data-Informed Instruction"]),
            ("Design a project-based unit", ["Designer", "Analyst"], ["Designing Learning Experiences"]),
            ("Teach digital citizenship", ["Citizen"], ["Digital Citizenship Leader"]),
        ):
            plans.add_goal(made, educator, {{"title": title, "description": "", "items": [], "modules": [],
                "standards": [keys[s] for s in standards], "achievements": [ids[c] for c in chosen],
                "evidence": "", "target_date": None}}, env)
        plans.add_reflection(made, {{"goal": None, "written_on": env.now.date(), "shared": True,
            "body": "Exit tickets showed half the class misread the graph axes."}}, env)
        plans.add_reflection(made, {{"goal": None, "written_on": env.now.date(), "shared": False,
            "body": "PRIVATE: I feel behind the others."}}, env)
        if shared:
            plans.set_shared(made, True, env)
    staff.create_account(email="carla.coach@north.example.org", name="Carla Coach", password="{password}",
                         actor=actor, env=env)
    carla = db.session.scalar(select(StaffAccount).where(StaffAccount.email == "carla.coach@north.example.org"))
    staff.set_role(issuer, carla, "viewer", actor=actor, env=env)
    kinds = {{t.name: t for t in coaching.types_for(issuer, env)}}
    for school, kind, f2f, virtual, who, held in (
        (hill, "Instructional coaching", "6", "2", ("teacher0@hillside.example.org", "teacher1@hillside.example.org"),
         ("face_to_face", "face_to_face", "virtual", "face_to_face")),
        (ridge, "Leadership coaching", "4", "4", ("teacher0@ridgeview.example.org",), ("virtual",)),
    ):
        cp = coaching.create_plan(issuer, PlanInput(school=school.public_id, coach=str(carla.id),
            coaching_type=str(kinds[kind].id), face_to_face=f2f, virtual=virtual, educators=who),
            actor=actor, env=env)
        for mode in held:
            coaching_sessions.log_session(cp, carla, SessionInput(held_on=env.now.date().isoformat(), mode=mode,
                focus=kind, notes="SESSION NOTES stay out of the dashboard.",
                participants=tuple(str(p.id) for p in cp.participants)), actor=Actor(carla), env=env)
print("seeded")
"""


def seed(site: Site) -> None:
    script = SEED.format(principal=PRINCIPAL, superintendent=SUPERINTENDENT, password=PASSWORD)
    completed = subprocess.run([sys.executable, "-c", script], env=_instance_env(site.workdir, site.base_url),
                               cwd=site.workdir, capture_output=True, text=True, timeout=_CLI_TIMEOUT,
                               check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-4000:]


def fits(page: Page) -> None:
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window"


def on_phone(new_page: Callable[..., Page], page: Page, shot: Shot, name: str) -> Page:
    phone = new_page(**PHONE, storage_state=page.context.storage_state())
    phone.goto(page.url)
    fits(phone)
    shot(phone, name)
    return phone


def test_schools_and_the_leaders_dashboards(
    page: Page, new_page: Callable[..., Page], browser: Browser, site: Site, shot: Shot
) -> None:
    seed(site)
    # The owner: the schools page, one school's roster, and a principal appointed.
    staff_sign_in(page, site, site.staff_email)
    page.goto(site.url(f"/workspace/{site.issuer_slug}/schools"))
    page.get_by_label("Email address").fill(PRINCIPAL)
    page.get_by_label("Leads").select_option(label="Hillside Elementary")
    page.get_by_role("button", name="Appoint").click()
    expect(page.locator(".flash").first).to_contain_text("now leads Hillside Elementary")
    expect(page.get_by_role("row", name="Hillside Elementary 8 Pam Principal")).to_be_visible()
    fits(page)
    shot(page, "schools-1280")
    on_phone(new_page, page, shot, "schools-390")
    assert axe_violations(browser, page.url, page.context.storage_state(), "schools") == []
    page.get_by_role("link", name="Ridgeview Middle School").click()
    expect(page.get_by_role("heading", name="Ridgeview Middle School")).to_be_visible()
    fits(page)
    shot(page, "school-roster-1280")
    on_phone(new_page, page, shot, "school-roster-390")

    # The principal: from the staff home to their school's dashboard.
    principal = new_page()
    staff_sign_in(principal, site, PRINCIPAL)
    principal.goto(site.url("/workspace/"))
    principal.get_by_role("link", name="Hillside Elementary").click()
    expect(principal.get_by_role("heading", name="Hillside Elementary", level=1)).to_be_visible()
    expect(principal.locator("#panel-participation")).to_contain_text("On roster")
    expect(principal.locator("#panel-standards svg title")).to_contain_text(
        "Credentials by standard"
    )
    assert principal.locator("select#filter-school").count() == 0  # one school, no other
    fits(principal)
    shot(principal, "lead-school-1280")
    on_phone(new_page, principal, shot, "lead-school-390")
    assert (
        axe_violations(browser, principal.url, principal.context.storage_state(), "lead-school")
        == []
    )
    district_url = site.url(f"/lead/{site.issuer_slug}")
    assert principal.request.get(district_url).status == 403

    # The superintendent: every school, a filter, the CSV, and the year's goals.
    superintendent = new_page()
    staff_sign_in(superintendent, site, SUPERINTENDENT)
    superintendent.goto(district_url)
    expect(
        superintendent.get_by_role("heading", name="North District Professional Learning", level=1)
    ).to_be_visible()
    participation = superintendent.locator("#panel-participation")
    expect(participation.get_by_role("row", name="Ridgeview Middle School")).to_be_visible()
    expect(superintendent.locator("#panel-goals")).to_contain_text("Teachers use classroom data")
    fits(superintendent)
    shot(superintendent, "lead-district-1280")
    on_phone(new_page, superintendent, shot, "lead-district-390")
    assert (
        axe_violations(
            browser, superintendent.url, superintendent.context.storage_state(), "lead-district"
        )
        == []
    )
    superintendent.get_by_label("Job role").select_option(label="Teacher")
    superintendent.get_by_role("button", name="Show").click()
    superintendent.wait_for_load_state("load")
    expect(superintendent.get_by_text("Teachers", exact=False).first).to_be_visible()
    csv_link = superintendent.get_by_role("link", name="Download “Credentials by standard” as CSV")
    answer = superintendent.request.get(site.url(csv_link.get_attribute("href") or ""))
    assert answer.status == 200 and answer.text().startswith(
        "Standard,Framework,Credentials,Educators"
    )
    superintendent.get_by_role("link", name="PD goals").first.click()
    expect(
        superintendent.get_by_role(
            "heading", name="Teachers use classroom data to plan instruction"
        )
    ).to_be_visible()
    fits(superintendent)
    shot(superintendent, "lead-goals-1280")
    on_phone(new_page, superintendent, shot, "lead-goals-390")

    # The new panels: plan goals by standard and coaching delivered against plan (aggregates
    # only), then the shared plans of the district, one of them read and commented on.
    superintendent.goto(district_url)
    goals_panel = superintendent.locator("#panel-plan_goals")
    expect(goals_panel.get_by_role("row", name="Analyst")).to_be_visible()
    expect(superintendent.locator("#panel-coaching")).to_contain_text("Carla Coach")
    board = superintendent.content()
    assert "PRIVATE: I feel" not in board and "SESSION NOTES" not in board
    assert "exit-ticket" not in board.lower()
    superintendent.locator("#panel-plan_goals").scroll_into_view_if_needed()
    fits(superintendent)
    shot(superintendent, "lead-district-plans-panels-1280")
    on_phone(new_page, superintendent, shot, "lead-district-plans-panels-390")
    superintendent.get_by_role("link", name="Shared learning plans").first.click()
    expect(superintendent.get_by_role("heading", name="Shared learning plans")).to_be_visible()
    superintendent.get_by_role("row").nth(1).get_by_role("link").click()
    expect(superintendent.get_by_role("heading", name="Shared reflections")).to_be_visible()
    page_text = superintendent.content()
    assert "misread the graph axes" in page_text and "PRIVATE: I feel" not in page_text
    superintendent.get_by_label("Your comment as leader").fill("Strong start: share the tickets.")
    superintendent.get_by_role("button", name="Add the comment").click()
    superintendent.wait_for_load_state("load")
    expect(superintendent.locator(".plan-comment").first).to_contain_text("(leader)")
    fits(superintendent)
    shot(superintendent, "lead-plan-1280")
    on_phone(new_page, superintendent, shot, "lead-plan-390")
    assert (
        axe_violations(
            browser, superintendent.url, superintendent.context.storage_state(), "lead-plan"
        )
        == []
    )
    superintendent.get_by_role("link", name="Shared learning plans").first.click()
    fits(superintendent)
    shot(superintendent, "lead-plans-1280")
    on_phone(new_page, superintendent, shot, "lead-plans-390")

    # The coach: from the coaching plan's page to a coached educator's shared plan, a comment.
    coach = new_page()
    staff_sign_in(coach, site, "carla.coach@north.example.org")
    coach.goto(site.url(f"/workspace/{site.issuer_slug}/coaching"))
    coach.get_by_role("link", name="Hillside Elementary: Instructional coaching").first.click()
    learning = coach.locator("#learning-plans")
    expect(learning).to_contain_text("Educator")
    learning.get_by_role("link").first.click()
    expect(coach.get_by_role("heading", name="Shared reflections")).to_be_visible()
    assert "PRIVATE: I feel" not in coach.content()
    coach.get_by_label("Your comment as coach").fill(
        "Let's look at the tickets together on Friday."
    )
    coach.get_by_role("button", name="Add the comment").click()
    coach.wait_for_load_state("load")
    expect(coach.locator(".plan-comment").last).to_contain_text("(coach)")
    fits(coach)
    shot(coach, "coach-learning-plan-1280")
    on_phone(new_page, coach, shot, "coach-learning-plan-390")
    assert axe_violations(browser, coach.url, coach.context.storage_state(), "coach-plan") == []
