"""``/api/docs``: the API's documentation page, rendered on the server from the OpenAPI document
(no script, nothing from a CDN), with curl and Python samples for every operation."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template

from app.wiring import base_url

docs_bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")
#: The webhook events in words, in the order of ``WEBHOOK_EVENT_TYPES`` (a test keeps them equal).
WEBHOOK_EVENTS = (
    ("credential.issued", "a credential was awarded (one award, a bulk row, a replacement)"),
    ("credential.claimed", "its recipient accepted it into their backpack"),
    ("credential.revoked", "it was revoked (or replaced by a corrected one)"),
    ("credential.suspended", "it was suspended"),
    ("credential.unsuspended", "its suspension was lifted"),
    ("job.finished", "a bulk award job finished or failed; read its rows at the job's url"),
)
#: What a ``credential.issued`` delivery looks like (the shape ``webhooks.reactions`` sends).
WEBHOOK_SAMPLE: dict[str, Any] = {
    "type": "credential.issued",
    "timestamp": "2026-12-05T14:31:07Z",
    "data": {
        "id": "0b6f0a52-3f0e-4a57-9d55-2f1f4f8f8a10",
        "url": "https://badges.example.org/credentials/0b6f0a52-3f0e-4a57-9d55-2f1f4f8f8a10",
        "issuer": "district-7",
        "achievement": {"id": "ACHIEVEMENT_ID", "name": "Formative Assessment in Practice"},
        "status": "valid",
        "issued_at": "2026-12-05T14:31:07Z",
        "valid_until": "2028-06-30T23:59:59Z",
        "claimed": False,
        "replaced_by": None,
        "bulk_job": None,
    },
}
#: A sample body per operation that takes one (the rest are built from the schema's fields).
SAMPLES: dict[str, dict[str, Any]] = {
    "award": {
        "achievement": "ACHIEVEMENT_ID",
        "recipient": {"email": "teacher@school.example.org", "name": "Ada Teacher"},
        "evidence": [{"url": "https://lms.example.org/courses/7/completion"}],
        "narrative": "Completed the formative assessment module.",
        "valid_until": "2028-06-30",
    },
    "award_bulk": {
        "achievement": "ACHIEVEMENT_ID",
        "rows": [
            {"email": "one@school.example.org", "name": "One Teacher"},
            {"email": "two@school.example.org", "name": "Two Teacher", "expiry": "never"},
        ],
    },
    "revoke_credential": {
        "reason": "Awarded to the wrong person",
        "public_reason": "issued_in_error",
    },
    "suspend_credential": {"reason": "Under review"},
    "replace_credential": {
        "reason": "Name misspelt",
        "recipient": {"email": "teacher@school.example.org", "name": "Ada Teacher"},
    },
    "unsuspend_credential": {"reason": "Review finished"},
    "create_achievement": {
        "name": "Formative Assessment in Practice",
        "description": "Completed the formative assessment module.",
        "criteria_markdown": "Complete every activity and a reflection.",
    },
    "invite_staff": {
        "email": "new.colleague@district.example.org",
        "name": "New Colleague",
        "role": "awarder",
    },
    "change_role": {"role": "editor"},
    "verify": {"credential": {"@context": ["https://www.w3.org/ns/credentials/v2"], "…": "…"}},
}


def _sample_path(path: str) -> str:
    return (
        path.replace("{slug}", "your-organisation")
        .replace("{public_id}", "ACHIEVEMENT_ID")
        .replace("{credential_id}", "CREDENTIAL_ID")
        .replace("{job_id}", "JOB_ID")
        .replace("{staff_id}", "42")
    )


def _samples(method: str, path: str, body: dict[str, Any] | None) -> dict[str, str]:
    url = base_url() + _sample_path(path)
    curl = [f"curl -X {method.upper()} '{url}'", '  -H "Authorization: Bearer $CAIRN_TOKEN"']
    python = [
        "import os, requests",
        "",
        f"response = requests.{method}(",
        f'    "{url}",',
        '    headers={"Authorization": f"Bearer {os.environ[\'CAIRN_TOKEN\']}"},',
    ]
    if body is not None:
        text = json.dumps(body, indent=2, ensure_ascii=False)
        curl.append('  -H "Content-Type: application/json"')
        if method == "post":
            curl.append('  -H "Idempotency-Key: $(uuidgen)"')
        curl.append("  -d '" + text.replace("'", "'\\''") + "'")
        python.append("    json=" + text.replace("\n", "\n    ") + ",")
    python += [")", "response.raise_for_status()", "print(response.json())"]
    return {"curl": " \\\n".join(curl), "python": "\n".join(python)}


def _resolve(spec: dict[str, Any], item: Any) -> Any:
    """``item`` with a local ``$ref`` followed (once per level)."""
    while isinstance(item, dict) and "$ref" in item:
        node: Any = spec
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node.get(part, {})
        item = node
    return item


def _type(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    schema = _resolve(spec, schema)
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if kind == "array":
        return f"array of {_type(spec, schema.get('items', {}))}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(str(v) for v in schema["enum"] if v is not None)
    return str(kind)


def body_fields(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON request body's members (one level, nested objects named by their type)."""
    content = _resolve(spec, operation.get("requestBody", {})).get("content", {})
    schema = _resolve(spec, content.get("application/json", {}).get("schema", {}))
    required = set(schema.get("required", []))
    found = []
    for name, member in schema.get("properties", {}).items():
        member = _resolve(spec, member)
        nested = member.get("properties")
        found.append(
            {
                "name": name,
                "type": "object: " + ", ".join(nested) if nested else _type(spec, member),
                "required": name in required,
                "description": member.get("description", ""),
            }
        )
    return found


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's operations, in its order, with what the page shows of each."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            name = operation.get("operationId") or f"{method}{path}"
            body = SAMPLES.get(name) if "requestBody" in operation else None
            if body is None and "requestBody" in operation:
                body = {}
            parameters = [
                p for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                if isinstance(p, dict) and "name" in p
            ]  # fmt: skip
            found.append(
                {
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "tags": operation.get("tags", []),
                    "parameters": parameters,
                    "responses": [
                        (status, _resolve(spec, answer).get("description", ""))
                        for status, answer in sorted(operation.get("responses", {}).items())
                    ],
                    "body": body_fields(spec, operation),
                    "samples": _samples(method, path, body),
                }
            )
    return found


@docs_bp.get("/api/docs")
def api_docs() -> str:
    """The documentation page."""
    from app.api import api

    spec = api.spec.to_dict()
    return render_template(
        "api/docs.html",
        spec=spec,
        operations=operations(spec),
        openapi_url="/api/v1/openapi.json",
        webhook_events=WEBHOOK_EVENTS,
        webhook_sample=json.dumps(WEBHOOK_SAMPLE, indent=2),
    )
