"""Key files are expensive to brute force: Argon2id envelopes, old PBKDF2 files re-wrapped on
first load and by ``rewrap``, one derivation per process, authenticated headers."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keys import EncryptedFileStore, KeyStoreError, WrongPassphrase, envelope, generate_key
from keys import file_store as file_store_module
from keys.envelope import TEST_ONLY_KDF, Argon2idParams
from tests.keys.test_signing_key import FIXTURES, fixture_key, verify

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OLD_PASSPHRASE = b"test-passphrase"  # the old-format fixture's


def old_format_store(directory: Path, kid: str = "old-key") -> Path:
    """A store as Cairn wrote it before envelopes: the fixture's PBES2/PBKDF2 PKCS#8 file."""
    owner = directory / "issuer-1"
    owner.mkdir(parents=True, mode=0o700)
    pem = owner / f"{kid}.pem"
    shutil.copyfile(FIXTURES / "test-ed25519-encrypted.pem", pem)
    pem.chmod(0o600)
    meta = {"format": 1, "kid": kid, "key_type": "ed25519", "algorithm": "EdDSA",
            "created": T0.isoformat(), "retired": None}  # fmt: skip
    (owner / f"{kid}.json").write_text(json.dumps(meta))
    return pem


def test_an_old_format_file_becomes_an_envelope_on_first_load_and_signs_the_same(
    tmp_path: Path,
) -> None:
    pem = old_format_store(tmp_path)
    assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    expected = fixture_key("ed25519")

    key = EncryptedFileStore(tmp_path, OLD_PASSPHRASE).get("issuer-1", "old-key")

    data = pem.read_bytes()
    assert envelope.is_envelope(data)
    sealed = envelope.parse(data)
    assert (sealed.kid, sealed.key_type, sealed.kdf) == ("old-key", "ed25519", envelope.DEFAULT_KDF)
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert sorted(p.name for p in pem.parent.iterdir() if p.name.startswith(".") and
                  p.name != ".lock") == []  # fmt: skip
    # The same key: the signature of the old file's key verifies with the re-wrapped one.
    reopened = EncryptedFileStore(tmp_path, OLD_PASSPHRASE).get("issuer-1", "old-key")
    assert key.sign(b"message") == expected.sign(b"message")  # Ed25519 is deterministic
    verify(reopened.public_key(), expected.sign(b"m"), b"m")
    assert reopened.created == T0
    with pytest.raises(WrongPassphrase):
        EncryptedFileStore(tmp_path, b"not-it").get("issuer-1", "old-key")


def test_rewrap_converts_every_old_file_once(tmp_path: Path) -> None:
    old = old_format_store(tmp_path)
    store = EncryptedFileStore(tmp_path, OLD_PASSPHRASE)
    fresh = store.rotate("issuer-2", "p256", T0)
    assert store.rewrap() == 1
    assert envelope.is_envelope(old.read_bytes())
    assert store.rewrap() == 0  # nothing left to do
    verify(store.get("issuer-1", "old-key").public_key(), fixture_key("ed25519").sign(b"m"), b"m")
    assert store.get("issuer-2", fresh.kid).kid == fresh.kid


def test_rewrap_with_a_wrong_passphrase_changes_nothing(tmp_path: Path) -> None:
    old = old_format_store(tmp_path)
    before = old.read_bytes()
    with pytest.raises(WrongPassphrase):
        EncryptedFileStore(tmp_path, b"wrong").rewrap()
    assert old.read_bytes() == before


def test_files_with_other_kdf_parameters_are_rewrapped_to_the_stores(tmp_path: Path) -> None:
    cheap = EncryptedFileStore(tmp_path, OLD_PASSPHRASE, kdf=TEST_ONLY_KDF)
    key = cheap.rotate("issuer-1", "ed25519", T0)
    path = tmp_path / "issuer-1" / f"{key.kid}.pem"
    assert envelope.parse(path.read_bytes()).kdf == TEST_ONLY_KDF
    EncryptedFileStore(tmp_path, OLD_PASSPHRASE).get("issuer-1", key.kid)
    assert envelope.parse(path.read_bytes()).kdf == envelope.DEFAULT_KDF


def test_a_store_that_cannot_write_still_serves_old_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = old_format_store(tmp_path)
    before = pem.read_bytes()

    def read_only(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(file_store_module, "_write_atomic", read_only)
    key = EncryptedFileStore(tmp_path, OLD_PASSPHRASE).get("issuer-1", "old-key")
    assert key.sign(b"m") == fixture_key("ed25519").sign(b"m")
    assert pem.read_bytes() == before


def test_a_store_derives_its_key_encryption_key_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real = envelope.Argon2id

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(envelope, "Argon2id", counting)
    envelope.forget_derived_keys()
    store = EncryptedFileStore(tmp_path, b"passphrase-for-counting")
    kids = [store.rotate(f"issuer-{i}", kind, T0).kid for i, kind in enumerate(["ed25519", "p256"])]
    envelope.forget_derived_keys()  # as in a fresh process
    reopened = EncryptedFileStore(tmp_path, b"passphrase-for-counting")
    for _ in range(3):
        for i, kid in enumerate(kids):
            reopened.get(f"issuer-{i}", kid)
    assert len(calls) == 2  # one when writing, one in the "new process"
    assert calls[0]["memory_cost"] == 65536 and calls[0]["iterations"] == 3
    assert calls[0]["lanes"] == 4


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("KDF-Params", "m=8,t=1,p=1"),  # lowered parameters
        ("Key-Id", "another-key"),
        ("Key-Type", "p256"),
        ("Nonce", "AAAAAAAAAAAAAAAA"),
    ],
)
def test_the_headers_are_authenticated(header: str, value: str) -> None:
    kdf = Argon2idParams(memory_kib=16, iterations=2, lanes=1)
    data = envelope.seal(fixture_key("ed25519").private_key, "k", b"pass", kdf=kdf)
    lines = data.decode().split("\n")
    changed = "\n".join(f"{header}: {value}" if x.startswith(f"{header}: ") else x for x in lines)
    assert changed != data.decode()
    with pytest.raises((WrongPassphrase, KeyStoreError)):
        envelope.open_envelope(changed.encode(), b"pass")


