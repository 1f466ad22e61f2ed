"""Keys moved between stores still encrypted (what `cairn export` / `cairn import` carry): the
file's bytes unchanged, opened only with the sealing store's passphrase, never from a store
that keeps keys in the clear."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keys import (
    TEST_ONLY_KDF,
    CachingKeyStore,
    EncryptedFileStore,
    KeyExists,
    KeyStoreError,
    MemoryKeyStore,
    PlaintextRefused,
    WrongPassphrase,
    encrypted_store_of,
    generate_key,
)

PASSPHRASE = b"the passphrase both instances share"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def store(directory: Path, passphrase: bytes = PASSPHRASE) -> EncryptedFileStore:
    return EncryptedFileStore(directory, passphrase, kdf=TEST_ONLY_KDF)


def test_a_sealed_key_moves_byte_for_byte_and_opens_with_the_same_passphrase(
    tmp_path: Path,
) -> None:
    old = store(tmp_path / "old")
    key = generate_key("ed25519", created=T0)
    old.put("issuer-1", key)
    old.retire("issuer-1", key.kid, T0)
    sealed = old.sealed("issuer-1", key.kid)
    assert sealed.data == (tmp_path / "old" / "issuer-1" / f"{key.kid}.pem").read_bytes()
    assert sealed.data.startswith(b"-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----")
    assert sealed.retired == T0

    new = store(tmp_path / "new")
    record = new.open_sealed(sealed)
    assert record.public_multikey == old.list("issuer-1")[0].public_multikey
    assert not (tmp_path / "new").exists()  # opening writes nothing
    new.put_sealed("issuer-7", sealed)
    assert (tmp_path / "new" / "issuer-7" / f"{key.kid}.pem").read_bytes() == sealed.data
    moved = new.get("issuer-7", key.kid)
    assert moved.private_key.private_bytes_raw() == key.private_key.private_bytes_raw()  # type: ignore[union-attr]
    assert moved.retired == T0
    with pytest.raises(KeyExists):
        new.put_sealed("issuer-7", sealed)
    new.remove_owner("issuer-7", [key.kid])
    assert new.list("issuer-7") == []


def test_another_passphrase_does_not_open_it(tmp_path: Path) -> None:
    old = store(tmp_path / "old")
    key = generate_key("p256", created=T0)
    old.put("issuer-1", key)
    with pytest.raises(WrongPassphrase):
        store(tmp_path / "new", b"another passphrase").open_sealed(old.sealed("issuer-1", key.kid))


def test_a_store_keeping_keys_in_the_clear_has_nothing_sealed_to_give(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = EncryptedFileStore(tmp_path / "dev", None, allow_plaintext_dev_keys=True)
    key = generate_key("ed25519", created=T0)
    plain.put("issuer-1", key)
    with pytest.raises(PlaintextRefused):
        plain.sealed("issuer-1", key.kid)


def test_only_a_file_store_holds_sealed_keys(tmp_path: Path) -> None:
    files = store(tmp_path)
    assert encrypted_store_of(CachingKeyStore(files)) is files
    with pytest.raises(KeyStoreError):
        encrypted_store_of(MemoryKeyStore())
