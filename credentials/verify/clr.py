"""Verifying a CLR 2.0 ``ClrCredential``: the record's own checks and proof, then every credential
it holds, each verified on its own as any OB 3.0 credential is (its issuer's proof, status, dates).

A record is only as good as what it holds: it is ``valid`` when its own checks pass and every
embedded credential is valid; a tampered or revoked credential inside makes it ``not_valid``,
whatever the record's own signature says. (1EdTech's CLR20Inspector also runs the OB 3.0
inspector on each embedded credential.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credentials import baking
from credentials.clr import clr_schema_errors
from credentials.did import Fetcher
from credentials.errors import CredentialError
from credentials.jsonld import DocumentLoader
from credentials.verify.checks import check_dates, check_terms, types_of
from credentials.verify.parsing import strict_json
from credentials.verify.proof_checks import check_issuer_key, check_proofs
from credentials.verify.report import (
    CHECK_ORDER,
    FAIL,
    ISSUER_NOT_CONFIRMED,
    MAX_INPUT_BYTES,
    NOT_VALID,
    PASS,
    VALID,
    Check,
    Context,
    Outcome,
    VerificationReport,
    failed_parse,
    fetch_once,
)
from credentials.verify.status_checks import check_status
from credentials.verify.verifier import verify_credential
from credentials.vocab import CLR_CONTEXT, CLR_CREDENTIAL, OB_CONTEXTS_ACCEPTED, VC_V2_CONTEXT

#: A record holds an educator's credentials; bound the work one input can ask for.
MAX_EMBEDDED = 500


@dataclass
class ClrReport:
    """The record's own report and one report per embedded credential, in the record's order."""

    record: VerificationReport
    embedded: list[VerificationReport] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """``not_valid`` when the record or any credential in it is; ``issuer_not_confirmed``
        when nothing fails but a signing key is not tied to its issuer; else ``valid``."""
        outcomes = [self.record.outcome, *(r.outcome for r in self.embedded)]
        if NOT_VALID in outcomes or not self.embedded:
            return NOT_VALID
        if ISSUER_NOT_CONFIRMED in outcomes:
            return ISSUER_NOT_CONFIRMED
        return VALID

    @property
    def valid(self) -> bool:
        """True only when the record and every credential in it are valid."""
        return self.outcome == VALID

    def as_json(self) -> dict[str, Any]:
        """The ``cairn verify --json`` shape of a record."""
        return {
            "valid": self.valid,
            "outcome": self.outcome,
            "kind": "ClrCredential",
            "record": self.record.as_json(),
            "credentials": [
                {
                    "id": (r.credential or {}).get("id"),
                    "valid": r.valid,
                    "outcome": r.outcome,
                    "checks": [c.as_json() for c in r.checks],
                }
                for r in self.embedded
            ],
        }


def is_clr(data: Any) -> bool:
    """Whether an input (a parsed document, JSON text or bytes, a PNG) is a ClrCredential, so a
    caller can choose between :func:`verify_clr` and :func:`verify_credential`."""
    if isinstance(data, Mapping):
        return CLR_CREDENTIAL in types_of(data.get("type"))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_INPUT_BYTES:
        return False
    raw = bytes(raw)
    if baking.detect_image_format(raw) == "png":
        try:
            return baking.unbake_clr_png(raw) is not None
        except CredentialError:
            return False
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and CLR_CREDENTIAL in types_of(parsed.get("type"))


def _parse(data: Any) -> tuple[str, dict[str, Any]] | VerificationReport:
    if isinstance(data, Mapping):
        return "json", dict(data)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray):
        return failed_parse("unknown", "The input is not a JSON record or a baked PNG.")
    raw = bytes(raw)
    if len(raw) > MAX_INPUT_BYTES:
        return failed_parse("unknown", "The input is too large.", "too_large")
    fmt = "json"
    if baking.detect_image_format(raw) == "png":
        try:
            text = baking.unbake_clr_png(raw)
        except CredentialError as exc:
            return failed_parse("png/json", f"The image could not be read: {exc.message}")
        if text is None:
            return failed_parse("png/json", "The PNG carries no clrcredential.", "not_baked")
        raw, fmt = text.encode("utf-8"), "png/json"
    try:
        parsed = strict_json(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return failed_parse(fmt, "The record is not valid JSON.")
    if not isinstance(parsed, dict):
        return failed_parse(fmt, "The record must be a JSON object.")
    return fmt, parsed


def _check_context(record: Mapping[str, Any], loader: DocumentLoader) -> Check:
    contexts = record.get("@context")
    if not isinstance(contexts, list) or len(contexts) < 3:
        return Check("context", FAIL, "@context must list the VC, CLR and Open Badges contexts.")
    unknown = [c for c in contexts if isinstance(c, str) and not loader.knows(c)]
    if unknown:
        return Check(
            "context", FAIL, "Uses a JSON-LD context Cairn does not know: " + ", ".join(unknown)
        )
    if contexts[0] != VC_V2_CONTEXT or contexts[1] != CLR_CONTEXT:
        return Check("context", FAIL, f"@context must start {VC_V2_CONTEXT}, {CLR_CONTEXT}.")
    if contexts[2] not in OB_CONTEXTS_ACCEPTED:
        return Check("context", FAIL, "The third @context must be the Open Badges 3.0 context.")
    return Check("context", PASS, "Uses the VC 2.0, CLR 2.0 and Open Badges 3.0 contexts.")


def _check_type(record: Mapping[str, Any]) -> Check:
    kinds = types_of(record.get("type"))
    if "VerifiableCredential" in kinds and CLR_CREDENTIAL in kinds:
        return Check("type", PASS, "It is a CLR 2.0 ClrCredential.")
    return Check("type", FAIL, "The type must include VerifiableCredential and ClrCredential.")


def _check_schema(record: dict[str, Any]) -> Check:
    errors = clr_schema_errors(record)
    if not errors:
        return Check("schema", PASS, "Matches the CLR 2.0 JSON Schema.")
    shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
    return Check("schema", FAIL, f"Does not match the CLR 2.0 JSON Schema: {shown}")


def _embedded(record: Mapping[str, Any]) -> list[Any] | None:
    subject = record.get("credentialSubject")
    held = subject.get("verifiableCredential") if isinstance(subject, Mapping) else None
    return held if isinstance(held, list) else None


def verify_clr(
    data: bytes | str | Mapping[str, Any],
    *,
    loader: DocumentLoader,
    now: datetime,
    fetch: Fetcher | None = None,
) -> ClrReport:
    """Verify a ClrCredential (JSON, JSON text, or a PNG baked with ``clrcredential``) and every
    credential it holds.

    :param loader: the offline JSON-LD document loader.
    :param now: the time to judge validity at (timezone-aware).
    :param fetch: HTTP fetcher for DID documents and status lists (``None``: offline).
    :returns: the report; never raises for bad input.
    """
    try:
        return _verify(data, Context(loader, now, fetch_once(fetch)))
    except RecursionError:
        return ClrReport(failed_parse("unknown", "The input is nested too deeply to process."))


def _verify(data: Any, ctx: Context) -> ClrReport:
    parsed = _parse(data)
    if isinstance(parsed, VerificationReport):
        return ClrReport(parsed)
    fmt, record = parsed
    read = "Read the record baked into a PNG image." if fmt == "png/json" else "Read a JSON record."
    report = VerificationReport(fmt, [Check("parse", PASS, read)], record)
    report.checks += [_check_context(record, ctx.loader), _check_type(record)]
    report.checks.append(_check_schema(record))
    terms, canonical = check_terms(record, ctx.loader)
    report.checks.append(terms)
    proof, method, label = check_proofs(record, None, canonical, ctx)
    report.checks += [proof, check_issuer_key(record, method, proof, label)]
    report.checks += check_dates(record, ctx.now)
    report.checks.append(check_status(record, ctx))
    report.checks.sort(key=lambda c: CHECK_ORDER.index(c.id) if c.id in CHECK_ORDER else 99)
    held = _embedded(record) or []
    if len(held) > MAX_EMBEDDED:
        report.checks.append(
            Check("credentials", FAIL, f"The record holds more than {MAX_EMBEDDED} credentials.")
        )
        return ClrReport(report)
    embedded = [
        verify_credential(
            item if isinstance(item, Mapping) else str(item),
            loader=ctx.loader,
            now=ctx.now,
            fetch=ctx.fetch,
        )
        for item in held
    ]
    return ClrReport(report, embedded)
