"""Resolving verification methods: did:key, did:jwk, did:web, https URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from credentials.did import (
    controller_document,
    did_jwk,
    did_key,
    did_key_verification_method,
    did_web,
    did_web_document_url,
    resolve_verification_method,
)
from credentials.errors import ResolutionError
from credentials.jwk import public_jwk
from credentials.multikey import encode_public_key
from keys import generate_key

ISSUER = "did:web:badges.example.org:issuers:district-7"


def fetcher(documents: dict[str, Any]) -> Any:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        if url not in documents:
            raise OSError("404")
        return json.dumps(documents[url]).encode()

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_did_key_round_trip() -> None:
    key = generate_key("ed25519").public_key()
    vm = did_key_verification_method(key)  # type: ignore[arg-type]
    method = resolve_verification_method(vm, fetch=None)
    assert method.controller == did_key(key)  # type: ignore[arg-type]
    assert method.public_key == key
    assert method.binding_confirmed
    with pytest.raises(ResolutionError, match="repeat the key"):
        resolve_verification_method(did_key(key) + "#other", fetch=None)  # type: ignore[arg-type]


def test_did_key_p256() -> None:
    key = generate_key("p256").public_key()
    method = resolve_verification_method(did_key(key), fetch=None)  # type: ignore[arg-type]
    assert method.public_key == key


def test_did_jwk() -> None:
    key = generate_key("p256").public_key()
    method = resolve_verification_method(did_jwk(key) + "#0", fetch=None)
    assert public_jwk(method.public_key) == public_jwk(key)
    assert method.controller == did_jwk(key)


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.org", "https://example.org/.well-known/did.json"),
        ("did:web:example.org:issuers:a", "https://example.org/issuers/a/did.json"),
        ("did:web:localhost%3A8443:u:1", "https://localhost:8443/u/1/did.json"),
    ],
)
def test_did_web_urls(did: str, url: str) -> None:
    assert did_web_document_url(did) == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:web:ex ample.org",
        "did:web:example.org:..:x",
        "did:web:a%2Fb.org",
        "did:key:x",
    ],
)
def test_malformed_did_web_is_refused(did: str) -> None:
    with pytest.raises(ResolutionError):
        did_web_document_url(did)


def test_did_web_helper_encodes_ports() -> None:
    assert did_web("localhost:5000", "issuers", "x") == "did:web:localhost%3A5000:issuers:x"


def test_did_web_resolves_through_the_fetcher() -> None:
    key = generate_key("ed25519").public_key()
    vm = ISSUER + "#key-1"
    document = controller_document(ISSUER, {vm: key})  # type: ignore[dict-item]
    fetch = fetcher({did_web_document_url(ISSUER): document})
    method = resolve_verification_method(vm, fetch=fetch)
    assert method.public_key == key
    assert method.controller == ISSUER
    assert method.binding_confirmed


def test_did_web_relative_references_and_jwk_keys() -> None:
    key = generate_key("p256").public_key()
    document = {
        "id": ISSUER,
        "verificationMethod": [
            {
                "id": "#k",
                "type": "JsonWebKey",
                "controller": ISSUER,
                "publicKeyJwk": public_jwk(key),
            }
        ],
        "assertionMethod": ["#k"],
    }
    method = resolve_verification_method(
        ISSUER + "#k", fetch=fetcher({did_web_document_url(ISSUER): document})
    )
    assert public_jwk(method.public_key) == public_jwk(key)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(id="did:web:other.example"), "not for"),
        (lambda d: d.update(assertionMethod=[]), "does not list"),
        (
            lambda d: d["verificationMethod"][0].update(controller="did:web:evil.example"),
            "controlled by",
        ),
        (lambda d: d.update(verificationMethod=[]), "does not publish"),
    ],
)
def test_did_web_documents_that_do_not_vouch_for_the_key(mutate: Any, message: str) -> None:
    key = generate_key("ed25519").public_key()
    vm = ISSUER + "#key-1"
    document = controller_document(ISSUER, {vm: key})  # type: ignore[dict-item]
    mutate(document)
    with pytest.raises(ResolutionError, match=message):
        resolve_verification_method(vm, fetch=fetcher({did_web_document_url(ISSUER): document}))


def test_did_web_offline_or_unreachable() -> None:
    with pytest.raises(ResolutionError, match="offline"):
        resolve_verification_method(ISSUER + "#key-1", fetch=None)
    with pytest.raises(ResolutionError, match="could not fetch"):
        resolve_verification_method(ISSUER + "#key-1", fetch=fetcher({}))


def test_https_fragment_keys_are_used_but_marked_unconfirmed_offline() -> None:
    key = generate_key("ed25519").public_key()
    vm = "https://example.edu/issuers/1#" + encode_public_key(key)  # type: ignore[arg-type]
    method = resolve_verification_method(vm, fetch=None)
    assert method.public_key == key
    assert method.controller == "https://example.edu/issuers/1"
    assert not method.binding_confirmed
    assert "not checked" in method.note


def test_https_controller_document_confirms_fragment_keys() -> None:
    key = generate_key("ed25519").public_key()
    controller = "https://example.edu/issuers/1"
    vm = controller + "#" + encode_public_key(key)  # type: ignore[arg-type]
    fetch = fetcher({controller: controller_document(controller, {vm: key})})  # type: ignore[dict-item]
    method = resolve_verification_method(vm, fetch=fetch)
    assert method.binding_confirmed
    # A controller document that does not list the key is a failure, not a fallback.
    other = controller_document(
        controller, {controller + "#other": generate_key("ed25519").public_key()}
    )  # type: ignore[dict-item]
    with pytest.raises(ResolutionError):
        resolve_verification_method(vm, fetch=fetcher({controller: other}))


def test_https_verification_method_documents() -> None:
    key = generate_key("ed25519").public_key()
    controller = "https://example.edu/issuers/1"
    vm = "https://example.edu/keys/1"
    documents = {
        vm: {
            "id": vm,
            "type": "Multikey",
            "controller": controller,
            "publicKeyMultibase": encode_public_key(key),
        },  # type: ignore[arg-type]
        controller: {"id": controller, "assertionMethod": [vm]},
    }
    method = resolve_verification_method(vm, fetch=fetcher(documents))
    assert method.controller == controller and method.binding_confirmed


@pytest.mark.parametrize("vm", [None, "", "urn:uuid:123", "ftp://x/y#z", 42])
def test_unsupported_methods(vm: Any) -> None:
    with pytest.raises(ResolutionError):
        resolve_verification_method(vm, fetch=None)


def test_garbage_keys_are_resolution_errors() -> None:
    with pytest.raises(ResolutionError):
        resolve_verification_method("did:key:z6MkNOTAKEY", fetch=None)
    with pytest.raises(ResolutionError):
        resolve_verification_method("did:jwk:bm90LWpzb24#0", fetch=None)
