"""Cairn's encrypted key file format: a private key sealed with AES-256-GCM under a key derived
from the passphrase with Argon2id, in a small versioned PEM-like envelope.

Encrypted PKCS#8 (PBES2 with PBKDF2 at 2,048 iterations, what ``cryptography`` writes) costs an
attacker about a millisecond per guess; Argon2id with the parameters below costs about 0.2 s and
64 MiB per guess, on every guess. Deriving is that slow for us too, so derived keys are cached
per process (keyed by passphrase, parameters and salt): a store derives once, not per key.

The envelope::

    -----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----
    Format: 1
    Key-Id: key-0123456789abcdef
    Key-Type: ed25519
    KDF: argon2id
    KDF-Params: m=65536,t=3,p=4
    Salt: <16 random bytes, base64url without padding>
    Cipher: AES-256-GCM
    Nonce: <12 random bytes, base64url without padding>

    <AES-256-GCM ciphertext and tag of the PKCS#8 DER, base64, 64 characters a line>
    -----END CAIRN ENCRYPTED PRIVATE KEY-----

The headers are authenticated: the GCM associated data is ``b"cairn-key-envelope\\n"`` followed
by the headers above re-serialised as ``Name: value\\n`` in that order. So a file cannot be
relabelled (another kid or key type) or have its KDF parameters lowered without failing to
decrypt, and the key type is checked against the decrypted key as well.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from keys.errors import KeyStoreError, PassphraseRequired, WrongPassphrase
from keys.signing_key import KEY_TYPES, PrivateKey, key_type_of, supported_private_key

LABEL = b"CAIRN ENCRYPTED PRIVATE KEY"
BEGIN = b"-----BEGIN " + LABEL + b"-----"
END = b"-----END " + LABEL + b"-----"
FORMAT_VERSION = "1"
_AAD_PREFIX = b"cairn-key-envelope\n"
_HEADER_ORDER = ("Format", "Key-Id", "Key-Type", "KDF", "KDF-Params", "Salt", "Cipher", "Nonce")
_CIPHER = "AES-256-GCM"
_SALT_BYTES = 16
_NONCE_BYTES = 12


@dataclass(frozen=True)
class Argon2idParams:
    """Argon2id cost parameters: memory in KiB, passes over it, and lanes."""

    memory_kib: int
    iterations: int
    lanes: int

    def header(self) -> str:
        """The ``KDF-Params`` header value, e.g. ``m=65536,t=3,p=4``."""
        return f"m={self.memory_kib},t={self.iterations},p={self.lanes}"


#: The parameters new key files get: RFC 9106's second recommended option (64 MiB, 3 passes,
#: 4 lanes). Measured on the development machine (2 cores, shared): 200-225 ms per derivation
#: (a PBKDF2 guess against the old PKCS#8 files took about 1 ms).
DEFAULT_KDF = Argon2idParams(memory_kib=65536, iterations=3, lanes=4)

#: The smallest parameters Argon2 allows. Only for test suites, which create hundreds of
#: throwaway stores (``CAIRN_KEY_KDF_FOR_TESTS``, refused outside ``CAIRN_ENV=testing``).
TEST_ONLY_KDF = Argon2idParams(memory_kib=8, iterations=1, lanes=1)

# A file may ask for more than we write, but not enough to exhaust memory or time when read.
_MAX_MEMORY_KIB = 1024 * 1024
_MAX_ITERATIONS = 64
_MAX_LANES = 16

_PARAMS = re.compile(r"m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,2})")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Envelope:
    """The parsed headers and ciphertext of an envelope (nothing decrypted)."""

    kid: str
    key_type: str
    kdf: Argon2idParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    def headers(self) -> dict[str, str]:
        """The headers, in their canonical order and spelling."""
        return {
            "Format": FORMAT_VERSION,
            "Key-Id": self.kid,
            "Key-Type": self.key_type,
            "KDF": "argon2id",
            "KDF-Params": self.kdf.header(),
            "Salt": _b64url(self.salt),
            "Cipher": _CIPHER,
            "Nonce": _b64url(self.nonce),
        }

    def associated_data(self) -> bytes:
        """What GCM authenticates besides the ciphertext: the canonical headers."""
        lines = "".join(f"{name}: {value}\n" for name, value in self.headers().items())
        return _AAD_PREFIX + lines.encode()


# -- derived keys, cached per process -------------------------------------------------------

_CACHE_SIZE = 64
_derived: OrderedDict[tuple[bytes, Argon2idParams, bytes], bytes] = OrderedDict()
_derived_lock = threading.Lock()
# Held while deriving. Argon2id asks for its whole memory (64 MiB) at once: threads that each
# met an empty cache and derived together ran a worker out of memory ("Not enough memory to
# derive key") under load, and did the same slow work several times. One derivation at a time;
# whoever waited finds the key in the cache.
_deriving_lock = threading.Lock()


def _cached(cache_key: tuple[bytes, Argon2idParams, bytes]) -> bytes | None:
    with _derived_lock:
        found = _derived.get(cache_key)
        if found is not None:
            _derived.move_to_end(cache_key)
        return found


def derive_key(passphrase: bytes, kdf: Argon2idParams, salt: bytes) -> bytes:
    """The 32-byte AES key for ``passphrase`` under ``kdf`` and ``salt``, derived once per process
    however many threads ask for it at once.

    The cache holds derived keys, never anything an attacker could not get from this process's
    memory anyway (the store holds the passphrase itself).
    """
    cache_key = (passphrase, kdf, salt)
    found = _cached(cache_key)
    if found is not None:
        return found
    with _deriving_lock:
        found = _cached(cache_key)  # derived by the thread we waited for
        if found is not None:
            return found
        derived = Argon2id(
            salt=salt,
            length=32,
            iterations=kdf.iterations,
            lanes=kdf.lanes,
            memory_cost=kdf.memory_kib,
        ).derive(passphrase)
        with _derived_lock:
            _derived[cache_key] = derived
            while len(_derived) > _CACHE_SIZE:
                _derived.popitem(last=False)
    return derived


def forget_derived_keys() -> None:
    """Empty the cache of derived keys (tests use it to count derivations)."""
    with _derived_lock:
        _derived.clear()


def new_salt() -> bytes:
    """A fresh random salt."""
    return os.urandom(_SALT_BYTES)


# -- sealing and opening --------------------------------------------------------------------


def is_envelope(data: bytes) -> bool:
    """Whether ``data`` is (or starts as) a Cairn key envelope."""
    return data.lstrip().startswith(BEGIN)


def seal(
    private_key: PrivateKey,
    kid: str,
    passphrase: bytes,
    *,
    kdf: Argon2idParams = DEFAULT_KDF,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt a private key into an envelope.

    :param private_key: the key (Ed25519, P-256 or RSA).
    :param kid: its key id, authenticated with it (one line, no control characters).
    :param passphrase: the passphrase (non-empty bytes).
    :param kdf: the Argon2id parameters.
    :param salt: the salt; a fresh random one by default. A store passes its own, so that one
        derivation serves all its keys.
    :returns: the envelope's bytes, ending with a newline.
    :raises ValueError: for an empty passphrase, an unsafe kid or an unsupported key.
    """
    if not passphrase:
        raise ValueError("the key passphrase must not be empty")
    if not kid or not kid.isprintable() or len(kid) > 200:
        raise ValueError("the key id must be one printable line of at most 200 characters")
    key_type = key_type_of(private_key)
    envelope = Envelope(
        kid=kid,
        key_type=key_type,
        kdf=kdf,
        salt=salt if salt is not None else new_salt(),
        nonce=os.urandom(_NONCE_BYTES),
        ciphertext=b"",
    )
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    aes = AESGCM(derive_key(passphrase, kdf, envelope.salt))
    ciphertext = aes.encrypt(envelope.nonce, der, envelope.associated_data())
    body = base64.b64encode(ciphertext)
    lines = [BEGIN]
    lines += [f"{name}: {value}".encode() for name, value in envelope.headers().items()]
    lines.append(b"")
    lines += [body[i : i + 64] for i in range(0, len(body), 64)]
    lines.append(END)
    return b"\n".join(lines) + b"\n"


