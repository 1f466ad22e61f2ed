"""Key management: generation, encrypted storage and rotation of issuers' signing keys.

Key *material* never lives in the repository; stores keep it under ``instance/`` (or another
directory the deployment chooses), encrypted at rest.
"""

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
from keys.file_store import EncryptedFileStore
from keys.generate import generate_key, new_private_key
from keys.keyfile import ACCEPTED_FORMATS, dump_key_file, load_key_file, public_key_summary
from keys.signing_key import KEY_TYPES, SigningKey, algorithm_of, supported_private_key
from keys.store import KeyRecord, KeyStore, MemoryKeyStore

__all__ = [
    "ACCEPTED_FORMATS",
    "KEY_TYPES",
    "EncryptedFileStore",
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
    "SigningKey",
    "WrongPassphrase",
    "algorithm_of",
    "dump_key_file",
    "generate_key",
    "load_key_file",
    "new_private_key",
    "public_key_summary",
    "supported_private_key",
]
