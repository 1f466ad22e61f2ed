"""EncryptedFileStore: encryption at rest, file modes, passphrases, dev mode, KEK rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from keys import (
    EncryptedFileStore,
    InsecureKeyStoreWarning,
    KeyStoreError,
    PassphraseRequired,
    PlaintextRefused,
    WrongPassphrase,
    envelope,
    generate_key,
)
from keys.envelope import Argon2idParams
from tests.keys.test_signing_key import fixture_key, raw_private_bytes, verify

PASSPHRASE = b"test-key-encryption-passphrase"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "keys"


@pytest.fixture
def store(directory: Path) -> EncryptedFileStore:
    return EncryptedFileStore(directory, PASSPHRASE)


def dev_store(directory: Path) -> EncryptedFileStore:
    with pytest.warns(InsecureKeyStoreWarning, match="UNENCRYPTED"):
        return EncryptedFileStore(directory, None, allow_plaintext_dev_keys=True)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """A permissive umask must not make key files or directories readable by others."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def secret_forms(raw: bytes) -> list[bytes]:
    """Ways the private bytes could show up in a file if they were written in clear."""
    return [
        raw,
        raw.hex().encode(),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


@pytest.mark.parametrize("key_type", ["ed25519", "p256", "rsa"])
def test_key_files_are_argon2id_envelopes(
    store: EncryptedFileStore, directory: Path, key_type: str
) -> None:
    key = fixture_key(key_type, kid="key-1")
    store.put("issuer-1", key)
    pem = (directory / "issuer-1" / "key-1.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----\n")
    sealed = envelope.parse(pem)
    # The parameters new files get: memory-hard, about 0.2 s per guess here (see DEFAULT_KDF).
    assert sealed.kdf == envelope.DEFAULT_KDF == Argon2idParams(65536, 3, 4)
    assert (sealed.kid, sealed.key_type) == ("key-1", key_type)
    plain_der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw = raw_private_bytes(key.private_key)
    for form in [*secret_forms(raw), plain_der[-32:]]:
        assert form not in pem and form not in sealed.ciphertext
    reloaded = EncryptedFileStore(directory, PASSPHRASE).get("issuer-1", "key-1")
    verify(reloaded.public_key(), key.sign(b"x"), b"x")


def test_metadata_holds_public_fields_only(store: EncryptedFileStore, directory: Path) -> None:
    for key_type in ("ed25519", "p256", "rsa"):
        key = fixture_key(key_type, kid=f"key-{key_type}")
        store.put("issuer-1", key)
        store.retire("issuer-1", key.kid, T0 + timedelta(days=1))
        text = (directory / "issuer-1" / f"key-{key_type}.json").read_bytes()
        doc = json.loads(text)
        assert set(doc) == {"format", "kid", "key_type", "algorithm", "created", "retired"}
        assert doc["kid"] == key.kid and doc["key_type"] == key_type
        for form in secret_forms(raw_private_bytes(key.private_key)):
            assert form not in text


def test_file_and_directory_modes(
    store: EncryptedFileStore, directory: Path, umask_zero: None
) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    store.retire("issuer-1", "key-1", T0)  # rewritten files keep the mode too
    store.rotate("issuer-1", "ed25519", T0)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    owner_dir = directory / "issuer-1"
    assert stat.S_IMODE(owner_dir.stat().st_mode) == 0o700
    names = sorted(p.name for p in owner_dir.iterdir())
    assert len(names) == 5  # two keys, two metadata files, the lock; no temporary files left
    for path in owner_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_keys_persist_across_store_instances(store: EncryptedFileStore, directory: Path) -> None:
    key = store.rotate("issuer-1", "p256", T0)
    reopened = EncryptedFileStore(directory, PASSPHRASE)
    assert reopened.active("issuer-1", "p256").kid == key.kid
    verify(reopened.get("issuer-1", key.kid).public_key(), key.sign(b"x"), b"x")


def test_wrong_passphrase(store: EncryptedFileStore, directory: Path) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    other = EncryptedFileStore(directory, b"not-the-passphrase")
    with pytest.raises(WrongPassphrase):
        other.get("issuer-1", "key-1")
    with pytest.raises(WrongPassphrase):
        other.list("issuer-1")
    with pytest.raises(WrongPassphrase):
        other.active("issuer-1", "ed25519")


def test_no_passphrase_is_refused(store: EncryptedFileStore, directory: Path) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    locked = EncryptedFileStore(directory, None)
    with pytest.raises(PassphraseRequired, match="CAIRN_KEY_PASSPHRASE"):
        locked.put("issuer-1", generate_key("ed25519"))
    with pytest.raises(PassphraseRequired):
        locked.get("issuer-1", "key-1")
    with pytest.raises(PassphraseRequired):
        locked.list("issuer-1")
    with pytest.raises(PassphraseRequired):
        locked.active("issuer-1", "ed25519")
    with pytest.raises(PassphraseRequired):
        locked.retire("issuer-1", "key-1", T0)
    with pytest.raises(PassphraseRequired):
        locked.rotate("issuer-1", "ed25519", T0)
    with pytest.raises(PassphraseRequired):
        locked.reencrypt(b"new-passphrase")


def test_a_refusing_store_writes_nothing(directory: Path) -> None:
    with pytest.raises(PassphraseRequired):
        EncryptedFileStore(directory, None).put("issuer-1", generate_key("ed25519"))
    assert not directory.exists()


def test_bad_passphrase_values() -> None:
    with pytest.raises(TypeError):
        EncryptedFileStore(Path("unused"), "a str passphrase")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        EncryptedFileStore(Path("unused"), b"")


def test_repr_does_not_show_the_passphrase(store: EncryptedFileStore) -> None:
    assert PASSPHRASE.decode() not in repr(store)
    assert "encrypted" in repr(store)


def test_dev_plaintext_mode_warns_once_and_stores_unencrypted(directory: Path) -> None:
    store = dev_store(directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key = store.rotate("issuer-1", "ed25519", T0)
        store.get("issuer-1", key.kid)
        store.list("issuer-1")
    assert caught == []  # once per store, at construction
    pem = (directory / "issuer-1" / f"{key.kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert "plaintext-dev" in repr(store)


def test_encrypted_store_refuses_plaintext_key_files(directory: Path) -> None:
    key = dev_store(directory).rotate("issuer-1", "ed25519", T0)
    encrypted = EncryptedFileStore(directory, PASSPHRASE)
    with pytest.raises(PlaintextRefused):
        encrypted.get("issuer-1", key.kid)
    with pytest.raises(PlaintextRefused):
        encrypted.active("issuer-1", "ed25519")


def test_dev_store_cannot_read_encrypted_keys(store: EncryptedFileStore, directory: Path) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    with pytest.raises(PassphraseRequired):
        dev_store(directory).get("issuer-1", "key-1")


def test_passphrase_makes_the_dev_switch_irrelevant(directory: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no InsecureKeyStoreWarning: keys will be encrypted
        store = EncryptedFileStore(directory, PASSPHRASE, allow_plaintext_dev_keys=True)
    key = store.rotate("issuer-1", "ed25519", T0)
    assert (
        (directory / "issuer-1" / f"{key.kid}.pem")
        .read_bytes()
        .startswith(b"-----BEGIN CAIRN ENCRYPTED")
    )


@pytest.mark.parametrize("owner", ["../outside", "..", "a/../../b", "/etc", ".lock"])
def test_path_traversal_is_refused(store: EncryptedFileStore, tmp_path: Path, owner: str) -> None:
    with pytest.raises(ValueError, match="invalid owner"):
        store.put(owner, generate_key("ed25519"))
    with pytest.raises(ValueError, match="invalid kid"):
        store.get("issuer-1", owner)
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "instance").exists()


def test_symlinked_key_files_are_not_followed(
    store: EncryptedFileStore, directory: Path, tmp_path: Path
) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    pem = directory / "issuer-1" / "key-1.pem"
    target = tmp_path / "elsewhere.pem"
    target.write_bytes(pem.read_bytes())
    pem.unlink()
    pem.symlink_to(target)
    with pytest.raises(OSError):
        store.get("issuer-1", "key-1")


def test_tampered_metadata_is_detected(store: EncryptedFileStore, directory: Path) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    meta = directory / "issuer-1" / "key-1.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "key_type": "p256"}))
    with pytest.raises(KeyStoreError, match="not the p256 key"):
        store.get("issuer-1", "key-1")
    meta.write_text("{not json")
    with pytest.raises(KeyStoreError, match="corrupt metadata"):
        store.get("issuer-1", "key-1")
    meta.write_text(json.dumps({**doc, "created": "2025-01-01T00:00:00"}))  # naive
    with pytest.raises(KeyStoreError, match="corrupt metadata"):
        store.get("issuer-1", "key-1")


def test_missing_key_file_is_an_error(store: EncryptedFileStore, directory: Path) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="key-1"))
    (directory / "issuer-1" / "key-1.pem").unlink()
    with pytest.raises(KeyStoreError, match="no key file"):
        store.get("issuer-1", "key-1")


def test_reencrypt_changes_the_key_encryption_passphrase(
    store: EncryptedFileStore, directory: Path
) -> None:
    first = store.rotate("issuer-1", "ed25519", T0)
    second = store.rotate("issuer-2", "p256", T0)
    before = (directory / "issuer-1" / f"{first.kid}.pem").read_bytes()

    store.reencrypt(b"the-new-passphrase")

    assert (directory / "issuer-1" / f"{first.kid}.pem").read_bytes() != before
    assert store.get("issuer-1", first.kid).kid == first.kid  # the store follows along
    with pytest.raises(WrongPassphrase):
        EncryptedFileStore(directory, PASSPHRASE).get("issuer-1", first.kid)
    reopened = EncryptedFileStore(directory, b"the-new-passphrase")
    verify(reopened.get("issuer-2", second.kid).public_key(), second.sign(b"x"), b"x")
    assert reopened.get("issuer-1", first.kid).created == T0  # metadata untouched


def test_reencrypt_with_a_wrong_current_passphrase_changes_nothing(
    store: EncryptedFileStore, directory: Path
) -> None:
    key = store.rotate("issuer-1", "ed25519", T0)
    pem = directory / "issuer-1" / f"{key.kid}.pem"
    before = pem.read_bytes()
    with pytest.raises(WrongPassphrase, match="nothing was changed"):
        EncryptedFileStore(directory, b"wrong").reencrypt(b"the-new-passphrase")
    assert pem.read_bytes() == before


def test_reencrypt_resumes_after_an_interruption(
    store: EncryptedFileStore, directory: Path
) -> None:
    done = store.rotate("issuer-1", "ed25519", T0)
    pending = store.rotate("issuer-2", "ed25519", T0)
    # Simulate a run that died after re-encrypting issuer-1's key only.
    pem = directory / "issuer-1" / f"{done.kid}.pem"
    pem.write_bytes(
        done.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"the-new-passphrase"),
        )
    )
    store.reencrypt(b"the-new-passphrase")
    reopened = EncryptedFileStore(directory, b"the-new-passphrase")
    assert reopened.get("issuer-1", done.kid).kid == done.kid
    assert reopened.get("issuer-2", pending.kid).kid == pending.kid


def test_reencrypt_turns_a_dev_store_into_an_encrypted_one(directory: Path) -> None:
    store = dev_store(directory)
    key = store.rotate("issuer-1", "ed25519", T0)
    store.reencrypt(PASSPHRASE)
    assert "encrypted" in repr(store)
    pem = (directory / "issuer-1" / f"{key.kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----")
    assert EncryptedFileStore(directory, PASSPHRASE).get("issuer-1", key.kid).kid == key.kid


def test_reencrypt_refuses_bad_new_passphrases(store: EncryptedFileStore) -> None:
    with pytest.raises(TypeError):
        store.reencrypt(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        store.reencrypt(b"")


def test_concurrent_rotations_leave_exactly_one_active_key(store: EncryptedFileStore) -> None:
    store.put("issuer-1", generate_key("ed25519", kid="first", created=T0))
    errors: list[BaseException] = []

    def rotate(i: int) -> None:
        try:
            EncryptedFileStore(store.directory, PASSPHRASE).rotate(
                "issuer-1", "ed25519", T0 + timedelta(minutes=i + 1)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rotate, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = store.list("issuer-1")
    assert len(records) == 9
    assert len([r for r in records if not r.is_retired]) == 1
