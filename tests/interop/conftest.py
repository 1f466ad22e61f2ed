"""Fixtures for the interop tests: drivers for the Node harnesses ``node/vcjs.mjs`` (vc.js) and
``node/verifiercore.mjs`` (the DCC's verifier-core, with a loopback server for what it fetches).

The harness reads one JSON request on stdin and writes one JSON response on stdout, so each call
starts one ``node`` process (about a third of a second). Tests are skipped, with the reason, only
when ``node`` is not installed or the harness's ``node_modules`` is absent (``make test`` runs
``npm ci`` there first, so in CI they run). The application fixtures of ``tests/app/conftest.py``
are imported here for the tests that issue with Cairn's own services.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import credentials.jsonld
from credentials.jsonld import BUNDLED_CONTEXTS

# The application fixtures (a fresh app on its own SQLite file, its test client, the builders and
# the fetcher that answers the app's own URLs), for the interop tests that issue credentials with
# Cairn's services and hand them to another verifier.
from tests.app.conftest import (  # noqa: F401 - pytest finds fixtures by name in a conftest
    app,
    client,
    local_fetch,
    make_achievement,
    make_award,
    make_issuer,
    make_staff,
    postgres_database,
)

NODE_DIR = Path(__file__).resolve().parent / "node"
HARNESS = NODE_DIR / "vcjs.mjs"
_TIMEOUT_SECONDS = 120


class VcJsError(Exception):
    """The harness failed (bad request, refused URL while signing, crash)."""


def bundled_context_files() -> dict[str, str]:
    """Cairn's own bundled contexts as ``url -> absolute file path``, for the harness."""
    directory = Path(credentials.jsonld.__file__).resolve().parent / "contexts"
    files = {url: str(directory / name) for url, name in BUNDLED_CONTEXTS.items()}
    missing = [path for path in files.values() if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"bundled contexts missing: {missing}")
    return files


