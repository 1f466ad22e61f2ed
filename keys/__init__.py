"""Key management: generation, encrypted storage and rotation of issuers' signing keys.

Key *material* never lives in the repository; stores keep it under ``instance/`` (or another
directory the deployment chooses), encrypted at rest.

This module is the package's public API: ``app`` imports from ``keys`` only, never from its
modules (an import-linter contract holds it to that).
"""

from keys.cache import CachingKeyStore
from keys.envelope import DEFAULT_KDF, TEST_ONLY_KDF, Argon2idParams, Envelope, is_envelope
from keys.envelope import parse as parse_envelope
from keys.errors import (
    InsecureKeyStoreWarning,
    KeyExists,
    KeyFileError,
    KeyNotFound,
    KeyRetired,
    KeyStoreError,
    PassphraseRequired,
    PlaintextRefused,
    WrongPassphrase,
)
from keys.file_store import EncryptedFileStore, SealedKey, encrypted_store_of, replace_file
from keys.generate import generate_key, new_private_key
from keys.keyfile import ACCEPTED_FORMATS, dump_key_file, load_key_file, public_key_summary
from keys.passphrase import passphrase_problem
from keys.signing_key import KEY_TYPES, SigningKey, algorithm_of, supported_private_key
from keys.store import KeyRecord, KeyStore, MemoryKeyStore

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_KDF",
    "KEY_TYPES",
    "TEST_ONLY_KDF",
    "Argon2idParams",
    "CachingKeyStore",
    "EncryptedFileStore",
    "Envelope",
    "InsecureKeyStoreWarning",
    "KeyExists",
    "KeyFileError",
    "KeyNotFound",
    "KeyRecord",
    "KeyRetired",
    "KeyStore",
    "KeyStoreError",
    "MemoryKeyStore",
    "PassphraseRequired",
    "PlaintextRefused",
    "SealedKey",
    "SigningKey",
    "WrongPassphrase",
    "algorithm_of",
    "dump_key_file",
    "encrypted_store_of",
    "generate_key",
    "is_envelope",
    "load_key_file",
    "new_private_key",
    "parse_envelope",
    "passphrase_problem",
    "public_key_summary",
    "replace_file",
    "supported_private_key",
]
