"""Multibase encodings for Data Integrity and status lists: base58btc (``z``), base64url (``u``).

https://www.w3.org/TR/controller-document/#multibase-0
"""

from __future__ import annotations

import base64
import binascii

from credentials.errors import KeyFormatError

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B58_CHUNK = 58**10


def b58encode(data: bytes) -> str:
    """Encode bytes as base58 (Bitcoin alphabet), keeping leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    out = []
    # Ten digits per big-integer division (58**10 < 2**63): the inner divisions are on small
    # integers, several times faster for a 64-byte signature than one bignum division a digit.
    while number:
        number, chunk = divmod(number, _B58_CHUNK)
        for _ in range(10):
            chunk, rem = divmod(chunk, 58)
            out.append(_B58_ALPHABET[rem])
    while out and out[-1] == "1":  # the last chunk's padding (zero digits)
        out.pop()
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet).

    :raises KeyFormatError: on a character outside the alphabet.
    """
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise KeyFormatError(f"invalid base58 character {char!r}") from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\0" * leading + body


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), as JOSE and multibase ``u`` use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding.

    :raises KeyFormatError: when the text is not base64url.
    """
    if not isinstance(text, str) or any(c in text for c in "+/= \n\r\t"):
        # The strict alphabet: '+' and '/' belong to plain base64, padding is not used.
        raise KeyFormatError("not base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"not base64url text: {exc}") from None


def multibase_encode(data: bytes, base: str = "z") -> str:
    """Encode with a multibase prefix: ``z`` for base58btc, ``u`` for base64url."""
    if base == "z":
        return "z" + b58encode(data)
    if base == "u":
        return "u" + b64url_encode(data)
    raise ValueError(f"unsupported multibase prefix {base!r}")


def multibase_decode(text: str) -> bytes:
    """Decode a ``z`` (base58btc) or ``u`` (base64url) multibase string.

    :raises KeyFormatError: for any other prefix or bad characters.
    """
    if not isinstance(text, str) or not text:
        raise KeyFormatError("empty multibase value")
    if text[0] == "z":
        return b58decode(text[1:])
    if text[0] == "u":
        return b64url_decode(text[1:])
    raise KeyFormatError(f"unsupported multibase prefix {text[0]!r}")
