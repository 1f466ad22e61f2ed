"""The status check: a Bitstring Status List or 1EdTech revocation list, fetched and verified.

A status list that cannot be fetched or verified is a failure, never "not revoked"; with
``fetch=None`` (offline) status is reported as skipped.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from credentials import status
from credentials.errors import CredentialError, MalformedCredential
from credentials.jsonld import DocumentLoader
from credentials.proofs import jwt as vc_jwt
from credentials.verify.checks import check_dates, check_terms, issuer_id, types_of
from credentials.verify.parsing import strict_json
from credentials.verify.proof_checks import check_issuer_key, check_proofs
from credentials.verify.report import FAIL, MAX_INPUT_BYTES, PASS, SKIP, Check, Context
from credentials.vocab import BITSTRING_STATUS_LIST_CREDENTIAL, BITSTRING_STATUS_LIST_ENTRY


def check_status(credential: Mapping[str, Any], ctx: Context) -> Check:
    entries = credential.get("credentialStatus")
    if entries is None:
        return Check("status", PASS, "The issuer publishes no revocation status for it.")
    entries = entries if isinstance(entries, list) else [entries]
    if ctx.fetch is None:
        return Check("status", SKIP, "Revocation status was not checked (offline).", "offline")
    results = [_status_of(entry, credential, ctx) for entry in entries]
    for result in results:
        if result.status == FAIL:
            return result
    return (
        results[0] if len(results) == 1 else Check("status", PASS, "Neither revoked nor suspended.")
    )


def _status_of(entry: Any, credential: Mapping[str, Any], ctx: Context) -> Check:
    unavailable = (
        "Revocation status could not be checked, so it cannot be confirmed as not revoked: "
    )
    if not isinstance(entry, Mapping):
        return Check(
            "status", FAIL, unavailable + "credentialStatus is malformed.", "status_unavailable"
        )
    kind = entry.get("type")
    if kind == BITSTRING_STATUS_LIST_ENTRY:
        url = entry.get("statusListCredential")
        # Which URLs may be fetched (https only, public addresses…) is the fetcher's policy:
        # a refused URL comes back as an error and the status as unavailable.
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return Check(
                "status",
                FAIL,
                unavailable + "the status list URL is not a web address.",
                "status_unavailable",
            )
        try:
            list_credential = _fetch_status_list(url, credential, ctx)
            is_set = status.read_status(dict(entry), list_credential, require_matching_id=False)
        except CredentialError as exc:
            return Check("status", FAIL, unavailable + exc.message, "status_unavailable")
        purpose = entry.get("statusPurpose")
        # A set bit is believed even from a list whose id differs from its URL (the issuer
        # signed it; at worst this under-trusts). A clear bit is only believed from the list
        # that says it lives at that URL: otherwise another of the issuer's lists could have
        # been served in its place to hide a revocation.
        if is_set and purpose == "suspension":
            return Check("status", FAIL, "The issuer has suspended this credential.", "suspended")
        if is_set:
            return Check("status", FAIL, "The issuer has revoked this credential.", "revoked")
        if list_credential.get("id") != url:
            return Check(
                "status",
                FAIL,
                unavailable + "the status list served there names a different URL as its id.",
                "status_unavailable",
            )
        word = "suspended" if purpose == "suspension" else "revoked"
        return Check("status", PASS, f"Not {word} (checked the issuer's signed status list).")
    if kind == "1EdTechRevocationList":
        return _revocation_list_status(entry, credential, ctx, unavailable)
    return Check(
        "status", FAIL, unavailable + f"unsupported status type {kind!r}.", "status_unavailable"
    )


def _fetch_json(url: str, ctx: Context) -> Any:
    return _parse_body(url, _fetch_body(url, ctx))


def _fetch_body(url: str, ctx: Context) -> bytes:
    if ctx.fetch is None:
        raise MalformedCredential(f"{url} was not fetched (offline)")
    try:
        body = ctx.fetch(url)
    except Exception as exc:  # the fetcher's errors all mean "unreachable"
        raise MalformedCredential(f"{url} could not be fetched ({exc})") from None
    if len(body) > MAX_INPUT_BYTES:
        raise MalformedCredential(f"{url} is too large")
    return body


def _parse_body(url: str, body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise MalformedCredential(f"{url} is not text") from None
    if vc_jwt.looks_like_jws(text):
        return text
    try:
        return strict_json(text)
    except (ValueError, RecursionError):
        raise MalformedCredential(f"{url} did not return JSON") from None


def _fetch_status_list(url: str, credential: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Fetch a status list credential and verify it before trusting a single bit of it."""
    body = _fetch_body(url, ctx)
    fetched = _parse_body(url, body)
    nested = ctx.nested()
    token = vc_jwt.decode_jwt(fetched) if isinstance(fetched, str) else None
    list_credential = dict(token.credential) if token else fetched
    if not isinstance(list_credential, dict):
        raise MalformedCredential("the status list is not a JSON object")
    if BITSTRING_STATUS_LIST_CREDENTIAL not in types_of(list_credential.get("type")):
        raise MalformedCredential("the status list is not a BitstringStatusListCredential")
    canonical = _list_canonical(body, list_credential, ctx.loader)
    proof, method, label = check_proofs(list_credential, token, canonical, nested)
    if proof.status != PASS:
        raise MalformedCredential(f"the status list's signature is not valid ({proof.message})")
    key = check_issuer_key(list_credential, method, proof, label)
    if key.status == FAIL:
        raise MalformedCredential(f"the status list is not signed by its issuer ({key.message})")
    if issuer_id(list_credential) != issuer_id(credential):
        raise MalformedCredential("the status list was issued by someone other than the issuer")
    for date_check in check_dates(list_credential, ctx.now):
        if date_check.status == FAIL:
            raise MalformedCredential(f"the status list is not current ({date_check.message})")
    return list_credential


