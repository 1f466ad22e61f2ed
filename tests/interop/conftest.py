"""Fixtures for the vc.js interop tests: a driver for the Node harness ``node/vcjs.mjs``.

The harness reads one JSON request on stdin and writes one JSON response on stdout, so each call
starts one ``node`` process (about a third of a second). Tests are skipped, with the reason, only
when ``node`` is not installed or the harness's ``node_modules`` is absent (``make test`` runs
``npm ci`` there first, so in CI they run).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import credentials.jsonld
from credentials.jsonld import BUNDLED_CONTEXTS

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
