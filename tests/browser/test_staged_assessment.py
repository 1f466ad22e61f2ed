"""Staged assessment in Chromium, through the real server (issue 14): staff give a portfolio
badge a rubric and turn on its stages (completeness check, assessment, approval); an educator
submits; an assessor marks it complete, rates one criterion "not yet" with feedback; the
educator sees every stage with its due time and the feedback, and sends it again; the second
round passes every stage and the approval issues the credential. Screenshots at 1280 and 390 px
of the assessor's queue, the stage forms and the educator's view of the stages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_accessibility import describe
from tests.browser.test_educator_journey import (
    axe_violations,
    educator_sign_in,
    flash,
    staff_sign_in,
)
from tests.browser.test_phone_width import PHONE, PHONE_OPTIONS

BADGE = "Staged Feedback Portfolio"
EDUCATOR = "sam.staged@example.org"
ITEM = "Feedback cycle with Year 8"
RUBRIC = {"Evidence of impact": ["Emerging", "Secure"], "Quality of reflection": ["Descriptive", "Analytical"]}  # fmt: skip
NOT_YET = "Say what you would change next time, and why."

Shot = Callable[[Page, str], Path]


def both_widths(page: Page, new_page: Callable[..., Page], shot: Shot, name: str) -> None:
    """Screenshots of the page at 1280 px and at 390 px (same cookies); the phone one must not
    be wider than the phone."""
    page.wait_for_load_state("load")
    shot(page, f"stages-{name}-1280")
    phone = new_page(**PHONE_OPTIONS, storage_state=page.context.storage_state())
    phone.goto(page.url.removesuffix("/stage"))  # a refused form answers at its action
    phone.wait_for_load_state("load")
    shot(phone, f"stages-{name}-390")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a phone"
    phone.context.close()


def staff_sets_up(
    page: Page, site: Site, achievement_id: str, *, approval: bool, attempts: str = ""
) -> None:
    page.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}"))
    page.get_by_role("link", name="Award rules").click()
    page.get_by_label("Educators may submit portfolio items").check()
    for number, (criterion, levels) in enumerate(RUBRIC.items(), start=1):
        page.get_by_role("button", name="Add a criterion").click()
        group = page.get_by_role("group", name=f"Criterion {number}")
        group.get_by_label("Name", exact=True).fill(criterion)
        for level_number, level in enumerate(levels, start=1):
            page.get_by_label(f"Name of level {level_number} of criterion {number}").fill(level)
    page.get_by_role("button", name="Save award rules").click()
    expect(flash(page)).to_contain_text("Saved as version")
    page.get_by_role("link", name="Assessment stages").click()
    page.get_by_label("Assess submissions in stages").check()
    page.get_by_label("Start with a completeness check").check()
    page.get_by_label("End with a final approval").set_checked(approval)
    page.get_by_label("Working days each stage may take").fill("5")
    page.get_by_label("Attempts before the educator is referred to a coach").fill(attempts)
    if attempts:
        page.get_by_label("Coach", exact=True).select_option(
            label=f"Tess Teacher ({site.staff_email})"
        )
    page.get_by_role("button", name="Save").click()
    expect(flash(page)).to_contain_text("new submissions go through these stages")


def educator_submits(page: Page, site: Site, badge: str = BADGE) -> str:
    page.goto(site.url("/me/portfolio/new"))
    page.get_by_label("Title").fill(ITEM)
    page.get_by_label("Narrative").fill("Three rounds of written feedback, and what changed.")
    page.get_by_role("button", name="Add to portfolio").click()
    expect(flash(page)).to_contain_text(f"Added “{ITEM}” to your portfolio")
    page.goto(site.url("/me/portfolio/submit"))
    page.get_by_role("link", name=badge).click()
    page.get_by_role("checkbox", name=ITEM, exact=True).check()
    page.get_by_role("checkbox", name=f"Publish “{ITEM}”").check()
    page.get_by_role("button", name="Submit for review").click()
    expect(flash(page)).to_contain_text(f"Submitted for “{badge}”")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def open_from_queue(page: Page, site: Site, badge: str = BADGE, show: str = "waiting") -> None:
    page.goto(site.url(f"/workspace/{site.issuer_slug}/reviews?show={show}"))
    row = page.locator("tbody tr").filter(has_text=badge).first
    row.get_by_role("link").click()


def test_a_submission_through_three_stages_with_a_not_yet_and_a_resubmission(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    (made,) = cairn_commands(site, ["achievements", "create", "--issuer", site.issuer_slug,
                                    "--name", BADGE, "--description", "Uses feedback to move learning on.",
                                    "--criteria", "Submit a feedback cycle with student work."])  # fmt: skip
    achievement_id = made.strip()
    staff = new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff_sets_up(staff, site, achievement_id, approval=True)
    staff.get_by_role("link", name="Assessment stages").click()
    expect(staff.get_by_label("Assess submissions in stages")).to_be_checked()
    both_widths(staff, new_page, shot, "plan")

    educator = new_page()
    educator_sign_in(educator, site, EDUCATOR)
    submission_id = educator_submits(educator, site)
    expect(educator.locator("main")).to_contain_text("It is in the completeness check")

    # Round 1: complete, then "not yet" on one criterion.
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/reviews"))
    row = staff.locator("tbody tr").filter(has_text=BADGE).first
    expect(row).to_contain_text("Completeness check")
    expect(row).to_contain_text("due")
    both_widths(staff, new_page, shot, "queue")
    open_from_queue(staff, site)
    expect(staff.get_by_role("heading", name="Completeness check")).to_be_visible()
    both_widths(staff, new_page, shot, "completeness")
    staff.get_by_role("button", name="Complete: send to assessment").click()
    expect(flash(staff)).to_contain_text("moves on to the assessment")
    expect(staff.get_by_role("heading", name="Assessment", exact=True)).to_be_visible()
    impact = staff.get_by_role("group", name="Evidence of impact")
    impact.get_by_label("Demonstrated", exact=True).check()
    impact.get_by_label("Feedback on “Evidence of impact”").fill("The student work shows it.")
    reflection = staff.get_by_role("group", name="Quality of reflection")
    reflection.get_by_label("Not yet", exact=True).check()
    # Without feedback on the "not yet", nothing is decided and the choice is kept.
    staff.get_by_role("button", name="Record the ratings").click()
    expect(staff.locator(".flash-error")).to_contain_text("Nothing was decided")
    reflection = staff.get_by_role("group", name="Quality of reflection")
    expect(reflection.get_by_label("Not yet", exact=True)).to_be_checked()
    reflection.get_by_label("Feedback on “Quality of reflection”").fill(NOT_YET)
    both_widths(staff, new_page, shot, "assessment")
    found = axe_violations(staff.context.browser, staff.url.removesuffix("/stage"),  # type: ignore[arg-type]
                           staff.context.storage_state(), "stages-assessment")  # fmt: skip
    assert not found, describe(found)
    staff.get_by_role("button", name="Record the ratings").click()
    expect(flash(staff)).to_contain_text("“Not yet”")

    # The educator sees the stages, the due times and the feedback per criterion; sends again.
    educator.goto(site.url(f"/me/submissions/{submission_id}"))
    stages = educator.locator("section").filter(has_text="Assessment stages")
    expect(stages).to_contain_text("Not yet")
    expect(stages).to_contain_text(NOT_YET)
    expect(stages).to_contain_text("was due")
    both_widths(educator, new_page, shot, "educator-not-yet")
    found = axe_violations(educator.context.browser, educator.url,  # type: ignore[arg-type]
                           educator.context.storage_state(), "stages-educator")  # fmt: skip
    assert not found, describe(found)
    educator.get_by_label("Statement").fill("I added what I would change next time.")
    educator.get_by_role("button", name="Send for review again").click()
    expect(educator.locator("main")).to_contain_text("Round 2")
    expect(educator.locator("main")).to_contain_text("Due")

    # Round 2: every stage passes; the approval issues the credential.
    open_from_queue(staff, site)
    staff.get_by_role("button", name="Complete: send to assessment").click()
    for criterion in RUBRIC:
        staff.get_by_role("group", name=criterion).get_by_label("Demonstrated", exact=True).check()
    staff.get_by_role("button", name="Record the ratings").click()
    expect(flash(staff)).to_contain_text("Every criterion demonstrated")
    expect(staff.get_by_role("heading", name="Approval · round 2")).to_be_visible()
    both_widths(staff, new_page, shot, "approval")
    staff.get_by_role("button", name="Approve and issue the credential").click()
    expect(flash(staff)).to_contain_text("the credential is issued")

    educator.goto(site.url(f"/me/submissions/{submission_id}"))
    expect(educator.locator("main")).to_contain_text("Approved")
    expect(educator.get_by_role("link", name="see your credential")).to_be_visible()
    both_widths(educator, new_page, shot, "educator-approved")


COACHED = "Coached Questioning Portfolio"
COACHED_EDUCATOR = "cal.coached@example.org"


def test_the_last_not_yet_locks_the_submission_until_the_coach_releases_it(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    (made,) = cairn_commands(site, ["achievements", "create", "--issuer", site.issuer_slug,
                                    "--name", COACHED, "--description", "Asks questions that make pupils think.",
                                    "--criteria", "Submit a questioning sequence."])  # fmt: skip
    staff = new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff_sets_up(staff, site, made.strip(), approval=False, attempts="1")
    educator = new_page()
    educator_sign_in(educator, site, COACHED_EDUCATOR)
    submission_id = educator_submits(educator, site, COACHED)

    open_from_queue(staff, site, COACHED)
    staff.get_by_role("button", name="Complete: send to assessment").click()
    for criterion in RUBRIC:
        group = staff.get_by_role("group", name=criterion)
        group.get_by_label("Not yet", exact=True).check()
        group.get_by_label(f"Feedback on “{criterion}”").fill("Not shown yet: " + NOT_YET)
    staff.get_by_role("button", name="Record the ratings").click()
    expect(flash(staff)).to_contain_text("“Not yet”")

    educator.goto(site.url(f"/me/submissions/{submission_id}"))
    expect(educator.locator("main")).to_contain_text("It is with your coach, Tess Teacher")
    expect(educator.get_by_role("button", name="Send for review again")).to_have_count(0)
    both_widths(educator, new_page, shot, "educator-locked")

    open_from_queue(staff, site, COACHED, show="changes")
    expect(staff.locator("main")).to_contain_text("Referred to Tess Teacher after round 1")
    staff.get_by_label("Note to the educator").fill("Let's plan the next sequence together.")
    both_widths(staff, new_page, shot, "coach")
    staff.get_by_role("button", name="Release: they can send it again").click()
    expect(flash(staff)).to_contain_text("Released")

    educator.goto(site.url(f"/me/submissions/{submission_id}"))
    expect(educator.locator("main")).to_contain_text("1 attempt left")
    expect(educator.get_by_role("button", name="Send for review again")).to_be_visible()
