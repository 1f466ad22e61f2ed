"""Sanitised SVGs opened directly in Chromium, outside Cairn's CSP (as a downloaded badge would
be): no dialog fires and nothing is fetched, for every public vector that the sanitiser
rewrites; the unsanitised animated link does fire one, so the check can see a script run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Dialog, Page, Route

from app.svg_sanitiser import sanitise
from tests.app.test_svg_sanitiser import CORPUS_CASES, outcome
from tests.app.test_svg_uploads import ANIMATED_LINK


def open_and_poke(page: Page, path: Path) -> None:
    """Open the file, let animations start, then hover and click where a badge has its shape."""
    page.goto(path.as_uri())
    page.wait_for_timeout(60)
    page.mouse.move(30, 30)
    page.mouse.click(30, 30)
    page.wait_for_timeout(60)


def test_sanitised_svgs_run_nothing_and_fetch_nothing(
    new_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = new_page(viewport={"width": 200, "height": 200})
    dialogs: list[str] = []
    fetched: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_route(route: Route) -> None:
        if not route.request.url.startswith("file://"):
            fetched.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.on("dialog", on_dialog)
    page.context.route("**/*", on_route)

    # The control: the upload from issue 8, unsanitised, runs its script when clicked.
    original = tmp_path / "original.svg"
    original.write_bytes(ANIMATED_LINK)
    open_and_poke(page, original)
    assert dialogs, "the check cannot see a script run"
    dialogs.clear()

    clean = tmp_path / "clean.svg"
    clean.write_bytes(sanitise(ANIMATED_LINK).data)
    open_and_poke(page, clean)
    rewritten = 1
    for case, text in CORPUS_CASES:
        result = outcome(text)
        if result is None:
            continue
        path = tmp_path / f"{rewritten}.svg"
        path.write_bytes(result.data)
        open_and_poke(page, path)
        assert (dialogs, fetched) == ([], []), case
        rewritten += 1
    assert rewritten > 200
    assert page.url.startswith("file://")  # no click navigated anywhere
