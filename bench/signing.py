"""Throughput of Cairn's eddsa-rdfc-2022 signing and verifying, compared with vc.js (on demand).

Run with ``make bench`` (or ``.venv/bin/python bench/signing.py [--quick]``). Every rate is for one
core: Cairn runs in this process's one thread, vc.js in one Node process (``bench`` op of
``tests/interop/node/vcjs.mjs``, timed inside Node so start-up is excluded). Benchmarks report;
they never fail on slow numbers. The exit status is non-zero only when something breaks.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pyld import jsonld

import credentials
from credentials import (
    BUNDLED_CONTEXTS,
    DocumentLoader,
    add_proof,
    b58encode,
    canonize,
    decode_public_key,
    encode_public_key,
    encode_secret_key,
    identity_object,
    proofs_of,
    unsecured,
    verify_credential,
    verify_proof,
)
from credentials.jsonld.canonize import canonize_general
from keys import SigningKey, generate_key

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "interop" / "node"
HARNESS = NODE_DIR / "vcjs.mjs"
IMPL_GUIDE = ROOT / "tests/fixtures/vectors/ob3-impl-guide-test-vector/unsigned-credential.json"
CONTEXT_DIR = Path(credentials.__file__).resolve().parent / "jsonld" / "contexts"
NPM_PACKAGES = (
    "@digitalbazaar/vc",
    "@digitalbazaar/data-integrity",
    "@digitalbazaar/eddsa-rdfc-2022-cryptosuite",
    "jsonld",
    "rdf-canonize",
)
CREATED = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


class BenchError(Exception):
    """Something broke (as opposed to something being slow)."""


@dataclass(frozen=True)
class Settings:
    """How long to run each measurement."""

    cairn_n: int
    cairn_seconds: float
    node_n: int
    naive_n: int
    naive_seconds: float
    batch_n: int


FULL = Settings(
    cairn_n=2000, cairn_seconds=5.0, node_n=1000, naive_n=300, naive_seconds=5.0, batch_n=2000
)
QUICK = Settings(
    cairn_n=200, cairn_seconds=1.0, node_n=100, naive_n=20, naive_seconds=1.0, batch_n=200
)
#: The issue's targets: ``cairn sign --batch`` against vc.js signing the same batch, and the
#: full verifier against vc.js's verifyCredential.
SIGN_TARGET = 10.0
VERIFY_TARGET = 5.0


@dataclass(frozen=True)
class Rate:
    """Operations per second over ``count`` timed operations."""

    per_second: float
    count: int


@dataclass(frozen=True)
class BenchKey:
    """A fresh Ed25519 signing key (``keys.generate_key``) with a did:key identity."""

    signing_key: SigningKey
    did: str
    verification_method: str
    public_key_multibase: str
    secret_key_multibase: str

    def harness_key(self) -> dict[str, str]:
        """The key as vcjs.mjs takes it."""
        return {
            "id": self.verification_method,
            "controller": self.did,
            "publicKeyMultibase": self.public_key_multibase,
            "secretKeyMultibase": self.secret_key_multibase,
        }


def new_key() -> BenchKey:
    """A fresh Ed25519 key with a did:key verification method."""
    signing_key = generate_key("ed25519")
    private = signing_key.private_key
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise BenchError("generate_key('ed25519') did not return an Ed25519 key")
    public = encode_public_key(private.public_key())
    did = f"did:key:{public}"
    return BenchKey(signing_key, did, f"{did}#{public}", public, encode_secret_key(private))


# --- credentials --------------------------------------------------------------------------


def impl_guide(issuer_id: str) -> dict[str, Any]:
    """The OB 3.0 implementation guide's unsigned credential, issued by ``issuer_id``."""
    credential: dict[str, Any] = json.loads(IMPL_GUIDE.read_text("utf-8"))
    credential["issuer"]["id"] = issuer_id
    return credential


