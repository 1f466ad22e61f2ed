"""Webhook deliveries: a message queued per subscribed endpoint in the same transaction as the
change it reports, sent signed by the Standard Webhooks scheme (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256 ``v1,<base64>``, through the
``standardwebhooks`` library), retried with growing waits for about a day, and every attempt
logged.

Delivery runs as the ``deliver_webhooks`` job (submitted once the queuing transaction has
committed; :func:`deliver_due`), and again from the maintenance loop and ``cairn
deliver-webhooks`` for whatever is due: a delivery is claimed by moving its
``next_attempt_at`` past the request's time limit, so two workers never send it at once and one
that dies leaves it due again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from standardwebhooks import Webhook

from app.extensions import db
from app.fetch import FetchError
from app.models import Issuer, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.services._core import jobs, plain_rows, shared_reads, transaction
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, NotFound
from app.services.org import audit
from app.services.org.audit import Actor
from app.services.webhooks import endpoints
from app.services.webhooks.endpoints import Poster, UnreadableSecret

#: The wait after the 1st, 2nd… failed attempt; after the last the delivery is given up on.
#: Seven attempts over about 21 hours.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
#: No retry is planned later than this after the first attempt.
GIVE_UP_AFTER = timedelta(hours=24)
#: How long a claimed delivery is held by the worker sending it (longer than any request).
IN_FLIGHT = timedelta(minutes=5)
#: Deliveries tried per sweep (the next sweep takes the rest).
BATCH = 200
EXCERPT = 300
ERROR_LIMIT = 500


@dataclass
class SweepResult:
    """What one sweep did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def queue(
    issuer_id: int, event_type: str, data: Callable[[], dict[str, Any]], env: ServiceEnv
) -> int:
    """Add a delivery of ``event_type`` with ``data()`` for each of the issuer's enabled
    endpoints that subscribe to it, in the open transaction (committed with the change it
    reports); the job that sends them starts once that commits. Returns how many were queued.

    ``data`` is called only when an endpoint takes the event: every award passes through here,
    and most issuers have no webhooks, so the payload is not built for nothing."""
    targets = transaction.remembered(
        ("webhooks.subscribed", issuer_id, event_type),
        lambda: shared_reads.remembered(
            ("webhooks.subscribed", issuer_id, event_type),
            env,
            lambda: tuple(endpoint.id for endpoint in endpoints.subscribed(issuer_id, event_type)),
        ),
    )
    if not targets:
        return 0
    body = json.dumps(
        {"type": event_type, "timestamp": utc_iso(env.now), "data": data()},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for endpoint_id in targets:
        plain_rows.add(  # a plain row while a bulk chunk collects them
            WebhookDelivery,
            {
                "public_id": f"msg_{uuid.uuid4().hex}",
                "endpoint_id": endpoint_id,
                "event_type": event_type,
                "payload": body,
                "state": "pending",
                "failures": 0,
                "created_at": env.now,
                "next_attempt_at": env.now,
            },
        )
    transaction.after_commit("webhooks.deliver", lambda: jobs.submit(env, jobs.DELIVER_WEBHOOKS))
    return len(targets)


def _due(now: datetime) -> Any:
    return (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
    )


def due_count(now: datetime) -> int:
    """How many deliveries wait for an attempt at ``now``."""
    return db.session.scalar(select(func.count()).select_from(_due(now).subquery())) or 0


def deliver_due(env: ServiceEnv, *, post: Poster | None = None, limit: int = BATCH) -> SweepResult:
    """Try every delivery that is due (up to ``limit``), oldest first: the job, the sweep."""
    post = post or endpoints.poster(env)
    ids = list(
        db.session.scalars(_due(env.now).order_by(WebhookDelivery.next_attempt_at).limit(limit))
    )
    db.session.commit()
    result = SweepResult()
    for delivery_id in ids:
        outcome = attempt(delivery_id, env.later(), post)
        if outcome == "delivered":
            result.delivered += 1
        elif outcome == "failed":
            result.failed += 1
        elif outcome == "pending":
            result.retrying += 1
    return result


def _claim(delivery_id: int, now: datetime) -> bool:
    """Hold a due delivery for this worker; False when another took it (or it is not due)."""
    claimed: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + IN_FLIGHT)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def signed_headers(delivery: WebhookDelivery, secret: str, moment: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``delivery`` sent at ``moment``."""
    signature = Webhook(secret).sign(delivery.public_id, moment, delivery.payload.encode("utf-8"))
    return {
        "webhook-id": delivery.public_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


def attempt(delivery_id: int, env: ServiceEnv, post: Poster) -> str | None:
    """Send one delivery now, if it is still due and no one else is sending it; log the attempt
    and plan the next one. Committed; returns the delivery's state after it (None: not tried)."""
    if not _claim(delivery_id, env.now):
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    moment = env.clock()
    started = time.monotonic()
    status: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        headers = signed_headers(delivery, endpoints.open_secret(endpoint, env), moment)
        answer = post.post(endpoint.url, delivery.payload.encode("utf-8"), headers)
        status, excerpt = answer.status, answer.excerpt[:EXCERPT]
        if not 200 <= status < 300:
            error = f"The endpoint answered HTTP {status}" + (
                " (redirects are not followed)" if 300 <= status < 400 else ""
            )
    except (FetchError, UnreadableSecret) as exc:
        error = str(exc)
    duration = int((time.monotonic() - started) * 1000)
    _record(delivery, moment, duration, status, excerpt, error)
    db.session.commit()
    return delivery.state


def _record(
    delivery: WebhookDelivery,
    moment: datetime,
    duration_ms: int,
    status: int | None,
    excerpt: str | None,
    error: str | None,
) -> None:
    """Log the attempt and move the delivery on: delivered, due again later, or given up."""
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=moment,
            duration_ms=duration_ms,
            status_code=status,
            response_excerpt=excerpt or None,
            error=error[:ERROR_LIMIT] if error else None,
            succeeded=error is None,
        )
    )
    if delivery.first_attempt_at is None:
        delivery.first_attempt_at = moment
    if error is None:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = "delivered", moment, None
        return
    delivery.failures += 1
    retry_at = (
        moment + RETRY_DELAYS[delivery.failures - 1]
        if delivery.failures <= len(RETRY_DELAYS)
        else None
    )
    if retry_at is None or retry_at > delivery.first_attempt_at + GIVE_UP_AFTER:
        delivery.state, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = retry_at