class VcJs:
    """Runs requests through ``node vcjs.mjs``, serving Cairn's bundled contexts."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.contexts = bundled_context_files()

    def request(
        self, op: str, *, extra_contexts: Mapping[str, Path] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Send one request; return the response.

        :raises VcJsError: when the harness reports an error or exits non-zero.
        """
        contexts = dict(self.contexts)
        contexts.update({url: str(path) for url, path in (extra_contexts or {}).items()})
        payload = json.dumps({"op": op, "contexts": contexts, **fields})
        completed = subprocess.run(
            [self.node, str(HARNESS)],
            input=payload,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=NODE_DIR,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
        try:
            response: dict[str, Any] = json.loads(completed.stdout)
        except json.JSONDecodeError:
            raise VcJsError(
                f"vcjs.mjs gave no JSON (exit {completed.returncode}): "
                f"{completed.stdout!r} {completed.stderr!r}"
            ) from None
        if completed.returncode != 0 or ("error" in response and op != "verify"):
            raise VcJsError(f"vcjs.mjs {op} failed: {response.get('error')}")
        return response

    def sign(self, credential: Mapping[str, Any], key: Mapping[str, str], date: str) -> Any:
        """The credential as vc.js signs it (``proof`` is a single object)."""
        return self.request("sign", credential=credential, key=key, date=date)["signed"]

    def verify(
        self,
        credential: Mapping[str, Any],
        documents: Mapping[str, Any] | None = None,
        extra_contexts: Mapping[str, Path] | None = None,
    ) -> tuple[bool, str | None]:
        """``(verified, error message)`` from vc.verifyCredential."""
        response = self.request(
            "verify",
            credential=credential,
            documents=dict(documents or {}),
            extra_contexts=extra_contexts,
        )
        return response["verified"] is True, response["error"]

    def verify_with_status(
        self, credential: Mapping[str, Any], documents: Mapping[str, Any]
    ) -> tuple[bool, str | None, list[dict[str, Any]]]:
        """``(verified, error message, [{"purpose", "set"}])``: vc.verifyCredential with Digital
        Bazaar's Bitstring status list check (the list credential from ``documents``)."""
        response = self.request(
            "verify", credential=credential, documents=dict(documents), checkStatus=True
        )
        return response["verified"] is True, response["error"], list(response["status"])

    def verify_many(
        self, credentials: list[Mapping[str, Any]], documents: Mapping[str, Any] | None = None
    ) -> list[tuple[bool, str | None]]:
        """``(verified, error message)`` of each credential, in one run of the harness."""
        response = self.request(
            "verify_many", credentials=credentials, documents=dict(documents or {})
        )
        return [(r["verified"] is True, r["error"]) for r in response["results"]]

    def canonize(self, document: Mapping[str, Any]) -> str:
        """RDFC-1.0 N-Quads of ``document`` as jsonld.js + rdf-canonize produce them."""
        nquads: str = self.request("canonize", document=document)["nquads"]
        return nquads


@pytest.fixture(scope="session")
def vcjs() -> VcJs:
    """The vc.js harness; skips when Node or the harness's node_modules is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("vc.js interop: `node` is not on PATH (install Node 20+)")
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip(
            f"vc.js interop: {NODE_DIR / 'node_modules'} is absent "
            "(run `make test`, or `npm ci` in tests/interop/node)"
        )
    return VcJs(node)


# --- verifier-core ---------------------------------------------------------------------------

VERIFIER_CORE = NODE_DIR / "verifiercore.mjs"
JSON_SCHEMAS = Path(credentials.jsonld.__file__).resolve().parents[1] / "jsonschema"
OB_SCHEMA_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"


class VerifierCoreError(Exception):
    """The verifier-core harness failed (bad request, crash)."""


class DocumentServer:
    """A loopback HTTP server that answers ``GET /<host><path>`` with the document a test stored
    for ``https://<host><path>`` and 404 for everything else; it records what was asked for.

    verifiercore.mjs sends every https request here. Besides the test's own documents it serves
    the 1EdTech OB 3.0 JSON Schemas Cairn vendors (credentials/jsonschema), which verifier-core's
    schema check asks for by their canonical URLs.
    """

    def __init__(self, documents: Mapping[str, bytes | str | Mapping[str, Any]] | None = None):
        self.documents: dict[str, bytes] = {}
        for path in JSON_SCHEMAS.glob("ob_v3p0_*.json"):
            self.documents[OB_SCHEMA_BASE + path.name] = path.read_bytes()
        for url, document in (documents or {}).items():
            self.put(url, document)
        self.asked: list[str] = []
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = "https://" + self.path.lstrip("/")
                served.asked.append(url)
                body = served.documents.get(url)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def put(self, url: str, document: bytes | str | Mapping[str, Any]) -> None:
        """Serve ``document`` (bytes, text, or a JSON object) for the https ``url``."""
        if not url.startswith("https://"):
            raise ValueError(f"only https URLs are served: {url}")
        if isinstance(document, Mapping):
            document = json.dumps(document)
        self.documents[url] = document.encode() if isinstance(document, str) else document

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class VerifierCore:
    """Runs ``node verifiercore.mjs --server <DocumentServer>``."""

    def __init__(self, node: str) -> None:
        self.node = node

    def _run(
        self, server: DocumentServer, request: Mapping[str, Any], direct: str | None = None
    ) -> dict[str, Any]:
        arguments = ["--server", server.url, *(["--direct", direct] if direct else [])]
        completed = subprocess.run(
            [self.node, str(VERIFIER_CORE), *arguments],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=NODE_DIR,
            timeout=_TIMEOUT_SECONDS * 5,
            check=False,
        )
        try:
            response: dict[str, Any] = json.loads(completed.stdout)
        except json.JSONDecodeError:
            raise VerifierCoreError(
                f"verifiercore.mjs gave no JSON (exit {completed.returncode}): "
                f"{completed.stdout!r} {completed.stderr[-2000:]!r}"
            ) from None
        if completed.returncode != 0 or "error" in response:
            raise VerifierCoreError(f"verifiercore.mjs failed: {response.get('error')}")
        return response

    def verify(
        self,
        credential: Mapping[str, Any],
        server: DocumentServer,
        registries: list[dict[str, Any]] | None = None,
        now: str | None = None,
        direct: str | None = None,
    ) -> dict[str, Any]:
        """``{"result", "summary", "requests"}`` for one credential (judged at ``now``, an ISO
        8601 time, when given; else at the real time). ``direct``: a loopback origin (a live
        test server) whose URLs are fetched as they are rather than from ``server``."""
        request = {"credential": credential, "registries": registries or []}
        return self._run(server, {**request, **({"now": now} if now else {})}, direct)

    def verify_many(
        self,
        credentials: list[Mapping[str, Any]],
        server: DocumentServer,
        registries: list[dict[str, Any]] | None = None,
        now: str | None = None,
    ) -> list[dict[str, Any]]:
        """One response per credential, from a single ``node`` process."""
        request = {"credentials": list(credentials), "registries": registries or []}
        response = self._run(server, {**request, **({"now": now} if now else {})})
        results: list[dict[str, Any]] = response["results"]
        return results


@pytest.fixture(scope="session")
def verifier_core() -> VerifierCore:
    """The verifier-core harness; skips when Node or the harness's node_modules is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("verifier-core interop: `node` is not on PATH (install Node 20+)")
    if not (NODE_DIR / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir():
        pytest.skip(
            "verifier-core interop: its node_modules are absent "
            "(run `make test`, or `npm ci` in tests/interop/node)"
        )
    return VerifierCore(node)


def describe_verifier_core(summary: Mapping[str, Any]) -> str:
    """verifier-core's answer in one line, as ``tests/fixtures/outside/MANIFEST.json`` records it:
    ``fatal: <error names>``, or each step's result (``signature ok; expiration failed;
    revocation error status_list_expired; schema invalid``)."""
    if summary["errors"]:
        return "fatal: " + ", ".join(summary["errors"])
    parts = []
    for key, label in (
        ("valid_signature", "signature"),
        ("expiration", "expiration"),
        ("revocation_status", "revocation"),
    ):
        step = summary[key]
        if step is None:
            continue
        if step.get("valid") is True:
            parts.append(f"{label} ok")
        elif step.get("valid") is False:
            parts.append(f"{label} failed")
        else:
            parts.append(f"{label} error {step.get('error')}")
    schema = summary["schema"]
    if isinstance(schema, list):
        parts.append("schema " + ("ok" if all(s["valid"] for s in schema) else "invalid"))
    elif schema:
        parts.append("schema " + ("none" if schema == "NO_SCHEMA" else "not checked"))
    return "; ".join(parts)
