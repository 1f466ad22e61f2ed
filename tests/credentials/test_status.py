"""Tests of the W3C Bitstring Status List implementation (``credentials.status``)."""

from __future__ import annotations

import copy
import gzip
import json
import random
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.errors import StatusListError
from credentials.multibase import b64url_encode, multibase_encode
from credentials.status import (
    StatusList,
    allocate_index,
    build_status_list_credential,
    gzip_bits,
    read_status,
    status_entry,
)
from credentials.vocab import MIN_STATUS_LIST_BITS, VC_V2_CONTEXT

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
W3C_LIST = FIXTURES / "status-list" / "w3c-example-BitstringStatusListCredential.json"
W3C_ENTRY_CREDENTIAL = FIXTURES / "status-list" / "w3c-example-revocable-credential.json"
EDTECH_LIST = FIXTURES / "1edtech-validator" / "bit-string-list" / "testlist"
EDTECH_REVOKED = (
    FIXTURES / "1edtech-validator" / "bit-string-list" / "credential-status-revoked.json"
)

LIST_URL = "https://badges.example.edu/status/1"
ISSUER = "https://badges.example.edu/issuers/1"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def gzip_u(data: bytes) -> str:
    return multibase_encode(gzip.compress(data, mtime=0), "u")


def revocation_list(*indices: int) -> dict[str, Any]:
    status_list = StatusList()
    for index in indices:
        status_list.set(index)
    return build_status_list_credential(
        list_url=LIST_URL,
        issuer=ISSUER,
        purpose="revocation",
        status_list=status_list,
        valid_from=NOW,
    )


# --- StatusList ---------------------------------------------------------------------------


def test_w3c_example_is_131072_clear_bits_and_round_trips() -> None:
    encoded = load(W3C_LIST)["credentialSubject"]["encodedList"]
    status_list = StatusList.decode(encoded)
    assert status_list.length == MIN_STATUS_LIST_BITS
    assert status_list.count_set() == 0
    assert status_list.to_bytes() == bytes(MIN_STATUS_LIST_BITS // 8)

    again = StatusList.decode(status_list.encode())
    assert again == status_list
    assert again.to_bytes() == status_list.to_bytes()


def test_1edtech_testlist_has_only_bit_23_set() -> None:
    status_list = StatusList.decode(load(EDTECH_LIST)["credentialSubject"]["encodedList"])
    assert status_list.length == MIN_STATUS_LIST_BITS
    assert status_list.get(23)
    assert status_list.count_set() == 1
    # Bit 23 is the last (least significant) bit of byte 2: MSB-first order.
    assert status_list.to_bytes()[:4] == b"\x00\x00\x01\x00"


def test_bits_are_msb_first() -> None:
    status_list = StatusList()
    status_list.set(0)
    status_list.set(9)
    data = status_list.to_bytes()
    assert data[0] == 0x80
    assert data[1] == 0x40
    assert status_list.count_set() == 2
    status_list.set(MIN_STATUS_LIST_BITS - 1)
    assert status_list.to_bytes()[-1] == 0x01


def test_set_clear_and_get() -> None:
    status_list = StatusList()
    assert not status_list.get(42)
    status_list.set(42)
    assert status_list.get(42)
    status_list.set(42, False)
    assert not status_list.get(42)
    status_list.set(42, True)
    status_list.clear(42)
    assert not status_list.get(42)
    assert status_list.count_set() == 0


def test_default_length_and_larger_lists() -> None:
    assert StatusList().length == MIN_STATUS_LIST_BITS
    assert StatusList(2 * MIN_STATUS_LIST_BITS).length == 2 * MIN_STATUS_LIST_BITS


@pytest.mark.parametrize("length", [0, 8, MIN_STATUS_LIST_BITS - 8, MIN_STATUS_LIST_BITS + 1])
def test_creating_a_short_or_ragged_list_is_refused(length: int) -> None:
    with pytest.raises(StatusListError):
        StatusList(length)


@pytest.mark.parametrize("index", [-1, MIN_STATUS_LIST_BITS, 10**30, True, "3", 1.0])
def test_bad_index_is_refused(index: Any) -> None:
    status_list = StatusList()
    with pytest.raises(StatusListError):
        status_list.get(index)
    with pytest.raises(StatusListError):
        status_list.set(index)
    with pytest.raises(StatusListError):
        status_list.clear(index)


def test_encode_is_u_multibase_and_deterministic() -> None:
    status_list = StatusList()
    status_list.set(7)
    encoded = status_list.encode()
    assert encoded.startswith("uH4sI")  # "u" + base64url of the gzip magic bytes
    assert "=" not in encoded
    assert encoded == status_list.encode()


def test_decode_accepts_unprefixed_base64url_of_older_lists() -> None:
    status_list = StatusList()
    status_list.set(5)
    bare = status_list.encode()[1:]
    assert StatusList.decode(bare) == status_list
    assert StatusList.decode(bare + "=" * (-len(bare) % 4)) == status_list


def test_decoded_lists_may_be_short_and_report_their_length() -> None:
    decoded = StatusList.decode(gzip_u(b"\x80\x00"))
    assert decoded.length == 16
    assert decoded.get(0)
    assert not decoded.get(15)
    with pytest.raises(StatusListError):
        decoded.get(16)


def test_from_bytes_copies_and_refuses_empty() -> None:
    data = bytearray(b"\x01")
    status_list = StatusList.from_bytes(data)
    data[0] = 0
    assert status_list.get(7)
    with pytest.raises(StatusListError):
        StatusList.from_bytes(b"")


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    # 32 MiB of zero bytes compresses to ~32 KiB; the default cap is 2 MiB (2**24 bits).
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(32)) + compressor.flush()
    assert len(bomb) < 100_000
    with pytest.raises(StatusListError, match="larger than"):
        StatusList.decode(multibase_encode(bomb, "u"))


