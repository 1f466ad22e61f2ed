"""The credit a signed credential carries, read from its document: ``creditsEarned`` when
recorded, else its achievement's ``creditsAvailable``, and the unit of its credit. Read once
when it is issued or imported and stored with it (``issued_credential.credit`` and
``credit_unit``), so reports sum the stored columns instead of parsing documents."""

from __future__ import annotations

import json
from typing import Any

import credentials
from credentials import decode_jwt


def payload(document: str) -> dict[str, Any]:
    """The credential a stored document signs: the JSON itself (Data Integrity) or the JWT's
    ``vc`` claims (compact JWS)."""
    if document.startswith("{"):
        parsed: dict[str, Any] = json.loads(document)
        return parsed
    return dict(decode_jwt(document).credential)


def number(value: Any) -> float | None:
    """``value`` as credit, when it is a number (a boolean or text is no credit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def credit_unit(achievement: dict[str, Any]) -> str | None:
    """The unit of an OB 3.0 achievement's credit: the code of its credit ``ResultDescription``
    (``…#credit-<code>``, resultType ``ext:CreditUnit``), or none (hours, unit not stated)."""
    for description in achievement.get("resultDescription") or []:
        if not isinstance(description, dict):
            continue
        if description.get("resultType") != credentials.CREDIT_RESULT_TYPE:
            continue
        code = str(description.get("id") or "").rpartition("#credit-")[2]
        if code in credentials.CREDIT_UNITS:
            return code
    return None


def credit_in(document: dict[str, Any]) -> tuple[float | None, str | None]:
    """The credit a parsed credential carries and its unit."""
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    earned = number(subject.get("creditsEarned"))
    credited = earned if earned is not None else number(achievement.get("creditsAvailable"))
    return credited, credit_unit(achievement)


def credit_of_document(document: str) -> tuple[float | None, str | None]:
    """The credit a stored document (JSON or compact JWS) carries and its unit."""
    return credit_in(payload(document))
