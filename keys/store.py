"""The key store interface, the public metadata it lists, and an in-memory store for tests."""

from __future__ import annotations

import builtins
import dataclasses
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import rsa

import credentials
from keys.errors import KeyExists, KeyNotFound, KeyRetired
from keys.generate import generate_key
from keys.signing_key import KEY_TYPES, SigningKey, algorithm_of

# Owner and kid become file and directory names in the file store. One strict pattern for every
# store keeps their behaviour identical, and it rules out path separators, "..", hidden names
# (which the file store uses for its temporary and lock files) and over-long names.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def check_name(value: str, what: str) -> str:
    """Check that an owner or kid is a safe, portable name.

    :param value: the owner or kid.
    :param what: ``"owner"`` or ``"kid"``, for the error message.
    :returns: ``value`` unchanged.
    :raises ValueError: unless it matches ``[A-Za-z0-9._-]{1,128}``, does not start with a dot,
        and does not contain ``..``.
    """
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"invalid {what} {value!r}: use 1-128 of A-Z a-z 0-9 . _ -, "
            "not starting with '.' and without '..'"
        )
    return value


def check_aware(when: datetime, what: str) -> datetime:
    """Check that a timestamp is timezone-aware and normalise it to UTC.

    :param when: the timestamp.
    :param what: its name, for the error message.
    :returns: the same instant in UTC.
    :raises ValueError: for a naive datetime (its instant would depend on the server's zone).
    """
    if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return when.astimezone(UTC)


def check_key_type(key_type: str) -> str:
    """Check a key type name.

    :param key_type: ``ed25519``, ``p256`` or ``rsa``.
    :returns: ``key_type`` unchanged.
    :raises ValueError: for any other name.
    """
    if key_type not in KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")
    return key_type


def normalise_key(key: SigningKey, *, now: datetime | None = None) -> SigningKey:
    """Validate a key before storing it: safe kid, supported type, aware UTC dates.

    :param key: the key to store.
    :param now: the creation time to record when the key has none (defaults to the current time).
    :returns: the key with ``created`` set and both dates in UTC.
    :raises ValueError: for an unsafe kid, an unsupported key, or a naive date.
    """
    check_name(key.kid, "kid")
    algorithm_of(key.private_key)  # ValueError for unsupported curves and short RSA keys
    created = check_aware(key.created or now or datetime.now(UTC), "created")
    retired = check_aware(key.retired, "retired") if key.retired is not None else None
    return dataclasses.replace(key, created=created, retired=retired)


@dataclass(frozen=True)
class KeyRecord:
    """Public metadata about a stored key: what ``KeyStore.list`` returns.

    It never holds private material. ``public_jwk`` carries ``kid`` and ``alg`` so it can go
    straight into a JWKS; ``public_multikey`` is ``None`` for RSA, which has no Multikey form.
    """

    kid: str
    key_type: str
    algorithm: str
    created: datetime
    retired: datetime | None
    public_jwk: dict[str, str] = field(hash=False)
    public_multikey: str | None

    @property
    def is_retired(self) -> bool:
        """Whether the key is retired (it may verify, never sign)."""
        return self.retired is not None

    @classmethod
    def of(cls, key: SigningKey) -> KeyRecord:
        """The public record of a stored key.

        :param key: a key with ``created`` set (as stores keep them).
        :returns: its metadata and public key forms.
        :raises ValueError: when the key has no creation date.
        """
        created = created_of(key)
        public = key.public_key()
        public_jwk = {**credentials.public_jwk(public), "kid": key.kid, "alg": key.algorithm}
        encoded = (
            None if isinstance(public, rsa.RSAPublicKey) else credentials.encode_public_key(public)
        )
        return cls(
            kid=key.kid,
            key_type=key.key_type,
            algorithm=key.algorithm,
            created=created,
            retired=key.retired,
            public_jwk=public_jwk,
            public_multikey=encoded,
        )


def created_of(key: SigningKey) -> datetime:
    """The creation date of a stored key (stores always set one).

    :param key: a key returned by a store.
    :returns: its ``created`` date.
    :raises ValueError: when it has none, i.e. it did not come from a store.
    """
    if key.created is None:
        raise ValueError(f"key {key.kid!r} has no creation date; stores always set one")
    return key.created


def newest_active_kid(entries: Iterable[tuple[str, datetime, datetime | None]]) -> str | None:
    """Pick the newest non-retired key among ``(kid, created, retired)`` entries.

    Ties on ``created`` go to the greater kid, so every store picks the same key.

    :param entries: the candidates, already filtered to one key type.
    :returns: the kid, or ``None`` when every key is retired.
    """
    candidates = [(created, kid) for kid, created, retired in entries if retired is None]
    return max(candidates)[1] if candidates else None


