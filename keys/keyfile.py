"""Single key files for the CLI: load PEM, Multikey JSON or JWK keys; write them; summarise them."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from credentials import (
    KeyFormatError,
    b64url_decode,
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    encode_secret_key,
    jwk_thumbprint,
    load_private_jwk,
    private_jwk,
    public_jwk,
)
from keys import envelope
from keys.envelope import DEFAULT_KDF, Argon2idParams
from keys.errors import KeyFileError, KeyStoreError, PassphraseRequired, WrongPassphrase
from keys.signing_key import (
    PrivateKey,
    PublicKey,
    SigningKey,
    algorithm_of,
    supported_private_key,
)

#: One line naming every accepted format, for error messages and ``--help`` texts.
ACCEPTED_FORMATS = (
    "Cairn encrypted key files, PKCS#8 PEM (plain or encrypted), traditional EC/RSA PEM, "
    "unencrypted OpenSSH, "
    'Multikey JSON with "secretKeyMultibase", or a private JWK; '
    "Ed25519, P-256 or RSA (2048 bits or more)"
)

# Real key files are a few kilobytes (RSA-8192 PEM is under 7 KiB); anything far larger is not a
# key, and refusing it early keeps a mistaken path from being parsed at length.
_MAX_KEY_FILE = 64 * 1024

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_PRIVATE_PEM_LABELS = {
    envelope.LABEL,
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"RSA PRIVATE KEY",
}


def load_key_file(data: bytes, passphrase: bytes | None, *, kid: str | None = None) -> SigningKey:
    """Load a private signing key from the bytes of a key file.

    Accepted: Cairn's encrypted key files (``BEGIN CAIRN ENCRYPTED PRIVATE KEY``, see
    :mod:`keys.envelope`), PKCS#8 PEM (``BEGIN PRIVATE KEY``, or ``BEGIN ENCRYPTED PRIVATE KEY``
    with the passphrase), traditional ``BEGIN EC PRIVATE KEY``/``BEGIN RSA PRIVATE KEY`` PEM
    (plain or encrypted), unencrypted ``BEGIN OPENSSH PRIVATE KEY``, a Multikey JSON object with
    ``secretKeyMultibase`` (or the older ``privateKeyMultibase``), or a private JWK. A passphrase
    given for an unencrypted file is ignored: whether plaintext is acceptable is the caller's call.

    :param data: the file's bytes.
    :param passphrase: the passphrase of an encrypted PEM file, if any.
    :param kid: the key id to use; by default the Cairn file's ``Key-Id``, the JWK's ``kid``, the
        Multikey's ``id`` or its public ``publicKeyMultibase``, and for PEM the RFC 7638 JWK
        thumbprint of the public key.
    :returns: the key (no creation or retirement date: files do not record them).
    :raises PassphraseRequired: for an encrypted file and no passphrase.
    :raises WrongPassphrase: when the passphrase does not decrypt it.
    :raises KeyFileError: for any other format, a public-only key, an unsupported key type, or a
        Multikey/JWK whose public part does not match its private part. It is also a
        ``credentials`` ``KeyFormatError``.
    """
    if not isinstance(data, bytes):
        raise TypeError("load_key_file takes the file's bytes")
    if len(data) > _MAX_KEY_FILE:
        raise KeyFileError(f"too large to be a key file; accepted: {ACCEPTED_FORMATS}")
    text = data.removeprefix(b"\xef\xbb\xbf").strip()  # editors on Windows add a UTF-8 BOM
    if b"-----BEGIN " in text:
        private_key, file_kid = _load_pem(text, passphrase)
        return SigningKey(kid or file_kid or _thumbprint(private_key.public_key()), private_key)
    if text.startswith(b"{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            raise KeyFileError(f"invalid JSON key file; accepted: {ACCEPTED_FORMATS}") from None
        if isinstance(doc, dict):
            if "kty" in doc:
                return _load_jwk(doc, kid)
            if "secretKeyMultibase" in doc or "privateKeyMultibase" in doc:
                return _load_multikey(doc, kid)
            if "publicKeyMultibase" in doc:
                raise KeyFileError("this Multikey has no secretKeyMultibase: it is a public key")
    raise KeyFileError(f"not a key file; accepted: {ACCEPTED_FORMATS}")


def dump_key_file(
    key: SigningKey,
    passphrase: bytes | None,
    *,
    fmt: Literal["pem", "multikey", "jwk"] = "pem",
    kdf: Argon2idParams = DEFAULT_KDF,
) -> bytes:
    """Serialise a private key as a key file that :func:`load_key_file` reads back.

    :param key: the key.
    :param passphrase: for ``pem``, write a Cairn encrypted key file (:mod:`keys.envelope`:
        Argon2id and AES-256-GCM, the kid and key type authenticated); ``None`` writes plain
        PKCS#8: the caller decides whether that is acceptable. JSON formats cannot be
        encrypted, so they require ``None``.
    :param kdf: the Argon2id parameters of an encrypted file (keep the default).
    :param fmt: ``pem`` (PKCS#8, or the encrypted envelope), ``multikey`` (Ed25519 only; JSON
        with ``id`` set to the kid, ``publicKeyMultibase`` and ``secretKeyMultibase``) or
        ``jwk`` (private JWK with ``kid`` and ``alg``).
    :returns: the file's bytes; JSON ends with a newline.
    :raises ValueError: for a passphrase with a JSON format, an empty passphrase, a non-Ed25519
        key as Multikey, or an unknown format.
    """
    private_key = key.private_key
    if fmt == "pem":
        if passphrase is not None:
            return envelope.seal(private_key, key.kid, passphrase, kdf=kdf)
        return private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    if passphrase is not None:
        # Writing plaintext when the caller asked for encryption would be a silent downgrade.
        raise ValueError(f"{fmt} key files cannot be encrypted; use fmt='pem' with a passphrase")
    if fmt == "multikey":
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise ValueError("Multikey key files hold Ed25519 keys only; use pem or jwk")
        doc: dict[str, str] = {
            "type": "Multikey",
            "id": key.kid,
            "publicKeyMultibase": encode_public_key(private_key.public_key()),
            "secretKeyMultibase": encode_secret_key(private_key),
        }
    elif fmt == "jwk":
        doc = {**private_jwk(private_key), "kid": key.kid, "alg": key.algorithm}
    else:
        raise ValueError(f"unknown key file format {fmt!r}; choose pem, multikey or jwk")
    return (json.dumps(doc, indent=2) + "\n").encode()


def public_key_summary(key: SigningKey) -> dict[str, Any]:
    """The public facts about a key, as JSON-ready data (never any private material).

    :param key: the key.
    :returns: ``kid``, ``key_type``, ``algorithm``, ``publicJwk`` (with ``kid`` and ``alg``),
        ``publicKeyMultibase`` for Ed25519 and P-256, ``did`` (``did:key:z6Mk…``) for Ed25519,
        and ``created``/``retired`` (ISO 8601) when the key has them.
    """
    public = key.public_key()
    summary: dict[str, Any] = {
        "kid": key.kid,
        "key_type": key.key_type,
        "algorithm": key.algorithm,
        "publicJwk": {**public_jwk(public), "kid": key.kid, "alg": key.algorithm},
    }
    if not isinstance(public, rsa.RSAPublicKey):
        summary["publicKeyMultibase"] = encode_public_key(public)
    if isinstance(public, ed25519.Ed25519PublicKey):
        summary["did"] = f"did:key:{summary['publicKeyMultibase']}"
    if key.created is not None:
        summary["created"] = key.created.isoformat()
    if key.retired is not None:
        summary["retired"] = key.retired.isoformat()
    return summary


def _thumbprint(public: PublicKey) -> str:
    return jwk_thumbprint(public_jwk(public))


def _supported(key: object) -> PrivateKey:
    try:
        return supported_private_key(key)
    except ValueError as exc:
        raise KeyFileError(str(exc)) from None


def _load_pem(text: bytes, passphrase: bytes | None) -> tuple[PrivateKey, str | None]:
    """The private key of the first private-key PEM block, and the kid the block names (only
    Cairn's encrypted files name one)."""
    blocks = [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(text)]
    private_blocks = [(label, block) for label, block in blocks if label.endswith(b"PRIVATE KEY")]
    if not private_blocks:
        if any(b"PUBLIC KEY" in label or b"CERTIFICATE" in label for label, _ in blocks):
            raise KeyFileError("this PEM holds a public key or certificate, not a private key")
        raise KeyFileError(f"no private key in this PEM; accepted: {ACCEPTED_FORMATS}")
    label, block = private_blocks[0]
    if label == envelope.LABEL:
        try:
            private_key, sealed = envelope.open_envelope(block, passphrase)
        except (PassphraseRequired, WrongPassphrase):
            raise
        except KeyStoreError as exc:
            raise KeyFileError(exc.message) from None
        return private_key, sealed.kid
    if label == b"OPENSSH PRIVATE KEY":
        return _load_openssh(block, passphrase), None
    if label not in _PRIVATE_PEM_LABELS:
        raise KeyFileError(f"unsupported PEM key {label.decode()!r}; accepted: {ACCEPTED_FORMATS}")
    encrypted = label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block
    if encrypted and passphrase is None:
        raise PassphraseRequired("this key file is encrypted; give its passphrase")
    try:
        loaded = serialization.load_pem_private_key(block, passphrase if encrypted else None)
    except ValueError:
        if encrypted:
            raise WrongPassphrase("wrong passphrase (or the key file is corrupt)") from None
        raise KeyFileError("corrupt PEM private key, or an unsupported key type") from None
    except (TypeError, UnsupportedAlgorithm):
        raise KeyFileError("unsupported PEM private key encryption or key type") from None
    return _supported(loaded), None


def _load_openssh(block: bytes, passphrase: bytes | None) -> PrivateKey:
    try:
        return _supported(serialization.load_ssh_private_key(block, None))
    except TypeError:
        pass  # password-protected
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError("corrupt or unsupported OpenSSH private key") from None
    if passphrase is None:
        raise PassphraseRequired("this OpenSSH key is encrypted; give its passphrase")
    try:
        return _supported(serialization.load_ssh_private_key(block, passphrase))
    except ValueError:
        raise WrongPassphrase("wrong passphrase (or the key file is corrupt)") from None
    except UnsupportedAlgorithm:
        # cryptography needs the optional bcrypt package for OpenSSH's KDF.
        raise KeyFileError(
            "encrypted OpenSSH keys are not supported here; convert the file to encrypted PKCS#8 "
            "with: ssh-keygen -p -m PKCS8 -f FILE"
        ) from None


def _load_multikey(doc: dict[str, Any], kid: str | None) -> SigningKey:
    secret = doc.get("secretKeyMultibase")
    legacy = doc.get("privateKeyMultibase")
    if secret is not None and legacy is not None and secret != legacy:
        raise KeyFileError("secretKeyMultibase and privateKeyMultibase disagree")
    value = secret if secret is not None else legacy
    if not isinstance(value, str):
        raise KeyFileError("secretKeyMultibase must be a string")
    try:
        private_key = decode_secret_key(value)
        derived = encode_public_key(private_key.public_key())
        declared = doc.get("publicKeyMultibase")
        if declared is not None:
            if not isinstance(declared, str):
                raise KeyFileError("publicKeyMultibase must be a string")
            public = decode_public_key(declared)
            if not isinstance(public, ed25519.Ed25519PublicKey) or (
                public.public_bytes_raw() != private_key.public_key().public_bytes_raw()
            ):
                raise KeyFileError("publicKeyMultibase does not match the secret key")
    except KeyFileError:
        raise
    except KeyFormatError as exc:
        raise KeyFileError(f"bad Multikey key file: {exc.message}") from None
    key_id = doc.get("id")
    return SigningKey(
        kid or (key_id if isinstance(key_id, str) and key_id else derived), private_key
    )


def _load_jwk(doc: dict[str, Any], kid: str | None) -> SigningKey:
    if "d" not in doc:
        raise KeyFileError("this JWK has no private member 'd': it is a public key")
    try:
        private_key = _supported(load_private_jwk(doc))
        if not _jwk_public_matches(doc, private_key.public_key()):
            raise KeyFileError("the JWK's public members do not match its private key")
    except KeyFileError:
        raise
    except KeyFormatError as exc:
        raise KeyFileError(f"bad JWK key file: {exc.message}") from None
    algorithm = algorithm_of(private_key)
    if "alg" in doc and doc["alg"] != algorithm:
        # A key labelled for another algorithm is a mix-up worth stopping, not guessing about.
        raise KeyFileError(f"the JWK says alg {doc['alg']!r} but it is a {algorithm} key")
    if kid is None:
        doc_kid = doc.get("kid")
        kid = (
            doc_kid
            if isinstance(doc_kid, str) and doc_kid
            else _thumbprint(private_key.public_key())
        )
    return SigningKey(kid, private_key)


def _jwk_public_matches(doc: dict[str, Any], public: PublicKey) -> bool:
    """Whether the public members a JWK declares belong to the key its private members build.

    ``load_private_jwk`` builds an Ed25519 key from ``d`` alone, so a wrong ``x`` would otherwise
    pass unnoticed and the file would claim one public key while signing with another.
    """

    def declared(name: str) -> bytes | None:
        value = doc.get(name)
        return None if value is None else b64url_decode(value)

    def as_int(value: bytes | None) -> int | None:
        return None if value is None else int.from_bytes(value, "big")

    if isinstance(public, ed25519.Ed25519PublicKey):
        x = declared("x")
        return x is None or x == public.public_bytes_raw()
    if isinstance(public, ec.EllipticCurvePublicKey):
        ec_numbers = public.public_numbers()
        return as_int(declared("x")) in (None, ec_numbers.x) and as_int(declared("y")) in (
            None,
            ec_numbers.y,
        )
    rsa_numbers = public.public_numbers()
    return as_int(declared("n")) in (None, rsa_numbers.n) and as_int(declared("e")) in (
        None,
        rsa_numbers.e,
    )
