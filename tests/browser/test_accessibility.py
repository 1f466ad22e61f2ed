"""axe-core on every kind of page: no "serious" or "critical" accessibility violations.

axe-core is an npm package pinned in ``tests/browser/axe/package.json``; ``npm ci`` there installs
it (``make test`` does). It is injected as a script file, which the pages' Content-Security-Policy
forbids, so these runs (and only these) use a context with ``bypass_csp=True``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import DESKTOP, Site

Shot = Callable[[Page, str], Path]
AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA plus axe's best practices (landmarks, heading order, one h1…).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    }
}


# Autouse and session-scoped, so it is checked before the (session-scoped) server starts.
@pytest.fixture(scope="session", autouse=True)
def axe_script() -> Path:
    """axe-core's script file; a clear failure when it is missing."""
    if not AXE_JS.is_file():
        pytest.fail(
            f"axe-core is not installed: run `npm ci` in {AXE_DIR.relative_to(AXE_DIR.parents[2])} (`make test` does it)",
            pytrace=False,
        )
    return AXE_JS


@pytest.fixture(scope="module")
def axe_context(axe_script: Path, browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A CSP-bypassing context, for axe runs only (the workspace tests sign it in)."""
    context = browser.new_context(bypass_csp=True, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def axe(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is; the violations."""
    page.add_script_tag(path=str(AXE_JS))
    result: dict[str, Any] = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(
                f"    {json.dumps(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}"
            )
    return "\n".join(lines)


def assert_accessible(page: Page, name: str, shot: Shot) -> None:
    shot(page, f"axe-{name}")
    violations = axe(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{page.url}:\n{describe(blocking)}"


def open_signed_in(page: Page, site: Site, url: str) -> None:
    """Open ``url``, signing in first if the context is not signed in yet (the sign-in form
    returns to ``url``)."""
    page.goto(url)
    if "/login" in page.url:
        page.get_by_label("Email address").fill(site.staff_email)
        page.get_by_label("Password").fill(site.password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
    assert page.url.split("?")[0] == url.split("?")[0], page.url


def test_axe_reports_a_planted_problem(axe_context: BrowserContext, site: Site) -> None:
    # A guard against a vacuous pass: axe, as injected and configured here, does see an image
    # without a text alternative and unreadable text.
    page = axe_context.new_page()
    try:
        page.goto(site.url("/"))
        page.evaluate("""() => {
          const main = document.querySelector("main");
          const image = document.createElement("img");
          image.src = "/static/favicon.svg";
          const faint = document.createElement("p");
          faint.textContent = "faint text";
          faint.style.color = "#dddddd";
          main.append(image, faint);
        }""")
        found = {v["id"]: v["impact"] for v in axe(page)}
        assert found.get("image-alt") == "critical" and found.get("color-contrast") == "serious", (
            found
        )
    finally:
        page.close()


PUBLIC_PAGES = {
    "home": "/",
    "credential": "/credentials/{valid_id}",
    "credential-revoked": "/credentials/{revoked_id}",
    "verify": "/verify",
    "issuer": "/issuers/{issuer_slug}",
    "achievement": "/achievements/{achievement_id}",
    "login": "/login",
    "not-found": "/credentials/no-such-credential",
    "certificate": "/credentials/{valid_id}/certificate",
}


@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_public_page_has_no_serious_violations(
    axe_context: BrowserContext, site: Site, shot: Shot, name: str
) -> None:
    page = axe_context.new_page()
    try:
        page.goto(site.url(PUBLIC_PAGES[name].format(**vars(site))))
        assert_accessible(page, name, shot)
    finally:
        page.close()


def test_verify_page_with_a_result_has_no_serious_violations(
    axe_context: BrowserContext, site: Site, shot: Shot, tmp_path: Path
) -> None:
    page = axe_context.new_page()
    try:
        png = tmp_path / "badge.png"
        png.write_bytes(
            page.request.get(site.url(f"/credentials/{site.valid_id}/badge.png")).body()
        )
        page.goto(site.url("/verify"))
        page.get_by_label("Upload a badge image or credential file").set_input_files(png)
        page.get_by_role("button", name="Verify").click()
        page.locator("#result").wait_for()
        assert_accessible(page, "verify-result", shot)
    finally:
        page.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/credentials",
        "/achievements/{achievement_id}",
        "/achievements/{achievement_id}/award",
        "/achievements/new",
        "/achievements/{achievement_id}/edit",
        "/profile",
        "/award",
        "/audit",
        "/credentials/{valid_id}",
        "/records?email=ann@example.org",
        "/credit-rules",
        "/credit-rules/new?preset=five-year-50",
    ],
)
def test_workspace_pages_have_no_serious_violations(
    axe_context: BrowserContext, site: Site, shot: Shot, path: str
) -> None:
    page = axe_context.new_page()
    try:
        open_signed_in(
            page, site, site.url(f"/workspace/{site.issuer_slug}" + path.format(**vars(site)))
        )
        name = "workspace" + path.replace("{achievement_id}", "achievement").replace(
            "{valid_id}", "valid"
        ).replace("/", "-").split("?")[0].rstrip("-")
        assert_accessible(page, name, shot)
    finally:
        page.close()


def test_the_achievement_form_with_the_designer_and_errors_has_no_serious_violations(
    axe_context: BrowserContext, site: Site, shot: Shot
) -> None:
    page = axe_context.new_page()
    try:
        open_signed_in(page, site, site.url(f"/workspace/{site.issuer_slug}/achievements/new"))
        page.get_by_label("Design a badge").check()
        page.get_by_text("More details").click()
        page.get_by_text("Alignments").click()
        assert_accessible(page, "workspace-achievement-designer", shot)
        page.locator("#name").evaluate("input => input.removeAttribute('required')")
        page.locator("#description").evaluate("input => input.removeAttribute('required')")
        page.locator("#design_line1").evaluate("input => input.removeAttribute('maxlength')")
        page.locator("#design_line1").fill("A line far too long for a badge")
        page.get_by_role("button", name="Create achievement").click()
        page.locator(".error-summary").wait_for()
        assert_accessible(page, "workspace-achievement-form-refused", shot)
    finally:
        page.close()
