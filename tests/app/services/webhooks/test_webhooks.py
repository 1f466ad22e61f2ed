"""Webhooks: endpoints with sealed secrets, deliveries signed by the Standard Webhooks scheme
(checked with the ``standardwebhooks`` verifier against a real local receiver), an event from
every source, retries on a schedule (an injected clock), the outbound-URL rules at subscription
and at delivery, and redelivery."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError

from app.cli import main
from app.extensions import db
from app.models import (
    WEBHOOK_EVENT_TYPES,
    Achievement,
    AuditEvent,
    Issuer,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services.awarding import bulk, revocation
from app.services.awarding.issuing import AwardInput
from app.services.learning import claims, educators
from app.services.org.audit import Actor
from app.services.webhooks import deliveries, endpoints
from app.wiring import service_env
from schemas.webhooks import EVENT_TYPES
from tests.app.conftest import database_url
from tests.app.webhook_receiver import Receiver

ACTOR = Actor(label="test")
ANN = "ann.lee@school.example.org"


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


def subscribe(issuer: Issuer, url: str, events: tuple[str, ...] = WEBHOOK_EVENT_TYPES, **kwargs: Any) -> tuple[WebhookEndpoint, str]:  # fmt: skip
    return endpoints.create(issuer, url=url, events=events, description="LMS", actor=ACTOR,
                            env=service_env(), **kwargs)  # fmt: skip


def verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every received body, each verified with the library's verifier (raises if one fails)."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]


def at(moment: datetime) -> ServiceEnv:
    """The service environment with its clock fixed at ``moment``."""
    return replace(service_env(), now=moment, clock=lambda: moment)


def test_the_schema_offers_exactly_the_models_event_types() -> None:
    assert EVENT_TYPES == WEBHOOK_EVENT_TYPES


def test_an_award_is_delivered_signed_and_verifies_with_the_library(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    receiver.answer = b"thanks"
    _, secret = subscribe(issuer, receiver.url())
    credential = make_award(issuer, badge, ANN)

    (request,) = receiver.received
    (payload,) = verified(receiver, secret)
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert payload["type"] == "credential.issued"
    data = payload["data"]
    assert data["id"] == credential.id
    assert data["url"] == f"{service_env().base_url}/credentials/{credential.id}"
    assert data["achievement"]["id"] == badge.public_id
    assert data["issuer"] == issuer.slug and data["status"] == "valid"
    # No personal data: the recipient is read through the API by those allowed to.
    assert ANN not in request.body.decode() and "recipient" not in data
    # Another secret does not verify it.
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoints.new_secret()).verify(request.body, request.headers)

    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.state == "delivered"
    assert delivery.public_id == request.headers["webhook-id"]
    (attempt,) = deliveries.attempts_of([delivery])[delivery.id]
    assert attempt.succeeded and attempt.status_code == 204 and attempt.error is None
    assert attempt.duration_ms >= 0


def test_the_secret_is_sealed_at_rest_and_rotating_it_changes_the_signature(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    endpoint, secret = subscribe(issuer, receiver.url())
    assert secret.startswith("whsec_") and secret[6:] not in endpoint.secret
    assert endpoint.secret.startswith("v1:")
    assert endpoints.open_secret(endpoint, service_env()) == secret
    other, _ = subscribe(issuer, receiver.url("/other"))
    moved = replace_secret(other, endpoint.secret)  # a ciphertext moved to another endpoint
    with pytest.raises(endpoints.UnreadableSecret):
        endpoints.open_secret(moved, service_env())

    new = endpoints.rotate_secret(endpoint, actor=ACTOR, env=service_env())
    assert new != secret
    receiver.received.clear()
    make_award(issuer, badge, ANN)
    mine = [r for r in receiver.received if r.path == "/hooks"]
    assert len(mine) == 1
    Webhook(new).verify(mine[0].body, mine[0].headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(mine[0].body, mine[0].headers)


def replace_secret(endpoint: WebhookEndpoint, sealed: str) -> WebhookEndpoint:
    endpoint.secret = sealed
    return endpoint


def received_types(receiver: Receiver, secret: str) -> list[str]:
    return [payload["type"] for payload in verified(receiver, secret)]


def test_every_event_source_produces_its_delivery(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    _, secret = subscribe(issuer, receiver.url())
    credential = make_award(issuer, badge, ANN)
    revocation.suspend(credential, "Checking the records", actor=ACTOR, env=service_env())
    revocation.unsuspend(credential, "Checked", actor=ACTOR, env=service_env())
    ann = educators.create(ANN, "Ann Lee", service_env(), verified=True)
    db.session.commit()
    claims.confirm_name(ann, "Ann Lee", "Ann Lee", service_env())
    claims.claim(ann, credential, public=True, env=service_env())  # signed again with the name
    revocation.revoke(credential, "Awarded in error", actor=ACTOR, env=service_env())
    assert received_types(receiver, secret) == [
        "credential.issued",
        "credential.suspended",
        "credential.unsuspended",
        "credential.claimed",
        "credential.revoked",
    ]
    payloads = verified(receiver, secret)
    assert [p["data"]["status"] for p in payloads] == [
        "valid", "suspended", "valid", "valid", "revoked",
    ]  # fmt: skip
    assert payloads[3]["data"]["claimed"] is True

    receiver.received.clear()
    job = bulk.create_job(issuer, badge, filename="a.csv", data=b"email\np1@school.example.org\np2@school.example.org\n",
                          actor=ACTOR, env=service_env(), max_rows=10)  # fmt: skip
    bulk.confirm(job, actor=ACTOR, env=service_env())  # runs inline in tests
    payloads = verified(receiver, secret)
    assert [p["type"] for p in payloads] == ["credential.issued"] * 2 + ["job.finished"]
    finished = payloads[-1]["data"]
    assert finished["id"] == job.id and finished["state"] == "done" and finished["issued"] == 2
    assert {p["data"]["bulk_job"] for p in payloads[:2]} == {job.id}


def test_a_replacement_announces_the_revocation_and_the_new_credential(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    _, secret = subscribe(issuer, receiver.url())
    credential = make_award(issuer, badge, ANN)
    receiver.received.clear()
    new = revocation.replace(credential, AwardInput(email=ANN, name="Ann Lee"), "Name corrected",
                             actor=ACTOR, env=service_env())  # fmt: skip
    payloads = verified(receiver, secret)
    assert sorted((p["type"], p["data"]["id"]) for p in payloads) == sorted(
        [("credential.issued", new.id), ("credential.revoked", credential.id)]
    )


def test_an_endpoint_gets_only_its_events_its_issuers_and_nothing_while_disabled(
    app, issuer, badge, make_issuer, make_achievement, make_award, receiver: Receiver
) -> None:
    subscribe(issuer, receiver.url("/revoked"), ("credential.revoked",))
    off, _ = subscribe(issuer, receiver.url("/off"), enabled=False)
    other = make_issuer("Another District")
    subscribe(other, receiver.url("/other"))
    credential = make_award(issuer, badge, ANN)
    revocation.revoke(credential, "Error", actor=ACTOR, env=service_env())
    assert [(r.path, json.loads(r.body)["type"]) for r in receiver.received] == [
        ("/revoked", "credential.revoked")
    ]
    assert db.session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.endpoint_id == off.id)
    ) == 0  # fmt: skip


def test_a_refused_change_queues_nothing(app, issuer, badge, make_award, receiver) -> None:
    subscribe(issuer, receiver.url())
    credential = make_award(issuer, badge, ANN)
    revocation.revoke(credential, "Error", actor=ACTOR, env=service_env())
    receiver.received.clear()
    with pytest.raises(Conflict):
        revocation.revoke(credential, "Again", actor=ACTOR, env=service_env())
    db.session.rollback()
    assert receiver.received == []
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://203.0.113.10/hooks",  # not https
        "https://127.0.0.1/hooks",  # loopback
        "https://localhost/hooks",
        "https://10.0.0.5/hooks",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
        "https://[::1]/hooks",
        "https://user:secret@203.0.113.10/hooks",  # credentials in the URL
        "ftp://203.0.113.10/hooks",
    ],
)
def test_disallowed_urls_are_refused_at_subscription_and_nothing_is_saved(
    app, issuer, url: str
) -> None:
    events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(Invalid) as refused:
        subscribe(issuer, url)
    assert refused.value.field == "url"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_the_allow_list_admits_a_local_receiver_and_only_that_one(app, issuer, receiver) -> None:
    subscribe(issuer, receiver.url())
    with pytest.raises(Invalid):
        subscribe(issuer, f"http://127.0.0.1:{receiver.port + 1}/hooks")  # another port
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ""
    with pytest.raises(Invalid):
        subscribe(issuer, receiver.url())


def test_a_url_is_checked_again_at_delivery_time(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    subscribe(issuer, receiver.url())
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ""  # the operator withdrew the local exception
    make_award(issuer, badge, ANN)
    assert receiver.received == []
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.state == "pending" and delivery.failures == 1
    (attempt,) = deliveries.attempts_of([delivery])[delivery.id]
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.error is not None and "only https URLs" in attempt.error


def test_failures_are_retried_on_the_schedule_and_given_up_after_about_a_day(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    receiver.status, receiver.answer = 500, b"database down" * 100
    subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.failures == 1
    first = delivery.first_attempt_at
    assert first is not None
    moment = first
    for number, wait in enumerate(deliveries.RETRY_DELAYS, start=1):
        assert delivery.next_attempt_at == moment + wait, f"the wait after failure {number}"
        # Not a moment early…
        early = deliveries.deliver_due(at(moment + wait - timedelta(seconds=1)))
        assert early == deliveries.SweepResult()
        # …and then it goes.
        moment = moment + wait
        deliveries.deliver_due(at(moment))
        db.session.refresh(delivery)
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert len(receiver.received) == 1 + len(deliveries.RETRY_DELAYS)
    assert timedelta(hours=18) < moment - first <= deliveries.GIVE_UP_AFTER
    assert deliveries.deliver_due(at(moment + timedelta(days=2))) == deliveries.SweepResult()
    rows = deliveries.attempts_of([delivery])[delivery.id]
    assert [a.status_code for a in rows] == [500] * len(rows)
    assert all(a.response_excerpt and len(a.response_excerpt) <= deliveries.EXCERPT for a in rows)
    assert rows[0].error == "The endpoint answered HTTP 500"
    # Every retry carries the same webhook-id (receivers deduplicate on it).
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_a_retry_that_succeeds_delivers(app, issuer, badge, make_award, receiver) -> None:
    receiver.status = 503
    subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.next_attempt_at is not None
    receiver.status = 200
    result = deliveries.deliver_due(at(delivery.next_attempt_at))
    assert result == deliveries.SweepResult(delivered=1)
    db.session.refresh(delivery)
    assert delivery.state == "delivered" and delivery.next_attempt_at is None


def test_a_delivery_in_flight_is_not_sent_twice(app, issuer, badge, make_award, receiver) -> None:
    receiver.status = 500
    subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.next_attempt_at is not None
    due = delivery.next_attempt_at
    assert deliveries._claim(delivery.id, due)  # another worker holds it
    assert deliveries.attempt(delivery.id, at(due), endpoints.poster(service_env())) is None
    assert len(receiver.received) == 1


def test_redeliver_sends_the_same_message_again(
    app, issuer, badge, make_award, receiver: Receiver
) -> None:
    endpoint, secret = subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.state == "delivered"
    deliveries.redeliver(delivery, actor=ACTOR, env=service_env())
    first, again = receiver.received
    assert first.body == again.body and first.headers["webhook-id"] == again.headers["webhook-id"]
    Webhook(secret).verify(again.body, again.headers)
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2
    assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "webhook.redeliver"
    )
    endpoints.set_enabled(endpoint, False, actor=ACTOR, env=service_env())
    with pytest.raises(Conflict):
        deliveries.redeliver(delivery, actor=ACTOR, env=service_env())


def test_removing_an_endpoint_removes_its_deliveries(
    app, issuer, badge, make_award, receiver
) -> None:
    endpoint, _ = subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    endpoints.remove(endpoint, actor=ACTOR, env=service_env())
    for model in (WebhookEndpoint, WebhookDelivery, WebhookAttempt):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "webhook")
    )
    assert list(actions) == ["webhook.create", "webhook.delete"]


def test_events_must_be_chosen_from_the_list(app, issuer, receiver) -> None:
    for events in ((), ("credential.exploded",)):
        with pytest.raises(Invalid) as refused:
            subscribe(issuer, receiver.url(), events)
        assert refused.value.field == "events"


def test_the_cli_sweep_sends_what_is_due(
    app, issuer, badge, make_award, receiver: Receiver, tmp_path, monkeypatch, capsys
) -> None:
    receiver.status = 500
    subscribe(issuer, receiver.url())
    make_award(issuer, badge, ANN)
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery is not None and delivery.state == "pending"
    delivery.next_attempt_at = service_env().now - timedelta(seconds=1)  # its retry came due
    db.session.commit()
    receiver.status = 200
    for name, value in {
        "CAIRN_ENV": "testing",
        "CAIRN_DATABASE_URL": database_url(tmp_path),
        "CAIRN_SECRET_KEY": app.config["SECRET_KEY"],  # it opens the sealed secret
        "CAIRN_KEYS_DIR": str(tmp_path / "keys"),
        "CAIRN_BASE_URL": service_env().base_url,
        "CAIRN_WEBHOOK_ALLOWED_HOSTS": receiver.host,
    }.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["deliver-webhooks"]) == 0
    assert capsys.readouterr().err.strip() == "1 delivered, 0 to retry, 0 given up"
    assert len(receiver.received) == 2
    assert main(["deliver-webhooks"]) == 0
    assert capsys.readouterr().err.strip() == "0 delivered, 0 to retry, 0 given up"
    db.session.refresh(delivery)
    assert delivery.state == "delivered"


def test_a_failed_bulk_job_is_announced(app, issuer, badge, receiver, monkeypatch) -> None:
    _, secret = subscribe(issuer, receiver.url(), ("job.finished",))
    job = bulk.create_job(issuer, badge, filename="a.csv", data=b"email\np1@school.example.org\n",
                          actor=ACTOR, env=service_env(), max_rows=10)  # fmt: skip

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the signing service is down")

    monkeypatch.setattr("app.services.awarding.bulk.runner._start_chunk", broken)
    with pytest.raises(RuntimeError):
        bulk.confirm(job, actor=ACTOR, env=service_env())
    (payload,) = verified(receiver, secret)
    assert payload["type"] == "job.finished"
    assert payload["data"]["id"] == job.id and payload["data"]["state"] == "failed"
