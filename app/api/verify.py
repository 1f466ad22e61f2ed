"""``POST /api/v1/verify``: verify a credential (ours or another issuer's), as ``/api/verify``
does, for a token holder."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.api.core import ANY_SCOPE, ErrorSchema, bp, requires
from app.api.schemas import VerifyOut
from app.services._core.errors import Invalid
from app.services.verification import verifier
from app.wiring import fetcher, service_env


class VerifyIn(Schema):
    """A credential: a JSON-LD object, or a VC-JWT as a string; optionally the recipient's
    email address to check it was issued to."""

    credential = fields.Raw(required=True)
    recipient = fields.Email(load_default=None)


@bp.route("/verify", methods=["POST"])
@requires(ANY_SCOPE)
@bp.arguments(VerifyIn)
@bp.response(200, VerifyOut)
@bp.alt_response(422, schema=ErrorSchema, description="Not a credential at all")
def verify(data: dict[str, Any]) -> Any:
    """Verify an Open Badges 3.0 credential: `outcome` is `valid`, `issuer_not_confirmed` or
    `not_valid`, with each check."""
    credential = data["credential"]
    if not isinstance(credential, (dict, str)):
        raise Invalid("Send the credential as a JSON object or a VC-JWT string.", "credential")
    report = verifier.verify(credential, env=service_env(), fallback=fetcher(),
                             recipient=data["recipient"])  # fmt: skip
    parse = report.check("parse")
    if parse is not None and parse.status == "fail":
        raise Invalid(parse.message, "credential")
    words = verifier.verdict(report)
    checks = [check.as_json() for check in report.checks]
    return {"outcome": report.outcome, "summary": f"{words['title']}: {words['detail']}",
            "checks": checks}  # fmt: skip
