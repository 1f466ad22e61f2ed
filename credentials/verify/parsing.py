"""Turn a verifier's input (JSON, a compact JWS, a baked PNG or SVG, bytes) into a credential.

Every unreadable input becomes a report with one failed ``parse`` check, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from credentials import baking
from credentials.errors import CredentialError
from credentials.proofs import jwt as vc_jwt
from credentials.verify.report import MAX_INPUT_BYTES, VerificationReport, failed_parse

#: ``(format, credential, decoded JWT or None)``, or the report of why the input is unreadable.
Parsed = tuple[str, dict[str, Any], vc_jwt.DecodedJwt | None] | VerificationReport


def describe_format(fmt: str) -> str:
    """The ``parse`` check's message for an input read in format ``fmt``."""
    return {
        "json": "Read a JSON credential.",
        "jwt": "Read a VC-JWT credential.",
        "png/json": "Read the credential baked into a PNG image.",
        "png/jwt": "Read the VC-JWT baked into a PNG image.",
        "svg/json": "Read the credential baked into an SVG image.",
        "svg/jwt": "Read the VC-JWT baked into an SVG image.",
    }.get(fmt, "Read the credential.")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses ``NaN`` and ``Infinity``, which are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def parse(data: Any) -> Parsed:
    """Turn any supported input into ``(format, credential, decoded JWT or None)``."""
    if isinstance(data, Mapping):
        return "json", dict(data), None
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray):
        return failed_parse("unknown", "The input is not JSON, a JWT, or a baked image.")
    raw = bytes(data)
    if len(raw) > MAX_INPUT_BYTES:
        return failed_parse(
            "unknown",
            f"The input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB.",
            "too_large",
        )
    image_format = baking.detect_image_format(raw)
    if image_format is not None:
        return _parse_image(raw, image_format)
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return failed_parse("unknown", "The input is not text, a PNG or an SVG image.")
    return _parse_text(text, "")


def _parse_image(raw: bytes, image_format: str) -> Parsed:
    try:
        payload = baking.unbake(raw)
    except CredentialError as exc:
        return failed_parse(
            image_format, f"The {image_format.upper()} image is unusable: {exc.message}"
        )
    if payload is None:
        return failed_parse(
            image_format,
            f"This {image_format.upper()} image has no credential baked into it.",
            "not_baked",
        )
    if payload.ob_version == "2.0":
        return failed_parse(
            "ob2",
            "This is an Open Badges 2.0 badge image. Cairn verifies Open Badges 3.0 credentials; "
            "check OB 2.0 badges with an OB 2.0 validator.",
            "ob2",
        )
    return _parse_text(payload.text, image_format + "/")


def _parse_text(text: str, prefix: str) -> Parsed:
    if text.startswith("{"):
        try:
            value = strict_json(text)
        except (ValueError, RecursionError) as exc:
            return failed_parse(prefix + "json", f"The JSON is malformed: {exc}")
        if not isinstance(value, dict):
            return failed_parse(prefix + "json", "The JSON is not an object.")
        return prefix + "json", value, None
    if vc_jwt.looks_like_jws(text):
        try:
            decoded = vc_jwt.decode_jwt(text)
        except CredentialError as exc:
            return failed_parse(prefix + "jwt", f"The JWT is unusable: {exc.message}")
        return prefix + "jwt", dict(decoded.credential), decoded
    return failed_parse("unknown", "The input is not JSON, a JWT, or a baked PNG/SVG image.")
