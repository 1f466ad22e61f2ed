"""Peer assessment in Chromium, through the real server (issue 14): staff give a badge stages
with an approval, open its assessor pool and invite an educator who holds the badge; the peer
accepts under "Assessing", finds a submission in their queue with its due time, rates each
criterion, and a staff member approves. Screenshots at 1280 and 390 px of the pool page, the
peer's queue and rating page, the staff queue and the leads' figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_educator_journey import educator_sign_in, flash, staff_sign_in
from tests.browser.test_phone_width import PHONE, PHONE_OPTIONS
from tests.browser.test_staged_assessment import educator_submits, staff_sets_up

Shot = Callable[[Page, str], Path]
PEER = "pia.peer@example.org"
#: Badge names of their own: the browser tests share one site.
BADGE = "Peer Assessed Portfolio"
CALIBRATED = "Blind Calibration Portfolio"


def both_widths(page: Page, new_page: Callable[..., Page], shot: Shot, name: str) -> None:
    page.wait_for_load_state("load")
    shot(page, f"assessors-{name}-1280")
    phone = new_page(**PHONE_OPTIONS, storage_state=page.context.storage_state())
    phone.goto(page.url)
    phone.wait_for_load_state("load")
    shot(phone, f"assessors-{name}-390")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a phone"
    phone.context.close()


def test_a_peer_assessor_works_from_their_queue(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    (made,) = cairn_commands(site, ["achievements", "create", "--issuer", site.issuer_slug,
                                    "--name", BADGE, "--description", "Uses feedback.",
                                    "--criteria", "Submit a feedback cycle."])  # fmt: skip
    achievement_id = made.strip()
    cairn_commands(site, ["award", "--issuer", site.issuer_slug, "--achievement", achievement_id,
                          "--recipient", PEER, "--name", "Pia Peer"])  # fmt: skip
    staff = new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff_sets_up(staff, site, achievement_id, approval=True)
    peer = new_page()
    educator_sign_in(peer, site, PEER)  # she has an educator account before she is invited

    staff.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}"))
    staff.get_by_role("link", name="Assessors").click()
    staff.get_by_label("Their email address").fill(PEER)
    staff.get_by_role("button", name="Invite").click()
    expect(flash(staff)).to_contain_text("Invited")
    expect(staff.locator("main table")).to_contain_text(f"(peer, {PEER})")
    both_widths(staff, new_page, shot, "pool")

    peer.goto(site.url("/me/assessing"))
    peer.get_by_role("button", name="Accept").click()
    expect(flash(peer)).to_contain_text("you are in the pool")

    educator = new_page()
    educator_sign_in(educator, site, "sam.peerless@example.org")
    educator_submits(educator, site, BADGE)
    # The completeness check stays with staff; then the assessment goes to Pia.
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/reviews"))
    staff.locator("tbody tr").filter(has_text=BADGE).first.get_by_role("link").click()
    staff.get_by_role("button", name="Complete: send to assessment").click()
    expect(flash(staff)).to_contain_text("moves on to the assessment")

    peer.goto(site.url("/me/assessing"))
    row = peer.locator("tbody tr").filter(has_text=BADGE)
    expect(row).to_be_visible()
    both_widths(peer, new_page, shot, "peer-queue")
    row.get_by_role("link").click()
    both_widths(peer, new_page, shot, "peer-rate")
    for criterion in ("Evidence of impact", "Quality of reflection"):
        peer.get_by_role("group", name=criterion).get_by_label("Demonstrated", exact=True).check()
    peer.get_by_role("button", name="Record the ratings").click()
    expect(flash(peer)).to_contain_text("goes on to the final approval")
    expect(peer.locator("main")).to_contain_text("Nothing to assess right now")

    staff.goto(site.url(f"/workspace/{site.issuer_slug}/reviews"))
    staff.locator("tbody tr").filter(has_text=BADGE).first.get_by_role("link").click()
    staff.get_by_role("button", name="Approve and issue the credential").click()
    expect(flash(staff)).to_contain_text("Approved")
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/assessing"))
    both_widths(staff, new_page, shot, "staff-queue")
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}"))
    staff.get_by_role("link", name="Assessment figures").click()
    expect(staff.locator("main")).to_contain_text("percent agreement")
    both_widths(staff, new_page, shot, "report")


def test_calibration_two_blind_ratings_a_lead_decides_and_a_peer_trains(
    site: Site, new_page: Callable[..., Page], shot: Shot
) -> None:
    (made,) = cairn_commands(site, ["achievements", "create", "--issuer", site.issuer_slug,
                                    "--name", CALIBRATED, "--description", "Uses feedback.",
                                    "--criteria", "Submit a feedback cycle."])  # fmt: skip
    achievement_id = made.strip()
    second_peer = "quinn.peer@example.org"
    for email in (PEER, second_peer):
        cairn_commands(site, ["award", "--issuer", site.issuer_slug, "--achievement",
                              achievement_id, "--recipient", email, "--name", "Peer"])  # fmt: skip
    staff = new_page()
    staff_sign_in(staff, site, site.staff_email)
    staff_sets_up(staff, site, achievement_id, approval=True)
    peer, quinn = new_page(), new_page()
    educator_sign_in(peer, site, PEER)
    educator_sign_in(quinn, site, second_peer)

    pool = site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}/assessors")
    staff.goto(pool)
    staff.get_by_role("button", name="Add to the pool").click()
    expect(flash(staff)).to_contain_text("Added to the pool")
    staff.get_by_label("Their email address").fill(PEER)
    staff.get_by_role("button", name="Invite").click()
    staff.get_by_label("Share of assessments scored by two assessors blind (%)").fill("100")
    staff.get_by_role("button", name="Save", exact=True).click()
    expect(flash(staff)).to_contain_text("Saved the pool's settings")
    peer.goto(site.url("/me/assessing"))
    peer.get_by_role("button", name="Accept").click()

    educator = new_page()
    educator_sign_in(educator, site, "sam.blind@example.org")
    educator_submits(educator, site, CALIBRATED)
    staff.goto(site.url(f"/workspace/{site.issuer_slug}/assessing"))
    expect(staff.locator("main table")).to_contain_text("Completeness check")
    both_widths(staff, new_page, shot, "staff-queue-with-work")
    staff.locator("main tbody tr").first.get_by_role("link").click()
    staff.get_by_role("button", name="Complete: send to assessment").click()
    expect(flash(staff)).to_contain_text("moves on to the assessment")
    review_url = staff.url

    # Two blind ratings: Tess rates everything demonstrated, Pia says "not yet" on one.
    expect(staff.get_by_role("heading", name="Scored by two assessors, blind")).to_be_visible()
    for criterion in ("Evidence of impact", "Quality of reflection"):
        staff.get_by_role("group", name=criterion).get_by_label("Demonstrated", exact=True).check()
    staff.get_by_role("button", name="Record the ratings").click()
    expect(flash(staff)).to_contain_text("Recorded blind")
    peer.goto(site.url("/me/assessing"))
    peer.locator("tbody tr").filter(has_text=CALIBRATED).get_by_role("link").click()
    peer.get_by_role("group", name="Evidence of impact").get_by_label(
        "Demonstrated", exact=True
    ).check()
    reflection = peer.get_by_role("group", name="Quality of reflection")
    reflection.get_by_label("Not yet", exact=True).check()
    reflection.get_by_label("Feedback on “Quality of reflection”").fill("SAY-WHY: what changed?")
    peer.get_by_role("button", name="Record the ratings").click()
    expect(flash(peer)).to_contain_text("scored by two assessors blind")

    # They disagree: Tess, an owner, is a lead; she sees both ratings and decides.
    staff.goto(review_url)
    expect(staff.locator("main")).to_contain_text("They disagreed")
    expect(staff.locator("main")).to_contain_text("SAY-WHY")
    both_widths(staff, new_page, shot, "lead-decides")
    for criterion in ("Evidence of impact", "Quality of reflection"):
        staff.get_by_role("group", name=criterion).get_by_label("Demonstrated", exact=True).check()
    staff.get_by_role("button", name="Record the ratings").click()
    expect(flash(staff)).to_contain_text("Every criterion demonstrated")
    staff.get_by_role("button", name="Approve and issue the credential").click()
    expect(flash(staff)).to_contain_text("Approved")

    staff.goto(
        site.url(f"/workspace/{site.issuer_slug}/achievements/{achievement_id}/assessment-report")
    )
    per_assessor = staff.locator("table").filter(has_text="Assessor")
    expect(per_assessor).to_contain_text("50 %")
    both_widths(staff, new_page, shot, "report-with-pairs")

    # The decided submission becomes the calibration set; Quinn trains on it.
    staff.goto(pool)
    staff.get_by_role("button", name="Add to the set").click()
    expect(flash(staff)).to_contain_text("Added to the calibration set")
    staff.get_by_label("Their email address").fill(second_peer)
    staff.get_by_role("button", name="Invite").click()
    expect(flash(staff)).to_contain_text("Invited")
    both_widths(staff, new_page, shot, "pool-with-set")
    quinn.goto(site.url("/me/assessing"))
    quinn.get_by_role("button", name="Accept").click()
    quinn.get_by_role("link", name="Rate the next calibration submission").click()
    both_widths(quinn, new_page, shot, "calibration")
    for criterion in ("Evidence of impact", "Quality of reflection"):
        quinn.get_by_role("group", name=criterion).get_by_label("Demonstrated", exact=True).check()
    quinn.get_by_role("button", name="Record the ratings").click()
    expect(flash(quinn)).to_contain_text("You agreed with 100 % of the reference ratings")
