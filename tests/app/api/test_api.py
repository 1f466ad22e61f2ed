"""The issuer API: the fixed endpoints, the error body, pagination with Link headers,
idempotency keys, ETags, and that an API change is audited like the workspace's, naming the
token."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.api.docs import WEBHOOK_EVENTS, WEBHOOK_SAMPLE
from app.extensions import db
from app.models import AuditEvent, BulkJob, IssuedCredential
from app.models.webhook import WEBHOOK_EVENT_TYPES
from app.services.webhooks import reactions
from app.wiring import service_env
from tests.app.conftest import BASE_URL


@pytest.fixture
def setup(make_staff, make_issuer, make_achievement, make_token) -> dict[str, Any]:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    achievement = make_achievement(issuer, "Formative Assessment")
    token = make_token(issuer, owner, name="Moodle")
    return {"owner": owner, "issuer": issuer, "achievement": achievement, "token": token,
            "slug": issuer.slug}  # fmt: skip


def call(client: FlaskClient, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(path, method=method, headers=headers, base_url=BASE_URL, **kwargs)


def award_body(achievement_id: str, email: str = "ada@school.example.org") -> dict[str, Any]:
    return {
        "achievement": achievement_id,
        "recipient": {"email": email, "name": "Ada Teacher"},
        "evidence": [{"url": "https://lms.example.org/c/7"}],
        "narrative": "Finished the module.",
        "valid_until": "2030-06-30",
    }


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_openapi_document_is_3_1_and_names_the_fixed_routes(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path in ("/api/v1/issuers/{slug}/achievements", "/api/v1/issuers/{slug}/awards",
                 "/api/v1/issuers/{slug}/credentials", "/api/v1/credentials/{credential_id}/revoke",
                 "/api/v1/jobs/{job_id}"):  # fmt: skip
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_award_route_documents_and_loads_with_one_shared_schema(client: FlaskClient) -> None:
    """The award route's schema is one instance for every request (not one per request): the
    document still names the whole ApiAward schema, and threads loading at once each get their
    own award."""
    from concurrent.futures import ThreadPoolExecutor

    from app.api.awards import AWARD_SCHEMA
    from schemas.awards import ApiAwardSchema

    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/issuers/{slug}/awards"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiAward"
    }
    documented = spec["components"]["schemas"]["ApiAward"]
    assert set(documented["properties"]) == set(ApiAwardSchema().fields)
    assert documented["required"] == ["achievement", "recipient"]

    def load(n: int) -> tuple[str, str]:
        loaded = AWARD_SCHEMA.load({"achievement": f"a{n}", "recipient": {"email": f"r{n}@example.org"},
                                    "evidence": [{"url": f"https://e.example.org/{n}"}]})  # fmt: skip
        return loaded["achievement"], loaded["award"]["email"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(load, range(200))) == [
            (f"a{n}", f"r{n}@example.org") for n in range(200)
        ]


def test_achievements_list_each_with_its_id(client, setup) -> None:
    response = call(client, "GET", f"/api/v1/issuers/{setup['slug']}/achievements", setup["token"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1
    assert body["items"][0]["id"] == setup["achievement"].public_id
    assert body["items"][0]["name"] == "Formative Assessment"
    assert 'rel="first"' in response.headers["Link"]


def test_award_answers_201_with_id_url_status_and_audits_naming_the_token(client, setup) -> None:
    body = award_body(setup["achievement"].public_id)
    response = call(
        client, "POST", f"/api/v1/issuers/{setup['slug']}/awards", setup["token"], json=body
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "valid"
    assert answer["url"] == f"{BASE_URL}/credentials/{answer['id']}"
    stored = db.session.get(IssuedCredential, answer["id"])
    assert stored.recipient_email == "ada@school.example.org"
    assert stored.recipient_name == "Ada Teacher"
    assert stored.valid_until.date().isoformat() == "2030-06-30"
    assert stored.awarded_by_id == setup["owner"].id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.subject_id == answer["id"]).order_by(AuditEvent.id)
    )
    assert "via API token" in event.actor and "Moodle" in event.actor
    assert event.actor_id == setup["owner"].id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["recipient"].update(email="not an address"), "recipient.email"),
        (lambda b: b.pop("recipient"), "recipient"),
        (lambda b: b.update(valid_until="yesterday"), "valid_until"),
        (lambda b: b.update(valid_until="2001-01-01"), "valid_until"),
        (lambda b: b.update(evidence=[{"url": "ftp://x"}]), "evidence.0.url"),
        (lambda b: b.update(achievement="no-such-achievement"), None),
    ],
)
def test_bad_awards_are_refused_with_the_field_and_change_nothing(
    client, setup, change, field
) -> None:
    body = award_body(setup["achievement"].public_id)
    change(body)
    before = (count(IssuedCredential), count(AuditEvent))
    response = call(
        client, "POST", f"/api/v1/issuers/{setup['slug']}/awards", setup["token"], json=body
    )
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["message"] and error["code"] in ("invalid", "not_found")
    assert error["field"] == field
    assert (count(IssuedCredential), count(AuditEvent)) == before


@pytest.mark.parametrize("body", ["{not json", "[" * 100_000, '{"a":' * 50_000, b"\xff\xfe"])
@pytest.mark.parametrize("route", ["awards", "achievements"])
def test_malformed_json_is_400_not_500(client, setup, body, route) -> None:
    response = call(client, "POST", f"/api/v1/issuers/{setup['slug']}/{route}", setup["token"],
                    data=body, content_type="application/json")  # fmt: skip
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("body", ["[" * 100_000, "null", "[]", '"text"'])
def test_bulk_and_verify_refuse_unusable_json_with_a_4xx(client, setup, body) -> None:
    for path in (f"/api/v1/issuers/{setup['slug']}/awards/bulk", "/api/v1/verify"):
        response = call(
            client, "POST", path, setup["token"], data=body, content_type="application/json"
        )
        assert 400 <= response.status_code < 500, (path, body[:10], response.status_code)


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, setup) -> None:
    path = f"/api/v1/issuers/{setup['slug']}/awards"
    body = award_body(setup["achievement"].public_id)
    key = {"Idempotency-Key": "order-1"}
    first = call(client, "POST", path, setup["token"], json=body, headers=key)
    again = call(client, "POST", path, setup["token"], json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(IssuedCredential) == 1
    other = call(client, "POST", path, setup["token"], json=award_body(setup["achievement"].public_id, "b@school.example.org"), headers=key)  # fmt: skip
    assert other.status_code == 409
    assert other.get_json()["error"]["field"] == "Idempotency-Key"
    assert count(IssuedCredential) == 1


def test_credentials_list_filters_and_pages_with_link_headers(client, setup, make_award) -> None:
    issuer, achievement = setup["issuer"], setup["achievement"]
    for n in range(5):
        make_award(issuer, achievement, f"t{n}@school.example.org")
    path = f"/api/v1/issuers/{setup['slug']}/credentials"
    first = call(client, "GET", path + "?limit=2", setup["token"])
    body = first.get_json()
    assert (body["total"], len(body["items"])) == (5, 2)
    assert 'rel="next"' in first.headers["Link"] and "offset=2" in first.headers["Link"]
    last = call(client, "GET", path + "?limit=2&offset=4", setup["token"]).get_json()
    assert len(last["items"]) == 1
    seen = {i["id"] for i in body["items"]} | {i["id"] for i in last["items"]}
    assert len(seen) == 3
    one = call(client, "GET", path + "?recipient=T3@school.example.org", setup["token"]).get_json()
    assert [i["recipient"]["email"] for i in one["items"]] == ["t3@school.example.org"]
    assert call(client, "GET", path + "?status=revoked", setup["token"]).get_json()["total"] == 0
    later = call(client, "GET", path + "?updated_since=2999-01-01T00:00:00Z", setup["token"])
    assert later.get_json()["total"] == 0
    bad = call(client, "GET", path + "?limit=1000", setup["token"])
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "limit"


def test_credentials_count_stops_at_its_cap_and_the_links_still_lead_to_the_end(
    client, setup, make_award, monkeypatch
) -> None:
    # Past the cap ``total`` is a lower bound (``total_capped``), exact again on the last page;
    # the next link comes from the page itself, so it leads through every credential.
    monkeypatch.setattr("app.api.credentials.COUNT_UP_TO", 3)
    issuer, achievement = setup["issuer"], setup["achievement"]
    for n in range(7):
        make_award(issuer, achievement, f"t{n}@school.example.org")
    path = f"/api/v1/issuers/{setup['slug']}/credentials"
    expected = {  # offset: (total, total_capped, next link)
        0: (3, True, True),
        2: (4, True, True),
        4: (6, True, True),
        5: (7, False, False),
        6: (7, False, False),
        7: (3, True, False),  # past the end: nothing seen, the capped count stands
    }
    seen: list[str] = []
    for offset, (total, capped, more) in expected.items():
        response = call(client, "GET", f"{path}?limit=2&offset={offset}", setup["token"])
        body = response.get_json()
        assert (body["total"], body["total_capped"]) == (total, capped), offset
        assert ('rel="next"' in response.headers["Link"]) == more, offset
        if offset % 2 == 0:
            seen += [item["id"] for item in body["items"]]
    assert len(set(seen)) == 7
    few = call(client, "GET", f"{path}?q=t1@", setup["token"]).get_json()
    assert (few["total"], few["total_capped"]) == (1, False)


def test_reads_carry_an_etag_and_answer_304(client, setup) -> None:
    path = f"/api/v1/issuers/{setup['slug']}/achievements"
    first = call(client, "GET", path, setup["token"])
    etag = first.headers["ETag"]
    again = call(client, "GET", path, setup["token"], headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_revoke_through_the_api(client, setup, make_award) -> None:
    credential = make_award(setup["issuer"], setup["achievement"])
    path = f"/api/v1/credentials/{credential.id}/revoke"
    missing = call(client, "POST", path, setup["token"], json={})
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "reason"
    response = call(client, "POST", path, setup["token"], json={"reason": "Wrong person", "public_reason": "issued_in_error"})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "revoked"
    again = call(client, "POST", path, setup["token"], json={"reason": "Again"})
    assert again.status_code == 409
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "credential.revoke"))
    assert event is not None and "via API token" in event.actor


def test_bulk_json_rows_run_as_a_job_with_per_row_results(client, setup) -> None:
    rows = [{"email": f"p{n}@school.example.org", "name": f"P {n}"} for n in range(4)]
    rows.append({"email": "not-an-address"})
    response = call(client, "POST", f"/api/v1/issuers/{setup['slug']}/awards/bulk", setup["token"],
                    json={"achievement": setup["achievement"].public_id, "rows": rows})  # fmt: skip
    assert response.status_code == 202, response.get_data(as_text=True)
    job = response.get_json()
    polled = call(client, "GET", f"/api/v1/jobs/{job['id']}", setup["token"]).get_json()
    assert polled["state"] == "done"  # jobs run inline in tests
    assert polled["issued"] == 4
    verdicts = [row["verdict"] for row in polled["rows"]]
    assert verdicts.count("ok") == 4 and len(verdicts) == 5
    assert all(row["credential"] for row in polled["rows"] if row["verdict"] == "ok")
    assert count(IssuedCredential) == 4


def test_bulk_from_a_csv_file(client, setup) -> None:
    csv_text = "email,name\nq1@school.example.org,Q One\nq2@school.example.org,Q Two\n"
    response = call(client, "POST", f"/api/v1/issuers/{setup['slug']}/awards/bulk?achievement={setup['achievement'].public_id}",
                    setup["token"], data=csv_text, content_type="text/csv")  # fmt: skip
    assert response.status_code == 202, response.get_data(as_text=True)
    assert db.session.get(BulkJob, response.get_json()["id"]).issued_rows == 2


def test_achievement_create_version_archive(client, setup) -> None:
    base = f"/api/v1/issuers/{setup['slug']}/achievements"
    made = call(client, "POST", base, setup["token"], json={"name": "Coaching", "description": "Coached.", "criteria_markdown": "Coach a peer."})  # fmt: skip
    assert made.status_code == 201, made.get_data(as_text=True)
    public_id = made.get_json()["id"]
    version = call(client, "POST", f"{base}/{public_id}/versions", setup["token"], json={"name": "Peer coaching", "description": "Coached.", "criteria_markdown": "Coach a peer."})  # fmt: skip
    assert version.get_json()["version"] == 2
    archived = call(client, "POST", f"{base}/{public_id}/archive", setup["token"])
    assert archived.get_json()["archived"] is True
    refused = call(client, "POST", f"/api/v1/issuers/{setup['slug']}/awards", setup["token"], json=award_body(public_id))  # fmt: skip
    assert refused.status_code == 409
    invalid = call(client, "POST", base, setup["token"], json={"name": ""})
    assert invalid.status_code == 422


def test_issuer_staff_and_audit(client, setup) -> None:
    slug, token = setup["slug"], setup["token"]
    assert call(client, "GET", f"/api/v1/issuers/{slug}", token).get_json()["name"] == "Issuer A"
    updated = call(client, "PUT", f"/api/v1/issuers/{slug}", token, json={"name": "Issuer A2"})
    assert updated.status_code == 200 and updated.get_json()["name"] == "Issuer A2"
    members = call(client, "GET", f"/api/v1/issuers/{slug}/staff", token).get_json()["items"]
    assert [m["role"] for m in members] == ["owner"]
    invited = call(client, "POST", f"/api/v1/issuers/{slug}/staff/invitations", token, json={"email": "new@a.example.org", "name": "New", "role": "viewer"})  # fmt: skip
    assert invited.status_code == 201
    lone = call(client, "PATCH", f"/api/v1/issuers/{slug}/staff/{setup['owner'].id}", token, json={"role": "viewer"})  # fmt: skip
    assert lone.status_code == 409  # the last owner stays
    events = call(client, "GET", f"/api/v1/issuers/{slug}/audit-events?limit=2", token)
    body = events.get_json()
    assert len(body["items"]) == 2 and body["next_before"]
    assert 'rel="next"' in events.headers["Link"]
    actions = call(
        client, "GET", f"/api/v1/issuers/{slug}/audit-events?action=issuer.update", token
    ).get_json()
    assert [e["action"] for e in actions["items"]] == ["issuer.update"]


def test_no_token_or_a_bad_one_is_401(client, setup) -> None:
    path = f"/api/v1/issuers/{setup['slug']}/achievements"
    for token in (None, "cairn_000000000000_" + "x" * 43, "nonsense"):
        response = call(client, "GET", path, token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_the_docs_page_lists_every_operation_with_samples(client: FlaskClient) -> None:
    response = client.get("/api/docs", base_url=BASE_URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f'{method.upper()}</code> <code class="break-anywhere">{path}</code>' in html
    assert html.count("curl -X") == html.count("import os, requests") > 15
    assert "<code>recipient</code>" in html  # the award's JSON body is described
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from elsewhere


def test_the_docs_page_explains_every_webhook_event_and_payload(
    client: FlaskClient, setup: Any, make_award: Any
) -> None:
    html = client.get("/api/docs", base_url=BASE_URL).get_data(as_text=True)
    assert [kind for kind, _meaning in WEBHOOK_EVENTS] == list(WEBHOOK_EVENT_TYPES)
    for kind in WEBHOOK_EVENT_TYPES:
        assert f"<code>{kind}</code>" in html
    # The sample has the shape of a real delivery.
    credential = make_award(setup["issuer"], setup["achievement"], name="Ada Teacher")
    real = reactions.credential_data(credential, service_env())
    assert set(WEBHOOK_SAMPLE) == {"type", "timestamp", "data"}
    assert set(WEBHOOK_SAMPLE["data"]) == set(real)
    assert set(WEBHOOK_SAMPLE["data"]["achievement"]) == set(real["achievement"])
    assert "Webhook(ENDPOINT_SECRET).verify" in html


def test_replace_issues_a_correction_and_revokes_the_original(client, setup, make_award) -> None:
    credential = make_award(setup["issuer"], setup["achievement"], name="Ada Teachr")
    path = f"/api/v1/credentials/{credential.id}/replace"
    body = {"reason": "Name misspelt", "recipient": {"email": "teacher@school.example.org", "name": "Ada Teacher"}}  # fmt: skip
    missing = call(client, "POST", path, setup["token"], json={"recipient": body["recipient"]})
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "reason"
    response = call(client, "POST", path, setup["token"], json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    new = db.session.get(IssuedCredential, response.get_json()["id"])
    assert new.recipient_name == "Ada Teacher"
    db.session.refresh(credential)
    assert credential.revoked_at is not None and credential.replaced_by_id == new.id
    assert call(client, "POST", path, setup["token"], json=body).status_code == 409


def test_a_refused_request_keeps_no_answer_and_a_key_in_use_is_409(client, setup) -> None:
    from datetime import timedelta

    from app.models import ApiIdempotentAnswer
    from app.services.org import tokens
    from app.wiring import service_env

    path = f"/api/v1/issuers/{setup['slug']}/awards"
    key = {"Idempotency-Key": "retry-me"}
    bad = award_body(setup["achievement"].public_id, "not an address")
    assert call(client, "POST", path, setup["token"], json=bad, headers=key).status_code == 422
    # Corrected and sent again under the same key: the refusal held nothing back.
    good = award_body(setup["achievement"].public_id)
    assert call(client, "POST", path, setup["token"], json=good, headers=key).status_code == 201
    # A key whose first request is still being answered (or whose process died).
    token = tokens.authenticate(setup["token"], env=service_env())
    now = service_env().now
    sent = json.dumps(award_body(setup["achievement"].public_id, "c@school.example.org")).encode()
    digest = hashlib.sha256(b"\n".join([b"POST", path.encode(), sent])).hexdigest()
    for age, expected in ((timedelta(minutes=1), 409), (timedelta(minutes=11), 201)):
        name = f"busy-{age.seconds}"
        reservation = ApiIdempotentAnswer(token_id=token.id, key=name, request_hash=digest,
                                          status=0, body="", headers={}, created_at=now - age)  # fmt: skip
        db.session.add(reservation)
        db.session.commit()
        response = call(client, "POST", path, setup["token"], data=sent,
                        content_type="application/json", headers={"Idempotency-Key": name})  # fmt: skip
        assert response.status_code == expected, response.get_data(as_text=True)
        if expected == 409:
            assert "still being answered" in response.get_json()["error"]["message"]


def test_a_jobs_rows_come_in_pages(client, setup) -> None:
    rows = [{"email": f"r{n}@school.example.org"} for n in range(5)]
    job = call(client, "POST", f"/api/v1/issuers/{setup['slug']}/awards/bulk", setup["token"],
               json={"achievement": setup["achievement"].public_id, "rows": rows}).get_json()  # fmt: skip
    assert [r["row"] for r in job["rows"]] == [2, 3, 4, 5, 6]  # file rows, after the header
    part = call(
        client, "GET", f"/api/v1/jobs/{job['id']}?rows_offset=1&rows_limit=2", setup["token"]
    )
    body = part.get_json()
    assert [r["email"] for r in body["rows"]] == ["r1@school.example.org", "r2@school.example.org"]
    assert (body["rows_offset"], body["total_rows"]) == (1, 5)


def test_a_nul_character_in_a_json_body_is_400(client, setup) -> None:
    body = award_body(setup["achievement"].public_id)
    body["recipient"]["name"] = "Ada\u0000Teacher"
    before = count(IssuedCredential)
    response = call(
        client, "POST", f"/api/v1/issuers/{setup['slug']}/awards", setup["token"], json=body
    )
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]["message"]
    assert count(IssuedCredential) == before


def test_credentials_filter_by_time_and_achievement(
    client, setup, make_award, make_achievement
) -> None:
    other = make_achievement(setup["issuer"], "Other badge")
    make_award(setup["issuer"], setup["achievement"], "one@school.example.org")
    make_award(setup["issuer"], other, "two@school.example.org")
    path = f"/api/v1/issuers/{setup['slug']}/credentials"

    def total(query: str) -> int:
        response = call(client, "GET", f"{path}?{query}", setup["token"])
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["total"]

    assert total("issued_from=2000-01-01T00:00:00Z") == 2
    assert total("issued_before=2000-01-01T00:00:00Z") == 0
    assert total("updated_since=2000-01-01T00:00:00Z") == 2
    assert total(f"achievement={other.public_id}") == 1
    assert total("q=two@") == 1
    unknown = call(client, "GET", f"{path}?achievement=nope", setup["token"])
    assert unknown.status_code == 404
    bad = call(client, "GET", f"{path}?issued_from=yesterday", setup["token"])
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "issued_from"


def test_updated_since_finds_a_credential_whose_suspension_was_lifted(
    client, setup, make_award
) -> None:
    from dataclasses import replace as with_fields
    from datetime import timedelta

    from app.services.awarding import revocation
    from app.services.org.audit import Actor
    from app.wiring import service_env

    credential = make_award(setup["issuer"], setup["achievement"])
    make_award(setup["issuer"], setup["achievement"], "untouched@school.example.org")
    later = service_env().now + timedelta(hours=1)
    env = with_fields(service_env(), now=later, clock=lambda: later)
    revocation.suspend(credential, "Checking", actor=Actor(setup["owner"]), env=env)
    revocation.unsuspend(credential, "Checked", actor=Actor(setup["owner"]), env=env)
    since = (later - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    response = call(client, "GET", f"/api/v1/issuers/{setup['slug']}/credentials",
                    setup["token"], query_string={"updated_since": since})  # fmt: skip
    assert [c["id"] for c in response.get_json()["items"]] == [credential.id]
    assert response.get_json()["items"][0]["status"] == "valid"
