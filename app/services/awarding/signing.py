"""Signing many credentials at once, spread over worker processes.

Signing is CPU-bound Python (JSON-LD canonicalisation), so one process signs on one core. A bulk
chunk is split across a small pool of processes (``SIGNING_PROCESSES``, default: one per core)
started with ``spawn``: fresh interpreters, safe to start from a threaded web server, each with
its own JSON-LD loader. A worker gets the private key for the duration of one call, over the
pool's pipe; it never writes it anywhere.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from credentials import (
    Achievement,
    CredentialError,
    DocumentLoader,
    Profile,
    add_proof,
    build_credential,
    sign_jwt,
)
from keys import SigningKey

log = logging.getLogger(__name__)

#: Below this many documents per process, the pool's overhead outweighs its help.
MIN_PER_PROCESS = 16

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_child_loader: DocumentLoader | None = None

#: What every credential of a batch shares when the signing processes build them too (the
#: issuer's profile and the achievement; each document is then the rest of
#: :func:`credentials.build_credential`'s arguments).
Blueprint = tuple[Profile, Achievement]


@dataclass(frozen=True)
class Signed:
    """One result: the stored text, or why it could not be signed (``built`` false: why it
    could not even be built)."""

    text: str | None
    error: str | None = None
    built: bool = True


def sign_one(
    document: dict[str, Any],
    key: SigningKey,
    vm: str,
    proof_format: str,
    created: datetime,
    loader: DocumentLoader,
) -> str:
    """Sign one document: a VC-JWT, or compact JSON with an ``eddsa-rdfc-2022`` proof."""
    if proof_format == "jwt":
        return sign_jwt(document, signer=key, kid=vm)
    signed = add_proof(document, signer=key, verification_method=vm, created=created, loader=loader)
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def _sign_part(
    documents: list[dict[str, Any]],
    key_der: bytes,
    kid: str,
    vm: str,
    proof_format: str,
    created: str,
    blueprint: Blueprint | None = None,
) -> list[Signed]:
    """Runs in a worker process."""
    loader = _loader()
    private = serialization.load_der_private_key(key_der, password=None)
    key = SigningKey(kid, private)  # type: ignore[arg-type]
    when = datetime.fromisoformat(created)
    return _sign_each(documents, key, vm, proof_format, when, loader, blueprint)


def _loader() -> DocumentLoader:
    """A worker process's JSON-LD loader, made on first use."""
    global _child_loader
    if _child_loader is None:
        _child_loader = DocumentLoader()
    return _child_loader


def _ready() -> None:
    """Runs in a worker process as it starts: what its first chunk would otherwise do first."""
    _loader()


def _parts(processes: int, documents: int) -> int:
    """How many of the processes a batch of ``documents`` is split across (1: signed here)."""
    return min(processes, documents // MIN_PER_PROCESS)


def start_processes(processes: int, documents: int) -> None:
    """Start the signing processes now, without waiting for them, when a job whose chunks of
    ``documents`` will use them is about to run: each takes a few tenths of a second to start
    (a fresh interpreter, its imports, its JSON-LD loader), and the first chunk's signatures
    waited for that. Nothing happens when the chunks would be signed in the calling process
    (too few documents, fewer than 2 processes), or when processes cannot be started (the
    chunk then signs here, as it would)."""
    if _parts(processes, documents) <= 1:
        return
    try:
        pool = _executor(processes)
        # The pool starts a process for each task that finds none idle: one task each.
        for _ in range(processes):
            pool.submit(_ready)
    except (OSError, BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: at shutdown
        log.warning("signing processes could not be started early (%s)", exc)


def _sign_each(
    documents: list[dict[str, Any]],
    key: SigningKey,
    vm: str,
    proof_format: str,
    created: datetime,
    loader: DocumentLoader,
    blueprint: Blueprint | None = None,
) -> list[Signed]:
    """Sign documents one after another here (with a ``blueprint``: build each first); one
    that cannot be built or signed gets its error."""
    results = []
    for document in documents:
        if blueprint is not None:
            try:
                document = build_credential(
                    issuer=blueprint[0], achievement=blueprint[1], **document
                )
            except (CredentialError, ValueError) as exc:
                results.append(Signed(None, str(getattr(exc, "message", exc)), built=False))
                continue
        try:
            results.append(Signed(sign_one(document, key, vm, proof_format, created, loader)))
        except (CredentialError, ValueError) as exc:
            results.append(Signed(None, getattr(exc, "message", None) or str(exc)))
    return results


def _executor(processes: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn")
            )
            _pool_size = processes
        return _pool


def sign_many(
    documents: list[dict[str, Any]],
    *,
    key: SigningKey,
    vm: str,
    proof_format: str,
    created: datetime,
    loader: DocumentLoader,
    processes: int,
) -> list[Signed]:
    """Sign documents in order, on up to ``processes`` worker processes (in this process when
    ``processes`` is 0 or 1, or when there are too few documents to be worth it)."""
    return sign_later(
        documents,
        key=key,
        vm=vm,
        proof_format=proof_format,
        created=created,
        loader=loader,
        processes=processes,
    )()


def sign_later(
    documents: list[dict[str, Any]],
    *,
    key: SigningKey,
    vm: str,
    proof_format: str,
    created: datetime,
    loader: DocumentLoader,
    processes: int,
    blueprint: Blueprint | None = None,
) -> Callable[[], list[Signed]]:
    """Start signing documents as :func:`sign_many` does; return what waits for the results.

    On the worker processes the signing goes on while the caller does something else (a bulk
    job stores the previous chunk meanwhile); in this process it is done when the results are
    asked for.

    With a ``blueprint``, each of ``documents`` is what :func:`credentials.build_credential` is
    given besides the issuer and achievement (the blueprint's), and the credential is built
    where it is signed: on the worker processes, a bulk chunk's building is off the job's
    thread too, and what crosses the pipe is these few values instead of whole credentials.
    """
    parts = _parts(processes, len(documents))

    def here() -> list[Signed]:
        return _sign_each(documents, key, vm, proof_format, created, loader, blueprint)

    if parts <= 1:
        return here
    key_der = key.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    size = -(-len(documents) // parts)
    slices = [documents[i : i + size] for i in range(0, len(documents), size)]

    def unavailable(exc: Exception) -> list[Signed]:
        # Processes could not be started (a sandbox, a process limit) or one died: sign here
        # instead, slower but the same signatures; the next chunk tries a fresh pool.
        log.warning("signing processes unavailable (%s); signing in this process", exc)
        shutdown(wait=False)
        return here()

    try:
        pool = _executor(processes)
        futures = [
            pool.submit(
                _sign_part, part, key_der, key.kid, vm, proof_format, created.isoformat(), blueprint
            )
            for part in slices
        ]
    except (OSError, BrokenProcessPool) as exc:
        failure = exc
        return lambda: unavailable(failure)

    def results() -> list[Signed]:
        try:
            return [signed for future in futures for signed in future.result()]
        except (OSError, BrokenProcessPool) as exc:
            return unavailable(exc)

    return results


def shutdown(*, wait: bool = True) -> None:
    """Stop the worker processes (at exit, in tests, and after one failed)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=wait, cancel_futures=True)
            _pool = None
