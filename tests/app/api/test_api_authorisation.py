"""The API's authorisation matrix: every ``/api/v1`` route, by scope, by the creator's role,
and with another organisation's token. Routes are read from the URL map, so a route added later is covered; the
scopes a route needs come from its ``requires`` declaration, checked against the table here.

A refusal (401, 403, or 404 for another organisation's object) changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import API_SCOPES, ROLES, AuditEvent, IssuedCredential
from app.services.awarding import bulk
from app.services.org import staff, tokens
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL

#: What each route needs (its own declaration must agree): "" is any token of the organisation.
EXPECTED_SCOPES = {
    "api.list_achievements": ("achievements:read",),
    "api.create_achievement": ("achievements:write",),
    "api.read_achievement": ("achievements:read",),
    "api.new_achievement_version": ("achievements:write",),
    "api.archive_achievement": ("achievements:write",),
    "api.restore_achievement": ("achievements:write",),
    "api.award": ("awards:write",),
    "api.award_bulk": ("awards:write",),
    "api.read_job": ("awards:write", "credentials:read"),
    "api.list_credentials": ("credentials:read",),
    "api.read_credential": ("credentials:read",),
    "api.revoke_credential": ("credentials:revoke",),
    "api.suspend_credential": ("credentials:revoke",),
    "api.unsuspend_credential": ("credentials:revoke",),
    "api.replace_credential": ("credentials:revoke",),
    "api.awards_report": ("credentials:read",),
    "api.read_issuer": ("",),
    "api.update_issuer": ("staff:write",),
    "api.list_staff": ("staff:write",),
    "api.invite_staff": ("staff:write",),
    "api.change_role": ("staff:write",),
    "api.list_audit_events": ("audit:read",),
    "api.verify": ("",),
}
#: Scopes a route needs besides one of the above (replacing revokes and issues).
EXPECTED_ALSO = {"api.replace_credential": ("awards:write",)}
CSV = b"email,name\nnew.teacher@school.example.org,New Teacher\n"


def api_rules(app: Flask) -> list[tuple[Any, str]]:
    """Every (rule, method) of the API blueprint."""
    return sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("api.")
            for method in sorted(rule.methods or ())
            if method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        ),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def build(rule: Any, values: dict[str, Any]) -> str:
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + argument + ">", str(values[argument]), path)
    return path


@pytest.fixture
def world(app, make_staff, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    env = service_env()
    owner_a, owner_b = make_staff("a@a.example.org"), make_staff("b@b.example.org")
    issuer_a = make_issuer("Issuer A", owner=owner_a)
    issuer_b = make_issuer("Issuer B", owner=owner_b)
    values = {}
    for key, issuer, owner in (("a", issuer_a, owner_a), ("b", issuer_b, owner_b)):
        achievement = make_achievement(issuer, f"{key} badge")
        credential = make_award(issuer, achievement, f"holder@{key}.example.org")
        job = bulk.create_job(issuer, achievement, filename="x.csv", data=CSV, actor=Actor(owner),
                              env=env, max_rows=10)  # fmt: skip
        values[key] = {"slug": issuer.slug, "public_id": achievement.public_id,
                       "credential_id": credential.id, "job_id": job.id, "staff_id": owner.id}  # fmt: skip
    return {"a": issuer_a, "b": issuer_b, "owner_a": owner_a, "owner_b": owner_b, "values": values}


def body_for(endpoint: str, values: dict[str, Any]) -> Any:
    """A plausible body, so an allowed request reaches the service (its answer may be any
    non-authorisation status)."""
    return {
        "api.create_achievement": {"name": "N", "description": "D", "criteria_markdown": "C"},
        "api.new_achievement_version": {"name": "N2", "description": "D", "criteria_markdown": "C"},
        "api.award": {"achievement": values["public_id"], "recipient": {"email": "r@x.example.org"}},
        "api.award_bulk": {"achievement": values["public_id"], "rows": [{"email": "s@x.example.org"}]},
        "api.revoke_credential": {"reason": "r"},
        "api.replace_credential": {"reason": "r", "recipient": {"email": "c@x.example.org"}},
        "api.suspend_credential": {"reason": "r"},
        "api.unsuspend_credential": {"reason": "r"},
        "api.update_issuer": {"name": "Renamed"},
        "api.invite_staff": {"email": "i@x.example.org", "name": "I", "role": "viewer"},
        "api.change_role": {"role": "owner"},
        "api.verify": {"credential": {}},
    }.get(endpoint, {})  # fmt: skip


def send(
    client: FlaskClient, rule: Any, method: str, token: str | None, values: dict[str, Any]
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {}
    if method != "GET":
        kwargs["json"] = body_for(rule.endpoint, values)
    return client.open(
        build(rule, values), method=method, headers=headers, base_url=BASE_URL, **kwargs
    )


def state() -> tuple[int, int]:
    events = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    credentials = db.session.scalar(select(func.count()).select_from(IssuedCredential)) or 0
    return events, credentials


def test_every_route_declares_the_expected_scopes(app: Flask) -> None:
    views = {rule.endpoint: app.view_functions[rule.endpoint] for rule, _ in api_rules(app)}
    assert {endpoint: view.api_scopes for endpoint, view in views.items()} == EXPECTED_SCOPES
    also = {endpoint: view.api_also for endpoint, view in views.items() if view.api_also}
    assert also == EXPECTED_ALSO


def permitted(endpoint: str, has: Callable[[str], bool]) -> bool:
    """Whether a token for which ``has(scope)`` holds may use the route."""
    needed = EXPECTED_SCOPES[endpoint]
    return ("" in needed or any(has(scope) for scope in needed)) and all(
        has(scope) for scope in EXPECTED_ALSO.get(endpoint, ())
    )


def test_without_a_token_every_route_is_401_and_changes_nothing(app, client, world) -> None:
    before = state()
    for rule, method in api_rules(app):
        response = send(client, rule, method, None, world["values"]["a"])
        assert response.status_code == 401, (method, rule.rule)
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert state() == before


def test_another_organisations_token_is_refused_everywhere(app, client, world, make_token) -> None:
    token_b = make_token(world["b"], world["owner_b"])  # every scope, made by B's owner
    before = state()
    for rule, method in api_rules(app):
        if rule.endpoint == "api.verify":
            continue  # not about any organisation's data
        response = send(client, rule, method, token_b, world["values"]["a"])
        expected = 403 if "slug" in rule.arguments else 404
        assert response.status_code == expected, (
            method,
            rule.rule,
            response.get_data(as_text=True),
        )
    assert state() == before


@pytest.mark.parametrize("scope", API_SCOPES)
def test_a_token_with_one_scope_may_use_only_its_routes(
    app, client, world, make_token, scope
) -> None:
    token = make_token(world["a"], world["owner_a"], (scope,))
    for rule, method in api_rules(app):
        before = state()
        response = send(client, rule, method, token, world["values"]["a"])
        if permitted(rule.endpoint, lambda s: s == scope):
            assert response.status_code not in (401, 403), (scope, method, rule.rule)
            assert response.status_code < 500, (scope, method, rule.rule)
        else:
            assert response.status_code == 403, (scope, method, rule.rule)
            assert response.get_json()["error"]["code"] == "forbidden"
            assert state() == before, (scope, method, rule.rule)


@pytest.mark.parametrize("role", [*ROLES, None])
def test_a_token_never_does_more_than_its_creators_current_role(
    app, client, world, make_staff, make_token, role
) -> None:
    """Made by an owner with every scope; then the creator becomes ``role`` (None: removed)."""
    creator = make_staff("creator@a.example.org")
    staff.set_role(world["a"], creator, "owner", actor=Actor(world["owner_a"]), env=service_env())
    token = make_token(world["a"], creator)
    staff.set_role(world["a"], creator, role, actor=Actor(world["owner_a"]), env=service_env())
    for rule, method in api_rules(app):
        allowed = role is not None and permitted(rule.endpoint, lambda s: tokens.allows(role, s))
        before = state()
        response = send(client, rule, method, token, world["values"]["a"])
        if allowed:
            assert response.status_code not in (401, 403), (role, method, rule.rule)
            assert response.status_code < 500, (role, method, rule.rule)
        else:
            assert response.status_code == 403, (role, method, rule.rule)
            assert state() == before, (role, method, rule.rule)


def test_a_revoked_or_expired_token_is_401(app, client, world, make_token) -> None:
    secret = make_token(world["a"], world["owner_a"])
    token = tokens.authenticate(secret, env=service_env())
    tokens.revoke(token, actor=Actor(world["owner_a"]), env=service_env())
    rule = next(r for r, m in api_rules(app) if r.endpoint == "api.list_achievements")
    assert send(client, rule, "GET", secret, world["values"]["a"]).status_code == 401
