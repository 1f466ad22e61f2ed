"""Webhooks in a browser, against the real server: an owner adds an endpoint (a receiver this
test runs on 127.0.0.1, on the instance's allow-list), copies the secret shown once, an award
made with ``cairn award`` is delivered signed (verified with the ``standardwebhooks``
library), a failed attempt shows in the log, and "Redeliver" sends it again. Every webhook
screen at 1280 and 390 px, checked with axe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from tests.app.webhook_receiver import Receiver, start_receiver
from tests.browser.conftest import Site, cairn_commands
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_phone_width import PHONE_OPTIONS, open_signed_in, overflow

Shot = Callable[[Page, str], Path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found, server = start_receiver()
    yield found
    server.shutdown()
    server.server_close()


def check(page: Page, name: str, shot: Shot) -> None:
    """Screenshot, no sideways scrolling, and no serious axe finding."""
    shot(page, name)
    width, viewport = overflow(page)
    assert width <= viewport, f"{name}: {width}px wide in a {viewport}px window"
    assert_accessible(page, name, shot)


def test_an_owner_subscribes_sees_deliveries_and_redelivers(
    new_page: Callable[..., Page], site: Site, shot: Shot, receiver: Receiver
) -> None:
    workspace = site.url(f"/workspace/{site.issuer_slug}")
    page = new_page(bypass_csp=True)  # for axe's script only
    open_signed_in(page, site, workspace + "/")
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    page.get_by_role("link", name="Add an endpoint").click()

    # A private address is refused beside the field.
    page.get_by_label("Endpoint URL").fill("https://10.0.0.8/hooks")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.locator("#url-error")).to_contain_text("not a public address")
    check(page, "webhook-form-refused", shot)

    page.get_by_label("Endpoint URL").fill(receiver.url())
    page.get_by_label("Description").fill("Learning platform (staging)")
    page.get_by_label("credential.claimed").uncheck()
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The endpoint is added")
    secret = page.get_by_label("Secret for").input_value()
    assert secret.startswith("whsec_")
    check(page, "webhook-secret", shot)

    # An award made elsewhere (the command line) reaches the receiver, signed; the first
    # answer is a failure, shown in the log and retried.
    receiver.status, receiver.answer = 503, b"Service Unavailable: try later"
    cairn_commands(site, ["award", "--issuer", site.issuer_slug, "--achievement",
                          site.achievement_id, "--recipient", "dana@example.org", "--no-email"])  # fmt: skip
    (request,) = receiver.received
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "credential.issued"

    page.get_by_role("link", name="I have copied it").click()
    expect(page.locator(".delivery")).to_have_count(1)
    expect(page.locator(".delivery-head .status")).to_have_text("Waiting")
    page.locator(".delivery summary").first.click()
    expect(page.locator(".delivery table")).to_contain_text("HTTP 503")
    expect(page.locator(".delivery table")).to_contain_text("Service Unavailable: try later")
    check(page, "webhook-endpoint-failed", shot)

    receiver.status, receiver.answer = 200, b"ok"
    page.get_by_role("button", name="Redeliver").click()
    expect(page.locator(".flash").first).to_contain_text("being sent again")
    expect(page.locator(".delivery-head .status")).to_have_text("Delivered")
    assert len(receiver.received) == 2
    assert Webhook(secret).verify(receiver.received[1].body, receiver.received[1].headers)
    page.locator(".delivery summary").first.click()
    check(page, "webhook-endpoint", shot)

    page.goto(workspace + "/webhooks")
    expect(page.locator("tbody tr")).to_contain_text("Learning platform (staging)")
    check(page, "webhooks", shot)

    # The same screens on a phone.
    phone = new_page(bypass_csp=True, **PHONE_OPTIONS)
    open_signed_in(phone, site, workspace + "/webhooks")
    check(phone, "webhooks-phone", shot)
    phone.locator("tbody a").first.click()
    phone.locator(".delivery summary").first.click()
    check(phone, "webhook-endpoint-phone", shot)
    phone.get_by_role("link", name="Edit").click()
    check(phone, "webhook-form-phone", shot)
    phone.goto(phone.url.replace("/edit", ""))
    phone.get_by_role("button", name="Rotate the secret").click()
    check(phone, "webhook-rotate-confirm-phone", shot)
    phone.get_by_role("button", name="Rotate the secret").click()
    new_secret = phone.get_by_label("Secret for").input_value()
    assert new_secret.startswith("whsec_") and new_secret != secret
    check(phone, "webhook-secret-phone", shot)

    # Delete, after the confirm step.
    page.goto(workspace + "/webhooks")
    page.locator("tbody a").first.click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delete this webhook endpoint?")
    check(page, "webhook-delete-confirm", shot)
    page.get_by_role("button", name="Delete the endpoint").click()
    expect(page.locator(".flash").first).to_contain_text("is deleted")