def test_a_key_file_copied_under_another_kid_is_refused(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, b"passphrase", kdf=TEST_ONLY_KDF)
    store.put("issuer-1", generate_key("ed25519", kid="first"))
    store.put("issuer-1", generate_key("ed25519", kid="second"))
    owner = tmp_path / "issuer-1"
    shutil.copyfile(owner / "first.pem", owner / "second.pem")
    with pytest.raises(KeyStoreError, match="holds key 'first'"):
        store.get("issuer-1", "second")


@pytest.mark.parametrize(
    "params",
    ["m=4194304,t=3,p=4", "m=65536,t=1000,p=4", "m=4,t=1,p=1", "m=65536,t=3"],
)
def test_absurd_kdf_parameters_are_refused_before_deriving(params: str) -> None:
    data = envelope.seal(fixture_key("ed25519").private_key, "k", b"pass", kdf=TEST_ONLY_KDF)
    changed = data.replace(b"KDF-Params: m=8,t=1,p=1", f"KDF-Params: {params}".encode())
    with pytest.raises(KeyStoreError, match="KDF-Params"):
        envelope.parse(changed)


def test_a_store_keeps_one_salt_in_keywrap_json(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path, b"passphrase", kdf=TEST_ONLY_KDF)
    a = store.rotate("issuer-1", "ed25519", T0)
    b = EncryptedFileStore(tmp_path, b"passphrase", kdf=TEST_ONLY_KDF).rotate("issuer-2", "rsa", T0)
    settings = json.loads((tmp_path / "keywrap.json").read_text())
    assert settings["params"] == "m=8,t=1,p=1"
    salts = {
        envelope.parse((tmp_path / owner / f"{kid}.pem").read_bytes()).salt
        for owner, kid in (("issuer-1", a.kid), ("issuer-2", b.kid))
    }
    assert salts == {bytes.fromhex(settings["salt"])}
    assert stat.S_IMODE((tmp_path / "keywrap.json").stat().st_mode) == 0o600
    assert Argon2idParams(8, 1, 1) == TEST_ONLY_KDF


def test_threads_meeting_an_empty_cache_together_derive_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load, the first requests of a worker all ask for the issuer's key at once: one
    Argon2id derivation serves them all (each asking 64 MiB at once ran a worker out of memory)."""
    import time

    from keys import CachingKeyStore

    store = EncryptedFileStore(tmp_path, b"passphrase-for-threads")
    kid = store.rotate("issuer-1", "ed25519", T0).kid
    calls: list[Any] = []
    real = envelope.Argon2id

    class SlowCounting:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(kwargs)
            self.inner = real(**kwargs)

        def derive(self, passphrase: bytes) -> bytes:
            time.sleep(0.2)  # long enough for every thread to arrive while it runs
            return bytes(self.inner.derive(passphrase))

    monkeypatch.setattr(envelope, "Argon2id", SlowCounting)
    envelope.forget_derived_keys()  # as in a fresh worker
    for cached in (False, True):
        reopened = EncryptedFileStore(tmp_path, b"passphrase-for-threads")
        keys_store = CachingKeyStore(reopened) if cached else reopened
        signatures, failures = _sign_at_once(keys_store, "issuer-1", kid, threads=8)
        assert failures == []
        assert len(signatures) == 8 and len(set(signatures)) == 1
        envelope.forget_derived_keys()
    assert len(calls) == 2  # once per "fresh worker", not once per thread


def _sign_at_once(
    store: Any, owner: str, kid: str, *, threads: int
) -> tuple[list[bytes], list[BaseException]]:
    """``threads`` threads asking ``store`` for the key at the same moment, each signing with it:
    the signatures and the failures (a thread still stuck after a minute is one)."""
    import threading

    start = threading.Barrier(threads)
    signatures: list[bytes] = []
    failures: list[BaseException] = []

    def sign() -> None:
        start.wait()
        try:
            signatures.append(store.get(owner, kid).sign(b"m"))
        except BaseException as exc:  # reported by the caller
            failures.append(exc)

    started = [threading.Thread(target=sign, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=60)
    failures += [TimeoutError("a thread never finished") for t in started if t.is_alive()]
    return signatures, failures
