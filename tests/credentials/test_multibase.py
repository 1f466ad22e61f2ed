"""base58btc: the chunked encoder against the textbook one-digit-at-a-time definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from credentials import b58encode
from credentials.multibase import b58decode

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def reference(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rem = divmod(number, 58)
        digits = ALPHABET[rem] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@settings(max_examples=500)
@given(st.binary(max_size=130), st.integers(min_value=0, max_value=4))
def test_b58encode_is_base58btc(data: bytes, zeros: int) -> None:
    data = b"\0" * zeros + data
    assert b58encode(data) == reference(data)
    assert b58decode(b58encode(data)) == data


def test_known_values() -> None:
    assert b58encode(b"") == ""
    assert b58encode(b"\0\0") == "11"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58encode(bytes([255] * 64)) == reference(bytes([255] * 64))