@runtime_checkable
class KeyStore(Protocol):
    """Where issuers' signing keys live, grouped per owner (an issuer id or slug).

    Owners and kids must pass :func:`check_name`; every timestamp must be timezone-aware.
    A key is *retired* once its ``retired`` date is set: it stays retrievable, so credentials it
    signed still verify, but ``active`` never returns it.
    """

    def put(self, owner: str, key: SigningKey) -> None:
        """Store a new key (``created`` defaults to now).

        :raises KeyExists: when the owner already has a key with that kid.
        :raises ValueError: for an unsafe owner or kid, an unsupported key or a naive date.
        """
        ...

    def get(self, owner: str, kid: str) -> SigningKey:
        """Return a key, retired or not.

        :raises KeyNotFound: when the owner has no key with that kid.
        """
        ...

    def list(self, owner: str) -> builtins.list[KeyRecord]:
        """Public metadata of all the owner's keys, oldest first (empty for an unknown owner)."""
        ...

    def active(self, owner: str, key_type: str) -> SigningKey:
        """The newest non-retired key of that type.

        :raises KeyNotFound: when there is none.
        """
        ...

    def retire(self, owner: str, kid: str, when: datetime) -> None:
        """Mark a key retired as of ``when``.

        :raises KeyNotFound: when there is no such key.
        :raises KeyRetired: when it is already retired (its retirement date is history).
        """
        ...

    def rotate(self, owner: str, key_type: str, when: datetime) -> SigningKey:
        """Generate and store a new key of that type created at ``when``, retire the previous
        active key(s) of that type at ``when``, and return the new key.
        """
        ...


class MemoryKeyStore:
    """A :class:`KeyStore` that keeps keys in a dict; for tests and short-lived tools."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, SigningKey]] = {}
        # Re-entrant so rotate can call put and retire while holding it.
        self._lock = threading.RLock()

    def put(self, owner: str, key: SigningKey) -> None:
        """Store a new key (``created`` defaults to now).

        :param owner: the issuer the key belongs to.
        :param key: the key.
        :raises KeyExists: when the owner already has a key with that kid.
        :raises ValueError: for an unsafe owner or kid, an unsupported key or a naive date.
        """
        check_name(owner, "owner")
        key = normalise_key(key)
        with self._lock:
            keys = self._keys.setdefault(owner, {})
            if key.kid in keys:
                raise KeyExists(f"owner {owner!r} already has a key {key.kid!r}")
            keys[key.kid] = key

    def get(self, owner: str, kid: str) -> SigningKey:
        """Return a key, retired or not.

        :param owner: the issuer.
        :param kid: the key id.
        :returns: the key.
        :raises KeyNotFound: when the owner has no key with that kid.
        :raises ValueError: for an unsafe owner or kid.
        """
        check_name(owner, "owner")
        check_name(kid, "kid")
        with self._lock:
            try:
                return self._keys[owner][kid]
            except KeyError:
                raise KeyNotFound(f"owner {owner!r} has no key {kid!r}") from None

    def list(self, owner: str) -> builtins.list[KeyRecord]:
        """Public metadata of all the owner's keys, oldest first.

        :param owner: the issuer.
        :returns: one record per key (empty for an unknown owner).
        :raises ValueError: for an unsafe owner.
        """
        check_name(owner, "owner")
        with self._lock:
            keys = builtins.list(self._keys.get(owner, {}).values())
        return sorted((KeyRecord.of(k) for k in keys), key=lambda r: (r.created, r.kid))

    def active(self, owner: str, key_type: str) -> SigningKey:
        """The newest non-retired key of that type.

        :param owner: the issuer.
        :param key_type: ``ed25519``, ``p256`` or ``rsa``.
        :returns: the key.
        :raises KeyNotFound: when there is none.
        :raises ValueError: for an unsafe owner or an unknown key type.
        """
        check_name(owner, "owner")
        check_key_type(key_type)
        with self._lock:
            keys = self._keys.get(owner, {})
            kid = newest_active_kid(
                (k.kid, created_of(k), k.retired) for k in keys.values() if k.key_type == key_type
            )
            if kid is None:
                raise KeyNotFound(f"owner {owner!r} has no active {key_type} key")
            return keys[kid]

    def retire(self, owner: str, kid: str, when: datetime) -> None:
        """Mark a key retired as of ``when``.

        :param owner: the issuer.
        :param kid: the key id.
        :param when: the retirement time (timezone-aware).
        :raises KeyNotFound: when there is no such key.
        :raises KeyRetired: when it is already retired.
        :raises ValueError: for an unsafe name or a naive ``when``.
        """
        when = check_aware(when, "when")
        with self._lock:
            key = self.get(owner, kid)
            if key.retired is not None:
                raise KeyRetired(f"key {kid!r} was already retired at {key.retired.isoformat()}")
            self._keys[owner][kid] = dataclasses.replace(key, retired=when)

    def rotate(self, owner: str, key_type: str, when: datetime) -> SigningKey:
        """Generate a new key of that type, store it, and retire the previous active one(s).

        :param owner: the issuer.
        :param key_type: ``ed25519``, ``p256`` or ``rsa``.
        :param when: the new key's creation time and the old keys' retirement time.
        :returns: the new key.
        :raises ValueError: for an unsafe owner, an unknown key type or a naive ``when``.
        """
        check_name(owner, "owner")
        check_key_type(key_type)
        when = check_aware(when, "when")
        new_key = generate_key(key_type, created=when)
        with self._lock:
            previous = [
                k.kid
                for k in self._keys.get(owner, {}).values()
                if k.key_type == key_type and k.retired is None
            ]
            self.put(owner, new_key)
            for kid in previous:
                self.retire(owner, kid, when)
        return new_key