def test_max_bits_caps_the_decoded_size() -> None:
    encoded = StatusList().encode()
    with pytest.raises(StatusListError, match="larger than"):
        StatusList.decode(encoded, max_bits=MIN_STATUS_LIST_BITS - 8)
    assert StatusList.decode(encoded, max_bits=MIN_STATUS_LIST_BITS).length == MIN_STATUS_LIST_BITS


def test_absurdly_long_encoded_value_is_refused_before_decoding() -> None:
    with pytest.raises(StatusListError, match="too long"):
        StatusList.decode("u" + "A" * 10_000, max_bits=8 * 1024)


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("", id="empty"),
        pytest.param(None, id="not-a-string"),
        pytest.param("z3sdf", id="base58-prefix"),
        pytest.param("u!!!!", id="bad-characters"),
        pytest.param("u" + "H4sI+/AA", id="plain-base64-alphabet"),
        pytest.param("uA", id="impossible-length"),
    ],
)
def test_bad_multibase_is_refused(encoded: Any) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(encoded)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not gzip at all", id="not-gzip"),
        pytest.param(zlib.compress(bytes(16)), id="zlib-not-gzip"),
        pytest.param(gzip.compress(bytes(16384), mtime=0)[:-12], id="truncated"),
        pytest.param(gzip.compress(bytes(16), mtime=0) + b"junk", id="trailing-data"),
        pytest.param(gzip.compress(b"", mtime=0), id="empty-list"),
    ],
)
def test_bad_gzip_is_refused(payload: bytes) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode("u" + b64url_encode(payload))


# --- allocate_index ----------------------------------------------------------------------


def test_allocate_index_never_reuses_and_is_not_sequential() -> None:
    rng = random.Random(20260102)  # noqa: S311 - seeded: a reproducible test
    used: set[int] = set()
    allocated = []
    for _ in range(2000):
        index = allocate_index(MIN_STATUS_LIST_BITS, used.__contains__, rng.randrange)
        assert 0 <= index < MIN_STATUS_LIST_BITS
        assert index not in used
        used.add(index)
        allocated.append(index)
    assert len(used) == 2000
    # Sequential allocation would leak issuance order: neither consecutive nor sorted.
    assert allocated != list(range(allocated[0], allocated[0] + 2000))
    assert allocated != sorted(allocated)
    # Spread over the whole list, not clustered at the start.
    assert max(allocated) > MIN_STATUS_LIST_BITS * 0.9
    assert min(allocated) < MIN_STATUS_LIST_BITS * 0.1


