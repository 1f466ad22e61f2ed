"""A key store over a directory: one passphrase-encrypted key file per key.

This is the only module in ``keys`` that touches the filesystem.
"""

from __future__ import annotations

import builtins
import dataclasses
import fcntl
import json
import logging
import os
import secrets
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from keys import envelope
from keys.cache import CachingKeyStore
from keys.envelope import DEFAULT_KDF, Argon2idParams
from keys.errors import (
    InsecureKeyStoreWarning,
    KeyExists,
    KeyNotFound,
    KeyRetired,
    KeyStoreError,
    PassphraseRequired,
    PlaintextRefused,
    WrongPassphrase,
)
from keys.generate import generate_key
from keys.signing_key import (
    KEY_TYPES,
    PrivateKey,
    SigningKey,
    key_type_of,
    supported_private_key,
)
from keys.store import (
    KeyRecord,
    check_aware,
    check_key_type,
    check_name,
    created_of,
    newest_active_kid,
    normalise_key,
)

#: Version of the ``<kid>.json`` metadata layout, so a later layout can be told apart.
METADATA_FORMAT = 1
#: The store-wide KDF settings file (parameters and salt; nothing secret).
WRAP_SETTINGS = "keywrap.json"

_log = logging.getLogger(__name__)

_FILE_MODE = 0o600
_DIR_MODE = 0o700
# Never follow a symlink planted where a key file should be, and never leak descriptors to
# child processes. (Both flags exist on Linux and macOS; the getattr keeps other POSIX working.)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_PLAIN_PEM = b"-----BEGIN PRIVATE KEY-----"


@dataclass(frozen=True)
class _Metadata:
    kid: str
    key_type: str
    created: datetime
    retired: datetime | None


@dataclass(frozen=True)
class SealedKey:
    """A stored key as its encrypted file (``data``, exactly the bytes on disk) and its public
    metadata: what an organisation's export carries. It opens only with the passphrase of the
    store that sealed it."""

    kid: str
    key_type: str
    created: datetime
    retired: datetime | None
    data: bytes = dataclasses.field(repr=False)


def encrypted_store_of(store: object) -> EncryptedFileStore:
    """The :class:`EncryptedFileStore` behind ``store`` (unwrapping a caching store).

    :raises KeyStoreError: when keys are not kept in encrypted files (e.g. an in-memory store),
        so there is nothing sealed to carry.
    """
    inner = store.inner if isinstance(store, CachingKeyStore) else store
    if not isinstance(inner, EncryptedFileStore):
        raise KeyStoreError("this instance's keys are not kept in an encrypted file store")
    return inner