def realistic(issuer_id: str) -> dict[str, Any]:
    """A credential shaped like the ones Cairn issues (every term defined by its contexts)."""
    base = "https://badges.cairn.example"
    alignment = {
        "type": ["Alignment"],
        "targetName": "Facilitating adult learning",
        "targetUrl": "https://frameworks.example.org/pd/facilitation",
        "targetFramework": "Professional Learning Standards",
        "targetCode": "PLS-4.2",
        "targetType": "CFItem",
    }
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            # defines 1EdTechJsonSchemaValidator2019, as in the spec's complete example
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
        "id": f"{base}/credentials/6f1c2a9e-4a8b-4b57-9b7e-0f3c6d5a2e10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Facilitating Professional Learning",
        "issuer": {
            "id": issuer_id,
            "type": ["Profile"],
            "name": "Northfield Teachers' Centre",
            "url": "https://northfield.example.org",
            "email": "badges@northfield.example.org",
            "image": {"id": f"{base}/issuers/7/logo.png", "type": "Image", "caption": "Logo"},
        },
        "validFrom": "2025-01-01T00:00:00Z",
        "awardedDate": "2025-01-01T00:00:00Z",
        "image": {"id": f"{base}/badges/facilitation/image.png", "type": "Image"},
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"{base}/achievements/facilitation",
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": "Facilitating Professional Learning",
                "description": "Plans and leads professional learning sessions for colleagues.",
                "criteria": {
                    "id": f"{base}/achievements/facilitation/criteria",
                    "narrative": "Led three peer sessions, each observed and reviewed.",
                },
                "image": {"id": f"{base}/badges/facilitation/image.png", "type": "Image"},
                "alignment": [alignment],
                "tag": ["facilitation", "professional learning"],
            },
        },
        "evidence": [
            {
                "id": f"{base}/evidence/6f1c2a9e/1",
                "type": ["Evidence"],
                "name": "Session plan",
                "description": "Plan and materials for the first observed session.",
                "genre": "Lesson plan",
                "audience": "Teachers",
            },
            {
                "id": f"{base}/evidence/6f1c2a9e/2",
                "type": ["Evidence"],
                "name": "Observation notes",
                "narrative": "Observed by a senior facilitator on 2024-11-12.",
            },
        ],
        "credentialStatus": {
            "id": f"{base}/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": f"{base}/status/1",
        },
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
    }


