"""Individual learning plans in a browser, through the real server: an educator starts a plan
with their organisation, writes a vision and two goals aligned to its standards, sees progress
follow their module answers and credentials, writes a private and a shared reflection, shares the
plan, reads a staff comment (staff never see the private reflection), publishes a showcase with
Open Graph tags (only what was selected), exports the PDF (rendered with pdftoppm), finishes the
module and gets the organisation's plan-completion badge on approval. Screenshots at 1280 and
390 px of every screen."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pypdfium2
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, Site, _instance_env, cairn_commands
from tests.browser.test_accessibility import describe
from tests.browser.test_educator_journey import (
    axe_violations,
    educator_sign_in,
    flash,
    staff_sign_in,
)
from tests.browser.test_phone_width import PHONE_OPTIONS

Shot = Callable[[Page, str], Path]
EDUCATOR = "paula.planner@example.org"
SEED = """
import json, sys
from app import create_app
from app.extensions import db
from app.services.learning import authoring
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org import achievements, issuers
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.wiring import service_env

iste = {"target_name": "2.5 Designer", "target_framework": "ISTE Standards for Educators",
        "target_url": "https://iste.org/standards/iste-standards-for-teachers"}
lf = {"target_name": "Learning Designs", "target_framework": "Learning Forward",
      "target_url": "https://learningforward.org/standards/learning-designs/"}
app = create_app()
with app.app_context():
    env, actor = service_env(), Actor(label="test")
    issuer = issuers.get_by_slug(sys.argv[1])
    def make(name, *aligned):
        return achievements.create_achievement(issuer, AchievementInput(name=name,
            description=name + ": professional learning.", criteria_markdown="Took part.",
            alignments=aligned), actor=actor, env=env)
    designer = make("Digital Lesson Designer", iste)
    planning = make("Grade Team Planning", lf, iste)
    completed = make("Learning Plan Completed")
    module = authoring.create_module(issuer, ModuleInput(title="Designing digital lessons",
        summary="Design a lesson where students make something.",
        achievement_public_id=designer.public_id, requires_partner=False), actor=actor, env=env)
    activity = authoring.add_activity(module, ActivityInput(title="Plan a making lesson"), actor=actor, env=env)
    authoring.add_prompt(activity, "What will your students make?", actor=actor, env=env)
    authoring.add_prompt(activity, "How will you know what they learned?", actor=actor, env=env)
    authoring.set_published(module, True, actor=actor, env=env)
    db.session.commit()
    print(json.dumps({"module": module.public_id, "planning": planning.public_id}))
