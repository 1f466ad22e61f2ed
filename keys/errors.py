"""Exceptions and warnings raised by key management, each error with a short ``code``."""

from __future__ import annotations

from credentials import KeyFormatError


class KeyStoreError(Exception):
    """Root of every error ``keys`` raises on purpose."""

    code = "key_store_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KeyNotFound(KeyStoreError):
    """No key with that id (or no usable key of that type) is stored for the owner."""

    code = "key_not_found"


class KeyExists(KeyStoreError):
    """A key with that id is already stored for the owner.

    Stores never overwrite key material: a kid that silently changed its key would make every
    credential already signed under it unverifiable.
    """

    code = "key_exists"


class KeyRetired(KeyStoreError):
    """The key is retired: it may still verify old credentials but is not (re-)retired or used."""

    code = "key_retired"


class PassphraseRequired(KeyStoreError):
    """The key material is encrypted (or must be) and no passphrase was given."""

    code = "passphrase_required"


class WrongPassphrase(KeyStoreError):
    """The passphrase does not decrypt the key (or the encrypted file is corrupt)."""

    code = "wrong_passphrase"


class PlaintextRefused(KeyStoreError):
    """Unencrypted key material was found (or requested) where only encrypted keys are allowed."""

    code = "plaintext_refused"


class KeyFileError(KeyStoreError, KeyFormatError):
    """A key file is in no accepted format, or holds an unsupported or inconsistent key.

    It is both a :class:`KeyStoreError` and a ``credentials`` :class:`KeyFormatError`, so callers
    may catch either.
    """

    code = "key_file"


class InsecureKeyStoreWarning(UserWarning):
    """A key store keeps private keys unencrypted (development only, never production)."""
