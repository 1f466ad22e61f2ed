"""Issue 5 end to end in Chromium, through the real server: modules, learning partners,
portfolios and evidence-backed awards.

The ``journey`` fixture drives the whole story once, through the pages people use:

1. A staff member signs in, builds a module in the workspace (outcomes, two activities with
   reflection prompts, rules: every prompt, a learning partner, automatic award) and publishes
   it; and gives a portfolio badge a rubric and opens it to submissions (Award rules).
2. An educator signs in with the magic link from the development outbox, enrols, answers every
   prompt, attaches a PNG as evidence and invites a learning partner.
3. The partner opens the emailed link, sees the checklist (and none of the answers) and
   confirms it.
4. The educator completes the module; the badge appears in the backpack.
5. The educator submits a portfolio item for the portfolio badge; the staff member reviews it
   in the queue, chooses rubric levels, writes feedback and approves.

The tests then check what it made: both credentials as served at their public URLs (evidence,
results, vc.js and ``cairn verify``), who can see what (a second educator, the partner, staff
of another organisation), and axe-core on the module, partner and review pages as they were.
The organisations, accounts and achievements the story needs besides the session's are made
with the ``cairn`` commands; everything the story is about goes through the browser.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from credentials.did import did_web_document_url
from tests.browser.conftest import (
    DESKTOP,
    Site,
    cairn_commands,
    cairn_executable,
    save_screenshot,
)
from tests.browser.test_accessibility import AXE_JS, BLOCKING, axe, describe
from tests.interop.conftest import NODE_DIR, VcJs

EDUCATOR = "dana.reyes@school.example.org"
OTHER_EDUCATOR = "eli.stone@school.example.org"
PARTNER = "priya.shah@school.example.org"
OTHER_STAFF = "olga@south.example.org"
#: The names educators confirm at their first sign-in, as their credentials carry them.
NAMES = {EDUCATOR: "Dana Reyes", OTHER_EDUCATOR: "Eli Stone"}
MODULE_BADGE = "Exit Tickets in Practice"
PORTFOLIO_BADGE = "Action Research Portfolio"
MODULE_TITLE = "Exit tickets that change tomorrow's lesson"
OUTCOMES = ["Designs exit tickets aligned to a lesson goal", "Adjusts the next lesson from them"]
#: Activities, each with its reflection prompts and the educator's answers to them.
ACTIVITIES = [
    (
        "Design an exit ticket",
        [
            ("Which lesson goal does your exit ticket check?", "Comparing fractions by size."),
            (
                "What did you expect the answers to show?",
                "That most of 5B could order unit fractions but not mixed ones.",
            ),
        ],
    ),
    (
        "Act on the results",
        [
            (
                "What did you change in the next lesson, and why?",
                "I regrouped the class: a number-line station for the eleven who reversed "
                "the order, and extension problems for the rest.",
            ),
        ],
    ),
]
REFLECTIONS = [answer for _, prompts in ACTIVITIES for _, answer in prompts]
EVIDENCE_TITLE = "Exit ticket tally, 5B"
ITEM_TITLE = "Action research: number lines for fractions"
ITEM_BODY = "Six weeks of exit tickets, before and after introducing number-line stations."
PRIVATE_TITLE = "Private planning notes"
PRIVATE_BODY = "Unfinished notes nobody but me should read."
#: The portfolio badge's rubric: criteria with their levels (lowest first), and what the
#: reviewer chooses.
RUBRIC = {
    "Evidence of impact": ["Emerging", "Proficient", "Exemplary"],
    "Quality of reflection": ["Descriptive", "Analytical", "Transformative"],
}
CHOSEN = {"Evidence of impact": "Exemplary", "Quality of reflection": "Analytical"}
FEEDBACK = "A careful cycle: the before-and-after tallies make the impact plain."

Shot = Callable[[Page, str], Path]


@dataclass
class Journey:
    """What the story made, for the tests to check."""

    module_id: str = ""
    activity_ids: list[int] = field(default_factory=list)
    partner_url: str = ""
    evidence_item_id: str = ""
    private_item_id: str = ""
    portfolio_item_id: str = ""
    submission_id: str = ""
    module_credential: dict[str, Any] = field(default_factory=dict)
    portfolio_credential: dict[str, Any] = field(default_factory=dict)
    #: axe-core's blocking violations on each page, by page name.
    axe: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Cookies and storage of the signed-in staff member (``staff``).
    states: dict[str, Any] = field(default_factory=dict)


# --- helpers -----------------------------------------------------------------------------


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport=DESKTOP, **options)
    context.set_default_timeout(15_000)
    return context


def flash(page: Page) -> Any:
    return page.locator(".flash").first


def staff_sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.url("/login"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def mailed_link(page: Page, site: Site, to: str, subject: str, path: str) -> str:
    """The newest link under ``path`` in the mail to ``to`` whose subject has ``subject``, read
    from the development outbox as a person would read their mail."""
    page.goto(site.url("/dev/outbox"))
    row = page.locator("tbody tr").filter(has_text=to).filter(has_text=subject).first
    row.get_by_role("link").click()
    text = page.locator("pre").inner_text()
    found = re.search(re.escape(site.url(path)) + r"[A-Za-z0-9_\-]+", text)
    assert found, f"no {path} link in the mail to {to}:\n{text}"
    return found.group(0)


def educator_sign_in(page: Page, site: Site, email: str) -> None:
    """Sign in at /me with the emailed magic link."""
    page.goto(site.url("/me/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page).to_have_url(site.url("/me/sign-in/sent"))
    link = mailed_link(page, site, email, "sign-in link", "/me/sign-in/")
    page.goto(link)
    expect(page.get_by_text(f"You are signing in as {email}")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    expect(flash(page)).to_contain_text("You are signed in")
    if page.url.startswith(site.url("/me/name")):
        # A first sign-in asks for the name credentials carry (never made from the address).
        name = NAMES.get(email, "Sam Educator")
        page.get_by_label("Your name").fill(name.split()[0])
        page.get_by_label("Name on your credentials").fill(name)
        page.get_by_role("button", name="Confirm my name").click()
        expect(flash(page)).to_contain_text("your credentials will carry this name")


def axe_violations(browser: Browser, url: str, state: Any | None, name: str) -> list[Any]:
    """axe-core's blocking violations on ``url``, opened with ``state``'s cookies in a context
    that lets the axe script in (the pages' CSP would refuse it; the journey's own contexts
    keep the CSP, so its pages run as they do for people)."""
    context = new_context(browser, bypass_csp=True, storage_state=state)
    try:
        page = context.new_page()
        page.goto(url)
        save_screenshot(page, f"axe-{name}")
        return [v for v in axe(page) if v["impact"] in BLOCKING]
    finally:
        context.close()


def credential_from_backpack(page: Page, site: Site, badge: str) -> dict[str, Any]:
    """Find ``badge`` in the backpack, and download its credential from its public URL."""
    page.goto(site.url("/me/"))
    card = page.locator("article.card").filter(has_text=badge)
    expect(card).to_have_count(1)
    expect(card.locator(".status").first).to_have_text("Valid")
    card.get_by_role("link", name=badge).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(badge)
    # The files are behind the credential's one "Download" menu.
    page.locator("summary", has_text="Download").click()
    href = page.get_by_role("link", name="Credential (JSON)").get_attribute("href")
    assert href
    from_page = page.request.get(site.url(href) if href.startswith("/") else href)
    assert from_page.ok, from_page.status
    credential: dict[str, Any] = json.loads(from_page.body())
    # The credential's id is its public URL, which serves it to machines byte for byte.
    public = page.request.get(credential["id"], headers={"Accept": "application/ld+json"})
    assert public.ok and public.body() == from_page.body()
    assert credential["id"].startswith(site.url("/credentials/"))
    return credential


def png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (24, 16), colour).save(path)
    return path


# --- the story ---------------------------------------------------------------------------


def build_module(page: Page, site: Site, shot: Shot) -> str:
    """Staff: create the module through the forms, add its activities and prompts, publish."""
    page.goto(site.url(f"/workspace/{site.issuer_slug}/"))
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Modules").click()
    page.get_by_role("link", name="New module").first.click()
    page.get_by_label("Title").fill(MODULE_TITLE)
    page.get_by_label("Summary").fill("Use exit tickets to decide what tomorrow's lesson does.")
    page.get_by_label("Learning outcomes").fill("\n".join(OUTCOMES))
    page.get_by_label("Achievement it leads to").select_option(label=MODULE_BADGE)
    page.get_by_label("Any educator").check()
    page.get_by_label("A learning partner must confirm").check()
    page.get_by_label("Award the badge automatically").check()
    shot(page, "journey-01-staff-new-module")
    page.get_by_role("button", name="Create the module").click()
    expect(flash(page)).to_contain_text(f"Created “{MODULE_TITLE}”")
    module_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    for title, prompts in ACTIVITIES:
        page.get_by_role("link", name="Add an activity").click()
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("Directions").fill(f"**{title}** with one class this week.")
        page.get_by_label("Resources").fill(
            "Exit ticket guide https://north.example.org/guides/exit-tickets"
        )
        page.get_by_role("button", name="Add the activity").click()
        expect(flash(page)).to_contain_text(f"Added “{title}”")
        for number, (prompt, _) in enumerate(prompts, start=1):
            page.get_by_label("New prompt").fill(prompt)
            page.get_by_role("button", name="Add the prompt").click()
            expect(page.get_by_label(f"Prompt {number}", exact=True)).to_have_value(prompt)
        page.get_by_role("link", name="Back to the module").click()

    rules = page.locator("section", has=page.get_by_role("heading", name="Rules"))
    expect(rules).to_contain_text("Every reflection prompt answered, and a learning partner")
    expect(rules).to_contain_text("The badge is awarded automatically")
    page.get_by_role("button", name="Publish").click()
    expect(flash(page)).to_contain_text("Published: educators can find it")
    expect(page.locator("ol.module-activities > li")).to_have_count(len(ACTIVITIES))
    shot(page, "journey-02-staff-module-published")
    return module_id


def open_portfolio_badge(page: Page, site: Site, achievement_id: str, shot: Shot) -> None:
    """Staff: give the portfolio badge a rubric and open it to submissions (Award rules)."""
    page.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}"))
    page.get_by_role("link", name="Award rules").click()
    page.get_by_label("Educators may submit portfolio items").check()
    for number, (criterion, levels) in enumerate(RUBRIC.items(), start=1):
        page.get_by_role("button", name="Add a criterion").click()
        group = page.get_by_role("group", name=f"Criterion {number}")
        group.get_by_label("Name", exact=True).fill(criterion)
        for level_number, level in enumerate(levels, start=1):
            where = f"level {level_number} of criterion {number}"
            page.get_by_label(f"Name of {where}").fill(level)
            page.get_by_label(f"Points of {where}").fill(str(level_number))
    shot(page, "journey-03-staff-rubric")
    page.get_by_role("button", name="Save award rules").click()
    expect(flash(page)).to_contain_text("Saved as version 2")


def enrol_and_answer(page: Page, site: Site, journey: Journey, shot: Shot) -> None:
    """Educator: find the module, enrol, answer every prompt, attach a PNG, invite a partner."""
    page.get_by_role("navigation", name="Your learning").get_by_role("link", name="Modules").click()
    page.get_by_role("link", name=MODULE_TITLE).click()
    page.get_by_role("button", name="Enrol in this module").click()
    expect(flash(page)).to_contain_text(f"You are enrolled in “{MODULE_TITLE}”")

    for number, (title, prompts) in enumerate(ACTIVITIES):
        if number == 0:
            # exact: the module page also has a "Continue with “<title>”" link now.
            page.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Activity {number + 1}: {title}")
        journey.activity_ids.append(int(page.url.rstrip("/").rsplit("/", 1)[-1]))
        last = number == len(ACTIVITIES) - 1
        save = page.get_by_role(
            "button",
            name="Save and back to the module" if last else "Save and go to the next activity",
        )
        # Measured once the page (its stylesheet included) has loaded: a box taken earlier is
        # the unstyled button's, which moves when the styles arrive (seen once in CI).
        page.wait_for_load_state("load")
        where = save.bounding_box()
        for prompt, answer in prompts:
            page.get_by_label(prompt).fill(answer)
        if len(prompts) > 1:
            # Leaving an answer saves it (module-autosave.js); the status line that says so
            # must not move the buttons, or a click on one would be lost.
            expect(page.locator("[data-autosave-status]")).to_contain_text("Saved at")
            assert save.bounding_box() == where
        shot(page, f"journey-04-educator-activity-{number + 1}")
        # Typing, then clicking at once: the click must land, and no autosave races the
        # press (module-autosave.js starts none on the way to a Save button).
        save.click()
    expect(page).to_have_url(site.url(f"/me/modules/{journey.module_id}"))
    expect(flash(page)).to_contain_text("Saved your answers.")

    total = sum(len(prompts) for _, prompts in ACTIVITIES)
    expect(page.get_by_text(f"{total} of {total} prompts answered (100%)")).to_be_visible()

    evidence = png(site.workdir / "exit-tickets.png", (20, 110, 60))
    page.locator("#evidence-title").fill(EVIDENCE_TITLE)
    page.get_by_role("radio", name="A file").check()
    page.locator("#evidence-file").set_input_files(evidence)
    page.get_by_role("button", name="Attach").click()
    expect(flash(page)).to_contain_text(f"Attached “{EVIDENCE_TITLE}”")
    expect(page.locator("#evidence li")).to_contain_text("exit-tickets.png")

    page.get_by_label("Their name").fill("Priya Shah")
    page.get_by_label("Their email address").fill(PARTNER)
    page.get_by_role("button", name="Invite my learning partner").click()
    expect(flash(page)).to_contain_text("Invited Priya Shah")
    complete = page.locator("#complete")
    expect(complete).to_contain_text("learning partner")  # not done yet: the partner is missing
    shot(page, "journey-05-educator-module-waiting-for-partner")


def partner_confirms(browser: Browser, site: Site, journey: Journey, shot: Shot) -> None:
    """The partner, in a browser of their own: open the emailed link, read, confirm."""
    context = new_context(browser)
    try:
        page = context.new_page()
        journey.partner_url = mailed_link(
            page, site, PARTNER, "asks you to be their learning partner", "/partner/"
        )
        page.goto(journey.partner_url)
        expect(page.get_by_role("heading", level=1)).to_contain_text("checklist")
        checklist = page.locator(".checks .check")
        expect(checklist).to_have_count(len(ACTIVITIES))
        for number, (title, _) in enumerate(ACTIVITIES):
            expect(checklist.nth(number)).to_contain_text(f"{title} — complete")
        for answer in REFLECTIONS:
            expect(page.locator("main")).not_to_contain_text(answer)
        shot(page, "journey-06-partner-checklist")
        journey.axe["partner"] = axe_violations(browser, journey.partner_url, None, "partner")
        page.get_by_role("button", name="I confirm").click()
        expect(flash(page)).to_contain_text("Thank you")
        expect(page.get_by_role("button", name="I confirm")).to_have_count(0)
    finally:
        context.close()


def complete_module(page: Page, site: Site, journey: Journey, shot: Shot) -> None:
    """Educator: the rules hold; publish the work as evidence and get the badge."""
    page.goto(site.url(f"/me/modules/{journey.module_id}"))
    expect(page.locator("#partner")).to_contain_text("Priya Shah confirmed your checklist")
    complete = page.locator("#complete")
    expect(complete).to_contain_text("Everything is done")
    journey.axe["module"] = axe_violations(
        browser=page.context.browser,  # type: ignore[arg-type]
        url=page.url,
        state=page.context.storage_state(),
        name="educator-module",
    )
    # Answers and the file are offered for publishing, none ticked: nothing is published
    # unless the educator ticks it; this educator ticks every answer and the file.
    publish = complete.get_by_role("checkbox")
    expect(publish).to_have_count(len(REFLECTIONS) + 1)
    for prompt, _ in (pair for _, pairs in ACTIVITIES for pair in pairs):
        answer = complete.get_by_role("checkbox", name=prompt)
        expect(answer).not_to_be_checked()
        answer.check()
    attached = complete.get_by_role("checkbox", name=EVIDENCE_TITLE)
    expect(attached).not_to_be_checked()
    attached.check()
    expect(complete.locator(".issued-to")).to_contain_text(f"Issued to: {NAMES[EDUCATOR]} — change")
    shot(page, "journey-07-educator-module-ready")
    page.get_by_role("button", name="Complete the module and get the badge").click()
    expect(flash(page)).to_contain_text("Your badge has been issued")
    shot(page, "journey-08-educator-module-complete")
    journey.module_credential = credential_from_backpack(page, site, MODULE_BADGE)
    shot(page, "journey-09-educator-module-credential")


def submit_portfolio_item(page: Page, site: Site, journey: Journey, shot: Shot) -> None:
    """Educator: add two items (one stays private), submit one for the portfolio badge."""
    for title, body, image in (
        (ITEM_TITLE, ITEM_BODY, png(site.workdir / "stations.png", (160, 60, 20))),
        (PRIVATE_TITLE, PRIVATE_BODY, None),
    ):
        page.goto(site.url("/me/portfolio/new"))
        page.get_by_label("Title").fill(title)
        page.get_by_label("Narrative").fill(body)
        if image is not None:
            page.locator("#file").set_input_files(image)
        page.get_by_role("button", name="Add to portfolio").click()
        expect(flash(page)).to_contain_text(f"Added “{title}” to your portfolio")
        item_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        if title == ITEM_TITLE:
            journey.portfolio_item_id = item_id
        else:
            journey.private_item_id = item_id

    page.goto(site.url("/me/portfolio/submit"))
    page.get_by_role("link", name=PORTFOLIO_BADGE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Submit for “{PORTFOLIO_BADGE}”")
    for criterion in RUBRIC:
        expect(page.locator("main")).to_contain_text(criterion)
    page.get_by_role("checkbox", name=ITEM_TITLE, exact=True).check()
    page.get_by_role("checkbox", name=f"Publish “{ITEM_TITLE}”").check()
    page.get_by_label("Statement").fill("The tallies show the number-line stations worked.")
    shot(page, "journey-10-educator-portfolio-submit")
    page.get_by_role("button", name="Submit for review").click()
    expect(flash(page)).to_contain_text(f"Submitted for “{PORTFOLIO_BADGE}”")
    journey.submission_id = page.url.rstrip("/").rsplit("/", 1)[-1]


def review_and_approve(page: Page, site: Site, journey: Journey, shot: Shot) -> None:
    """Staff: open the queue, score the rubric, write feedback, approve."""
    page.goto(site.url(f"/workspace/{site.issuer_slug}/"))
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Reviews")).to_contain_text("1 waiting")
    nav.get_by_role("link", name="Reviews").click()
    row = page.locator("tbody tr").filter(has_text=PORTFOLIO_BADGE)
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Items")).to_be_visible()
    item = page.locator("article.card").filter(has_text=ITEM_TITLE)
    expect(item).to_contain_text(ITEM_BODY)
    expect(item.get_by_role("img", name=ITEM_TITLE)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(PRIVATE_TITLE)
    journey.axe["review"] = axe_violations(
        page.context.browser,  # type: ignore[arg-type]
        page.url,
        page.context.storage_state(),
        "staff-review",
    )
    for criterion, level in CHOSEN.items():
        page.get_by_role("group", name=criterion).get_by_label(level).check()
    page.get_by_label("Feedback to the educator").fill(FEEDBACK)
    shot(page, "journey-11-staff-review")
    page.get_by_role("button", name="Approve and issue the credential").click()
    expect(flash(page)).to_contain_text("Approved: the credential is issued")


@pytest.fixture(scope="module")
def journey(site: Site, browser: Browser) -> Iterator[Journey]:
    """The whole story, once, for the module's tests."""
    if not AXE_JS.is_file():
        pytest.fail("axe-core is not installed: run `npm ci` in tests/browser/axe", pytrace=False)
    outputs = cairn_commands(
        site,
        (["staff", "create", "--email", OTHER_STAFF, "--name", "Olga South", "--password-stdin"],
         site.password + "\n"),
        ["issuers", "create", "--name", "South County Teacher Academy", "--slug", "south",
         "--url", "https://south.example.org", "--owner", OTHER_STAFF],
        ["achievements", "create", "--issuer", site.issuer_slug, "--name", MODULE_BADGE,
         "--description", "Uses exit tickets to plan the next lesson.",
         "--criteria", "Completed the *exit tickets* module.", "--credits", "6"],
        ["achievements", "create", "--issuer", site.issuer_slug, "--name", PORTFOLIO_BADGE,
         "--description", "Ran a cycle of action research in their classroom.",
         "--criteria", "Submit **evidence** of a complete action-research cycle."],
    )  # fmt: skip
    portfolio_badge_id = outputs[3].strip()
    made = Journey()
    shot: Shot = save_screenshot
    staff_context = new_context(browser)
    educator_context = new_context(browser)
    try:
        staff = staff_context.new_page()
        staff_sign_in(staff, site, site.staff_email)
        made.module_id = build_module(staff, site, shot)
        open_portfolio_badge(staff, site, portfolio_badge_id, shot)

        educator = educator_context.new_page()
        educator_sign_in(educator, site, EDUCATOR)
        enrol_and_answer(educator, site, made, shot)
        partner_confirms(browser, site, made, shot)
        complete_module(educator, site, made, shot)
        educator.goto(site.url("/me/portfolio"))
        educator.get_by_role("link", name=EVIDENCE_TITLE).click()
        made.evidence_item_id = educator.url.rstrip("/").rsplit("/", 1)[-1]
        submit_portfolio_item(educator, site, made, shot)
        review_and_approve(staff, site, made, shot)

        made.portfolio_credential = credential_from_backpack(educator, site, PORTFOLIO_BADGE)
        shot(educator, "journey-12-educator-portfolio-credential")
        educator.goto(site.url(f"/me/submissions/{made.submission_id}"))
        expect(educator.locator("main")).to_contain_text(FEEDBACK)
        made.states = {"staff": staff_context.storage_state()}
        yield made
    finally:
        staff_context.close()
        educator_context.close()


