"""What the library needs from a signing key: an algorithm name and a ``sign`` function.

Key storage lives elsewhere (``keys/``); anything with this shape can sign, including a key held
by a hardware module that never shows its private half.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

#: Algorithm names, as JOSE spells them: ``EdDSA`` is Ed25519.
ED25519 = "EdDSA"
ES256 = "ES256"
RS256 = "RS256"


@runtime_checkable
class Signer(Protocol):
    """A private key that signs bytes.

    ``sign`` returns the signature in the algorithm's JOSE form: 64 raw bytes for Ed25519,
    ``r || s`` (64 bytes) for ES256, PKCS#1 v1.5 bytes for RS256.
    """

    @property
    def algorithm(self) -> str:
        """``EdDSA``, ``ES256`` or ``RS256``."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``."""
        ...