def test_allocate_index_fills_a_small_list_completely_then_refuses() -> None:
    rng = random.Random(7)  # noqa: S311 - seeded: a reproducible test
    used: set[int] = set()
    for _ in range(64):
        used.add(allocate_index(64, used.__contains__, rng.randrange, max_tries=20))
    assert used == set(range(64))
    with pytest.raises(StatusListError, match="full"):
        allocate_index(64, used.__contains__, rng.randrange, max_tries=20)


def test_allocate_index_falls_back_to_a_scan_when_nearly_full() -> None:
    free = 12_345
    probes: list[int] = []

    def random_below(n: int) -> int:
        probes.append(n)
        return 0  # always lands on a used index

    index = allocate_index(MIN_STATUS_LIST_BITS, lambda i: i != free, random_below, max_tries=100)
    assert index == free
    assert len(probes) == 101  # max_tries probes, then one random scan offset


def test_allocate_index_refuses_a_broken_random_source() -> None:
    with pytest.raises(StatusListError):
        allocate_index(64, lambda i: False, lambda n: n)
    with pytest.raises(StatusListError):
        allocate_index(64, lambda i: False, lambda n: -1)
    with pytest.raises(StatusListError):
        allocate_index(0, lambda i: False, lambda n: 0)


# --- status_entry / build_status_list_credential ---------------------------------------------


def test_status_entry_shape() -> None:
    entry = status_entry(list_credential_url=LIST_URL, index=94567)
    assert entry == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    suspended = status_entry(
        list_credential_url=LIST_URL, index=0, purpose="suspension", entry_id="urn:uuid:1"
    )
    assert suspended["id"] == "urn:uuid:1"
    assert suspended["statusPurpose"] == "suspension"
    assert suspended["statusListIndex"] == "0"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"index": -1},
        {"index": True},
        {"purpose": "message"},
        {"purpose": "Revocation"},
        {"list_credential_url": ""},
    ],
)
def test_status_entry_refuses_bad_arguments(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"list_credential_url": LIST_URL, "index": 3, **kwargs}
    with pytest.raises(StatusListError):
        status_entry(**arguments)


def test_build_status_list_credential_shape() -> None:
    status_list = StatusList()
    status_list.set(3)
    credential = build_status_list_credential(
        list_url=LIST_URL,
        issuer={"id": ISSUER, "type": ["Profile"]},
        purpose="suspension",
        status_list=status_list,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=7),
    )
    assert credential == {
        "@context": [VC_V2_CONTEXT],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": ISSUER, "type": ["Profile"]},
        "validFrom": "2026-01-02T03:04:05Z",
        "validUntil": "2026-01-09T03:04:05Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "suspension",
            "encodedList": status_list.encode(),
        },
    }
    assert "validUntil" not in revocation_list()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"purpose": "refresh"},
        {"valid_from": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
        {"valid_until": NOW},
        {"valid_until": NOW - timedelta(seconds=1)},
        {"status_list": StatusList.from_bytes(bytes(16))},
        {"list_url": ""},
    ],
)
def test_build_status_list_credential_refuses_bad_arguments(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "list_url": LIST_URL,
        "issuer": ISSUER,
        "purpose": "revocation",
        "status_list": StatusList(),
        "valid_from": NOW,
        **kwargs,
    }
    with pytest.raises(StatusListError):
        build_status_list_credential(**arguments)


# --- read_status ---------------------------------------------------------------------------


def test_read_status_round_trip() -> None:
    list_credential = revocation_list(17, 94567)
    for index, expected in [(17, True), (94567, True), (18, False), (0, False)]:
        entry = status_entry(list_credential_url=LIST_URL, index=index)
        assert read_status(entry, list_credential) is expected


def test_read_status_w3c_example_is_not_revoked() -> None:
    entry = load(W3C_ENTRY_CREDENTIAL)["credentialStatus"]
    assert read_status(entry, load(W3C_LIST)) is False