def parse(data: bytes, *, where: str = "key file") -> Envelope:
    """Parse an envelope's headers and ciphertext, without decrypting.

    :raises KeyStoreError: when it is malformed, of an unknown version, or asks for KDF
        parameters beyond what Cairn will spend on reading a key.
    """
    text = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").strip()
    if not text.startswith(BEGIN + b"\n") or not text.endswith(b"\n" + END):
        raise KeyStoreError(f"{where}: not a complete Cairn encrypted key file")
    inner = text[len(BEGIN) + 1 : -len(END) - 1]
    head, separator, body = inner.partition(b"\n\n")
    if not separator:
        raise KeyStoreError(f"{where}: the encrypted key file has no blank line after its headers")
    headers: dict[str, str] = {}
    try:
        for line in head.decode("ascii").split("\n"):
            name, colon, value = line.partition(": ")
            if not colon or name in headers:
                raise ValueError(f"bad header line {line!r}")
            headers[name] = value.strip()
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeyStoreError(f"{where}: malformed encrypted key file headers ({exc})") from None
    if headers.get("Format") != FORMAT_VERSION:
        raise KeyStoreError(
            f"{where}: unknown encrypted key file format {headers.get('Format')!r}; "
            "a newer Cairn wrote it?"
        )
    if list(headers) != list(_HEADER_ORDER):
        raise KeyStoreError(f"{where}: the encrypted key file's headers are not {_HEADER_ORDER}")
    if headers["KDF"] != "argon2id" or headers["Cipher"] != _CIPHER:
        raise KeyStoreError(f"{where}: unsupported KDF or cipher in the encrypted key file")
    if headers["Key-Type"] not in KEY_TYPES:
        raise KeyStoreError(f"{where}: unknown key type {headers['Key-Type']!r}")
    match = _PARAMS.fullmatch(headers["KDF-Params"])
    if match is None:
        raise KeyStoreError(f"{where}: malformed KDF-Params {headers['KDF-Params']!r}")
    kdf = Argon2idParams(*(int(group) for group in match.groups()))
    if not (
        8 * kdf.lanes <= kdf.memory_kib <= _MAX_MEMORY_KIB
        and 1 <= kdf.iterations <= _MAX_ITERATIONS
        and 1 <= kdf.lanes <= _MAX_LANES
    ):
        raise KeyStoreError(f"{where}: KDF-Params {headers['KDF-Params']} are out of range")
    try:
        salt = _b64url_decode(headers["Salt"])
        nonce = _b64url_decode(headers["Nonce"])
        ciphertext = base64.b64decode(b"".join(body.split()), validate=True)
    except (ValueError, binascii.Error):
        raise KeyStoreError(f"{where}: bad base64 in the encrypted key file") from None
    if len(salt) < 16 or len(nonce) != _NONCE_BYTES or len(ciphertext) < 17:
        raise KeyStoreError(f"{where}: salt, nonce or ciphertext of the wrong size")
    return Envelope(headers["Key-Id"], headers["Key-Type"], kdf, salt, nonce, ciphertext)