# --- the credentials -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcjs() -> VcJs:
    """Digital Bazaar's vc.js, through the interop tests' Node harness."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        pytest.fail(
            "vc.js is not installed: run `npm ci` in tests/interop/node (`make test` does it)",
            pytrace=False,
        )
    return VcJs(node)


def fetch(page: Page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, f"{url}: {response.status}"
    return response.body()


def evidence_by_name(credential: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in credential["evidence"]}


def test_the_module_badge_carries_the_completed_work_as_evidence(
    journey: Journey, site: Site, page: Page
) -> None:
    credential = journey.module_credential
    assert credential["credentialSubject"]["achievement"]["name"] == MODULE_BADGE
    # The name the educator confirmed is the one signed, not one made from the address.
    names = [
        i["identityHash"]
        for i in credential["credentialSubject"]["identifier"]
        if i["identityType"] == "name"
    ]
    assert names == [NAMES[EDUCATOR]]
    evidence = evidence_by_name(credential)
    prompts = [prompt for _, pairs in ACTIVITIES for prompt, _ in pairs]
    assert set(evidence) == {*prompts, EVIDENCE_TITLE, f"Completion of “{MODULE_TITLE}”"}
    # Every answer is cited by its public evidence page, with the answer as its narrative.
    for prompt, answer in zip(prompts, REFLECTIONS, strict=True):
        entry = evidence[prompt]
        assert entry["narrative"] == answer
        assert entry["id"].startswith(site.url("/evidence/"))
        page.goto(entry["id"])
        expect(page.locator("main")).to_contain_text(answer)
    # The uploaded PNG, byte for byte, behind its evidence page.
    file_entry = evidence[EVIDENCE_TITLE]
    assert file_entry["id"] == site.url(f"/evidence/{journey.evidence_item_id}")
    page.goto(file_entry["id"])
    expect(page.get_by_role("img", name=EVIDENCE_TITLE)).to_be_visible()
    uploaded = (site.workdir / "exit-tickets.png").read_bytes()
    assert fetch(page, file_entry["id"] + "/file") == uploaded
    expect(page.get_by_role("link", name=MODULE_BADGE)).to_have_attribute(
        "href", "/credentials/" + credential["id"].rsplit("/", 1)[-1]
    )
    # The completion narrative says how: every prompt, and the partner's confirmation.
    completion = evidence[f"Completion of “{MODULE_TITLE}”"]["narrative"]
    assert f"{len(REFLECTIONS)} reflection prompts answered" in completion
    assert "confirmed by a learning partner" in completion
    assert all(outcome in completion for outcome in OUTCOMES)


def test_the_portfolio_badge_carries_the_chosen_rubric_levels_as_results(
    journey: Journey, site: Site
) -> None:
    credential = journey.portfolio_credential
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["name"] == PORTFOLIO_BADGE
    criteria = {d["id"]: d for d in achievement["resultDescription"]}
    assert sorted(d["name"] for d in criteria.values()) == sorted(RUBRIC)
    chosen = {}
    for result in subject["result"]:
        assert "Result" in result["type"]
        criterion = criteria[result["resultDescription"]]
        levels = {level["id"]: level["name"] for level in criterion["rubricCriterionLevel"]}
        chosen[criterion["name"]] = levels[result["achievedLevel"]]
    assert chosen == CHOSEN
    # Only the published item is cited; the private one and the statement are not.
    evidence = evidence_by_name(credential)
    assert list(evidence) == [ITEM_TITLE]
    assert evidence[ITEM_TITLE]["id"] == site.url(f"/evidence/{journey.portfolio_item_id}")
    assert evidence[ITEM_TITLE]["narrative"] == ITEM_BODY
    assert PRIVATE_BODY not in json.dumps(credential)


@pytest.mark.parametrize("which", ["module", "portfolio"])
def test_the_credentials_verify_with_vcjs_and_cairn_verify(
    journey: Journey, site: Site, page: Page, vcjs: VcJs, tmp_path: Path, which: str
) -> None:
    credential = getattr(journey, f"{which}_credential")
    did = credential["issuer"]["id"]
    assert did.startswith("did:web:127.0.0.1%3A")
    # The server's DID document, fetched from it (over http: vc.js and `cairn verify` would
    # fetch https://127.0.0.1:<port>/…, which this loopback server does not serve).
    document_url = did_web_document_url(did)
    did_document = json.loads(fetch(page, document_url.replace("https://", "http://", 1)))
    assert did_document["id"] == did

    verified, error = vcjs.verify(credential, documents={did: did_document})
    assert verified, error
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["achievement"]["name"] = "Something never earned"
    assert vcjs.verify(tampered, documents={did: did_document})[0] is False

    status_url = credential["credentialStatus"]["statusListCredential"]
    files = {
        document_url: tmp_path / "did.json",
        status_url: tmp_path / "status.json",
        "credential": tmp_path / "credential.json",
    }
    files[document_url].write_text(json.dumps(did_document))
    files[status_url].write_bytes(fetch(page, status_url))
    files["credential"].write_text(json.dumps(credential))
    completed = subprocess.run(
        [
            cairn_executable(),
            "verify",
            str(files["credential"]),
            "--json",
            "--recipient",
            EDUCATOR,
            "--document",
            f"{document_url}={files[document_url]}",
            "--document",
            f"{status_url}={files[status_url]}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    checks = {check["id"]: check["status"] for check in report["checks"]}
    for name in ("proof", "issuer_key", "status", "recipient", "schema", "terms"):
        assert checks[name] == "pass", (name, report)


# --- who sees what -------------------------------------------------------------------------


def test_another_educator_sees_none_of_the_first_ones_work(
    journey: Journey, site: Site, page: Page, shot: Shot
) -> None:
    educator_sign_in(page, site, OTHER_EDUCATOR)
    module = f"/me/modules/{journey.module_id}"
    # The open module is theirs to join, with none of the first educator's work in it.
    page.goto(site.url(module))
    expect(page.get_by_role("button", name="Enrol in this module")).to_be_visible()
    page.get_by_role("button", name="Enrol in this module").click()
    page.goto(site.url(f"{module}/activities/{journey.activity_ids[0]}"))
    for _, answer in ACTIVITIES[0][1]:
        expect(page.locator("main")).not_to_contain_text(answer)
    for textarea in page.locator("textarea").all():
        expect(textarea).to_have_value("")
    expect(page.locator("#evidence li")).to_have_count(0)
    shot(page, "journey-13-other-educator-activity")
    for path in (
        f"/me/portfolio/{journey.evidence_item_id}",
        f"/me/portfolio/{journey.evidence_item_id}/file",
        f"/me/portfolio/{journey.private_item_id}",
        f"/me/portfolio/{journey.portfolio_item_id}/delete",
        f"/me/submissions/{journey.submission_id}",
    ):
        assert page.request.get(site.url(path)).status == 404, path
    for path in (
        f"/me/submissions/{journey.submission_id}/withdraw",
        f"/me/portfolio/{journey.private_item_id}/publish",
    ):
        response = page.request.post(site.url(path), form={"publish": "1"})
        assert response.status in (400, 403, 404), (path, response.status)
    # Their portfolio and backpack hold nothing of the first educator's.
    page.goto(site.url("/me/portfolio"))
    for title in (EVIDENCE_TITLE, ITEM_TITLE, PRIVATE_TITLE):
        expect(page.locator("main")).not_to_contain_text(title)
    page.goto(site.url("/me/"))
    expect(page.locator("main")).not_to_contain_text(MODULE_BADGE)
    # A private item has no public evidence page either.
    assert page.request.get(site.url(f"/evidence/{journey.private_item_id}")).status == 404


def test_the_partner_link_shows_only_the_checklist(
    journey: Journey, site: Site, page: Page
) -> None:
    page.goto(journey.partner_url)
    main = page.locator("main")
    expect(main).to_contain_text(MODULE_TITLE)
    expect(main).to_contain_text("You confirmed this checklist")
    for secret in (*REFLECTIONS, EVIDENCE_TITLE, "exit-tickets.png", EDUCATOR):
        expect(main).not_to_contain_text(secret)
    for prompt, _ in (pair for _, pairs in ACTIVITIES for pair in pairs):
        expect(main).not_to_contain_text(prompt)
    assert page.locator("main a[href*='/evidence/'], main a[href*='/me/']").count() == 0
    # The link opens nothing else: the educator's pages still ask for a sign-in.
    page.goto(site.url(f"/me/modules/{journey.module_id}"))
    assert "/me/sign-in" in page.url
    # A made-up token is refused.
    assert page.request.get(site.url("/partner/" + "x" * 43)).status == 404


def test_staff_of_another_organisation_see_none_of_it(
    journey: Journey, site: Site, page: Page, shot: Shot
) -> None:
    staff_sign_in(page, site, OTHER_STAFF)
    north = f"/workspace/{site.issuer_slug}"
    for path in (
        f"{north}/modules",
        f"{north}/modules/{journey.module_id}",
        f"{north}/reviews",
        f"{north}/reviews/{journey.submission_id}",
        f"/workspace/south/modules/{journey.module_id}",
        f"/workspace/south/modules/{journey.module_id}/activities/{journey.activity_ids[0]}",
        f"/workspace/south/reviews/{journey.submission_id}",
        f"/workspace/south/reviews/{journey.submission_id}/items/{journey.portfolio_item_id}/file",
    ):
        assert page.request.get(site.url(path)).status == 404, path
    response = page.request.post(
        site.url(f"/workspace/south/reviews/{journey.submission_id}"),
        form={"decision": "decline", "feedback": "Not ours to decide."},
    )
    assert response.status in (400, 404), response.status
    page.goto(site.url("/workspace/south/modules"))
    expect(page.locator("main")).to_contain_text("No modules yet")
    expect(page.locator("main")).not_to_contain_text(MODULE_TITLE)
    page.goto(site.url("/workspace/south/reviews?show=decided"))
    expect(page.locator("main")).to_contain_text("Nothing decided yet")
    shot(page, "journey-14-other-staff-reviews")


def test_the_first_organisations_staff_see_their_module_and_its_enrolments(
    journey: Journey, site: Site, browser: Browser
) -> None:
    context = new_context(browser, storage_state=journey.states["staff"])
    try:
        page = context.new_page()
        page.goto(site.url(f"/workspace/{site.issuer_slug}/modules/{journey.module_id}"))
        rows = page.locator("#enrolments tbody tr")
        dana = rows.filter(has_text=EDUCATOR)
        expect(dana).to_contain_text("Awarded")
        expect(dana).to_contain_text("Confirmed")
        # The staff page shows progress, never the answers.
        for answer in REFLECTIONS:
            expect(page.locator("main")).not_to_contain_text(answer)
        page.goto(site.url(f"/workspace/{site.issuer_slug}/reviews?show=decided"))
        expect(page.locator("tbody tr").filter(has_text=PORTFOLIO_BADGE)).to_contain_text(
            "Approved"
        )
    finally:
        context.close()


@pytest.mark.parametrize("name", ["module", "partner", "review"])
def test_the_module_partner_and_review_pages_have_no_serious_violations(
    journey: Journey, name: str
) -> None:
    found = journey.axe[name]
    assert not found, describe(found)