def test_read_status_1edtech_revoked_fixture() -> None:
    entry = load(EDTECH_REVOKED)["credentialStatus"]
    testlist = load(EDTECH_LIST)
    assert entry["statusListIndex"] == 23  # an int, not the string W3C requires: tolerated
    # 1EdTech's list says "id": "https://example.com/credentials/status/3" although the entry
    # points at its raw.githubusercontent.com URL. W3C only says the id MAY match, so a
    # verifier may relax the check (and warn); by default the mismatch is an error.
    with pytest.raises(StatusListError, match="does not match"):
        read_status(entry, testlist)
    assert read_status(entry, testlist, require_matching_id=False) is True
    served_at_its_id = {**testlist, "id": entry["statusListCredential"]}
    assert read_status(entry, served_at_its_id) is True


def test_read_status_accepts_a_list_with_several_purposes() -> None:
    list_credential = revocation_list(5)
    list_credential["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    entry = status_entry(list_credential_url=LIST_URL, index=5, purpose="suspension")
    assert read_status(entry, list_credential) is True


def _entry(**changes: Any) -> dict[str, Any]:
    entry = status_entry(list_credential_url=LIST_URL, index=5)
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param(_entry(statusPurpose="suspension"), "does not match", id="wrong-purpose"),
        pytest.param(_entry(statusPurpose="message"), "unsupported", id="message-purpose"),
        pytest.param(_entry(statusListIndex="abc"), "base-10", id="non-numeric-index"),
        pytest.param(_entry(statusListIndex="-1"), "base-10", id="negative-string-index"),
        pytest.param(_entry(statusListIndex=-1), "negative", id="negative-int-index"),
        pytest.param(_entry(statusListIndex="1.5"), "base-10", id="decimal-index"),
        pytest.param(_entry(statusListIndex=" 5"), "base-10", id="padded-index"),
        pytest.param(_entry(statusListIndex="+5"), "base-10", id="signed-index"),
        pytest.param(_entry(statusListIndex="1_000"), "base-10", id="underscore-index"),
        pytest.param(_entry(statusListIndex="\u0665"), "base-10", id="arabic-digit-index"),
        pytest.param(_entry(statusListIndex=True), "base-10", id="bool-index"),
        pytest.param(_entry(statusListIndex="131072"), "outside", id="index-out-of-range"),
        pytest.param(_entry(statusListIndex="9" * 40), "base-10", id="huge-index"),
        pytest.param(_entry(statusSize=2), "unsupported statusSize", id="status-size-2"),
        pytest.param(_entry(statusSize=True), "unsupported statusSize", id="status-size-bool"),
        pytest.param(_entry(type="StatusList2021Entry"), "type", id="wrong-type"),
        pytest.param(_entry(statusListCredential=None), "statusListCredential", id="no-url"),
        pytest.param(
            _entry(statusListCredential=LIST_URL + "x"), "does not match", id="other-list"
        ),
        pytest.param([], "JSON object", id="not-an-object"),
    ],
)
def test_read_status_refuses_malformed_entries(entry: Any, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        read_status(entry, revocation_list(5))


def test_read_status_accepts_a_statussize_of_one() -> None:
    assert read_status(_entry(statusSize=1), revocation_list(5)) is True


def _broken_list(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    credential = copy.deepcopy(revocation_list(5))
    target = credential
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return credential


@pytest.mark.parametrize(
    "list_credential",
    [
        pytest.param(_broken_list(("type",), ["VerifiableCredential"]), id="list-type"),
        pytest.param(_broken_list(("credentialSubject",), None), id="no-subject"),
        pytest.param(_broken_list(("credentialSubject",), ["x"]), id="subject-array"),
        pytest.param(_broken_list(("credentialSubject", "type"), "StatusList2021"), id="sub-type"),
        pytest.param(_broken_list(("credentialSubject", "statusPurpose"), None), id="no-purpose"),
        pytest.param(_broken_list(("credentialSubject", "encodedList"), None), id="no-list"),
        pytest.param(_broken_list(("credentialSubject", "encodedList"), 5), id="list-not-str"),
        pytest.param(_broken_list(("credentialSubject", "encodedList"), "u!!"), id="bad-base64"),
        pytest.param(
            _broken_list(("credentialSubject", "encodedList"), gzip_u(bytes(1024))),
            id="list-too-short",
        ),
        pytest.param("not a credential", id="not-an-object"),
    ],
)
def test_read_status_refuses_malformed_lists(list_credential: Any) -> None:
    with pytest.raises(StatusListError):
        read_status(_entry(), list_credential)


def test_read_status_minimum_can_be_lowered_by_an_ecosystem() -> None:
    short = _broken_list(("credentialSubject", "encodedList"), gzip_u(b"\x04" + bytes(1023)))
    assert read_status(_entry(), short, min_bits=8192) is True


# --- properties ----------------------------------------------------------------------------

INDICES = st.integers(min_value=0, max_value=MIN_STATUS_LIST_BITS - 1)


@settings(max_examples=40, deadline=None)
@given(indices=st.sets(INDICES, max_size=64), probes=st.lists(INDICES, max_size=64))
def test_property_set_encode_decode_round_trip(indices: set[int], probes: list[int]) -> None:
    status_list = StatusList()
    for index in indices:
        status_list.set(index)
    decoded = StatusList.decode(status_list.encode())
    assert decoded == status_list
    assert decoded.count_set() == len(indices)
    for index in indices:
        assert decoded.get(index)
    for index in probes:
        assert decoded.get(index) is (index in indices)


@settings(max_examples=40, deadline=None)
@given(indices=st.lists(INDICES, max_size=32), other=st.sets(INDICES, max_size=32))
def test_property_set_and_clear_are_idempotent(indices: list[int], other: set[int]) -> None:
    status_list = StatusList()
    for index in other:
        status_list.set(index)
    for index in indices:
        status_list.set(index)
        once = status_list.to_bytes()
        status_list.set(index)
        assert status_list.to_bytes() == once
    for index in indices:
        status_list.clear(index)
        once = status_list.to_bytes()
        status_list.clear(index)
        assert status_list.to_bytes() == once
        assert not status_list.get(index)
    for index in other - set(indices):
        assert status_list.get(index)
    assert status_list.count_set() == len(other - set(indices))


# The fast GZIP of a bitstring (run-length matching only): standard GZIP that any inflater reads
# back to exactly the bits, deterministic, and never far from what level 9 makes.


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).map(lambda k: k * 16_384),
    st.floats(min_value=0.0, max_value=0.3),
    st.integers(min_value=0, max_value=2**32),
)
def test_gzip_bits_is_gzip_of_exactly_the_bits(size: int, density: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible bits, not secrets
    data = bytearray(size)
    for _ in range(int(size * 8 * density)):
        i = rng.randrange(size * 8)
        data[i >> 3] |= 0x80 >> (i & 7)
    packed = gzip_bits(bytes(data))
    assert packed[:4] == b"\x1f\x8b\x08\x00"  # GZIP, deflate, no flags
    assert packed[4:8] == b"\x00\x00\x00\x00"  # no clock in the header
    assert gzip.decompress(packed) == bytes(data)
    assert gzip_bits(bytes(data)) == packed
    status_list = StatusList.from_bytes(data)
    assert StatusList.decode(status_list.encode()) == status_list
    # Within 10% (and 64 bytes) of the slowest level's size.
    assert len(packed) <= len(gzip.compress(bytes(data), compresslevel=9)) * 1.1 + 64


def test_gzip_bits_of_a_million_bit_list_round_trips_through_the_credential() -> None:
    status_list = StatusList(1_048_576)
    rng = random.Random(7)  # noqa: S311 - reproducible bits, not secrets
    revoked = set(rng.sample(range(1_048_576), 10_000))
    for index in revoked:
        status_list.set(index)
    credential = build_status_list_credential(
        list_url="https://example.org/status/1",
        issuer="did:web:example.org",
        purpose="revocation",
        status_list=status_list,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    decoded = StatusList.decode(credential["credentialSubject"]["encodedList"])
    assert {i for i in range(decoded.length) if decoded.get(i)} == revoked
