"""Resolve a proof's ``verificationMethod`` to a public key and its controller.

Supported: ``did:key``, ``did:jwk``, ``did:web`` (document fetched through a caller-supplied
fetcher), ``https://…#z6Mk…`` URLs whose fragment is the key itself, and other ``https`` URLs
naming a controller or verification-method document.

https://www.w3.org/TR/vc-data-integrity/#retrieve-verification-method,
https://w3c-ccg.github.io/did-method-web/, https://w3c-ccg.github.io/did-method-key/,
https://github.com/quartzjer/did-jwk/blob/main/spec.md
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from credentials.errors import CredentialError, KeyFormatError, ResolutionError
from credentials.jwk import PublicKey, load_public_jwk, public_jwk
from credentials.multibase import b64url_decode, b64url_encode
from credentials.multikey import decode_public_key, encode_public_key
from credentials.vocab import ASSERTION_METHOD, DID_V1_CONTEXT, MULTIKEY_CONTEXT

#: ``fetch(url) -> bytes``: the caller's HTTP GET. It must enforce https, refuse private
#: addresses, and cap time and size; any exception it raises means "could not fetch".
Fetcher = Callable[[str], bytes]

_DID_WEB_SEGMENT = re.compile(r"^[A-Za-z0-9._~%-]+$")
_MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass(frozen=True)
class VerificationMethod:
    """A resolved verification method.

    ``binding_confirmed`` is True when the key is provably the controller's: a self-certifying
    DID (did:key, did:jwk), or a controller document that lists it for the requested purpose.
    It is False when the key was only taken from the URL fragment (the controller document was
    not fetched), so the verifier can say so instead of claiming more than it checked.
    """

    id: str
    controller: str
    public_key: PublicKey
    binding_confirmed: bool
    note: str = ""


def did_key(public_key: PublicKey) -> str:
    """The ``did:key`` DID of an Ed25519 or P-256 public key."""
    return "did:key:" + encode_public_key(public_key)  # type: ignore[arg-type]


def did_key_verification_method(public_key: PublicKey) -> str:
    """The verification method id of a ``did:key`` (``did:key:X#X``)."""
    multikey = encode_public_key(public_key)  # type: ignore[arg-type]
    return f"did:key:{multikey}#{multikey}"


def did_jwk(public_key: PublicKey) -> str:
    """The ``did:jwk`` DID of a public key."""
    text = json.dumps(public_jwk(public_key), separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + b64url_encode(text.encode("utf-8"))


def did_web(host: str, *path: str) -> str:
    """The ``did:web`` DID for a host (``example.org`` or ``example.org:8443``) and path."""
    parts = [quote(host, safe="")] + [quote(segment, safe="") for segment in path]
    return "did:web:" + ":".join(parts)


def did_web_document_url(did: str) -> str:
    """The https URL of a ``did:web`` DID's document.

    ``did:web:example.org`` -> ``https://example.org/.well-known/did.json``;
    ``did:web:example.org:issuers:a`` -> ``https://example.org/issuers/a/did.json``;
    ``%3A`` in the host encodes a port.

    :raises ResolutionError: when the DID is not a well-formed did:web.
    """
    if not did.startswith("did:web:"):
        raise ResolutionError(f"not a did:web DID: {did!r}")
    segments = did[len("did:web:") :].split(":")
    if not segments or not all(_DID_WEB_SEGMENT.match(s) for s in segments):
        raise ResolutionError(f"malformed did:web DID: {did!r}")
    host = unquote(segments[0])
    if not re.match(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$", host):
        raise ResolutionError(f"malformed did:web host in {did!r}")
    path = [unquote(s) for s in segments[1:]]
    if any(p in ("", ".", "..") or "/" in p for p in path):
        raise ResolutionError(f"malformed did:web path in {did!r}")
    if not path:
        return f"https://{host}/.well-known/did.json"
    return f"https://{host}/{'/'.join(quote(p) for p in path)}/did.json"


def controller_document(controller: str, methods: dict[str, PublicKey]) -> dict[str, Any]:
    """Build a DID / controller document listing Multikey methods for ``assertionMethod``.

    :param controller: the DID or URL the document describes (``id``).
    :param methods: verification method ids (absolute) mapped to their public keys.
    """
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_CONTEXT],
        "id": controller,
        "verificationMethod": [
            {
                "id": vm_id,
                "type": "Multikey",
                "controller": controller,
                "publicKeyMultibase": encode_public_key(key),  # type: ignore[arg-type]
            }
            for vm_id, key in methods.items()
        ],
        "assertionMethod": list(methods),
    }


def resolve_verification_method(
    vm_id: Any, *, fetch: Fetcher | None, purpose: str = ASSERTION_METHOD
) -> VerificationMethod:
    """Find the public key and controller of a verification method.

    :param vm_id: the proof's ``verificationMethod`` (or a JWT ``kid``).
    :param fetch: HTTP fetcher for did:web and https documents; None means offline.
    :param purpose: the verification relationship the key must be listed under.
    :raises ResolutionError: when the method cannot be resolved or is not valid for ``purpose``.
    """
    if not isinstance(vm_id, str) or not vm_id:
        raise ResolutionError("the verification method is missing")
    try:
        if vm_id.startswith("did:key:"):
            return _resolve_did_key(vm_id)
        if vm_id.startswith("did:jwk:"):
            return _resolve_did_jwk(vm_id)
        if vm_id.startswith("did:web:"):
            return _resolve_did_web(vm_id, fetch, purpose)
        if vm_id.startswith("https://") or vm_id.startswith("http://"):
            return _resolve_url(vm_id, fetch, purpose)
    except KeyFormatError as exc:
        raise ResolutionError(f"bad key in {vm_id}: {exc.message}") from None
    raise ResolutionError(f"unsupported verification method {vm_id!r}")


def _resolve_did_key(vm_id: str) -> VerificationMethod:
    did, _, fragment = vm_id.partition("#")
    multikey = did[len("did:key:") :]
    if fragment and fragment != multikey:
        raise ResolutionError("a did:key verification method's fragment must repeat the key")
    key = decode_public_key(multikey)
    return VerificationMethod(f"{did}#{multikey}", did, key, binding_confirmed=True)


def _resolve_did_jwk(vm_id: str) -> VerificationMethod:
    did, _, fragment = vm_id.partition("#")
    if fragment not in ("", "0"):
        raise ResolutionError("a did:jwk verification method is '#0'")
    try:
        jwk = json.loads(b64url_decode(did[len("did:jwk:") :]))
    except (ValueError, UnicodeDecodeError):
        raise ResolutionError("did:jwk does not hold a JSON JWK") from None
    return VerificationMethod(f"{did}#0", did, load_public_jwk(jwk), binding_confirmed=True)


def _fragment_key(vm_id: str) -> PublicKey | None:
    """The key when the URL fragment is itself a Multikey (1EdTech's fixtures do this)."""
    fragment = vm_id.partition("#")[2]
    if not fragment.startswith("z"):
        return None
    try:
        return decode_public_key(fragment)
    except KeyFormatError:
        return None


def _fetch_json(fetch: Fetcher, url: str) -> Any:
    try:
        body = fetch(url)
    except Exception as exc:  # the fetcher's own errors all mean "unreachable"
        raise ResolutionError(f"could not fetch {url}: {exc}") from None
    if len(body) > _MAX_DOCUMENT_BYTES:
        raise ResolutionError(f"the document at {url} is too large")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ResolutionError(f"the document at {url} is not JSON") from None


def _resolve_did_web(vm_id: str, fetch: Fetcher | None, purpose: str) -> VerificationMethod:
    did = vm_id.partition("#")[0]
    url = did_web_document_url(did)
    if fetch is None:
        return _offline(vm_id, did, url)
    document = _fetch_json(fetch, url)
    if not isinstance(document, dict) or document.get("id") != did:
        raise ResolutionError(f"the DID document at {url} is not for {did}")
    return _method_from_document(document, vm_id, did, purpose)


def _resolve_url(vm_id: str, fetch: Fetcher | None, purpose: str) -> VerificationMethod:
    base = vm_id.partition("#")[0]
    if fetch is None or not vm_id.startswith("https://"):
        return _offline(vm_id, base, base)
    try:
        document = _fetch_json(fetch, base)
    except ResolutionError as exc:
        if _fragment_key(vm_id) is not None:
            return _offline(vm_id, base, base, reason=exc.message)
        raise
    if not isinstance(document, dict):
        raise ResolutionError(f"the document at {base} is not a JSON object")
    if document.get("publicKeyMultibase") or document.get("publicKeyJwk"):
        # The URL named a verification method document; its controller must list it.
        method = _key_of(document, vm_id)
        controller = document.get("controller")
        if not isinstance(controller, str):
            raise ResolutionError(f"the verification method {vm_id} names no controller")
        controller_doc = _fetch_json(fetch, controller.partition("#")[0])
        if not isinstance(controller_doc, dict) or not _lists(controller_doc, purpose, vm_id):
            raise ResolutionError(f"{controller} does not list {vm_id} under {purpose}")
        return VerificationMethod(vm_id, controller, method, binding_confirmed=True)
    return _method_from_document(document, vm_id, base, purpose)


def _offline(vm_id: str, controller: str, url: str, reason: str = "") -> VerificationMethod:
    key = _fragment_key(vm_id)
    if key is None:
        why = reason or "offline"
        raise ResolutionError(f"the key {vm_id} has to be fetched from {url} ({why})")
    note = f"the key is named in the credential; {url} was not checked" + (
        f" ({reason})" if reason else " (offline)"
    )
    return VerificationMethod(vm_id, controller, key, binding_confirmed=False, note=note)


def _absolute(ref: Any, base: str) -> Any:
    if isinstance(ref, str) and ref.startswith("#"):
        return base + ref
    return ref


def _lists(document: dict[str, Any], purpose: str, vm_id: str) -> bool:
    base = str(document.get("id", ""))
    entries = document.get(purpose)
    if not isinstance(entries, list):
        entries = [entries] if entries is not None else []
    for entry in entries:
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if _absolute(ref, base) == vm_id:
            return True
    return False


def _key_of(method: dict[str, Any], vm_id: str) -> PublicKey:
    if isinstance(method.get("publicKeyMultibase"), str):
        return decode_public_key(method["publicKeyMultibase"])
    if isinstance(method.get("publicKeyJwk"), dict):
        return load_public_jwk(method["publicKeyJwk"])
    raise ResolutionError(f"{vm_id} has neither publicKeyMultibase nor publicKeyJwk")


def _method_from_document(
    document: dict[str, Any], vm_id: str, controller: str, purpose: str
) -> VerificationMethod:
    base = str(document.get("id", controller))
    candidates: list[Any] = []
    for relation in ("verificationMethod", purpose):
        entries = document.get(relation)
        if isinstance(entries, list):
            candidates.extend(e for e in entries if isinstance(e, dict))
    method = next((m for m in candidates if _absolute(m.get("id"), base) == vm_id), None)
    if method is None:
        raise ResolutionError(f"{controller} does not publish the key {vm_id}")
    if not _lists(document, purpose, vm_id):
        raise ResolutionError(f"{controller} does not list {vm_id} under {purpose}")
    method_controller = method.get("controller", base)
    if method_controller != base:
        raise ResolutionError(f"{vm_id} is controlled by {method_controller}, not {base}")
    try:
        key = _key_of(method, vm_id)
    except CredentialError as exc:
        raise ResolutionError(exc.message) from None
    return VerificationMethod(vm_id, base, key, binding_confirmed=True)


def url_host(url: str) -> str:
    """The host of an https URL (lower-cased), or '' when there is none."""
    return (urlsplit(url).hostname or "").lower()