def batch_credentials(issuer_id: str, n: int) -> list[dict[str, Any]]:
    """``n`` distinct 'realistic' credentials of one achievement, differing as Cairn's awards do:
    credential id, recipient (a salted email hash and a name, as ``credentials.build`` makes
    them), dates, status index and evidence (none, one or two items, with their own ids and
    texts)."""
    base = "https://badges.cairn.example"
    batch = []
    for number in range(n):
        credential = realistic(issuer_id)
        uid = hashlib.sha256(f"credential {number}".encode()).hexdigest()
        uid = f"{uid[:8]}-{uid[8:12]}-4{uid[13:16]}-8{uid[17:20]}-{uid[20:32]}"
        credential["id"] = f"{base}/credentials/{uid}"
        subject = credential["credentialSubject"]
        del subject["id"]
        salt = hashlib.sha256(f"salt {number}".encode()).hexdigest()[:16]
        subject["identifier"] = [
            identity_object(f"learner{number}@school{number % 7}.example.org", salt=salt),
            identity_object(f"Learner Nº{number}", identity_type="name", salt=None, hashed=False),
        ]
        when = (CREATED + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
        credential["validFrom"] = credential["awardedDate"] = when
        evidence = [
            {
                "id": f"{base}/evidence/{uid}/{item}",
                "type": ["Evidence"],
                "name": f"Session {item} of learner {number}",
                "narrative": f'Observed on day {number % 28 + 1}: "led the session".',
            }
            for item in range(number % 3)
        ]
        if evidence:
            credential["evidence"] = evidence
        else:
            del credential["evidence"]
        index = str((number * 7919) % 131072)
        credential["credentialStatus"]["id"] = f"{base}/status/1#{index}"
        credential["credentialStatus"]["statusListIndex"] = index
        batch.append(credential)
    return batch


CREDENTIALS: dict[str, Callable[[str], dict[str, Any]]] = {
    "impl-guide": impl_guide,
    "realistic": realistic,
}

# --- timing -------------------------------------------------------------------------------


def measure(operation: Callable[[], object], n: int, max_seconds: float) -> Rate:
    """Run ``operation`` after a short warm-up, ``n`` times or until ``max_seconds`` pass."""
    for _ in range(min(50, max(3, n // 20))):
        operation()
    count = 0
    start = time.perf_counter()
    elapsed = 0.0
    while count < n:
        operation()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= max_seconds:
            break
    return Rate(count / elapsed, count)


# --- Cairn --------------------------------------------------------------------------------


def cairn_sign(credential: Mapping[str, Any], key: BenchKey, loader: DocumentLoader) -> Any:
    """The credential signed by Cairn."""
    return add_proof(
        credential,
        signer=key.signing_key,
        verification_method=key.verification_method,
        created=CREATED,
        loader=loader,
    )


def cairn_verify(signed: Mapping[str, Any], loader: DocumentLoader) -> None:
    """Verify the (single) proof, decoding the did:key's Multikey as a verifier must."""
    proof = proofs_of(signed)[-1]
    multibase = proof["verificationMethod"].partition("#")[2]
    public_key = decode_public_key(multibase)
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise BenchError("the verification method is not an Ed25519 key")
    verify_proof(signed, proof, public_key=public_key, loader=loader)


# --- naive pyld ---------------------------------------------------------------------------


class PlainLoader:
    """A document loader as one would first write it: bundled contexts, no cache hints."""

    def __init__(self, tag: str | None) -> None:
        self.documents = {
            url: json.loads((CONTEXT_DIR / name).read_text("utf-8"))
            for url, name in BUNDLED_CONTEXTS.items()
        }
        self.tag = tag

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """Resolve ``url`` the way pyld's loaders do."""
        response = {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self.documents[url]),
        }
        if self.tag:
            response["tag"] = self.tag
        return response


def naive_canonize(document: Mapping[str, Any], loader: PlainLoader) -> str:
    """RDFC-1.0 (URDNA2015) N-Quads with plain ``pyld.jsonld.normalize``."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    nquads: str = jsonld.normalize(dict(document), options)  # pyld copies its input itself
    return nquads


def naive_sign(credential: Mapping[str, Any], key: BenchKey, loader: PlainLoader) -> str:
    """An eddsa-rdfc-2022 proofValue computed with plain pyld; returns the proofValue."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": CREATED.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
        "@context": credential["@context"],
    }
    data = (
        hashlib.sha256(naive_canonize(proof, loader).encode()).digest()
        + hashlib.sha256(naive_canonize(unsecured(credential), loader).encode()).digest()
    )
    return "z" + b58encode(key.signing_key.sign(data))


# --- vc.js --------------------------------------------------------------------------------


def bundled_context_files() -> dict[str, str]:
    """Cairn's bundled contexts as ``url -> absolute path``, which vcjs.mjs serves."""
    return {url: str(CONTEXT_DIR / name) for url, name in BUNDLED_CONTEXTS.items()}


def run_process(
    command: list[str], stdin: str | None, cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion with ``stdin`` as its input, capturing its output."""
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=1800,
        check=False,
    )


def vcjs(request: Mapping[str, Any], node: str) -> dict[str, Any]:
    """Run one request through the harness.

    :raises BenchError: when it fails.
    """
    payload = json.dumps({**request, "contexts": bundled_context_files()})
    completed = run_process([node, str(HARNESS)], payload, NODE_DIR)
    try:
        response: dict[str, Any] = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise BenchError(
            f"vcjs.mjs gave no JSON (exit {completed.returncode}): {completed.stderr.strip()}"
        ) from None
    if completed.returncode != 0 or (response.get("error") and request["op"] != "verify"):
        raise BenchError(f"vcjs.mjs {request['op']} failed: {response.get('error')}")
    return response


def node_versions(node: str) -> str:
    """``node --version`` and the pinned npm packages as installed."""
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    packages = []
    for name in NPM_PACKAGES:
        manifest = NODE_DIR / "node_modules" / name / "package.json"
        installed = (
            json.loads(manifest.read_text("utf-8"))["version"] if manifest.is_file() else "?"
        )
        packages.append(f"{name.rpartition('/')[2]} {installed}")
    return f"Node {version}; " + ", ".join(packages)


# --- end to end: cairn sign --batch against vc.js on the same batch ------------------------


@dataclass(frozen=True)
class Run:
    """One subprocess: wall seconds from spawn to exit (start-up included), its CPU seconds."""

    wall: float
    cpu: float
    stdout: str


def timed_run(command: list[str], stdin: str | None, cwd: Path | None = None) -> Run:
    """Run ``command`` to completion, timing it from spawn to exit.

    :raises BenchError: when it fails.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = run_process(command, stdin, cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode != 0:
        raise BenchError(
            f"{command[0]} failed ({completed.returncode}): {completed.stderr[-2000:]}"
        )
    return Run(wall, cpu, completed.stdout)


def against(value: float, target: float) -> str:
    """``PASS``/``FAIL`` against a ratio target."""
    return f"{'PASS' if value >= target else 'FAIL'} (target {target:g}x)"


def bench_end_to_end(n: int, node: str | None) -> list[str]:
    """``cairn sign --batch`` on ``n`` distinct credentials, as a subprocess, against vc.js
    signing the same ``n`` in one Node process (``sign_batch`` op); both timed from spawn to
    exit, so start-up, reading the credentials and writing the signed ones are included."""
    key = new_key()
    batch = batch_credentials(key.did, n)
    cairn = str(Path(sys.executable).with_name("cairn"))
    created = "2025-01-01T12:00:00Z"
    rows: list[tuple[str, Run]] = []
    with tempfile.TemporaryDirectory(prefix="cairn-sign-bench-") as work:
        jsonl = Path(work) / "batch.jsonl"
        jsonl.write_text("".join(json.dumps(c) + "\n" for c in batch), "utf-8")
        key_file = Path(work) / "key.pem"
        key_file.write_bytes(
            key.signing_key.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        command = [cairn, "sign", "--batch", str(jsonl), "--key", str(key_file)]
        command += ["--created", created, "--verification-method", key.verification_method]
        for label, extra in (
            ("cairn sign --batch", []),
            ("  ... --no-schema-check", ["--no-schema-check"]),
        ):
            print(f"  end to end: {label.strip(' .')} ...", file=sys.stderr, flush=True)
            rows.append((label, timed_run(command + extra, None)))
    signed = [json.loads(line) for line in rows[0][1].stdout.splitlines()]
    unchecked = [json.loads(line) for line in rows[1][1].stdout.splitlines()]
    if len(signed) != n or signed != unchecked:
        raise BenchError("cairn sign --batch gave a different output with --no-schema-check")
    cross_check = "not run (--no-node)"
    js: Run | None = None
    if node is not None:
        print("  end to end: vc.js sign_batch ...", file=sys.stderr, flush=True)
        request = {
            "op": "sign_batch",
            "credentials": batch,
            "key": key.harness_key(),
            "date": created,
            "contexts": bundled_context_files(),
        }
        js = timed_run([node, str(HARNESS)], json.dumps(request), cwd=NODE_DIR)
        by_vcjs = json.loads(js.stdout)["signed"]
        # Same key, same `created`, deterministic Ed25519: every proofValue must be identical.
        for number, (ours, theirs) in enumerate(zip(signed, by_vcjs, strict=True)):
            if ours["proof"][0]["proofValue"] != theirs["proof"]["proofValue"]:
                raise BenchError(f"vc.js and cairn sign --batch differ on credential {number}")
        rows.append(("vc.js, one Node process", js))
        cross_check = f"all {n} proofValues identical to vc.js's (same key and created)"
    lines = [
        f"end to end: {n} distinct 'realistic' credentials (recipient, id, dates, status, "
        "evidence vary), one process each, timed from spawn to exit",
        f"  cross-check with vc.js: {cross_check}",
        f"  {'':36}{'wall':>10}{'rate (wall)':>16}{'CPU':>10}{'rate (CPU)':>16}",
    ]
    for label, run in rows:
        lines.append(
            f"  {label:36}{run.wall:9.2f}s{n / run.wall:14.1f}/s"
            f"{run.cpu:9.2f}s{n / run.cpu:14.1f}/s"
        )
    if js is not None:
        for label, run in rows[:2]:
            wall_ratio = js.wall / run.wall
            cpu_ratio = js.cpu / run.cpu
            lines.append(
                f"  RATIO {label.strip(' .') + ' / vc.js':30}{wall_ratio:>25.2f}x"
                f"{cpu_ratio:>25.2f}x  {against(wall_ratio, SIGN_TARGET)}"
            )
    return lines


# --- report -------------------------------------------------------------------------------


def machine() -> list[str]:
    """Lines describing where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    python = f"{platform.python_implementation()} {platform.python_version()}"
    libraries = ", ".join(f"{name} {metadata.version(name)}" for name in ("PyLD", "cryptography"))
    load = (
        ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    )
    return [
        f"machine: {platform.platform()}; {os.cpu_count()} logical CPUs (os.cpu_count); {cpu}",
        f"load:    {load} (1/5/15-minute load average when the report was printed)",
        f"python:  {python}; {libraries}",
    ]


def ratio(cairn: Rate, other: Rate | None) -> str:
    """``cairn / other`` as ``1.23x``."""
    return f"{cairn.per_second / other.per_second:.2f}x" if other else "-"


def cell(rate: Rate | None) -> str:
    """A rate for the table."""
    return f"{rate.per_second:10.1f}/s  (n={rate.count})" if rate else "-"


def bench_credential(name: str, settings: Settings, node: str | None) -> list[str]:
    """Measure one credential; return its table."""
    key = new_key()
    credential = CREDENTIALS[name](key.did)
    loader = DocumentLoader()
    nquads = canonize(credential, loader)
    signed = cairn_sign(credential, key, loader)
    cairn_verify(signed, loader)

    print(f"  {name}: Cairn sign ...", file=sys.stderr, flush=True)
    sign = measure(
        lambda: cairn_sign(credential, key, loader), settings.cairn_n, settings.cairn_seconds
    )
    # The signing row above is the shape-template path (the same shape recurs); these two show
    # what the template saves over JSON-LD expansion (credentials/jsonld/shapes.py).
    print(f"  {name}: canonicalise, template and general path ...", file=sys.stderr, flush=True)
    if canonize_general(credential, loader) != nquads:
        raise BenchError(f"the shape template and the general path differ on {name}")
    templated = measure(lambda: canonize(credential, loader), settings.cairn_n, 1.0)
    general = measure(lambda: canonize_general(credential, loader), settings.cairn_n, 1.0)
    print(f"  {name}: Cairn verify ...", file=sys.stderr, flush=True)
    verify = measure(lambda: cairn_verify(signed, loader), settings.cairn_n, settings.cairn_seconds)
    # The whole verifier (every named check, JSON Schema included) is more than vc.js's
    # verifyCredential does; it is shown for context, not in the ratio.
    now = datetime.now(UTC)
    if not verify_credential(signed, loader=loader, now=now).valid:
        raise BenchError(f"Cairn's own verifier rejects {name}")
    print(f"  {name}: Cairn full verifier ...", file=sys.stderr, flush=True)
    full = measure(
        lambda: verify_credential(signed, loader=loader, now=now),
        settings.cairn_n,
        settings.cairn_seconds,
    )

    js_sign: Rate | None = None
    js_verify: Rate | None = None
    cross_check = "not run (--no-node)"
    if node is not None:
        # Same work on both sides: each verifies what the other signs before we time anything.
        verdict = vcjs({"op": "verify", "credential": signed}, node)
        if not verdict["verified"]:
            raise BenchError(f"vc.js rejects Cairn's proof on {name}: {verdict['error']}")
        by_vcjs = vcjs(
            {
                "op": "sign",
                "credential": credential,
                "key": key.harness_key(),
                "date": "2025-01-01T12:00:00Z",
            },
            node,
        )["signed"]
        if by_vcjs["proof"]["proofValue"] != signed["proof"][0]["proofValue"]:
            raise BenchError(f"vc.js and Cairn sign {name} differently")
        cross_check = "vc.js verifies Cairn's proof and signs the identical proofValue"
        for kind in ("sign", "verify"):
            print(f"  {name}: vc.js {kind} ...", file=sys.stderr, flush=True)
            response = vcjs(
                {
                    "op": "bench",
                    "kind": kind,
                    "credential": credential,
                    "key": key.harness_key(),
                    "n": settings.node_n,
                },
                node,
            )
            rate = Rate(float(response["per_second"]), int(response["n"]))
            js_sign, js_verify = (rate, js_verify) if kind == "sign" else (js_sign, rate)

    naive: list[tuple[str, Rate, bool]] = []
    for label, tag in (("naive pyld, plain loader", None), ("naive pyld, 'static' tag", "static")):
        print(f"  {name}: {label} ...", file=sys.stderr, flush=True)
        plain = PlainLoader(tag)
        # pyld's process-wide context cache would otherwise carry "static" entries from an
        # earlier run into this one (it is keyed by URL alone, whichever loader filled it).
        jsonld._resolved_context_cache.clear()
        same = (
            naive_canonize(credential, plain) == nquads
            and naive_sign(credential, key, plain) == signed["proof"][0]["proofValue"]
        )
        operation = functools.partial(naive_sign, credential, key, plain)
        rate = measure(operation, settings.naive_n, settings.naive_seconds)
        naive.append((label, rate, same))

    size = len(json.dumps(credential))
    lines = [
        f"credential {name!r}: {size} bytes of JSON, {len(nquads.splitlines())} N-Quads",
        f"  cross-check with vc.js: {cross_check}",
        f"  {'':28}{'sign':>26}{'verify':>26}",
        f"  {'Cairn':28}{cell(sign):>26}{cell(verify):>26}",
        f"  {'vc.js':28}{cell(js_sign):>26}{cell(js_verify):>26}",
        f"  {'RATIO Cairn / vc.js':28}{ratio(sign, js_sign):>26}{ratio(verify, js_verify):>26}",
    ]
    lines.append(f"  {'canonicalise: template':28}{cell(templated):>26}")
    lines.append(
        f"  {'canonicalise: general path':28}{cell(general):>26}"
        f"{'':>14}(template {ratio(templated, general)} faster)"
    )
    lines.append(f"  {'Cairn, every check (schema…)':28}{'':>26}{cell(full):>26}")
    if js_verify is not None:
        full_ratio = full.per_second / js_verify.per_second
        lines.append(
            f"  {'RATIO every check / vc.js':28}{'':>26}{full_ratio:>25.2f}x  "
            f"{against(full_ratio, VERIFY_TARGET)}"
        )
    for label, rate, same in naive:
        note = "same proofValue as Cairn" if same else "DIFFERENT bytes from Cairn"
        lines.append(f"  {label:28}{cell(rate):>26}{'':>14}({note})")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 0 unless something broke."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--no-node", action="store_true", help="skip vc.js (Cairn and pyld only)")
    parser.add_argument(
        "--credential", choices=[*CREDENTIALS, "all"], default="all", help="which credential"
    )
    parser.add_argument(
        "--batch-n", type=int, help="credentials in the end-to-end batch (2000; --quick 200)"
    )
    parser.add_argument(
        "--only-end-to-end", action="store_true", help="only the cairn sign --batch comparison"
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    batch_n = args.batch_n or settings.batch_n

    node: str | None = None
    if not args.no_node:
        node = shutil.which("node")
        if node is None or not (NODE_DIR / "node_modules").is_dir():
            print(
                "error: vc.js needs `node` and tests/interop/node/node_modules "
                "(run `make bench`, or pass --no-node)",
                file=sys.stderr,
            )
            return 2

    names = list(CREDENTIALS) if args.credential == "all" else [args.credential]
    try:
        tables = (
            [] if args.only_end_to_end else [bench_credential(n, settings, node) for n in names]
        )
        tables.append(bench_end_to_end(batch_n, node))
        header = machine()
        if node is not None:
            header.append(f"node:    {node_versions(node)}")
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    print(f"eddsa-rdfc-2022 throughput ({'quick' if args.quick else 'full'} run)")
    print("\n".join(header))
    print(
        "one core each: Cairn in this Python thread, vc.js in one Node process "
        "(timed in-process, start-up excluded); after warm-up"
    )
    print(
        "verify = the proof check including decoding the did:key Multikey "
        "(vc.js also resolves the did:key document)"
    )
    for table in tables:
        print()
        print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
