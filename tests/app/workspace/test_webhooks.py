"""The workspace's webhook screens (owners only): adding an endpoint and its secret shown once,
refusals beside the field, editing, turning off, rotating the secret and deleting (each asked
first where it cannot be undone), the delivery log with attempts, and "Redeliver"."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app.extensions import db
from app.models import Achievement, Issuer, StaffAccount, WebhookDelivery, WebhookEndpoint
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import Web
from tests.app.webhook_receiver import Receiver

OWNER = "owner@district7.example.org"
EDITOR = "editor@district7.example.org"
SECRET = re.compile(r"(whsec_[A-Za-z0-9+/=]+)")


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff(OWNER, name="Pat Owner")


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer("District 7", slug="district-7", owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


@pytest.fixture
def owner_web(web: Web, owner: StaffAccount, issuer: Issuer) -> Web:
    web.sign_in(OWNER)
    return web


def path(issuer: Issuer, rest: str = "") -> str:
    return f"/workspace/{issuer.slug}/webhooks{rest}"


def add(web: Web, issuer: Issuer, **data: Any) -> Any:
    fields = {"url": "", "description": "", "events": [], "enabled": "1", **data}
    return web.submit(path(issuer, "/new"), data=fields)


def only_endpoint() -> WebhookEndpoint:
    (endpoint,) = db.session.scalars(select(WebhookEndpoint)).all()
    return endpoint


def test_adding_an_endpoint_shows_its_secret_once_and_deliveries_verify_with_it(
    owner_web: Web, issuer: Issuer, badge: Achievement, make_award: Any, receiver: Receiver
) -> None:
    form = owner_web.get(path(issuer, "/new")).get_data(as_text=True)
    assert 'name="events" value="credential.issued" checked' in form
    answer = add(owner_web, issuer, url=receiver.url(), description="Our LMS",
                 events=["credential.issued", "credential.revoked"])  # fmt: skip
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    found = SECRET.search(page)
    assert found, "the secret is on the page"
    secret = found.group(1)
    endpoint = only_endpoint()
    assert endpoint.events == ("credential.issued", "credential.revoked")
    assert endpoint.description == "Our LMS" and endpoint.enabled
    assert secret not in endpoint.secret
    # Never shown again.
    detail = owner_web.get(path(issuer, f"/{endpoint.public_id}")).get_data(as_text=True)
    assert secret not in detail and "whsec_" not in detail
    assert "whsec_" not in owner_web.get(path(issuer)).get_data(as_text=True)
    make_award(issuer, badge, "ann@school.example.org")
    (request,) = receiver.received
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "credential.issued"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "https://10.1.2.3/hooks"}, "url", "not a public address"),
        ({"url": "http://203.0.113.9/hooks"}, "url", "only https"),
        ({"url": "not a url"}, "url", "Enter a web address"),
        ({"url": ""}, "url", "Enter the URL"),
        ({"events": []}, "events", "Choose at least one event"),
        ({"events": ["credential.exploded"]}, "events", "Choose events from the list"),
    ],
)
def test_a_refused_endpoint_is_explained_beside_its_field_and_nothing_is_saved(
    owner_web: Web, issuer: Issuer, receiver: Receiver, data: dict[str, Any], field: str,
    message: str,
) -> None:  # fmt: skip
    fields = {"url": receiver.url(), "events": ["job.finished"], **data}
    answer = add(owner_web, issuer, **fields)
    assert answer.status_code == 400
    page = html.unescape(answer.get_data(as_text=True))
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1), page[:2000]
    assert "Nothing was saved" in page
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_editing_and_turning_an_endpoint_off_and_on(
    owner_web: Web, issuer: Issuer, badge: Achievement, make_award: Any, receiver: Receiver
) -> None:
    add(owner_web, issuer, url=receiver.url(), events=["credential.issued"])
    endpoint = only_endpoint()
    edit = path(issuer, f"/{endpoint.public_id}/edit")
    answer = owner_web.submit(edit, data={"url": receiver.url("/v2"), "description": "New",
                                          "events": ["credential.revoked", "job.finished"]})  # fmt: skip
    assert answer.status_code == 302
    db.session.refresh(endpoint)
    assert endpoint.url == receiver.url("/v2") and not endpoint.enabled  # the box was not ticked
    assert endpoint.events == ("credential.revoked", "job.finished")
    detail = path(issuer, f"/{endpoint.public_id}")
    owner_web.submit(detail, path(issuer, f"/{endpoint.public_id}/enabled"), data={"enabled": "1"})
    db.session.refresh(endpoint)
    assert endpoint.enabled
    owner_web.submit(detail, path(issuer, f"/{endpoint.public_id}/enabled"), data={"enabled": "0"})
    db.session.refresh(endpoint)
    assert not endpoint.enabled
    refused = owner_web.submit(
        edit, data={"url": "https://127.0.0.1/x", "events": ["job.finished"]}
    )
    assert refused.status_code == 400
    db.session.refresh(endpoint)
    assert endpoint.url == receiver.url("/v2")


def test_the_delivery_log_shows_every_attempt_and_redeliver_sends_again(
    owner_web: Web, issuer: Issuer, badge: Achievement, make_award: Any, receiver: Receiver
) -> None:
    add(owner_web, issuer, url=receiver.url(), events=["credential.issued"])
    endpoint = only_endpoint()
    receiver.status, receiver.answer = 500, b"<b>database unavailable</b>"
    make_award(issuer, badge, "ann@school.example.org")
    detail = path(issuer, f"/{endpoint.public_id}")
    page = owner_web.get(detail).get_data(as_text=True)
    assert "credential.issued" in page and "Waiting" in page and "HTTP 500" in page
    assert "&lt;b&gt;database unavailable&lt;/b&gt;" in page  # the receiver's answer, escaped
    assert "The endpoint answered HTTP 500" in page
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None
    receiver.status = 200
    redeliver = path(issuer, f"/{endpoint.public_id}/deliveries/{delivery.public_id}/redeliver")
    answer = owner_web.submit(detail, redeliver)
    assert answer.status_code == 302
    assert len(receiver.received) == 2
    db.session.refresh(delivery)
    assert delivery.state == "delivered"
    page = owner_web.get(detail).get_data(as_text=True)
    assert "Delivered" in page and "HTTP 200" in page and "2 attempts" in page
    # Another endpoint's delivery id is not found under this endpoint.
    add(owner_web, issuer, url=receiver.url("/other"), events=["job.finished"])
    other = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id != endpoint.id))
    assert other is not None
    wrong = path(issuer, f"/{other.public_id}/deliveries/{delivery.public_id}/redeliver")
    assert owner_web.submit(detail, wrong).status_code == 404


def test_rotating_the_secret_asks_first_then_shows_the_new_one(
    owner_web: Web, issuer: Issuer, receiver: Receiver
) -> None:
    first = SECRET.search(add(owner_web, issuer, url=receiver.url(),
                              events=["job.finished"]).get_data(as_text=True))  # fmt: skip
    assert first
    endpoint = only_endpoint()
    detail = path(issuer, f"/{endpoint.public_id}")
    rotate = path(issuer, f"/{endpoint.public_id}/rotate-secret")
    asked = owner_web.submit(detail, rotate)
    assert asked.status_code == 200 and "stops working at once" in asked.get_data(as_text=True)
    sealed = endpoint.secret
    db.session.refresh(endpoint)
    assert endpoint.secret == sealed  # nothing changed yet
    done = owner_web.submit(detail, rotate, data={"confirmed": "1"})
    new = SECRET.search(done.get_data(as_text=True))
    assert new and new.group(1) != first.group(1)
    assert done.headers["Cache-Control"] == "no-store"


def test_deleting_asks_first_then_removes_the_endpoint(
    owner_web: Web, issuer: Issuer, receiver: Receiver
) -> None:
    add(owner_web, issuer, url=receiver.url(), events=["job.finished"])
    endpoint = only_endpoint()
    detail = path(issuer, f"/{endpoint.public_id}")
    delete = path(issuer, f"/{endpoint.public_id}/delete")
    asked = owner_web.submit(detail, delete)
    assert asked.status_code == 200 and "Delete this webhook endpoint?" in asked.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 1
    done = owner_web.submit(detail, delete, data={"confirmed": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith(path(issuer))
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    assert owner_web.get(detail).status_code == 404


def test_webhooks_are_for_owners_only(
    client: FlaskClient, web: Web, issuer: Issuer, make_staff: Callable[..., StaffAccount]
) -> None:
    editor = make_staff(EDITOR, name="Ed Editor")
    staff.set_role(issuer, editor, "editor", actor=Actor(label="test"), env=service_env())
    web.sign_in(EDITOR)
    assert web.get(path(issuer)).status_code == 403
    assert web.get(path(issuer, "/new")).status_code == 403
    assert "/webhooks" not in web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
