"""``cairn sign``, ``cairn verify``, ``cairn bake`` and ``cairn unbake``: library-level commands
that need no server or database."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from app.cli.errors import UsageProblem
from app.fetch import FetchError, SafeFetcher
from credentials import (
    FAIL,
    ISSUER_NOT_CONFIRMED,
    JWT_SIGNING_ALGORITHMS,
    NOT_VALID,
    PASS,
    SKIP,
    VALID,
    WARN,
    ClrReport,
    CredentialError,
    DocumentLoader,
    Fetcher,
    VerificationReport,
    add_proof,
    bake,
    did_key_verification_method,
    is_clr,
    looks_like_jws,
    parse_datetime,
    public_jwk,
    schema_errors,
    sign_jwt,
    unbake,
    verify_clr,
    verify_credential,
)
from keys import KeyStoreError, SigningKey, load_key_file

MAX_INPUT_BYTES = 10 * 1024 * 1024


def _read_input(source: str) -> bytes:
    """Read a file, or stdin for ``-``, refusing anything over the size limit."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UsageProblem(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UsageProblem(f"{source} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB")
    return data


def _parse_json_object(text: bytes | str, where: str) -> dict[str, Any]:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    try:
        value = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise UsageProblem(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageProblem(f"{where} is not a JSON object")
    return value


def _parse_time(value: str | None, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_datetime(value, option)
    except CredentialError as exc:
        raise UsageProblem(exc.message) from None


def _load_key(path: str) -> SigningKey:
    passphrase = os.environ.get("CAIRN_KEY_PASSPHRASE")
    try:
        return load_key_file(_read_input(path), passphrase.encode() if passphrase else None)
    except (KeyStoreError, CredentialError) as exc:
        raise UsageProblem(f"{path}: {getattr(exc, 'message', None) or exc}") from None


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


class _Signing:
    """Everything one ``cairn sign`` run needs, checked once before any credential is signed."""

    def __init__(
        self, key: SigningKey, fmt: str, verification_method: str | None, created: datetime
    ) -> None:
        self.key = key
        self.fmt = fmt
        self.created = created
        self.loader = DocumentLoader()
        if fmt == "di":
            if key.algorithm != "EdDSA":
                raise UsageProblem("Data Integrity (eddsa-rdfc-2022) signing needs an Ed25519 key")
            self.verification_method = verification_method or did_key_verification_method(
                key.public_key()
            )
        else:
            if key.algorithm not in JWT_SIGNING_ALGORITHMS:
                raise UsageProblem("VC-JWT signing needs a P-256 (ES256) or RSA (RS256) key")
            self.verification_method = verification_method or ""

    def sign(self, credential: dict[str, Any], where: str, check_schema: bool) -> str:
        issuer = _issuer_id(credential)
        controller = self.verification_method.partition("#")[0]
        if self.verification_method and issuer != controller:
            raise UsageProblem(
                f"{where}: the verification method's controller {controller} must equal "
                f"issuer.id ({issuer}); pass --verification-method <issuer.id>#<key>"
            )
        if check_schema:
            candidate = dict(credential)
            if self.fmt == "di":
                candidate["proof"] = [{"type": "DataIntegrityProof"}]
            errors = schema_errors(candidate)
            if errors:
                raise UsageProblem(
                    f"{where}: not a valid OB 3.0 credential ({'; '.join(errors[:3])}); "
                    "use --no-schema-check to sign anyway"
                )
        try:
            if self.fmt == "jwt":
                if self.verification_method:
                    return sign_jwt(credential, signer=self.key, kid=self.verification_method)
                return sign_jwt(credential, signer=self.key, jwk=_public_jwk(self.key))
            signed = add_proof(
                credential,
                signer=self.key,
                verification_method=self.verification_method,
                created=self.created,
                loader=self.loader,
            )
        except CredentialError as exc:
            raise UsageProblem(f"{where}: {exc.message}") from None
        return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def _public_jwk(key: SigningKey) -> dict[str, str]:
    return public_jwk(key.public_key())


def _jsonl(data: bytes, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            where = f"{source} line {number}"
            yield where, _parse_json_object(line, where)


@click.command("sign")
@click.argument("unsigned", required=False)
@click.option(
    "--key", "key_path", required=True, help="Key file: PKCS#8 PEM, Multikey JSON or JWK."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["di", "jwt"]),
    default="di",
    show_default=True,
    help="di: Data Integrity eddsa-rdfc-2022; jwt: VC-JWT (ES256/RS256).",
)
@click.option("--verification-method", help="Key URL, e.g. did:web:host:issuers:x#key-1.")
@click.option("--created", help="Proof creation time, ISO 8601 with offset (default: now).")
@click.option("--batch", "batch", help="Sign one credential per line of this JSONL file.")
@click.option("--no-schema-check", is_flag=True, help="Sign even if the OB 3.0 schema fails.")
def sign_command(
    unsigned: str | None,
    key_path: str,
    fmt: str,
    verification_method: str | None,
    created: str | None,
    batch: str | None,
    no_schema_check: bool,
) -> int:
    """Sign UNSIGNED (a JSON file, or - for stdin) and print the signed credential or JWS."""
    if (unsigned is None) == (batch is None):
        raise UsageProblem("give either an UNSIGNED file or --batch IN.jsonl")
    signing = _Signing(
        _load_key(key_path), fmt, verification_method, _parse_time(created, "--created")
    )
    if batch is not None:
        # Sign everything before printing anything: a bad line stops the run with no output,
        # rather than leaving half a batch on stdout.
        outputs = [
            signing.sign(credential, where, not no_schema_check)
            for where, credential in _jsonl(_read_input(batch), batch)
        ]
        for output in outputs:
            click.echo(output)
        return 0
    if unsigned is None:  # ruled out above; this narrows the type
        raise UsageProblem("give either an UNSIGNED file or --batch IN.jsonl")
    credential = _parse_json_object(_read_input(unsigned), unsigned)
    output = signing.sign(credential, unsigned, not no_schema_check)
    if fmt == "di":
        output = json.dumps(json.loads(output), ensure_ascii=False, indent=2)
    click.echo(output)
    return 0


class _GivenDocuments:
    """``fetch(url)`` answering the URLs of ``--document`` from their files, and every other URL
    with ``fallback``."""

    def __init__(self, documents: dict[str, bytes], fallback: Fetcher) -> None:
        self.documents = documents
        self.fallback = fallback

    def __call__(self, url: str) -> bytes:
        given = self.documents.get(url)
        return given if given is not None else self.fallback(url)


def _given_documents(pairs: tuple[str, ...]) -> dict[str, bytes]:
    documents: dict[str, bytes] = {}
    for pair in pairs:
        # The last "=": a URL may have a query string, a file name rarely has one.
        url, _, path = pair.rpartition("=")
        if "://" not in url or not path:
            raise UsageProblem(f"--document takes URL=FILE, not {pair!r}")
        documents[url] = _read_input(path)
    return documents


def _verify_input(source: str, offline: bool, fetcher: Fetcher) -> bytes:
    if source.startswith("https://"):
        if offline:
            raise UsageProblem("--offline cannot fetch a URL; download the credential first")
        try:
            return fetcher(source)
        except FetchError as exc:
            raise UsageProblem(str(exc)) from None
    if source.startswith("http://"):
        raise UsageProblem("only https URLs are fetched")
    return _read_input(source)


_SYMBOLS = {PASS: "✓", FAIL: "✗", WARN: "!", SKIP: "-"}
_VERDICTS = {
    VALID: "VALID",
    ISSUER_NOT_CONFIRMED: "SIGNATURE GENUINE, ISSUER NOT CONFIRMED",
    NOT_VALID: "NOT VALID",
}
#: ``cairn verify``'s exit status for each outcome (2 is unusable input or usage).
EXIT_STATUS = {VALID: 0, NOT_VALID: 1, ISSUER_NOT_CONFIRMED: 3}


def _human_report(report: VerificationReport) -> str:
    lines = []
    credential = report.credential or {}
    name = credential.get("name")
    if isinstance(name, str):
        lines.append(name)
    lines.append(f"{_VERDICTS[report.outcome]}  ({report.format})")
    for check in report.checks:
        lines.append(f"  {_SYMBOLS[check.status]} {check.id:<13} {check.message}")
    return "\n".join(lines)


def _human_record_report(report: ClrReport) -> str:
    lines = [f"Learning record (CLR 2.0): {_VERDICTS[report.outcome]}", "", "The record itself:"]
    lines.append("  " + _human_report(report.record).replace("\n", "\n  "))
    for number, inner in enumerate(report.embedded, start=1):
        lines += ["", f"Credential {number} of {len(report.embedded)}:"]
        lines.append("  " + _human_report(inner).replace("\n", "\n  "))
    return "\n".join(lines)


@click.command("verify")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--recipient", help="Email address or id the credential must be awarded to.")
@click.option("--at", "at", help="Judge validity at this time (ISO 8601 with offset).")
@click.option("--offline", is_flag=True, help="Fetch nothing; status checks are skipped.")
@click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="URL=FILE",
    help="Use FILE as what URL serves instead of fetching it, e.g. a DID document or status "
    "list you already hold (repeatable).",
)
def verify_command(
    source: str,
    as_json: bool,
    recipient: str | None,
    at: str | None,
    offline: bool,
    documents: tuple[str, ...],
) -> int:
    """Verify SOURCE: a .json/.jwt/.png/.svg file, - for stdin, or an https URL. A CLR 2.0
    learning record (JSON, or a PNG baked with ``clrcredential``) is verified with every
    credential in it, each reported; it is valid only when all of them are.

    Exit status: 0 valid; 1 not valid; 2 unusable input or usage; 3 the signature is genuine
    but nothing ties its key to the issuer the credential names (issuer not confirmed).
    """
    if offline and documents:
        raise UsageProblem("--offline fetches nothing: give --document without it")
    fetcher: Fetcher = SafeFetcher()
    if documents:
        fetcher = _GivenDocuments(_given_documents(documents), fetcher)
    data = _verify_input(source, offline, fetcher)
    if is_clr(data):
        if recipient is not None:
            raise UsageProblem("--recipient checks one credential, not a learning record")
        record = verify_clr(
            data,
            loader=DocumentLoader(),
            now=_parse_time(at, "--at"),
            fetch=None if offline else fetcher,
        )
        if as_json:
            click.echo(json.dumps(record.as_json(), ensure_ascii=False, indent=2))
        else:
            click.echo(_human_record_report(record))
        parse = record.record.check("parse")
        if parse is not None and parse.status == FAIL:
            return 2
        return EXIT_STATUS[record.outcome]
    report = verify_credential(
        data,
        loader=DocumentLoader(),
        now=_parse_time(at, "--at"),
        fetch=None if offline else fetcher,
        recipient=recipient,
    )
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(_human_report(report))
    parse = report.check("parse")
    if parse is not None and parse.status == FAIL:
        return 2
    return EXIT_STATUS[report.outcome]


@click.command("bake")
@click.argument("credential")
@click.argument("image")
@click.option("-o", "--output", required=True, help="Where to write the baked image.")
def bake_command(credential: str, image: str, output: str) -> int:
    """Bake CREDENTIAL (signed JSON or a JWS) into IMAGE (PNG or SVG)."""
    text = _read_input(credential).decode("utf-8-sig", errors="strict").strip()
    if text.startswith("{"):
        _parse_json_object(text, credential)
    elif not looks_like_jws(text):
        raise UsageProblem(f"{credential} is neither a JSON credential nor a JWS")
    try:
        baked = bake(_read_input(image), text)
    except CredentialError as exc:
        raise UsageProblem(f"{image}: {exc.message}") from None
    try:
        Path(output).write_bytes(baked)
    except OSError as exc:
        raise UsageProblem(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


@click.command("unbake")
@click.argument("image")
def unbake_command(image: str) -> int:
    """Print the credential baked into IMAGE (exit 1 when there is none)."""
    try:
        payload = unbake(_read_input(image))
    except CredentialError as exc:
        raise UsageProblem(f"{image}: {exc.message}") from None
    if payload is None:
        click.echo(f"cairn: {image} has no baked credential", err=True)
        return 1
    if payload.ob_version == "2.0":
        click.echo(f"cairn: {image} holds an Open Badges 2.0 assertion ({payload.kind})", err=True)
    click.echo(payload.text)
    return 0