def open_envelope(
    data: bytes, passphrase: bytes | None, *, where: str = "key file"
) -> tuple[PrivateKey, Envelope]:
    """Decrypt an envelope.

    :returns: the private key and the parsed envelope (for its kid and parameters).
    :raises PassphraseRequired: when ``passphrase`` is ``None``.
    :raises WrongPassphrase: when the passphrase (or the file's integrity) fails.
    :raises KeyStoreError: when the file is malformed or holds another key type than it says.
    """
    envelope = parse(data, where=where)
    if passphrase is None:
        raise PassphraseRequired(f"{where} is encrypted; give its passphrase")
    aes = AESGCM(derive_key(passphrase, envelope.kdf, envelope.salt))
    try:
        der = aes.decrypt(envelope.nonce, envelope.ciphertext, envelope.associated_data())
    except InvalidTag:
        raise WrongPassphrase(f"{where}: wrong passphrase (or the key file was altered)") from None
    try:
        private_key = supported_private_key(serialization.load_der_private_key(der, None))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyStoreError(f"{where}: the decrypted key is unusable ({exc})") from None
    if key_type_of(private_key) != envelope.key_type:
        raise KeyStoreError(f"{where}: holds a {key_type_of(private_key)} key, not its Key-Type")
    return private_key, envelope


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(value: str) -> bytes:
    if not _B64URL.fullmatch(value):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