class EncryptedFileStore:
    """A :class:`keys.store.KeyStore` keeping each key in ``<directory>/<owner>/<kid>.pem``.

    Each ``.pem`` is a Cairn key envelope (:mod:`keys.envelope`): the PKCS#8 DER sealed with
    AES-256-GCM under a key derived from the passphrase with Argon2id (64 MiB, 3 passes), with
    the kid and key type authenticated. All keys of a store share one salt, kept with the KDF
    parameters in ``<directory>/keywrap.json``, so a process derives the key-encryption key once
    (about 0.2 s) and then opens any of its keys in microseconds.

    Older stores kept encrypted PKCS#8 (PBES2, PBKDF2 at only 2,048 iterations: cheap to brute
    force). Those files are still read, and re-wrapped into the envelope the first time they
    are loaded (and by :meth:`rewrap`, behind ``cairn keys rewrap``); so are envelopes written
    with other KDF parameters than the store's.

    Next to it, ``<kid>.json`` holds metadata only (kid, key type, algorithm, created, retired):
    no private material. Files are created ``0600`` and directories ``0700``, each file written
    to a temporary file and renamed into place, so a crash never leaves half a key. Writes to one
    owner are serialised with an ``flock`` on ``<owner>/.lock``, so two processes rotating at
    once cannot both leave an active key.

    The passphrase is the key-encryption key. The app passes ``CAIRN_KEY_PASSPHRASE``; it must
    **not** be the Flask ``SECRET_KEY``: that secret signs cookies, is needed by every web
    worker, and is rotated on its own schedule, so reusing it would let one leak expose both
    sessions and signing keys, and rotating it would lock the keys away.
    """

    def __init__(
        self,
        directory: Path,
        passphrase: bytes | None,
        *,
        allow_plaintext_dev_keys: bool = False,
        kdf: Argon2idParams = DEFAULT_KDF,
    ) -> None:
        """Open (lazily create) a store; no file is touched until a key is stored or read.

        :param directory: where keys live; created ``0700`` on the first write if missing.
        :param passphrase: the key-encryption passphrase; ``None`` refuses every operation
            with :class:`PassphraseRequired`, unless ``allow_plaintext_dev_keys`` is set.
        :param allow_plaintext_dev_keys: with no passphrase, keep keys *unencrypted*: only for
            throwaway development keys. Emits an :class:`InsecureKeyStoreWarning`. Ignored when a
            passphrase is given (then plaintext key files are always refused).
        :param kdf: the Argon2id parameters for the key files it writes (the default is the one
            to use; tests may pass ``keys.envelope.TEST_ONLY_KDF``).
        :raises TypeError: when the passphrase is not bytes.
        :raises ValueError: for an empty passphrase.
        """
        _check_passphrase(passphrase)
        self._directory = Path(directory)
        self._passphrase = passphrase
        self._kdf = kdf
        self._salt: bytes | None = None
        self._plaintext = passphrase is None and allow_plaintext_dev_keys
        if self._plaintext:
            warnings.warn(
                f"key store {self._directory} keeps private keys UNENCRYPTED; "
                "use only throwaway development keys and set CAIRN_KEY_PASSPHRASE in production",
                InsecureKeyStoreWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        mode = "plaintext-dev" if self._plaintext else "encrypted"
        return f"EncryptedFileStore({str(self._directory)!r}, {mode})"

    @property
    def directory(self) -> Path:
        """The store's root directory."""
        return self._directory

    # -- the KeyStore protocol ----------------------------------------------------------------

    def put(self, owner: str, key: SigningKey) -> None:
        """Store a new key (``created`` defaults to now).

        :param owner: the issuer the key belongs to.
        :param key: the key.
        :raises KeyExists: when the owner already has a key with that kid.
        :raises PassphraseRequired: when the store has no passphrase and is not in dev mode.
        :raises ValueError: for an unsafe owner or kid, an unsupported key or a naive date.
        """
        check_name(owner, "owner")
        key = normalise_key(key)
        self._require_usable()
        with self._locked(owner):
            self._put(owner, key)

    def get(self, owner: str, kid: str) -> SigningKey:
        """Return a key, retired or not, decrypted.

        :param owner: the issuer.
        :param kid: the key id.
        :returns: the key.
        :raises KeyNotFound: when the owner has no key with that kid.
        :raises PassphraseRequired: when the store has no passphrase and is not in dev mode, or
            a dev-mode store meets an encrypted key.
        :raises WrongPassphrase: when the passphrase does not decrypt the key.
        :raises PlaintextRefused: when an encrypted store meets an unencrypted key file.
        :raises KeyStoreError: when the files are corrupt or disagree with each other.
        :raises ValueError: for an unsafe owner or kid.
        """
        check_name(owner, "owner")
        check_name(kid, "kid")
        self._require_usable()
        meta = self._read_metadata(owner, kid)
        pem_path = self._directory / owner / f"{kid}.pem"
        try:
            data = _read_file(pem_path)
        except FileNotFoundError:
            raise KeyStoreError(f"key {owner}/{kid} has metadata but no key file") from None
        private_key, stale = self._decode(data, self._passphrase, owner=owner, kid=kid)
        if key_type_of(private_key) != meta.key_type:
            # The metadata is not authenticated; never let it relabel a key.
            raise KeyStoreError(
                f"key {owner}/{kid} is not the {meta.key_type} key its metadata says"
            )
        if stale:
            self._rewrap_on_load(owner, kid, data, private_key)
        return SigningKey(kid, private_key, created=meta.created, retired=meta.retired)

    def list(self, owner: str) -> builtins.list[KeyRecord]:
        """Public metadata of all the owner's keys, oldest first.

        Public keys are derived from the decrypted private keys, not read from the (unsigned)
        metadata files, so a tampered metadata file cannot make the app publish a foreign key.

        :param owner: the issuer.
        :returns: one record per key (empty for an unknown owner).
        :raises PassphraseRequired: see :meth:`get`.
        :raises WrongPassphrase: when the passphrase does not decrypt a key.
        :raises ValueError: for an unsafe owner.
        """
        check_name(owner, "owner")
        self._require_usable()
        records = [KeyRecord.of(self.get(owner, kid)) for kid in self._kids(owner)]
        return sorted(records, key=lambda r: (r.created, r.kid))

    def active(self, owner: str, key_type: str) -> SigningKey:
        """The newest non-retired key of that type.

        :param owner: the issuer.
        :param key_type: ``ed25519``, ``p256`` or ``rsa``.
        :returns: the key, decrypted.
        :raises KeyNotFound: when there is none.
        :raises PassphraseRequired: see :meth:`get`.
        :raises WrongPassphrase: when the passphrase does not decrypt the key.
        :raises ValueError: for an unsafe owner or an unknown key type.
        """
        check_name(owner, "owner")
        check_key_type(key_type)
        self._require_usable()
        kid = self._active_kid(owner, key_type)
        if kid is None:
            raise KeyNotFound(f"owner {owner!r} has no active {key_type} key")
        return self.get(owner, kid)

    def retire(self, owner: str, kid: str, when: datetime) -> None:
        """Mark a key retired as of ``when`` (only its metadata file changes).

        :param owner: the issuer.
        :param kid: the key id.
        :param when: the retirement time (timezone-aware).
        :raises KeyNotFound: when there is no such key.
        :raises KeyRetired: when it is already retired.
        :raises PassphraseRequired: when the store has no passphrase and is not in dev mode.
        :raises ValueError: for an unsafe name or a naive ``when``.
        """
        check_name(owner, "owner")
        check_name(kid, "kid")
        when = check_aware(when, "when")
        self._require_usable()
        self._read_metadata(owner, kid)  # KeyNotFound before creating any directory or lock
        with self._locked(owner):
            self._retire(owner, kid, when)

    def rotate(self, owner: str, key_type: str, when: datetime) -> SigningKey:
        """Generate a new key of that type, store it, and retire the previous active one(s).

        The new key is written before the old ones are retired: a crash in between leaves two
        active keys (``active`` picks the new one), never none.

        :param owner: the issuer.
        :param key_type: ``ed25519``, ``p256`` or ``rsa``.
        :param when: the new key's creation time and the old keys' retirement time.
        :returns: the new key.
        :raises PassphraseRequired: when the store has no passphrase and is not in dev mode.
        :raises ValueError: for an unsafe owner, an unknown key type or a naive ``when``.
        """
        check_name(owner, "owner")
        check_key_type(key_type)
        when = check_aware(when, "when")
        self._require_usable()
        new_key = normalise_key(generate_key(key_type, created=when))
        with self._locked(owner):
            previous = [
                meta.kid
                for meta in self._metadata_of(owner)
                if meta.key_type == key_type and meta.retired is None
            ]
            self._put(owner, new_key)
            for kid in previous:
                self._retire(owner, kid, when)
        return new_key

    # -- moving keys between instances, still encrypted ---------------------------------------

    def sealed(self, owner: str, kid: str) -> SealedKey:
        """A key exactly as stored: its encrypted file's bytes and its public metadata, for an
        export. Nothing is decrypted.

        :param owner: the issuer.
        :param kid: the key id.
        :returns: the sealed key.
        :raises KeyNotFound: when the owner has no key with that kid.
        :raises PlaintextRefused: when the key file is not encrypted (a development store):
            an export never carries a private key in the clear.
        :raises KeyStoreError: when the key file is missing or not a key file.
        """
        check_name(owner, "owner")
        check_name(kid, "kid")
        meta = self._read_metadata(owner, kid)
        try:
            data = _read_file(self._directory / owner / f"{kid}.pem")
        except FileNotFoundError:
            raise KeyStoreError(f"key {owner}/{kid} has metadata but no key file") from None
        stripped = data.lstrip()
        if not envelope.is_envelope(data) and not stripped.startswith(_ENCRYPTED_PEM):
            raise PlaintextRefused(
                f"key {owner}/{kid} is not stored encrypted; set CAIRN_KEY_PASSPHRASE and run "
                "`cairn keys rewrap` before exporting"
            )
        return SealedKey(meta.kid, meta.key_type, meta.created, meta.retired, data)

    def open_sealed(self, key: SealedKey) -> KeyRecord:
        """Check that this store's passphrase opens a sealed key (and that it is the key type
        it says), without writing anything; the decrypted key is only held in memory.

        :returns: the key's public record (to compare with the public key the issuer publishes).
        :raises PassphraseRequired: when the store has no passphrase.
        :raises WrongPassphrase: when this store's passphrase does not decrypt it.
        :raises KeyStoreError: when the data is not that key, or not a key file.
        """
        check_name(key.kid, "kid")
        check_key_type(key.key_type)
        if self._passphrase is None:
            raise PassphraseRequired("importing keys needs the store's passphrase")
        private_key, _ = self._decode(key.data, self._passphrase, owner="import", kid=key.kid)
        if key_type_of(private_key) != key.key_type:
            raise KeyStoreError(f"key {key.kid} is not the {key.key_type} key it says")
        created = check_aware(key.created, "created")
        return KeyRecord.of(SigningKey(key.kid, private_key, created=created, retired=key.retired))

    def put_sealed(self, owner: str, key: SealedKey) -> None:
        """Store a sealed key under ``owner`` with its file's bytes unchanged (it stays
        encrypted as it came; it is re-wrapped to this store's salt on first use, or by
        ``cairn keys rewrap``). Call :meth:`open_sealed` first.

        :raises KeyExists: when the owner already has a key with that kid.
        :raises ValueError: for an unsafe owner or kid, or a naive date.
        """
        check_name(owner, "owner")
        check_name(key.kid, "kid")
        check_key_type(key.key_type)
        meta = _Metadata(
            key.kid,
            key.key_type,
            check_aware(key.created, "created"),
            check_aware(key.retired, "retired") if key.retired is not None else None,
        )
        with self._locked(owner):
            owner_dir = self._directory / owner
            pem_path, meta_path = owner_dir / f"{key.kid}.pem", owner_dir / f"{key.kid}.json"
            if os.path.lexists(pem_path) or os.path.lexists(meta_path):
                raise KeyExists(f"owner {owner!r} already has a key {key.kid!r}")
            _write_atomic(pem_path, key.data)
            _write_atomic(meta_path, _metadata_bytes(meta))

    def remove_owner(self, owner: str, kids: builtins.list[str]) -> None:
        """Remove the named keys of ``owner`` (an import undone before its commit); only ever
        keys :meth:`put_sealed` just wrote."""
        check_name(owner, "owner")
        with self._locked(owner):
            for kid in kids:
                check_name(kid, "kid")
                for suffix in (".json", ".pem"):
                    with suppress(FileNotFoundError):
                        os.unlink(self._directory / owner / f"{kid}{suffix}")

    # -- key-encryption-key rotation ----------------------------------------------------------

    def reencrypt(self, new_passphrase: bytes) -> None:
        """Re-encrypt every key under a new passphrase (key-encryption-key rotation).

        Every key is decrypted first, so a wrong current passphrase changes nothing. Each file is
        replaced atomically, but the store as a whole is not: if the process dies midway, run
        ``reencrypt`` again with the same arguments; keys already under the new passphrase are
        recognised and left alone. A dev-mode (plaintext) store becomes an encrypted one.

        :param new_passphrase: the new key-encryption passphrase.
        :raises PassphraseRequired: when the store has no passphrase and is not in dev mode.
        :raises WrongPassphrase: when a key opens with neither the current nor the new passphrase.
        :raises TypeError: when the new passphrase is not bytes.
        :raises ValueError: for an empty new passphrase.
        """
        if new_passphrase is None:
            raise TypeError("reencrypt needs a new passphrase; keys are never decrypted to disk")
        _check_passphrase(new_passphrase)
        self._require_usable()
        with ExitStack() as stack:
            owners = self._owners()
            for owner in owners:  # sorted, so concurrent callers lock in the same order
                stack.enter_context(self._locked(owner))
            pending: builtins.list[tuple[Path, str, PrivateKey]] = []
            for owner in owners:
                for path in self._key_files(owner):
                    data = _read_file(path)
                    try:
                        private_key, _ = self._decode(
                            data, self._passphrase, owner=owner, kid=path.stem
                        )
                    except (WrongPassphrase, PassphraseRequired):
                        # Already re-encrypted by an interrupted earlier run?
                        try:
                            private_key, stale = self._decode(
                                data, new_passphrase, owner=owner, kid=path.stem
                            )
                        except KeyStoreError:
                            raise WrongPassphrase(
                                f"key {owner}/{path.stem}: neither the current nor the new "
                                "passphrase decrypts it; nothing was changed"
                            ) from None
                        if not stale:
                            continue
                    pending.append((path, path.stem, private_key))
            for path, kid, private_key in pending:
                _write_atomic(path, self._encode(kid, private_key, new_passphrase))
        self._passphrase = new_passphrase
        self._plaintext = False

    def rewrap(self) -> int:
        """Re-wrap every key file not yet in the store's current format: old encrypted PKCS#8
        (PBKDF2), or an envelope with other KDF parameters or another salt than the store's.

        Every key is decrypted first, so a wrong passphrase changes nothing; each file is
        replaced atomically (a temporary file, fsync, rename; mode 0600). Running it again does
        nothing. A plaintext development store has nothing to wrap.

        :returns: how many files were re-wrapped.
        :raises PassphraseRequired: when the store has no passphrase.
        :raises WrongPassphrase: when the passphrase does not decrypt a key.
        :raises KeyStoreError: when a key file is corrupt.
        """
        if self._passphrase is None:
            raise PassphraseRequired(
                "re-wrapping keys needs the store's passphrase (CAIRN_KEY_PASSPHRASE)"
            )
        kdf, salt = self._wrap_settings()
        with ExitStack() as stack:
            owners = self._owners()
            for owner in owners:
                stack.enter_context(self._locked(owner))
            pending: builtins.list[tuple[Path, str, PrivateKey]] = []
            for owner in owners:
                for path in self._key_files(owner):
                    data = _read_file(path)
                    private_key, stale = self._decode(
                        data, self._passphrase, owner=owner, kid=path.stem
                    )
                    current = (
                        not stale
                        and envelope.is_envelope(data)
                        and envelope.parse(data).salt == salt
                        and envelope.parse(data).kdf == kdf
                    )
                    if not current:
                        pending.append((path, path.stem, private_key))
            for path, kid, private_key in pending:
                _write_atomic(path, self._encode(kid, private_key, self._passphrase))
        return len(pending)

    # -- internals ----------------------------------------------------------------------------

    def _require_usable(self) -> None:
        if self._passphrase is None and not self._plaintext:
            raise PassphraseRequired(
                "the key store needs a passphrase (CAIRN_KEY_PASSPHRASE) to store or read keys"
            )

    def _encode(self, kid: str, private_key: PrivateKey, passphrase: bytes | None) -> bytes:
        if passphrase is None:
            # Only reachable in explicit plaintext dev mode (_require_usable ran first).
            return private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        kdf, salt = self._wrap_settings()
        return envelope.seal(private_key, kid, passphrase, kdf=kdf, salt=salt)

    def _decode(
        self, data: bytes, passphrase: bytes | None, *, owner: str, kid: str
    ) -> tuple[PrivateKey, bool]:
        """Decode a stored key file; also say whether it should be re-wrapped (an old PKCS#8
        file, or an envelope with other KDF parameters than the store's)."""
        where = f"{owner}/{kid}"
        if envelope.is_envelope(data):
            if passphrase is None:
                raise PassphraseRequired(
                    f"key {where} is encrypted; the store needs its passphrase"
                )
            private_key, sealed = envelope.open_envelope(data, passphrase, where=f"key {where}")
            if sealed.kid != kid:
                # The kid is authenticated: a file renamed to another kid is not that key.
                raise KeyStoreError(f"key {where}: the file holds key {sealed.kid!r}")
            return private_key, sealed.kdf != self._kdf
        private_key = _decode_pem(data, passphrase, where=where)
        return private_key, passphrase is not None

    def _rewrap_on_load(self, owner: str, kid: str, data: bytes, private_key: PrivateKey) -> None:
        """Replace an old-format key file just read successfully by an envelope.

        A key store that cannot write (a read-only mount) still serves the key; the file is
        then left for ``cairn keys rewrap``.
        """
        path = self._directory / owner / f"{kid}.pem"
        try:
            with self._locked(owner):
                if _read_file(path) != data:
                    return  # someone else re-wrapped (or replaced) it meanwhile
                _write_atomic(path, self._encode(kid, private_key, self._passphrase))
        except OSError as exc:
            _log.warning("could not re-wrap key %s/%s: %s", owner, kid, exc)

    def _wrap_settings(self) -> tuple[Argon2idParams, bytes]:
        """The store's KDF parameters and salt, from ``keywrap.json`` (created when missing,
        replaced when the store's parameters changed)."""
        if self._salt is not None:
            return self._kdf, self._salt
        path = self._directory / WRAP_SETTINGS
        salt = self._read_wrap_settings(path)
        if salt is None:
            if not self._directory.exists():
                os.makedirs(self._directory, mode=_DIR_MODE, exist_ok=True)
                os.chmod(self._directory, _DIR_MODE)
            doc = {
                "format": 1,
                "kdf": "argon2id",
                "params": self._kdf.header(),
                "salt": envelope.new_salt().hex(),
            }
            fresh = (json.dumps(doc, indent=2) + "\n").encode()
            if path.exists():
                _write_atomic(path, fresh)  # other parameters: start a new salt for them
            else:
                _create_exclusive(path, fresh)  # two processes at once: the first one wins
            salt = self._read_wrap_settings(path)
            if salt is None:
                raise KeyStoreError(f"{path}: another process keeps other KDF parameters")
        self._salt = salt
        return self._kdf, salt

    def _read_wrap_settings(self, path: Path) -> bytes | None:
        """The salt in ``keywrap.json`` when it is for the store's parameters, else ``None``."""
        try:
            doc: Any = json.loads(_read_file(path))
            if doc.get("kdf") != "argon2id" or doc.get("params") != self._kdf.header():
                return None
            salt = bytes.fromhex(doc["salt"])
        except FileNotFoundError:
            return None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise KeyStoreError(f"corrupt {path}: {exc}") from None
        if len(salt) < 16:
            raise KeyStoreError(f"corrupt {path}: the salt is too short")
        return salt

    def _key_files(self, owner: str) -> builtins.list[Path]:
        return [
            path
            for path in sorted((self._directory / owner).glob("*.pem"))
            if not path.name.startswith(".") and _is_safe(path.stem)
        ]

    def _put(self, owner: str, key: SigningKey) -> None:
        owner_dir = self._directory / owner
        pem_path = owner_dir / f"{key.kid}.pem"
        meta_path = owner_dir / f"{key.kid}.json"
        if os.path.lexists(pem_path) or os.path.lexists(meta_path):
            raise KeyExists(f"owner {owner!r} already has a key {key.kid!r}")
        pem = self._encode(key.kid, key.private_key, self._passphrase)
        # Key file first: a key "exists" once its metadata does, so a crash in between leaves
        # an orphaned (encrypted) .pem, never metadata pointing at nothing.
        _write_atomic(pem_path, pem)
        meta = _Metadata(key.kid, key.key_type, created_of(key), key.retired)
        _write_atomic(meta_path, _metadata_bytes(meta))

    def _retire(self, owner: str, kid: str, when: datetime) -> None:
        meta = self._read_metadata(owner, kid)
        if meta.retired is not None:
            raise KeyRetired(f"key {kid!r} was already retired at {meta.retired.isoformat()}")
        meta = dataclasses.replace(meta, retired=when)
        _write_atomic(self._directory / owner / f"{kid}.json", _metadata_bytes(meta))

    def _active_kid(self, owner: str, key_type: str) -> str | None:
        return newest_active_kid(
            (meta.kid, meta.created, meta.retired)
            for meta in self._metadata_of(owner)
            if meta.key_type == key_type
        )

    def _owners(self) -> builtins.list[str]:
        if not self._directory.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self._directory.iterdir()
            if entry.is_dir() and not entry.is_symlink() and _is_safe(entry.name)
        )

    def _kids(self, owner: str) -> builtins.list[str]:
        owner_dir = self._directory / owner
        if not owner_dir.is_dir():
            return []
        return sorted(p.stem for p in owner_dir.glob("*.json") if _is_safe(p.stem))

    def _metadata_of(self, owner: str) -> builtins.list[_Metadata]:
        return [self._read_metadata(owner, kid) for kid in self._kids(owner)]

    def _read_metadata(self, owner: str, kid: str) -> _Metadata:
        path = self._directory / owner / f"{kid}.json"
        try:
            data = _read_file(path)
        except FileNotFoundError:
            raise KeyNotFound(f"owner {owner!r} has no key {kid!r}") from None
        try:
            doc: Any = json.loads(data)
            if doc.get("format") != METADATA_FORMAT or doc.get("kid") != kid:
                raise ValueError("wrong format version or kid")
            if doc.get("key_type") not in KEY_TYPES:
                raise ValueError("unknown key type")
            retired = doc.get("retired")
            return _Metadata(
                kid=kid,
                key_type=doc["key_type"],
                created=check_aware(datetime.fromisoformat(doc["created"]), "created"),
                retired=(
                    None
                    if retired is None
                    else check_aware(datetime.fromisoformat(retired), "retired")
                ),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise KeyStoreError(f"corrupt metadata file {owner}/{kid}.json: {exc}") from None

    @contextmanager
    def _locked(self, owner: str) -> Iterator[None]:
        owner_dir = self._ensure_owner_dir(owner)
        fd = os.open(owner_dir / ".lock", os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _ensure_owner_dir(self, owner: str) -> Path:
        if not self._directory.exists():
            os.makedirs(self._directory, mode=_DIR_MODE, exist_ok=True)
            os.chmod(self._directory, _DIR_MODE)  # the umask may have removed bits we need
        owner_dir = self._directory / owner
        try:
            os.mkdir(owner_dir, _DIR_MODE)
        except FileExistsError:
            if not owner_dir.is_dir():
                raise KeyStoreError(f"{owner_dir} exists and is not a directory") from None
        else:
            os.chmod(owner_dir, _DIR_MODE)
        return owner_dir


def _metadata_bytes(meta: _Metadata) -> bytes:
    # Deliberately an allow-list of public fields: nothing derived from the private key.
    doc = {
        "format": METADATA_FORMAT,
        "kid": meta.kid,
        "key_type": meta.key_type,
        "algorithm": KEY_TYPES[meta.key_type],
        "created": meta.created.isoformat(),
        "retired": meta.retired.isoformat() if meta.retired is not None else None,
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _check_passphrase(passphrase: bytes | None) -> None:
    if passphrase is None:
        return
    if not isinstance(passphrase, bytes):
        raise TypeError("the key passphrase must be bytes")
    if not passphrase:
        raise ValueError("the key passphrase must not be empty")


def _is_safe(name: str) -> bool:
    try:
        check_name(name, "name")
    except ValueError:
        return False
    return True


def _decode_pem(data: bytes, passphrase: bytes | None, *, where: str) -> PrivateKey:
    """Decode a PKCS#8 PEM key file (the format before envelopes), insisting on encryption
    whenever the store has a passphrase."""
    stripped = data.lstrip()
    if stripped.startswith(_ENCRYPTED_PEM):
        if passphrase is None:
            raise PassphraseRequired(f"key {where} is encrypted; the store needs its passphrase")
        try:
            key = serialization.load_pem_private_key(data, passphrase)
        except ValueError:
            raise WrongPassphrase(
                f"key {where}: wrong passphrase (or the key file is corrupt)"
            ) from None
    elif stripped.startswith(_PLAIN_PEM):
        if passphrase is not None:
            # An encrypted store never wrote this: refuse rather than silently trust a key
            # someone dropped in, or a dev key that strayed into production.
            raise PlaintextRefused(
                f"key {where} is stored unencrypted; this store requires encryption"
            )
        try:
            key = serialization.load_pem_private_key(data, None)
        except ValueError:
            raise KeyStoreError(f"key {where}: corrupt key file") from None
    else:
        raise KeyStoreError(f"key {where}: not a Cairn encrypted key file")
    try:
        return supported_private_key(key)
    except ValueError as exc:
        raise KeyStoreError(f"key {where}: {exc}") from None


def _read_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        return file.read()


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, mode 0600, durably (for single key files)."""
    _write_atomic(path, data)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 via a temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never reuse (or write through a symlink at) an existing path. The mode is given at
    # creation so the file is never readable by others, even for an instant.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), _FILE_MODE)  # the umask can only remove bits; be exact
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _create_exclusive(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` only if nothing is there yet, never half a file: a temporary
    file hard-linked into place (a link, unlike a rename, fails when the target exists)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), _FILE_MODE)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Make the rename itself durable; not every platform can open a directory, hence suppress.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
