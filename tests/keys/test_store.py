"""The KeyStore contract, run against MemoryKeyStore and EncryptedFileStore alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from credentials.jwk import load_public_jwk
from credentials.multikey import decode_public_key
from keys import (
    EncryptedFileStore,
    KeyExists,
    KeyNotFound,
    KeyRecord,
    KeyRetired,
    KeyStore,
    MemoryKeyStore,
    generate_key,
)
from keys.signing_key import PublicKey
from keys.store import check_name
from tests.keys.test_signing_key import fixture_key, verify

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=90)
T2 = T0 + timedelta(days=180)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> KeyStore:
    """Each contract test runs once per store implementation."""
    if request.param == "memory":
        return MemoryKeyStore()
    return EncryptedFileStore(tmp_path / "keys", b"test-key-encryption-passphrase")


def public_bytes(public: PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_stores_satisfy_the_protocol(store: KeyStore) -> None:
    assert isinstance(store, KeyStore)


@pytest.mark.parametrize("key_type", ["ed25519", "p256", "rsa"])
def test_put_get_round_trip_and_signing_verifies(store: KeyStore, key_type: str) -> None:
    key = fixture_key(key_type, kid=f"kid-{key_type}")
    store.put("issuer-1", dataclasses.replace(key, created=T0))

    loaded = store.get("issuer-1", f"kid-{key_type}")
    assert loaded.kid == f"kid-{key_type}"
    assert loaded.key_type == key_type
    assert loaded.created == T0 and loaded.retired is None
    assert public_bytes(loaded.public_key()) == public_bytes(key.public_key())

    # What the store publishes verifies what the store's key signs.
    [record] = store.list("issuer-1")
    signature = loaded.sign(b"credential bytes")
    verify(
        load_public_jwk({k: v for k, v in record.public_jwk.items()}),
        signature,
        b"credential bytes",
    )
    if record.public_multikey is not None:
        verify(decode_public_key(record.public_multikey), signature, b"credential bytes")


def test_list_gives_public_metadata_only(store: KeyStore) -> None:
    store.put("issuer-1", dataclasses.replace(fixture_key("rsa", "b-rsa"), created=T1))
    store.put("issuer-1", dataclasses.replace(fixture_key("ed25519", "a-ed"), created=T0))
    store.put("issuer-1", dataclasses.replace(fixture_key("p256", "c-p256"), created=T2))

    records = store.list("issuer-1")
    assert [r.kid for r in records] == ["a-ed", "b-rsa", "c-p256"]  # oldest first
    ed, rsa_record, p256 = records
    assert (ed.key_type, ed.algorithm) == ("ed25519", "EdDSA")
    assert (rsa_record.key_type, rsa_record.algorithm) == ("rsa", "RS256")
    assert (p256.key_type, p256.algorithm) == ("p256", "ES256")
    assert ed.public_multikey is not None and ed.public_multikey.startswith("z6Mk")
    assert p256.public_multikey is not None and p256.public_multikey.startswith("zDn")
    assert rsa_record.public_multikey is None
    for record in records:
        assert isinstance(record, KeyRecord)
        assert record.public_jwk["kid"] == record.kid
        assert record.public_jwk["alg"] == record.algorithm
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(record.public_jwk)
        assert record.created.tzinfo is not None and not record.is_retired
    with pytest.raises(dataclasses.FrozenInstanceError):
        ed.kid = "changed"  # type: ignore[misc]


def test_unknown_owner_and_kid(store: KeyStore) -> None:
    assert store.list("nobody") == []
    with pytest.raises(KeyNotFound):
        store.get("nobody", "key-1")
    with pytest.raises(KeyNotFound):
        store.active("nobody", "ed25519")
    with pytest.raises(KeyNotFound):
        store.retire("nobody", "key-1", T0)


def test_keys_are_grouped_per_owner(store: KeyStore) -> None:
    store.put("issuer-a", fixture_key("ed25519", "shared-kid"))
    store.put("issuer-b", fixture_key("p256", "shared-kid"))  # same kid, other owner: fine
    assert store.get("issuer-a", "shared-kid").key_type == "ed25519"
    assert store.get("issuer-b", "shared-kid").key_type == "p256"
    with pytest.raises(KeyNotFound):
        store.active("issuer-b", "ed25519")


def test_put_never_overwrites_a_kid(store: KeyStore) -> None:
    store.put("issuer-1", fixture_key("ed25519", "key-1"))
    with pytest.raises(KeyExists):
        store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    assert public_bytes(store.get("issuer-1", "key-1").public_key()) == public_bytes(
        fixture_key("ed25519").public_key()
    )


def test_put_defaults_created_to_now_in_utc(store: KeyStore) -> None:
    before = datetime.now(UTC)
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    created = store.get("issuer-1", "key-1").created
    assert created is not None and before <= created <= datetime.now(UTC)
    assert created.utcoffset() == timedelta(0)


def test_timestamps_are_normalised_to_utc(store: KeyStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    store.put("issuer-1", generate_key("ed25519", kid="key-1", created=T0.astimezone(plus_two)))
    created = store.get("issuer-1", "key-1").created
    assert created == T0 and created is not None and created.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(store: KeyStore) -> None:
    naive = datetime(2025, 1, 1, 12, 0)  # noqa: DTZ001 -- the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        store.put("issuer-1", generate_key("ed25519", created=naive))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.put(
            "issuer-1", dataclasses.replace(generate_key("ed25519", created=T0), retired=naive)
        )
    store.put("issuer-1", generate_key("ed25519", kid="key-1", created=T0))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.retire("issuer-1", "key-1", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.rotate("issuer-1", "ed25519", naive)
    assert not store.get("issuer-1", "key-1").is_retired


def test_active_is_the_newest_unretired_key_of_the_type(store: KeyStore) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="old", created=T0))
    store.put("issuer-1", generate_key("ed25519", kid="new", created=T1))
    store.put("issuer-1", generate_key("p256", kid="ec", created=T2))
    assert store.active("issuer-1", "ed25519").kid == "new"
    assert store.active("issuer-1", "p256").kid == "ec"
    store.retire("issuer-1", "new", T2)
    assert store.active("issuer-1", "ed25519").kid == "old"
    store.retire("issuer-1", "old", T2)
    with pytest.raises(KeyNotFound):
        store.active("issuer-1", "ed25519")
    with pytest.raises(KeyNotFound):
        store.active("issuer-1", "rsa")


def test_active_breaks_created_ties_by_kid(store: KeyStore) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-b", created=T0))
    store.put("issuer-1", generate_key("ed25519", kid="key-a", created=T0))
    assert store.active("issuer-1", "ed25519").kid == "key-b"


def test_retire_keeps_the_key_and_is_one_way(store: KeyStore) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1", created=T0))
    store.retire("issuer-1", "key-1", T1)
    retired = store.get("issuer-1", "key-1")
    assert retired.retired == T1 and retired.is_retired
    assert store.list("issuer-1")[0].retired == T1
    with pytest.raises(KeyRetired):
        store.retire("issuer-1", "key-1", T2)
    assert store.get("issuer-1", "key-1").retired == T1  # history is not rewritten


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
def test_rotate_retires_the_old_key_and_keeps_it_verifiable(store: KeyStore, key_type: str) -> None:
    old = generate_key(key_type, kid="old", created=T0)
    store.put("issuer-1", old)
    signed_before = old.sign(b"issued last year")
    other_type = "p256" if key_type == "ed25519" else "ed25519"
    store.put("issuer-1", generate_key(other_type, kid="other-type", created=T0))

    new = store.rotate("issuer-1", key_type, T1)

    assert new.kid != "old" and new.key_type == key_type and new.created == T1
    assert store.active("issuer-1", key_type).kid == new.kid
    kept = store.get("issuer-1", "old")
    assert kept.retired == T1
    verify(kept.public_key(), signed_before, b"issued last year")
    verify(store.active("issuer-1", key_type).public_key(), new.sign(b"now"), b"now")
    # Keys of another type are not touched by the rotation.
    assert store.get("issuer-1", "other-type").retired is None
    assert {r.kid: r.is_retired for r in store.list("issuer-1")} == {
        "old": True,
        "other-type": False,
        new.kid: False,
    }


def test_rotate_retires_every_previously_active_key(store: KeyStore) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="a", created=T0))
    store.put("issuer-1", generate_key("ed25519", kid="b", created=T0 + timedelta(hours=1)))
    new = store.rotate("issuer-1", "ed25519", T1)
    assert [r.kid for r in store.list("issuer-1") if not r.is_retired] == [new.kid]


def test_rotate_with_no_previous_key_and_for_rsa(store: KeyStore) -> None:
    first = store.rotate("issuer-1", "rsa", T0)  # the one RSA generation per store
    assert first.key_type == "rsa" and first.algorithm == "RS256"
    assert store.active("issuer-1", "rsa").kid == first.kid
    verify(store.get("issuer-1", first.kid).public_key(), first.sign(b"jwt"), b"jwt")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        ".",
        "../escape",
        "a/b",
        "a\\b",
        ".hidden",
        "a..b",
        "x" * 129,
        "a\x00b",
        "ключ",
        "a b",
    ],
)
def test_unsafe_owner_and_kid_are_refused(store: KeyStore, name: str) -> None:
    with pytest.raises(ValueError, match="invalid owner"):
        store.put(name, generate_key("ed25519"))
    with pytest.raises(ValueError, match="invalid kid"):
        store.put("issuer-1", generate_key("ed25519", kid=name or "x/"))
    with pytest.raises(ValueError, match="invalid owner"):
        store.list(name)
    with pytest.raises(ValueError, match="invalid kid"):
        store.get("issuer-1", name)


def test_safe_names_are_accepted() -> None:
    for name in (
        "issuer-1",
        "key_ABC.2025",
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "a" * 128,
    ):
        assert check_name(name, "kid") == name


def test_unknown_key_types_are_refused(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="unknown key type"):
        store.active("issuer-1", "dsa")
    with pytest.raises(ValueError, match="unknown key type"):
        store.rotate("issuer-1", "EdDSA", T0)
