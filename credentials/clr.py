"""CLR 2.0: a ``ClrCredential`` built around signed OB 3.0 credentials, and its JSON Schema.

https://www.imsglobal.org/spec/clr/v2p0/

A Comprehensive Learner Record wraps complete credentials, each keeping its own issuer's proof,
with the achievements they are about and the associations between those achievements (a pathway
``isParentOf`` its parts, each part ``isChildOf`` it). The record itself is signed by whoever
publishes it, with :func:`credentials.add_proof` like any credential.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry

from credentials.build import profile_json
from credentials.dates import format_datetime
from credentials.schema import _format_checker, _load_schema, _messages, _refuse_retrieval
from credentials.types import Profile
from credentials.vocab import (
    ASSOCIATION_TYPES,
    CLR_CONTEXT,
    CLR_CREDENTIAL,
    CLR_CREDENTIAL_SCHEMA,
    CLR_SUBJECT,
    JSON_SCHEMA_VALIDATOR_TYPE,
    OB_CONTEXT,
    OB_EXTENSIONS_CONTEXT,
    VC_V2_CONTEXT,
    VERIFIABLE_CREDENTIAL,
)

#: The vendored 1EdTech schema (see ``credentials/jsonschema/SOURCES.md``).
CLR_SCHEMA_FILE = "clr_v2p0_clrcredential_schema_draft4.json"


@dataclass(frozen=True)
class Association:
    """One edge between two achievements of the record, e.g. a part ``isChildOf`` its pathway."""

    association_type: str
    source_id: str
    target_id: str

    def as_json(self) -> dict[str, str]:
        """The CLR 2.0 ``Association`` object."""
        return {
            "type": "Association",
            "associationType": self.association_type,
            "sourceId": self.source_id,
            "targetId": self.target_id,
        }


def pathway_associations(
    parents: Mapping[str, Iterable[str]], present: Iterable[str]
) -> list[Association]:
    """Both directions of every pathway edge whose two ends are in the record.

    :param parents: pathway achievement id -> the achievement ids it is made of.
    :param present: the achievement ids the record holds; edges to others are left out, since an
        association names achievements a reader can find in the same record.
    """
    held = set(present)
    edges: list[Association] = []
    for parent, children in sorted(parents.items()):
        if parent not in held:
            continue
        for child in sorted(set(children) & held - {parent}):
            edges.append(Association("isParentOf", parent, child))
            edges.append(Association("isChildOf", child, parent))
    return edges


def achievements_of(embedded: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The achievements the embedded credentials are about, once each, in the credentials'
    order (a credential re-issued for the same achievement does not repeat it)."""
    seen: dict[str, dict[str, Any]] = {}
    for credential in embedded:
        subject = credential.get("credentialSubject")
        achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
        if isinstance(achievement, Mapping) and isinstance(achievement.get("id"), str):
            seen.setdefault(achievement["id"], copy.deepcopy(dict(achievement)))
    return list(seen.values())


def build_clr(
    *,
    clr_id: str,
    issuer: Profile,
    subject_id: str | None = None,
    subject_identifiers: Sequence[Mapping[str, Any]] = (),
    embedded: Sequence[Mapping[str, Any]],
    associations: Sequence[Association] = (),
    name: str,
    description: str | None = None,
    valid_from: datetime,
    partial: bool = False,
) -> dict[str, Any]:
    """An unsigned ``ClrCredential``.

    :param clr_id: the record's id (a URI, e.g. ``urn:uuid:…``).
    :param issuer: who publishes and signs the record.
    :param subject_id: the learner's id, if they have one (a DID, a URL)…
    :param subject_identifiers: …or ``IdentityObject`` s naming them (hashed email addresses);
        CLR 2.0 wants at least one of the two.
    :param embedded: complete signed credentials, each copied as it is, proof included.
    :param associations: edges between the achievements (see :func:`pathway_associations`).
    :param partial: True when the record holds only some of the learner's credentials.
    :raises ValueError: without credentials, without a way to name the learner, or with an
        unknown association type.
    """
    if not embedded:
        raise ValueError("a CLR needs at least one credential")
    if subject_id is None and not subject_identifiers:
        raise ValueError("a CLR's subject needs an id or at least one identifier")
    for association in associations:
        if association.association_type not in ASSOCIATION_TYPES:
            raise ValueError(f"unknown association type {association.association_type!r}")
    subject: dict[str, Any] = {"type": [CLR_SUBJECT]}
    if subject_id is not None:
        subject["id"] = subject_id
    if subject_identifiers:
        subject["identifier"] = [dict(identifier) for identifier in subject_identifiers]
    subject["verifiableCredential"] = [copy.deepcopy(dict(c)) for c in embedded]
    achievements = achievements_of(embedded)
    if achievements:
        subject["achievement"] = achievements
    if associations:
        subject["association"] = [a.as_json() for a in associations]
    record: dict[str, Any] = {
        # extensions.json defines 1EdTechJsonSchemaValidator2019, used by credentialSchema.
        "@context": [VC_V2_CONTEXT, CLR_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT],
        "id": clr_id,
        "type": [VERIFIABLE_CREDENTIAL, CLR_CREDENTIAL],
        "issuer": profile_json(issuer),
        "name": name,
    }
    if description:
        record["description"] = description
    record["validFrom"] = format_datetime(valid_from)
    if partial:
        record["partial"] = True
    record["credentialSubject"] = subject
    record["credentialSchema"] = [{"id": CLR_CREDENTIAL_SCHEMA, "type": JSON_SCHEMA_VALIDATOR_TYPE}]
    return record


@functools.cache
def _clr_validator() -> Draft4Validator:
    # schema.py is the one module that reads vendored schemas from package data.
    schema = _vc2_schema(_load_schema(CLR_SCHEMA_FILE))
    registry: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    return Draft4Validator(schema, registry=registry, format_checker=_format_checker())


def _vc2_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The vendored VC 1.1-era schema read for VC 2.0 (see SOURCES.md): ``validFrom`` takes
    the place of ``issuanceDate`` (required, date-time) and ``validUntil`` that of
    ``expirationDate``, in the record and in every embedded credential and endorsement; and a
    ``CredentialStatus`` may carry its type's own properties (``statusListIndex``…), as the
    OB 3.0 schema of the same generation allows."""
    adapted = copy.deepcopy(schema)
    defs = adapted["$defs"]
    defs["CredentialStatus"]["additionalProperties"] = True
    for node in (adapted, defs["VerifiableCredential"], defs["EndorsementCredential"]):
        properties = node["properties"]
        properties["validFrom"] = copy.deepcopy(properties["issuanceDate"])
        properties["validUntil"] = copy.deepcopy(
            properties.get("expirationDate", properties["issuanceDate"])
        )
        node["required"] = [
            "validFrom" if name == "issuanceDate" else name for name in node.get("required", [])
        ]
    return adapted


def clr_schema_errors(record: Mapping[str, Any]) -> list[str]:
    """Validate a ``ClrCredential`` against 1EdTech's CLR 2.0 JSON Schema.

    :returns: sorted ``"<path>: <problem>"`` messages; empty when the record is valid.
    """
    if not isinstance(record, Mapping):
        return ["$: a ClrCredential must be a JSON object"]
    return _messages(_clr_validator().iter_errors(dict(record)))
