"""Bake Open Badges credentials into PNG and SVG images, and read them back out.

https://www.imsglobal.org/spec/ob/v3p0/#baking
OB 2.0: https://www.imsglobal.org/sites/default/files/Badges/OBv2p0Final/baking/index.html

Bytes in, bytes out: no file I/O, no network, and the image itself is never decoded.
Every bad input raises :class:`credentials.errors.BakingError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from credentials.errors import BakingError

MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Largest image (in or out) we handle; badge images are small, and this bounds the work."""

ImageFormat = Literal["png", "svg"]
PayloadKind = Literal["json", "jws", "url"]


@dataclass(frozen=True)
class BakedPayload:
    """What an image carries: the credential text and how to read it.

    ``kind`` is ``"json"`` for a credential with an embedded proof, ``"jws"`` for a compact
    JWS (VC-JWT), and ``"url"`` for an OB 2.0 hosted assertion (OB 3.0 has no URL form).
    """

    ob_version: Literal["3.0", "2.0"]
    kind: PayloadKind
    text: str
    image_format: ImageFormat


# Compact JWS: three non-empty base64url parts. Explicit ASCII classes, because \w would
# also accept non-ASCII letters.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_HOSTED_URL = re.compile(r"https?://[!-~]+")


def _check_size(data: bytes, what: str = "image") -> None:
    """Refuse inputs (and outputs) above :data:`MAX_IMAGE_BYTES`.

    :raises BakingError: when ``data`` is too large.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise BakingError(
            f"{what} is {len(data)} bytes, more than the {MAX_IMAGE_BYTES}-byte limit"
        )


def _prepare_payload(payload: str) -> tuple[PayloadKind, str]:
    """Check that a payload is a JSON credential or a compact JWS before it goes into an image.

    Surrounding whitespace is dropped: it carries no meaning, and SVG unbaking strips it anyway.

    :param payload: JSON text of a signed credential, or a compact JWS.
    :returns: the kind (``"json"`` or ``"jws"``) and the stripped text.
    :raises BakingError: when the payload is neither, or cannot be written as UTF-8.
    """
    if not isinstance(payload, str):
        raise BakingError("the payload to bake must be text (str)")
    if len(payload) > MAX_IMAGE_BYTES:
        # Checked before parsing so an absurd payload costs nothing; it could not fit anyway.
        raise BakingError(f"the payload is larger than the {MAX_IMAGE_BYTES}-byte image limit")
    text = payload.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: the image would have to hold invalid UTF-8.
        raise BakingError(
            "the payload contains characters that cannot be written as UTF-8"
        ) from None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BakingError(
                f"the payload starts with '{{' but is not valid JSON: {exc}"
            ) from None
        if not isinstance(value, dict):
            raise BakingError("the JSON payload must be a JSON object (a credential)")
        return "json", text
    if _COMPACT_JWS.fullmatch(text):
        return "jws", text
    raise BakingError(
        "the payload is neither a JSON credential (starting with '{') "
        "nor a compact JWS (header.payload.signature)"
    )


def _ob3_payload(text: str, image_format: ImageFormat) -> BakedPayload:
    """Classify the text found in an OB 3.0 slot (``openbadgecredential`` / ``credential``).

    :raises BakingError: when it is empty or neither JSON nor a compact JWS.
    """
    text = text.strip()
    if text.startswith("{"):
        return BakedPayload("3.0", "json", text, image_format)
    if _COMPACT_JWS.fullmatch(text):
        return BakedPayload("3.0", "jws", text, image_format)
    if not text:
        raise BakingError("the image has an Open Badges 3.0 credential slot, but it is empty")
    raise BakingError(
        "the Open Badges 3.0 credential in the image is neither JSON nor a compact JWS"
    )


def _ob2_payload(text: str, image_format: ImageFormat) -> BakedPayload:
    """Classify the text found in an OB 2.0 slot (``openbadges`` / ``assertion``).

    :raises BakingError: when it is empty or not JSON, a compact JWS or an http(s) URL.
    """
    text = text.strip()
    if text.startswith("{"):
        return BakedPayload("2.0", "json", text, image_format)
    if _COMPACT_JWS.fullmatch(text):
        return BakedPayload("2.0", "jws", text, image_format)
    if _HOSTED_URL.fullmatch(text):
        return BakedPayload("2.0", "url", text, image_format)
    if not text:
        raise BakingError("the image has an Open Badges 2.0 assertion slot, but it is empty")
    raise BakingError(
        "the Open Badges 2.0 assertion in the image is not JSON, a compact JWS or an http(s) URL"
    )


# The format modules import the shared definitions above, so they can only be imported
# once those exist; keeping them here avoids a private helper module.
from credentials.baking.png import (  # noqa: E402
    PNG_SIGNATURE,
    bake_clr_png,
    bake_ob2_png,
    bake_png,
    unbake_clr_png,
    unbake_png,
)
from credentials.baking.svg import bake_svg, looks_like_svg, unbake_svg  # noqa: E402


def detect_image_format(data: bytes) -> ImageFormat | None:
    """Tell PNG from SVG by content, not by file name or media type.

    This is a cheap sniff (PNG signature; XML whose first element is ``svg``); full
    validation happens when baking or unbaking.

    :param data: the image bytes.
    :returns: ``"png"``, ``"svg"``, or ``None`` when it looks like neither.
    """
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if looks_like_svg(data):
        return "svg"
    return None


def _format_or_raise(image: bytes) -> ImageFormat:
    if not isinstance(image, bytes | bytearray | memoryview):
        raise BakingError("the image must be bytes")
    _check_size(bytes(image))
    image_format = detect_image_format(bytes(image))
    if image_format is None:
        raise BakingError("the image is neither a PNG nor an SVG")
    return image_format


def bake(image: bytes, payload: str) -> bytes:
    """Bake a credential into a PNG or SVG image, whichever ``image`` is.

    :param image: the PNG or SVG bytes.
    :param payload: the signed credential as JSON text, or a compact JWS.
    :returns: the baked image bytes, in the same format.
    :raises BakingError: when the image is neither format, is invalid, or the payload is bad.
    """
    if _format_or_raise(image) == "png":
        return bake_png(bytes(image), payload)
    return bake_svg(bytes(image), payload)


def unbake(image: bytes) -> BakedPayload | None:
    """Read the credential baked into a PNG or SVG image, whichever ``image`` is.

    :param image: the PNG or SVG bytes.
    :returns: the baked payload, or ``None`` when the image carries no badge.
    :raises BakingError: when the image is neither format, is invalid, or its badge is.
    """
    if _format_or_raise(image) == "png":
        return unbake_png(bytes(image))
    return unbake_svg(bytes(image))


__all__ = [
    "MAX_IMAGE_BYTES",
    "BakedPayload",
    "bake",
    "bake_clr_png",
    "bake_ob2_png",
    "bake_png",
    "bake_svg",
    "detect_image_format",
    "unbake",
    "unbake_clr_png",
    "unbake_png",
    "unbake_svg",
]
