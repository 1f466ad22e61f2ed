"""W3C Bitstring Status List v1.0: status bitstrings, entries and list credentials.

https://www.w3.org/TR/vc-bitstring-status-list/
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from credentials.dates import format_datetime
from credentials.errors import CredentialError, StatusListError
from credentials.multibase import b64url_decode, multibase_decode, multibase_encode
from credentials.vocab import (
    BITSTRING_STATUS_LIST,
    BITSTRING_STATUS_LIST_CREDENTIAL,
    BITSTRING_STATUS_LIST_ENTRY,
    MIN_STATUS_LIST_BITS,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)

#: Status purposes this module implements: one bit per credential, set = revoked / suspended.
#: ``refresh`` and ``message`` need ``statusSize``/``statusMessage`` handling we do not offer.
STATUS_PURPOSES = frozenset({"revocation", "suspension"})

#: Default cap on the size of a decoded list (2**24 bits = 2 MiB): far above any real list,
#: far below what a hostile gzip bomb would like us to allocate.
DEFAULT_MAX_BITS = 2**24

# statusListIndex is "an arbitrary size integer ... expressed as a string in base 10". ASCII
# digits only: int() alone would also take "+5", " 5", "1_000" and non-ASCII digits. The length
# bound keeps int() cheap; no list we accept comes anywhere near 30 digits of bits.
_INDEX_TEXT = re.compile(r"[0-9]{1,30}")


def gzip_bits(data: bytes | bytearray) -> bytes:
    """GZIP a bitstring the way :meth:`StatusList.encode` does (any DEFLATE level is valid GZIP;
    the spec asks for none in particular).

    Run-length matching (``Z_RLE``) only: a status list is long runs of zero bytes with a few
    set bits, which is exactly what it finds, in 1-2 ms for a 1,048,576-bit list at any density.
    Level 9's lazy search spends 80-250 ms on the same list (it hunts far back for longer
    matches that sparse bits do not have) for output within a few percent of this one's, and
    larger than it once more than about 5% of the bits are set. The header carries no clock
    (zlib writes mtime 0), so the same bits always give the same bytes.
    """
    # wbits 31: a GZIP wrapper (16) around a 32 KiB window (15).
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31, 9, zlib.Z_RLE)
    return compressor.compress(data) + compressor.flush()


def _require_int(value: object, name: str = "status list index") -> int:
    # bool is an int subclass; True as an index is a caller bug, not index 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise StatusListError(f"{name} must be an integer, got {value!r}")
    return value


class StatusList:
    """A mutable bitstring of status bits; index 0 is the most significant bit of byte 0.

    Creating a list enforces the W3C minimum of 131,072 bits (16 KiB) so that one credential's
    entry hides among many; lists decoded from others (:meth:`decode`, :meth:`from_bytes`)
    may be shorter and report their real size through :attr:`length`.

    :param length: number of bits; a multiple of 8, at least ``MIN_STATUS_LIST_BITS``.
    :raises StatusListError: when ``length`` is not an integer, too short, or not whole bytes.
    """

    __slots__ = ("_bits",)

    def __init__(self, length: int = MIN_STATUS_LIST_BITS) -> None:
        length = _require_int(length, "status list length")
        if length < MIN_STATUS_LIST_BITS:
            raise StatusListError(
                f"a status list needs at least {MIN_STATUS_LIST_BITS} bits, got {length}"
            )
        if length % 8:
            raise StatusListError(f"status list length must be a multiple of 8, got {length}")
        self._bits = bytearray(length // 8)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> StatusList:
        """Wrap an existing (uncompressed) bitstring, e.g. one loaded from storage.

        No minimum applies: this reads a list, it does not create one.

        :param data: the raw bitstring, at least one byte.
        :returns: a list owning a copy of ``data``.
        :raises StatusListError: when ``data`` is empty or not bytes.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StatusListError("a status list bitstring must be bytes")
        if len(data) == 0:
            raise StatusListError("a status list bitstring cannot be empty")
        status_list = cls.__new__(cls)
        status_list._bits = bytearray(data)
        return status_list

    @property
    def length(self) -> int:
        """The number of bits in the list."""
        return len(self._bits) * 8

    def _locate(self, index: object) -> tuple[int, int]:
        index = _require_int(index)
        if not 0 <= index < len(self._bits) * 8:
            raise StatusListError(
                f"status list index {index} is outside the list (0..{self.length - 1})"
            )
        # MSB-first: bit 0 is 0x80 of byte 0, bit 9 is 0x40 of byte 1.
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        """Read one bit.

        :param index: position in the list, ``0 <= index < length``.
        :returns: ``True`` when the bit is set.
        :raises StatusListError: when the index is not an integer or out of range.
        """
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or, with ``value=False``, clear) one bit in O(1).

        :param index: position in the list, ``0 <= index < length``.
        :param value: the new state of the bit.
        :raises StatusListError: when the index is not an integer or out of range.
        """
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def clear(self, index: int) -> None:
        """Clear one bit (same as ``set(index, False)``).

        :param index: position in the list, ``0 <= index < length``.
        :raises StatusListError: when the index is not an integer or out of range.
        """
        self.set(index, False)

    def count_set(self) -> int:
        """Count the set bits.

        :returns: how many bits are 1.
        """
        return int.from_bytes(self._bits, "big").bit_count()

    def to_bytes(self) -> bytes:
        """Return a copy of the raw, uncompressed bitstring.

        :returns: ``length // 8`` bytes, bit 0 in the high bit of the first byte.
        """
        return bytes(self._bits)

    def encode(self) -> str:
        """Encode as ``encodedList``: multibase base64url (no padding) of the GZIP'd bitstring.

        :returns: a ``u``-prefixed string.
        """
        return multibase_encode(gzip_bits(self._bits), "u")

    @classmethod
    def decode(cls, encoded: str, *, max_bits: int = DEFAULT_MAX_BITS) -> StatusList:
        """Decode an ``encodedList`` value published by anyone.

        Accepts the ``u`` multibase form the W3C spec requires and, for older lists
        (StatusList2021 era), bare base64url with or without padding. Decompression stops
        after ``max_bits / 8`` bytes, so a gzip bomb costs at most that much memory.

        :param encoded: the ``encodedList`` string.
        :param max_bits: the largest list accepted, in bits.
        :returns: the decoded list; its :attr:`length` may be below the creation minimum.
        :raises StatusListError: on bad base64url, bad or truncated gzip, trailing data, an
            empty list, or a list larger than ``max_bits``.
        """
        max_bytes = _require_int(max_bits, "max_bits") // 8
        if max_bytes < 1:
            raise StatusListError(f"max_bits must allow at least one byte, got {max_bits}")
        if not isinstance(encoded, str) or not encoded:
            raise StatusListError("encodedList must be a non-empty string")
        # Deflate never expands input by much more than 0.1%; base64 adds a third. Anything far
        # beyond that cannot decompress to an acceptable list, so refuse it before decoding.
        if len(encoded) > 2 * max_bytes + 1024:
            raise StatusListError("encodedList is too long for the maximum list size")
        try:
            if encoded[0] == "u":
                compressed = multibase_decode(encoded)
            else:
                # No prefix: an older list. GZIP in base64 always starts "H4sI", so a bare
                # value can never be mistaken for a "u"-prefixed one.
                compressed = b64url_decode(encoded.rstrip("="))
        except CredentialError as exc:
            raise StatusListError(f"encodedList is not multibase base64url: {exc}") from None

        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
        try:
            # Ask for one byte more than allowed: getting it proves the list is too large,
            # without ever holding more than max_bytes + 1 bytes of output.
            data = inflater.decompress(compressed, max_bytes + 1)
        except zlib.error as exc:
            raise StatusListError(f"encodedList is not valid GZIP data: {exc}") from None
        if len(data) > max_bytes:
            raise StatusListError(f"status list is larger than {max_bits} bits")
        if not inflater.eof:
            raise StatusListError("encodedList GZIP data is truncated")
        if inflater.unused_data:
            # A second gzip member or junk: no conforming encoder produces it.
            raise StatusListError("encodedList has data after the end of the GZIP stream")
        if not data:
            raise StatusListError("status list is empty")
        return cls.from_bytes(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self._bits == other._bits

    # Defining __eq__ leaves __hash__ None: a mutable list is rightly unhashable.

    def __repr__(self) -> str:
        return f"StatusList(length={self.length}, set={self.count_set()})"


def allocate_index(
    length: int,
    is_used: Callable[[int], bool],
    random_below: Callable[[int], int],
    *,
    max_tries: int = 10_000,
) -> int:
    """Choose a uniformly random unused index in a list of ``length`` bits.

    Random, never sequential: sequential indexes would reveal issuance order and volume to
    anyone comparing two credentials (the W3C spec says indexes SHOULD be random). After
    ``max_tries`` random probes (only a nearly full list gets there) the list is scanned
    from a random offset; that fallback is not uniform, which no longer matters when only a
    few free slots remain.

    :param length: number of bits in the list.
    :param is_used: tells whether an index is already allocated.
    :param random_below: returns a random int in ``[0, n)``; pass ``secrets.randbelow``.
    :param max_tries: random probes before falling back to a scan.
    :returns: an index ``i`` with ``0 <= i < length`` and ``not is_used(i)``.
    :raises StatusListError: when every index is used, or the arguments are invalid.
    """
    length = _require_int(length, "status list length")
    if length < 1:
        raise StatusListError(f"status list length must be positive, got {length}")
    if _require_int(max_tries, "max_tries") < 0:
        raise StatusListError(f"max_tries must not be negative, got {max_tries}")

    def draw() -> int:
        value = random_below(length)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < length:
            # A broken random source must not hand out an index outside the list.
            raise StatusListError(f"random source returned {value!r}, not in [0, {length})")
        return value

    for _ in range(max_tries):
        candidate = draw()
        if not is_used(candidate):
            return candidate
    start = draw()
    for offset in range(length):
        candidate = (start + offset) % length
        if not is_used(candidate):
            return candidate
    raise StatusListError(f"status list is full: all {length} indexes are in use")


def _require_purpose(purpose: object) -> str:
    if purpose not in STATUS_PURPOSES:
        raise StatusListError(
            f"unsupported statusPurpose {purpose!r}; expected one of {sorted(STATUS_PURPOSES)}"
        )
    return str(purpose)


def status_entry(
    *,
    list_credential_url: str,
    index: int,
    purpose: str = "revocation",
    entry_id: str | None = None,
) -> dict[str, Any]:
    """Build the ``credentialStatus`` object pointing at one bit of a status list.

    ``id`` is always present because the OB 3.0 schema requires it (W3C makes it optional);
    it defaults to ``<list URL>#<index>`` as in the W3C examples (the spec forbids it being
    the list URL itself). ``statusListIndex`` is a string, as the W3C spec requires.

    :param list_credential_url: URL of the ``BitstringStatusListCredential``.
    :param index: the credential's bit, ``>= 0``.
    :param purpose: ``"revocation"`` or ``"suspension"``.
    :param entry_id: explicit ``id`` for the entry.
    :returns: a ``BitstringStatusListEntry`` dict.
    :raises StatusListError: for an unsupported purpose, a negative index or an empty URL.
    """
    if not isinstance(list_credential_url, str) or not list_credential_url:
        raise StatusListError("list_credential_url must be a non-empty string")
    if _require_int(index) < 0:
        raise StatusListError(f"status list index must not be negative, got {index}")
    purpose = _require_purpose(purpose)
    return {
        "id": entry_id or f"{list_credential_url}#{index}",
        "type": BITSTRING_STATUS_LIST_ENTRY,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }


def build_status_list_credential(
    *,
    list_url: str,
    issuer: str | dict[str, Any],
    purpose: str,
    status_list: StatusList,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """Build the unsigned ``BitstringStatusListCredential`` to sign and publish at ``list_url``.

    Only the VC 2.0 context is needed: it defines every ``BitstringStatusList*`` term.
    Publishing a list shorter than the W3C minimum is refused, as creating one is.

    :param list_url: where the list is published; becomes the credential ``id``.
    :param issuer: issuer URI or Profile object.
    :param purpose: ``"revocation"`` or ``"suspension"``.
    :param status_list: the bits to publish.
    :param valid_from: aware datetime; becomes ``validFrom``.
    :param valid_until: optional aware datetime after ``valid_from``; becomes ``validUntil``.
    :returns: the credential as a dict, without a proof.
    :raises StatusListError: for an unsupported purpose, a short list, naive or inverted dates.
    """
    if not isinstance(list_url, str) or not list_url:
        raise StatusListError("list_url must be a non-empty string")
    purpose = _require_purpose(purpose)
    if status_list.length < MIN_STATUS_LIST_BITS:
        raise StatusListError(
            f"refusing to publish a status list of {status_list.length} bits; "
            f"the minimum is {MIN_STATUS_LIST_BITS}"
        )
    try:
        credential: dict[str, Any] = {
            "@context": [VC_V2_CONTEXT],
            "id": list_url,
            "type": [VERIFIABLE_CREDENTIAL, BITSTRING_STATUS_LIST_CREDENTIAL],
            "issuer": issuer,
            "validFrom": format_datetime(valid_from),
        }
        if valid_until is not None:
            if valid_until <= valid_from:
                raise StatusListError("validUntil must be after validFrom")
            credential["validUntil"] = format_datetime(valid_until)
    except (ValueError, TypeError) as exc:
        # format_datetime refuses naive datetimes; comparing naive with aware is a TypeError.
        raise StatusListError(f"invalid status list validity dates: {exc}") from None
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": BITSTRING_STATUS_LIST,
        "statusPurpose": purpose,
        "encodedList": status_list.encode(),
    }
    return credential


def _has_type(value: object, wanted: str) -> bool:
    # JSON-LD lets "type" be a string or an array of strings.
    if isinstance(value, str):
        return value == wanted
    return isinstance(value, list) and wanted in value


def _entry_index(raw: object) -> int:
    # The W3C spec wants a base-10 string; 1EdTech's own fixtures use a JSON integer.
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise StatusListError(f"statusListIndex must not be negative, got {raw}")
        return raw
    if isinstance(raw, str) and _INDEX_TEXT.fullmatch(raw):
        return int(raw)
    raise StatusListError(f"statusListIndex must be a base-10 integer string, got {raw!r}")


@functools.lru_cache(maxsize=8)
def _decoded_for_reading(encoded: str, max_bits: int) -> StatusList:
    """``StatusList.decode``, remembered: a verifier reads the same list (its ``encodedList``
    compared in full, so a changed list is decoded afresh) for every credential it covers.
    Shared between calls, so only read from it. Eight lists of at most ``max_bits / 8`` bytes
    (2 MiB at the default) bound the memory; a list that does not decode is not remembered."""
    return StatusList.decode(encoded, max_bits=max_bits)


def read_status(
    entry: Mapping[str, Any],
    list_credential: Mapping[str, Any],
    *,
    require_matching_id: bool = True,
    min_bits: int = MIN_STATUS_LIST_BITS,
    max_bits: int = DEFAULT_MAX_BITS,
) -> bool:
    """Read a credential's status bit from an (already verified) status list credential.

    This does not check the list credential's proof or validity period: the caller must
    verify it first (the W3C validate algorithm requires it).

    :param entry: the credential's ``BitstringStatusListEntry``.
    :param list_credential: the ``BitstringStatusListCredential`` the entry points at.
    :param require_matching_id: require ``list_credential["id"]`` to equal the entry's
        ``statusListCredential``, binding the fetched list to the URL the issuer signed into
        the credential. W3C only says the list MAY carry that ``id`` and 1EdTech's own test
        list does not, so a verifier may pass ``False`` and report a warning instead.
    :param min_bits: shortest list accepted; the W3C validate algorithm's default minimum
        (131,072) unless an ecosystem sets a lower one.
    :param max_bits: longest list accepted (gzip bomb guard).
    :returns: ``True`` when the bit is set (revoked / suspended), ``False`` otherwise.
    :raises StatusListError: for any malformed or mismatched entry or list, an unsupported
        ``statusPurpose`` or ``statusSize``, a too short list, or an index outside the list.
    """
    if not isinstance(entry, Mapping):
        raise StatusListError("credentialStatus entry must be a JSON object")
    if not isinstance(list_credential, Mapping):
        raise StatusListError("status list credential must be a JSON object")
    if not _has_type(entry.get("type"), BITSTRING_STATUS_LIST_ENTRY):
        raise StatusListError(
            f"credentialStatus type must be {BITSTRING_STATUS_LIST_ENTRY}, "
            f"got {entry.get('type')!r}"
        )
    purpose = _require_purpose(entry.get("statusPurpose"))
    index = _entry_index(entry.get("statusListIndex"))
    if "statusSize" in entry:
        size = entry["statusSize"]
        if not (isinstance(size, int) and not isinstance(size, bool) and size == 1):
            raise StatusListError(f"unsupported statusSize {size!r}: only 1 is supported")
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not list_url:
        raise StatusListError("statusListCredential must be a non-empty URL string")

    if not _has_type(list_credential.get("type"), BITSTRING_STATUS_LIST_CREDENTIAL):
        raise StatusListError(
            f"status list credential type lacks {BITSTRING_STATUS_LIST_CREDENTIAL}"
        )
    if require_matching_id and list_credential.get("id") != list_url:
        raise StatusListError(
            f"status list credential id {list_credential.get('id')!r} does not match "
            f"statusListCredential {list_url!r}"
        )
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise StatusListError("status list credentialSubject must be a JSON object")
    if not _has_type(subject.get("type"), BITSTRING_STATUS_LIST):
        raise StatusListError(f"status list credentialSubject type must be {BITSTRING_STATUS_LIST}")
    # The list's statusPurpose is "one or more strings": one list may serve several purposes.
    list_purposes = subject.get("statusPurpose")
    if isinstance(list_purposes, str):
        list_purposes = [list_purposes]
    if not isinstance(list_purposes, list) or purpose not in list_purposes:
        raise StatusListError(
            f"statusPurpose {purpose!r} does not match the status list's "
            f"{subject.get('statusPurpose')!r}"
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise StatusListError("status list encodedList must be a string")

    status_list = _decoded_for_reading(encoded, max_bits)
    if status_list.length < min_bits:
        raise StatusListError(
            f"status list has {status_list.length} bits, fewer than the minimum {min_bits}"
        )
    return status_list.get(index)
