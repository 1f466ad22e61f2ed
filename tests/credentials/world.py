"""A small issuer "world" for verification tests: a did:web issuer, its DID document, signed
status lists, and a fetcher that serves them (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credentials.build import build_credential
from credentials.did import controller_document, did_web_document_url
from credentials.jsonld import DocumentLoader
from credentials.proofs.data_integrity import add_proof
from credentials.status import StatusList, build_status_list_credential, status_entry
from credentials.types import Achievement, Profile, Recipient
from keys import SigningKey, generate_key

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISSUER_ID = "did:web:badges.example.org:issuers:district-7"
REVOCATION_URL = "https://badges.example.org/status/district-7/revocation"
SUSPENSION_URL = "https://badges.example.org/status/district-7/suspension"


@dataclass
class World:
    """One issuer with a key, a DID document and two status lists, all served by ``fetch``."""

    key: SigningKey = field(default_factory=lambda: generate_key("ed25519"))
    loader: DocumentLoader = field(default_factory=DocumentLoader)
    revocation: StatusList = field(default_factory=StatusList)
    suspension: StatusList = field(default_factory=StatusList)
    documents: dict[str, Any] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    @property
    def verification_method(self) -> str:
        return ISSUER_ID + "#key-1"

    def __post_init__(self) -> None:
        self.documents[did_web_document_url(ISSUER_ID)] = controller_document(
            ISSUER_ID,
            {self.verification_method: self.key.public_key()},  # type: ignore[dict-item]
        )
        self.publish()

    def publish(self, *, signer: SigningKey | None = None, issuer: str = ISSUER_ID) -> None:
        """(Re-)sign both status lists as they are now."""
        for url, purpose, bits in (
            (REVOCATION_URL, "revocation", self.revocation),
            (SUSPENSION_URL, "suspension", self.suspension),
        ):
            unsigned = build_status_list_credential(
                list_url=url,
                issuer=issuer,
                purpose=purpose,
                status_list=bits,
                valid_from=NOW - timedelta(days=1),
            )
            self.documents[url] = self.sign(unsigned, signer=signer)

    def sign(self, document: dict[str, Any], *, signer: SigningKey | None = None) -> dict[str, Any]:
        return add_proof(
            document,
            signer=signer or self.key,
            verification_method=self.verification_method,
            created=NOW - timedelta(hours=1),
            loader=self.loader,
        )

    def credential(
        self, index: int = 17, purpose: str = "revocation", **overrides: Any
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "credential_id": "https://badges.example.org/credentials/0b6f1e2a-5b7c-4f0e-8f3e-1c2d3e4f5a6b",
            "issuer": Profile(id=ISSUER_ID, name="District 7 Professional Learning"),
            "achievement": Achievement(
                id="https://badges.example.org/achievements/formative-assessment",
                name="Formative Assessment",
                description="Completed the formative assessment module.",
                criteria_narrative="Complete all activities and a reflection.",
            ),
            "recipient": Recipient(email="teacher@school.example.org", salt="a1b2c3"),
            "valid_from": NOW - timedelta(hours=1),
            "credential_status": status_entry(
                list_credential_url=REVOCATION_URL if purpose == "revocation" else SUSPENSION_URL,
                index=index,
                purpose=purpose,
            ),
        }
        arguments.update(overrides)
        return self.sign(build_credential(**arguments))

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        if url not in self.documents:
            raise OSError(f"404 for {url}")
        document = self.documents[url]
        return document.encode() if isinstance(document, str) else json.dumps(document).encode()

    def failing_fetch(self) -> Callable[[str], bytes]:
        def fetch(url: str) -> bytes:
            raise TimeoutError("timed out")

        return fetch
