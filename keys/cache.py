"""A KeyStore wrapper that keeps decrypted keys in memory, so signing does not decrypt a key
file (a key derivation and a file read) for every credential."""

from __future__ import annotations

import builtins
import threading
from datetime import datetime

from keys.signing_key import SigningKey
from keys.store import KeyRecord, KeyStore


class CachingKeyStore:
    """Delegates to ``inner`` and remembers what ``get`` returned. Anything that changes an
    owner's keys (put, retire, rotate) forgets that owner's cached keys first."""

    def __init__(self, inner: KeyStore) -> None:
        self.inner = inner
        self._cache: dict[tuple[str, str], SigningKey] = {}
        self._lock = threading.Lock()
        # Held while loading a key that is not cached yet, so threads meeting an empty cache
        # together wait for one load (a file read and an Argon2id derivation) instead of each
        # doing it.
        self._loading = threading.Lock()

    def _forget(self, owner: str) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == owner]:
                del self._cache[key]

    def put(self, owner: str, key: SigningKey) -> None:
        """See :meth:`KeyStore.put`."""
        self._forget(owner)
        self.inner.put(owner, key)

    def get(self, owner: str, kid: str) -> SigningKey:
        """See :meth:`KeyStore.get`; served from memory after the first time."""
        with self._lock:
            found = self._cache.get((owner, kid))
        if found is not None:
            return found
        with self._loading:
            with self._lock:
                found = self._cache.get((owner, kid))  # loaded by the thread we waited for
            if found is None:
                found = self.inner.get(owner, kid)
                with self._lock:
                    self._cache[(owner, kid)] = found
        return found

    def list(self, owner: str) -> builtins.list[KeyRecord]:
        """See :meth:`KeyStore.list`."""
        return self.inner.list(owner)

    def active(self, owner: str, key_type: str) -> SigningKey:
        """See :meth:`KeyStore.active`."""
        return self.inner.active(owner, key_type)

    def retire(self, owner: str, kid: str, when: datetime) -> None:
        """See :meth:`KeyStore.retire`."""
        self._forget(owner)
        self.inner.retire(owner, kid, when)

    def rotate(self, owner: str, key_type: str, when: datetime) -> SigningKey:
        """See :meth:`KeyStore.rotate`."""
        self._forget(owner)
        return self.inner.rotate(owner, key_type, when)
