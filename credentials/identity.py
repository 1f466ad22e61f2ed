"""Recipient identity: ``IdentityObject`` entries, hashed with a per-award salt.

https://www.imsglobal.org/spec/ob/v3p0/#identityobject

Email normalisation (Cairn's documented rule, applied before hashing and before matching):
surrounding whitespace is trimmed and the whole address is lower-cased. The OB 3.0 spec leaves
normalisation open; lower-casing the local part too means ``Ann@X.org`` and ``ann@x.org`` match,
which is what people expect although RFC 5321 allows case-sensitive local parts.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

EMAIL_ADDRESS = "emailAddress"


def normalise_email(email: str) -> str:
    """Trim and lower-case an email address (Cairn's rule; see the module docstring)."""
    return email.strip().lower()


def normalise_identifier(value: str, identity_type: str) -> str:
    """Normalise an identifier of the given ``identityType`` before hashing or comparing."""
    if identity_type == EMAIL_ADDRESS:
        return normalise_email(value)
    return value.strip()


def identity_hash(value: str, salt: str) -> str:
    """``sha256$<hex>`` of UTF-8(value + salt), the OB 3.0 IdentityHash format."""
    digest = hashlib.sha256((value + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def identity_object(
    value: str, *, identity_type: str = EMAIL_ADDRESS, salt: str | None, hashed: bool = True
) -> dict[str, Any]:
    """Build an ``IdentityObject``.

    :param value: the identifier, e.g. an email address.
    :param salt: a fresh random salt for this award (required when ``hashed``); the caller
        supplies it because this library has no randomness of its own.
    :param hashed: False publishes the identifier in the clear (e.g. a display name).
    :raises ValueError: when a hashed identity has no salt.
    """
    normalised = normalise_identifier(value, identity_type)
    if not hashed:
        return {
            "type": "IdentityObject",
            "identityHash": normalised,
            "identityType": identity_type,
            "hashed": False,
        }
    if not salt:
        raise ValueError("a hashed identity needs a salt (one fresh salt per award)")
    return {
        "type": "IdentityObject",
        "identityHash": identity_hash(normalised, salt),
        "identityType": identity_type,
        "hashed": True,
        "salt": salt,
    }


def identity_matches(identity: Mapping[str, Any], value: str, identity_type: str) -> bool:
    """Whether an ``IdentityObject`` identifies ``value`` (hashed or plain).

    Accepts ``sha256$`` and legacy ``md5$`` hashes, with upper- or lower-case hex.
    """
    if identity.get("identityType") != identity_type:
        return False
    recorded = identity.get("identityHash")
    if not isinstance(recorded, str):
        return False
    normalised = normalise_identifier(value, identity_type)
    if identity.get("hashed") is not True:
        return hmac.compare_digest(recorded.strip().encode(), normalised.encode())
    salt = identity.get("salt") or ""
    if not isinstance(salt, str):
        return False
    algorithm, _, hex_digest = recorded.partition("$")
    if algorithm == "sha256":
        expected = hashlib.sha256((normalised + salt).encode("utf-8")).hexdigest()
    elif algorithm == "md5":
        expected = hashlib.md5(
            (normalised + salt).encode("utf-8"), usedforsecurity=False
        ).hexdigest()
    else:
        return False
    return hmac.compare_digest(expected, hex_digest.lower())


def subject_matches(subject: Mapping[str, Any], value: str) -> bool:
    """Whether a ``credentialSubject`` names ``value``: its ``id`` or any identifier.

    An email is tried against ``emailAddress`` identifiers and ``mailto:`` ids; any other value
    against the subject ``id`` and identifiers of every type.
    """
    stripped = value.strip()
    subject_id = subject.get("id")
    if isinstance(subject_id, str):
        if subject_id == stripped:
            return True
        if "@" in stripped and subject_id.lower() == "mailto:" + normalise_email(stripped):
            return True
    identifiers = subject.get("identifier")
    if not isinstance(identifiers, list):
        identifiers = [identifiers] if isinstance(identifiers, dict) else []
    for identity in identifiers:
        if not isinstance(identity, Mapping):
            continue
        identity_type = identity.get("identityType")
        if not isinstance(identity_type, str):
            continue
        if identity_type == EMAIL_ADDRESS and "@" not in stripped:
            continue
        if identity_matches(identity, stripped, identity_type):
            return True
    return False
