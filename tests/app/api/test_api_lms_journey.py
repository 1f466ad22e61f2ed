"""The API driven as an LMS integration would: create an achievement, award 50 recipients in a
bulk job and poll it, page through the credentials with the Link headers, revoke one; receive
the signed webhooks on a local receiver and verify them with the ``standardwebhooks`` library's
verifier; every credential verifies with Cairn's verifier and with Digital Bazaar's vc.js (the
revoked one is reported revoked by Cairn).

vc.js runs in one Node process for all fifty (``verify_many``); the test skips, with the
reason, when Node or the harness's ``node_modules`` is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from standardwebhooks import Webhook

from app.models import API_SCOPES, WEBHOOK_EVENT_TYPES
from app.services.org.audit import Actor
from app.services.webhooks import endpoints
from app.wiring import service_env
from credentials import DocumentLoader, verify_credential
from tests.app.conftest import BASE_URL
from tests.interop.conftest import NODE_DIR, VcJs

pytestmark = pytest.mark.interop
RECIPIENTS = 50


@pytest.fixture(scope="module")
def vcjs() -> VcJs:
    node = shutil.which("node")
    if node is None:
        pytest.skip("vc.js interop: `node` is not on PATH (install Node 20+)")
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip(f"vc.js interop: {NODE_DIR / 'node_modules'} is absent (npm ci there)")
    return VcJs(node)


class Lms:
    """What the LMS knows: the base URL and its token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, base_url=BASE_URL, **kwargs)


def next_link(response: Any) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
    return match.group(1).removeprefix(BASE_URL) if match else None


def test_an_lms_awards_a_cohort_and_every_credential_verifies(
    vcjs: VcJs, client: FlaskClient, make_staff, make_issuer, make_token, local_fetch, receiver
) -> None:
    owner = make_staff("owner@district.example.org")
    issuer = make_issuer("District Learning", owner=owner)
    _, secret = endpoints.create(issuer, url=receiver.url(), events=WEBHOOK_EVENT_TYPES,
                                 description="LMS", actor=Actor(owner), env=service_env())  # fmt: skip
    lms = Lms(client, make_token(issuer, owner, API_SCOPES, name="Moodle"))
    base = f"/api/v1/issuers/{issuer.slug}"

    made = lms.send("POST", f"{base}/achievements", json={
        "name": "Restorative Practices", "description": "Completed the restorative practices course.",
        "criteria_markdown": "Finish all four units.", "tags": ["behaviour"],
    })  # fmt: skip
    assert made.status_code == 201, made.get_data(as_text=True)
    achievement_id = made.get_json()["id"]

    rows = [
        {"email": f"teacher{n}@school.example.org", "name": f"Teacher {n}"}
        for n in range(RECIPIENTS)
    ]
    job = lms.send("POST", f"{base}/awards/bulk", json={"achievement": achievement_id, "rows": rows},
                   headers={"Idempotency-Key": "cohort-2026-spring"})  # fmt: skip
    assert job.status_code == 202, job.get_data(as_text=True)
    polled = lms.send("GET", job.headers["Location"].removeprefix(BASE_URL)).get_json()
    for _ in range(20):  # jobs run inline in tests; an LMS would wait between polls
        if polled["state"] in ("done", "failed"):
            break
        polled = lms.send("GET", f"/api/v1/jobs/{polled['id']}").get_json()
    assert (polled["state"], polled["issued"], polled["percent"]) == ("done", RECIPIENTS, 100)
    assert all(row["outcome"] == "issued" and row["credential"] for row in polled["rows"])

    # Page through them as a client would: 20 at a time, following rel="next".
    listed: list[dict[str, Any]] = []
    page: str | None = f"{base}/credentials?achievement={achievement_id}&limit=20"
    while page:
        answer = lms.send("GET", page)
        assert answer.status_code == 200
        listed += answer.get_json()["items"]
        page = next_link(answer)
    assert len(listed) == RECIPIENTS == len({c["id"] for c in listed})
    assert {c["recipient"]["email"] for c in listed} == {r["email"] for r in rows}

    revoked_id = listed[0]["id"]
    revoked = lms.send(
        "POST", f"/api/v1/credentials/{revoked_id}/revoke", json={"reason": "Left the course"}
    )
    assert revoked.get_json()["status"] == "revoked"

    # The webhooks, each verified with the library's own verifier.
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    issued = [p["data"]["id"] for p in payloads if p["type"] == "credential.issued"]
    assert sorted(issued) == sorted(c["id"] for c in listed)
    assert [p["data"]["id"] for p in payloads if p["type"] == "credential.revoked"] == [revoked_id]
    assert [p["type"] for p in payloads].count("job.finished") == 1

    documents = [
        lms.send("GET", f"{base}/credentials/{c['id']}").get_json()["document"] for c in listed
    ]
    did = json.loads(client.get(f"/issuers/{issuer.slug}/did.json", base_url=BASE_URL).data)
    results = vcjs.verify_many([json.loads(d) for d in documents], {did["id"]: did})
    assert results == [(True, None)] * RECIPIENTS  # vc.js checks the proof, not the status
    now = service_env().now + timedelta(seconds=1)
    for credential, document in zip(listed, documents, strict=True):
        report = verify_credential(document, loader=DocumentLoader(), now=now, fetch=local_fetch,
                                   recipient=credential["recipient"]["email"])  # fmt: skip
        expected = "not_valid" if credential["id"] == revoked_id else "valid"
        assert report.outcome == expected, report.as_json()["checks"]