"""


def seed(site: Site) -> dict[str, str]:
    """Aligned achievements, a completion achievement and an open module, made by the services
    in the running instance's database (the CLI has no alignments)."""
    done = subprocess.run([sys.executable, "-c", SEED, site.issuer_slug], env=_instance_env(site.workdir, site.base_url),
                          cwd=site.workdir, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def fits(page: Page) -> None:
    page.wait_for_load_state("load")
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px window"


def both_widths(page: Page, new_page: Callable[..., Page], shot: Shot, name: str) -> None:
    """Screenshots of the page at 1280 px and, in a phone context with the same cookies, 390 px."""
    page.wait_for_load_state("load")
    fits(page)
    shot(page, f"{name}-1280")
    phone = new_page(**PHONE_OPTIONS, storage_state=page.context.storage_state())
    phone.goto(page.url)
    fits(phone)
    shot(phone, f"{name}-390")
    phone.close()


def test_an_educator_plans_the_year_and_publishes_a_showcase(
    page: Page, new_page: Callable[..., Page], browser: Browser, site: Site, shot: Shot
) -> None:
    seeded = seed(site)
    educator_sign_in(page, site, EDUCATOR)
    # The module first: enrol and answer one of its two prompts.
    page.goto(site.url(f"/me/modules/{seeded['module']}"))
    page.get_by_role("button", name="Enrol in this module").click()
    page.get_by_role("link", name=re.compile("Plan a making lesson")).first.click()
    page.get_by_label("What will your students make?").fill(
        "A podcast episode about the water cycle."
    )
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("load")
    # A credential of the organisation's, awarded to them.
    cairn_commands(site, ["award", "--issuer", site.issuer_slug, "--achievement", seeded["planning"],
                          "--recipient", EDUCATOR, "--name", "Sam Educator", "--json", "--no-email"])  # fmt: skip

    # The plan, from the educator's navigation.
    page.goto(site.url("/me/"))
    page.get_by_role("link", name="your learning plan").click()
    expect(page.get_by_role("heading", name="Your learning plans")).to_be_visible()
    both_widths(page, new_page, shot, "plans-list")
    page.get_by_label("Plan with").select_option(label=site.issuer_name)
    page.get_by_role("button", name="Start the plan").click()
    expect(page.get_by_role("heading", name="Your vision")).to_be_visible()
    page.get_by_label("Vision statement").fill("Every lesson designed for making, not watching.")
    page.get_by_label("Action research question").fill("Does making raise my students' recall?")
    both_widths(page, new_page, shot, "plan-vision")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Goal 1")).to_be_visible()
    page.locator("#title").fill("Design lessons where students make")
    page.get_by_label("2.5 Designer").check()
    page.get_by_label("Designing digital lessons").check()
    page.get_by_label("Digital Lesson Designer").check()
    page.get_by_label("Evidence to collect").fill("Three lesson plans and samples of student work.")
    page.get_by_label("Target date").fill("2027-03-31")
    both_widths(page, new_page, shot, "plan-goal-form")
    page.get_by_role("button", name="Add the goal").click()
    expect(flash(page)).to_contain_text("Added the goal")
    page.locator("#title").fill("Plan units with my grade team")
    page.get_by_label("Learning Designs").check()
    page.get_by_label("Grade Team Planning").check()
    page.get_by_role("button", name="Add the goal").click()

    # Progress from what happened: half the module, no badge yet; the second goal's badge held.
    first = page.locator("article.plan-goal").nth(0)
    second = page.locator("article.plan-goal").nth(1)
    expect(first).to_contain_text("25%")
    expect(first).to_contain_text("Not yet")
    expect(second).to_contain_text("100%")
    expect(second).to_contain_text("Complete")

    # Reflections: one private, one shared.
    page.get_by_label("New reflection").fill(
        "PRIVATE: I am not sure the Year 8s took it seriously."
    )
    page.get_by_role("button", name="Save the reflection").click()
    expect(flash(page)).to_contain_text("It is private")
    page.get_by_label("New reflection").fill(
        "The podcast lesson doubled the questions students asked."
    )
    page.get_by_label(f"Share with {site.issuer_name}").check()
    page.get_by_role("button", name="Save the reflection").click()
    page.get_by_role("button", name=f"Share with {site.issuer_name}", exact=True).last.click()
    expect(flash(page)).to_contain_text("Shared with")
    plan_url = page.url.split("#")[0]

    # Staff read the shared plan (never the private reflection) and comment.
    staff = new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/plans"))
    both_widths(staff, new_page, shot, "workspace-plans")
    staff.get_by_role("link", name="Sam Educator").click()
    expect(staff.get_by_text("The podcast lesson doubled")).to_be_visible()
    expect(staff.get_by_text("PRIVATE:")).to_have_count(0)
    staff.get_by_label("Your comment").fill(
        "Lovely start: bring a student podcast to our next meeting."
    )
    staff.get_by_role("button", name="Add the comment").click()
    expect(flash(staff)).to_contain_text("Comment added")
    both_widths(staff, new_page, shot, "workspace-plan")
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/plan-settings"))
    staff.get_by_label("Achievement").select_option(label="Learning Plan Completed")
    staff.get_by_role("button", name="Save").click()
    expect(flash(staff)).to_contain_text("Saved")
    both_widths(staff, new_page, shot, "workspace-plan-settings")

    page.goto(plan_url)
    expect(page.locator("article.plan-comment")).to_contain_text("bring a student podcast")
    both_widths(page, new_page, shot, "plan")
    violations = axe_violations(browser, plan_url, page.context.storage_state(), "plan")
    assert not violations, describe(violations)

    # The showcase: the credential and the shared reflection only.
    page.get_by_role("link", name="Prepare the showcase").click()
    page.get_by_label("Introduction").fill("My year of making with Year 8.")
    page.get_by_label("Grade Team Planning").check()
    page.get_by_label(re.compile("The podcast lesson doubled")).check()
    both_widths(page, new_page, shot, "plan-showcase-form")
    page.get_by_role("button", name="Save and publish").click()
    expect(flash(page)).to_contain_text("Published your showcase")
    public_url = page.locator(".flash a").first.get_attribute("href")
    assert public_url and "/showcase/sam-educator-" in public_url
    visitor = new_page()
    visitor.goto(public_url)
    expect(
        visitor.get_by_role("heading", name=re.compile("Sam Educator: learning plan"))
    ).to_be_visible()
    expect(visitor.get_by_text("The podcast lesson doubled")).to_be_visible()
    expect(visitor.get_by_text("PRIVATE:")).to_have_count(0)
    expect(visitor.get_by_text("bring a student podcast")).to_have_count(0)
    og = {
        p: visitor.locator(f'meta[property="og:{p}"]').get_attribute("content")
        for p in ("title", "description", "image")
    }
    assert og["title"] == "Sam Educator's learning plan, 2026\N{EN DASH}2027", og
    assert og["description"] == "My year of making with Year 8."
    assert (
        og["image"] and og["image"].endswith("/badge.png") and visitor.request.get(og["image"]).ok
    )
    both_widths(visitor, new_page, shot, "showcase-public")
    violations = axe_violations(browser, public_url, None, "showcase")
    assert not violations, describe(violations)

    # The PDF, rendered and looked at.
    page.goto(plan_url)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = SCREENSHOTS / "learning-plan.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    # Rendered with pypdfium2 (a dependency): poppler's pdftoppm is not on a new machine.
    document = pypdfium2.PdfDocument(pdf.read_bytes())
    try:
        for number, pdf_page in enumerate(document, start=1):
            image = pdf_page.render(scale=60 / 72).to_pil()
            image.save(SCREENSHOTS / f"learning-plan-pdf-{number}.png")
    finally:
        document.close()
    assert list(SCREENSHOTS.glob("learning-plan-pdf*.png"))

    # Finish the module (its badge is awarded), then ask for the plan-completion badge.
    page.goto(site.url(f"/me/modules/{seeded['module']}"))
    page.get_by_role("link", name=re.compile("Plan a making lesson")).first.click()
    page.get_by_label("How will you know what they learned?").fill("Exit tickets and a peer quiz.")
    page.get_by_role("button", name="Save and back to the module").click()
    page.get_by_role("button", name="Complete the module and get the badge").click()
    page.wait_for_load_state("load")
    page.goto(plan_url)
    expect(page.locator("article.plan-goal").nth(0)).to_contain_text("Complete")
    page.get_by_role("button", name="Ask for approval").click()
    expect(flash(page)).to_contain_text("Sent to")

    staff.goto(site.url(f"/workspace/{site.issuer_slug}/plans"))
    expect(staff.get_by_text("Waiting for approval")).to_be_visible()
    staff.get_by_role("link", name="Sam Educator").click()
    expect(
        staff.locator(".workspace-nav").get_by_role("link", name="Learning plans 1 waiting")
    ).to_be_visible()
    both_widths(staff, new_page, shot, "workspace-plan-request")
    violations = axe_violations(browser, staff.url, staff.context.storage_state(), "workspace-plan")
    assert not violations, describe(violations)
    staff.get_by_role("button", name="Approve and award").click()
    expect(flash(staff)).to_contain_text("Approved")

    page.goto(plan_url)
    expect(page.locator("#completion")).to_contain_text("awarded you “Learning Plan Completed”")
    page.get_by_role("link", name="see it in your backpack").click()
    expect(page.get_by_role("heading", name="Learning Plan Completed")).to_be_visible()
