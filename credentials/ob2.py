"""Open Badges 2.0 hosted objects (Assertion, BadgeClass, Issuer) made from an OB 3.0 credential,
for backpacks and displayers that only speak OB 2.0.

https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/index.html

Pure functions: dicts in, dicts out. The caller names the URLs (where each object is hosted);
an OB 2.0 hosted Assertion is verified by fetching its ``id``, so every id here is an http(s)
URL on the issuer's host. The recipient is the OB 3.0 credential's own salted SHA-256 email
identifier (the same ``sha256$`` hash and salt: both specifications hash ``value + salt``), so
both forms name the earner the same way and neither publishes the address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The OB 2.0 JSON-LD context (bundled: ``credentials/jsonld/contexts/openbadges_v2_context.json``).
OB2_CONTEXT = "https://w3id.org/openbadges/v2"


@dataclass(frozen=True)
class Ob2Urls:
    """Where the three hosted objects of one credential live."""

    assertion: str
    badge: str
    issuer: str


def assertion(credential: Mapping[str, Any], urls: Ob2Urls) -> dict[str, Any]:
    """The OB 2.0 hosted ``Assertion`` of an OB 3.0 ``OpenBadgeCredential`` (its payload).

    :raises ValueError: when the credential has no hashed email identifier (an OB 2.0
        recipient must be one) or no issue date.
    """
    subject = credential.get("credentialSubject") or {}
    issued = credential.get("awardedDate") or credential.get("validFrom")
    if not isinstance(issued, str) or not issued:
        raise ValueError("the credential has no issue date")
    document: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": urls.assertion,
        "recipient": recipient(subject),
        "badge": urls.badge,
        "verification": {"type": "hosted"},
        "issuedOn": issued,
    }
    if isinstance(credential.get("validUntil"), str):
        document["expires"] = credential["validUntil"]
    if isinstance(subject.get("narrative"), str) and subject["narrative"]:
        document["narrative"] = subject["narrative"]
    evidence = [_evidence(item) for item in credential.get("evidence") or []]
    if any(evidence):
        document["evidence"] = [item for item in evidence if item]
    return document


def recipient(subject: Mapping[str, Any]) -> dict[str, Any]:
    """The OB 2.0 ``IdentityObject``: the subject's hashed email identifier, as it is.

    :raises ValueError: when there is none.
    """
    for item in subject.get("identifier") or []:
        if (
            isinstance(item, Mapping)
            and item.get("identityType") == "emailAddress"
            and item.get("hashed") is True
            and isinstance(item.get("identityHash"), str)
        ):
            found: dict[str, Any] = {
                "type": "email",
                "hashed": True,
                "identity": item["identityHash"],
            }
            if isinstance(item.get("salt"), str):
                found["salt"] = item["salt"]
            return found
    raise ValueError("the credential names no hashed email recipient")


def _evidence(item: Any) -> dict[str, Any] | None:
    """OB 2.0 ``Evidence`` keeps the same names; only the single type changes."""
    if not isinstance(item, Mapping):
        return None
    kept = {
        key: item[key]
        for key in ("id", "name", "description", "narrative", "genre", "audience")
        if isinstance(item.get(key), str) and item[key]
    }
    if not kept:
        return None
    return {"type": "Evidence", **kept}


def revoked_assertion(assertion_url: str, reason: str) -> dict[str, Any]:
    """What a revoked hosted Assertion answers (with HTTP 410 Gone): OB 2.0 requires only ``id``
    and ``revoked``; the reason is the one meant for the public."""
    return {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": assertion_url,
        "revoked": True,
        "revocationReason": reason,
    }


def badge_class(
    achievement: Mapping[str, Any],
    *,
    url: str,
    issuer_url: str,
    image_url: str,
    criteria_url: str | None,
) -> dict[str, Any]:
    """The OB 2.0 ``BadgeClass`` of an OB 3.0 ``Achievement``.

    ``criteria_url`` is a page describing the criteria (OB 2.0 ``Criteria.id``); the narrative is
    kept as well. Alignments without a URL are left out: OB 2.0 requires ``targetUrl``.
    """
    criteria: dict[str, Any] = {}
    if criteria_url:
        criteria["id"] = criteria_url
    narrative = (achievement.get("criteria") or {}).get("narrative")
    if isinstance(narrative, str) and narrative:
        criteria["narrative"] = narrative
    document: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "type": "BadgeClass",
        "id": url,
        "name": str(achievement.get("name") or ""),
        "description": str(achievement.get("description") or ""),
        "image": image_url,
        "criteria": criteria,
        "issuer": issuer_url,
    }
    alignments = [_alignment(a) for a in achievement.get("alignment") or []]
    if any(alignments):
        document["alignment"] = [a for a in alignments if a]
    tags = [tag for tag in achievement.get("tag") or [] if isinstance(tag, str) and tag]
    if tags:
        document["tags"] = tags
    return document


def _alignment(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping) or not item.get("targetUrl") or not item.get("targetName"):
        return None
    kept = {
        key: item[key]
        for key in ("targetName", "targetUrl", "targetFramework", "targetCode")
        if isinstance(item.get(key), str) and item[key]
    }
    if isinstance(item.get("targetDescription"), str) and item["targetDescription"]:
        kept["description"] = item["targetDescription"]
    return kept


def issuer_profile(
    *,
    url: str,
    name: str,
    homepage: str,
    email: str,
    description: str | None = None,
    image_url: str | None = None,
) -> dict[str, Any]:
    """The OB 2.0 ``Issuer`` profile: ``url`` is where it is hosted (its ``id``), ``homepage``
    the organisation's site (OB 2.0 ``url``); OB 2.0 requires a contact ``email``."""
    document: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "type": "Issuer",
        "id": url,
        "name": name,
        "url": homepage,
        "email": email,
    }
    if description:
        document["description"] = description
    if image_url:
        document["image"] = image_url
    return document
