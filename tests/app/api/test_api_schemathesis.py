"""Property-based tests of the issuer API against its own OpenAPI document (schemathesis, in
process through WSGI, no network): for every operation, generated requests with a token of every
scope never get a 5xx and every answer conforms to the document; the same request with a token
lacking the operation's scope is 403 and changes nothing.

Kept to a few examples per operation (``MAX_EXAMPLES``) so the run takes about a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from app.extensions import db
from app.models import API_SCOPES, AuditEvent, IssuedCredential
from tests.app.api.test_api_authorisation import EXPECTED_ALSO, EXPECTED_SCOPES

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def state() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        db.session.scalar(select(func.count()).select_from(IssuedCredential)) or 0,
    )


@pytest.fixture
def api_world(
    app, make_staff, make_issuer, make_achievement, make_award, make_token
) -> dict[str, Any]:
    owner = make_staff("owner@a.example.org")
    issuer = make_issuer("Issuer A", owner=owner)
    achievement = make_achievement(issuer, "Formative Assessment")
    credential = make_award(issuer, achievement, "holder@a.example.org")
    return {
        "every_scope": make_token(issuer, owner, API_SCOPES),
        # For each scope, a token with every other scope.
        "without": {
            s: make_token(issuer, owner, [o for o in API_SCOPES if o != s]) for s in API_SCOPES
        },
        "path": {
            "slug": issuer.slug,
            "public_id": achievement.public_id,
            "credential_id": credential.id,
            "staff_id": owner.id,
        },
    }


def operations(app) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) == len(EXPECTED_SCOPES)
    return found


#: Few examples, no example database, the same examples every run.
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def strategy(operation: Any, world: dict[str, Any]) -> Any:
    """Cases for ``operation`` about the real organisation (else everything would be 403)."""
    fixed = {k: v for k, v in world["path"].items() if f"{{{k}}}" in operation.path}
    return operation.as_strategy(path_parameters=fixed)


def conforms(operation: Any, world: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {world['every_scope']}"}

    @SETTINGS
    @given(case=strategy(operation, world))
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def refused_without(operation: Any, scopes: tuple[str, ...], world: dict[str, Any]) -> None:
    @SETTINGS
    @given(case=strategy(operation, world))
    def run(case: Any) -> None:
        for scope in scopes:
            before = state()
            headers = {"Authorization": f"Bearer {world['without'][scope]}"}
            response = case.call(headers=headers)
            if len(scopes) == 1:  # with two, a token without one still has the other
                assert response.status_code == 403, (operation.path, response.text)
            assert state() == before, operation.path

    run()


def test_generated_requests_get_no_5xx_and_conforming_answers(app, api_world) -> None:
    for operation in operations(app):
        conforms(operation, api_world)


def test_no_write_without_the_scope(app, api_world) -> None:
    for operation in operations(app):
        endpoint = "api." + operation.definition.raw["operationId"]
        scopes = EXPECTED_SCOPES[endpoint]
        if operation.method.upper() != "GET" and "" not in scopes:
            refused_without(operation, scopes, api_world)
        for scope in EXPECTED_ALSO.get(endpoint, ()):
            refused_without(operation, (scope,), api_world)
