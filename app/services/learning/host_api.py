"""What the OB 3.0 API serves of an educator's backpack: their credentials as stored and signed
(Cairn's own and the verified imports), paged, and their profile as an OB 3.0 ``Profile``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from app.models import Educator
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid
from app.services.learning import educators, imports
from credentials import ISSUER_NOT_CONFIRMED, VALID
from schemas.educators import AccountSchema
from schemas.errors import flat_errors


@dataclass(frozen=True)
class StoredCredential:
    """One credential as the API hands it out: the signed ``document`` (JSON text, or a compact
    JWS) and when it reached the backpack."""

    document: str
    arrived_at: datetime

    @property
    def is_jws(self) -> bool:
        """A compact JWS (``compactJwsString``), not a JSON credential (``credential``)."""
        return not self.document.lstrip().startswith("{")

    def as_json(self) -> dict[str, Any]:
        """The JSON credential (only when not a JWS)."""
        parsed: dict[str, Any] = json.loads(self.document)
        return parsed


def credentials(educator: Educator, *, since: datetime | None = None) -> list[StoredCredential]:
    """Every credential in the educator's backpack whose signature verified when it arrived
    (what an upsert accepts), newest first: Cairn's own (awarded to a confirmed address) and
    imported ones, each exactly as signed."""
    found = [
        StoredCredential(c.document, c.issued_at) for c in educators.credentials_of(educator)
    ] + [
        StoredCredential(i.document, i.imported_at)
        for i in imports.list_for(educator)
        if imports.report_of(i).outcome in (VALID, ISSUER_NOT_CONFIRMED)
    ]
    if since is not None:
        found = [c for c in found if c.arrived_at >= since]
    return sorted(found, key=lambda c: c.arrived_at, reverse=True)


def profile_id(educator: Educator, env: ServiceEnv) -> str:
    """The educator's profile ``id``: the address of their profile page (shown only if they
    made it public)."""
    return f"{env.base_url}/people/{educator.profile_slug}"


def profile(educator: Educator, env: ServiceEnv) -> dict[str, Any]:
    """The educator as an OB 3.0 ``Profile``: name, bio as description, and primary address."""
    body: dict[str, Any] = {
        "id": profile_id(educator, env),
        "type": ["Profile"],
        "name": educator.name,
    }
    if educator.bio:
        body["description"] = educator.bio
    email = educators.primary_email(educator)
    if email:
        body["email"] = email
    return body


def update_profile(educator: Educator, sent: Mapping[str, Any], env: ServiceEnv) -> None:
    """Take the name and description of a ``Profile`` an application sent (the account form's
    rules apply); the id, type and addresses stay Cairn's (addresses are confirmed by email in
    the account). Committed.

    :raises Invalid: when it is not a Profile, or its name or description is unusable.
    """
    kind = sent.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "Profile" not in kinds:
        raise Invalid("The body must be an OB 3.0 Profile (its type includes Profile).", "type")
    name = sent.get("name", educator.name)
    description = sent.get("description")
    try:
        data = AccountSchema().load(
            {
                "name": name if isinstance(name, str) else "",
                "bio": description if isinstance(description, str) else "",
                "profile_public": bool(educator.profile_public),
            }
        )
    except ValidationError as error:
        field, message = next(iter(flat_errors(error, first=True).items()))
        raise Invalid(message, {"bio": "description"}.get(field, field)) from error
    educators.update_account(
        educator,
        name=data["name"],
        bio=data.get("bio") or None,
        profile_public=bool(educator.profile_public),
        env=env,
    )