#: Status lists whose canonical form is remembered (most recently used kept), and the largest
#: one remembered (a 131,072-bit list is a few KB; a hostile 10 MB one is not kept).
_MAX_CANONICAL_LISTS = 32
_MAX_REMEMBERED_BYTES = 1024 * 1024
_canonical_lists: OrderedDict[tuple[bytes, DocumentLoader], str | None] = OrderedDict()
_canonical_lists_lock = threading.Lock()


def _list_canonical(
    body: bytes, list_credential: dict[str, Any], loader: DocumentLoader
) -> str | None:
    """The canonical form of a fetched status list (``None`` if its terms do not hold).

    One list covers thousands of credentials, so verifying them one after another would
    canonicalise the same list every time. Canonicalisation depends only on the document and
    the loader, so it is remembered by the SHA-256 of the exact bytes served (any change to the
    list, a bit flipped or a new proof, is canonicalised afresh) and the loader. The signature,
    the key's binding to the issuer and the list's dates are still checked on every
    verification.
    """
    if len(body) > _MAX_REMEMBERED_BYTES:
        return check_terms(list_credential, loader)[1]
    key = (hashlib.sha256(body).digest(), loader)
    with _canonical_lists_lock:
        if key in _canonical_lists:
            _canonical_lists.move_to_end(key)
            return _canonical_lists[key]
    _, canonical = check_terms(list_credential, loader)
    with _canonical_lists_lock:
        _canonical_lists[key] = canonical
        while len(_canonical_lists) > _MAX_CANONICAL_LISTS:
            _canonical_lists.popitem(last=False)
    return canonical


def _revocation_list_status(
    entry: Mapping[str, Any], credential: Mapping[str, Any], ctx: Context, unavailable: str
) -> Check:
    url = entry.get("id")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return Check(
            "status",
            FAIL,
            unavailable + "the revocation list URL is not a web address.",
            "status_unavailable",
        )
    try:
        revocations = _fetch_json(url, ctx)
    except CredentialError as exc:
        return Check("status", FAIL, unavailable + exc.message, "status_unavailable")
    listed = revocations.get("revokedCredential") if isinstance(revocations, dict) else None
    if not isinstance(listed, list):
        return Check(
            "status", FAIL, unavailable + "the revocation list is malformed.", "status_unavailable"
        )
    for item in listed:
        matches = isinstance(item, Mapping) and item.get("id") == credential.get("id")
        if matches and item.get("revoked", True) is not False:
            reason = item.get("revocationReason")
            suffix = f" Reason: {reason}" if isinstance(reason, str) and reason else ""
            return Check(
                "status", FAIL, "The issuer has revoked this credential." + suffix, "revoked"
            )
    return Check("status", PASS, "Not revoked (checked the issuer's revocation list).")