def get(endpoint: WebhookEndpoint, public_id: str) -> WebhookDelivery:
    """One delivery of the endpoint.

    :raises NotFound: when the endpoint has none of that id.
    """
    delivery = db.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.public_id == public_id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    if delivery is None:
        raise NotFound("There is no such delivery.")
    return delivery


def redeliver(delivery: WebhookDelivery, *, actor: Actor, env: ServiceEnv) -> WebhookDelivery:
    """Send a delivery again now, with the same ``webhook-id`` and body (a receiver that has it
    already can tell), and a fresh day of retries if it fails. Committed; the job sends it.

    :raises Conflict: while its endpoint is disabled.
    """
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled: enable it to redeliver.")
    delivery.state, delivery.failures = "pending", 0
    delivery.first_attempt_at, delivery.next_attempt_at = None, env.now
    audit.record(
        "webhook.redeliver",
        actor=actor,
        now=env.now,
        issuer_id=endpoint.issuer_id,
        subject_type="webhook",
        subject_id=endpoint.public_id,
        detail={"delivery": delivery.public_id, "event": delivery.event_type},
    )
    db.session.commit()
    jobs.submit(env, jobs.DELIVER_WEBHOOKS)
    return delivery


def recent(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def attempts_of(deliveries: list[WebhookDelivery]) -> dict[int, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first."""
    found: dict[int, list[WebhookAttempt]] = {delivery.id: [] for delivery in deliveries}
    if not found:
        return found
    for row in db.session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(found))
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    ):
        found[row.delivery_id].append(row)
    return found


def summary(issuer: Issuer) -> dict[int, dict[str, int]]:
    """Per endpoint of the issuer: how many deliveries are in each state."""
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count())
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookEndpoint.issuer_id == issuer.id)
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.state)
    )
    for endpoint_id, state, count in rows:
        counts.setdefault(endpoint_id, {})[state] = count
    return counts
