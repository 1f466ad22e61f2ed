"""Exceptions raised by the credentials library, each with a short machine-readable ``code``."""

from __future__ import annotations


class CredentialError(Exception):
    """Root of every error this library raises on purpose."""

    code = "credential_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedCredential(CredentialError):
    """The input is not a credential we can work with (bad JSON, wrong shape, bad dates)."""

    code = "malformed_credential"


class UnknownContext(CredentialError):
    """A JSON-LD ``@context`` URL is not one of the bundled, pinned contexts."""

    code = "unknown_context"


class UndefinedTerm(CredentialError):
    """A property or type is not defined by any context, so it would go unsigned."""

    code = "undefined_term"

    def __init__(self, message: str, terms: list[str]) -> None:
        super().__init__(message)
        self.terms = terms


class JsonLdFailure(CredentialError):
    """JSON-LD processing failed (invalid context, protected term redefinition, ...)."""

    code = "jsonld_error"


class KeyFormatError(CredentialError):
    """A key could not be decoded (Multikey, JWK, DID)."""

    code = "key_format"


class ResolutionError(CredentialError):
    """A verification method or DID could not be resolved to a public key."""

    code = "resolution_failed"


class InvalidProof(CredentialError):
    """A proof is malformed, unsupported, or its signature does not verify."""

    code = "invalid_proof"


class BakingError(CredentialError):
    """An image cannot be baked or unbaked (not a PNG/SVG, corrupt, duplicate chunk, ...)."""

    code = "baking_error"


class StatusListError(CredentialError):
    """A status list is malformed, too short, or an index is out of range."""

    code = "status_list"
