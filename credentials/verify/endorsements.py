"""The endorsements check: every endorsement inside a credential is verified as a credential
itself, to a bounded depth and number."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from credentials.proofs import jwt as vc_jwt
from credentials.verify.parsing import parse
from credentials.verify.report import (
    FAIL,
    MAX_ENDORSEMENT_DEPTH,
    MAX_ENDORSEMENTS,
    PASS,
    SKIP,
    WARN,
    Check,
    Context,
    VerificationReport,
)

#: How an endorsement's own checks are run: the verifier's ``check_credential``, handed in
#: because it in turn calls :func:`check_endorsements`.
CheckCredential = Callable[[dict[str, Any], vc_jwt.DecodedJwt | None, Context], list[Check]]


def _endorsements(value: Any) -> list[tuple[str, Any]]:
    """Every ``endorsement`` and ``endorsementJwt`` value in the document, in document order
    (not inside them: an endorsement's own endorsements are checked when it is).

    Walked with an explicit stack rather than nested generators: every verification walks the
    whole credential, and most have no endorsement at all.
    """
    found: list[tuple[str, Any]] = []
    # Items are ("walk", node) or ("found", key, value); pushed in reverse so they pop in order.
    pending: list[tuple[Any, ...]] = [("walk", value)]
    while pending:
        item = pending.pop()
        if item[0] == "found":
            found.append((item[1], item[2]))
            continue
        node = item[1]
        work: list[tuple[Any, ...]] = []
        if isinstance(node, Mapping):
            for key, child in node.items():
                if key in ("endorsement", "endorsementJwt"):
                    for one in child if isinstance(child, list) else [child]:
                        work.append(("found", key, one))
                elif key not in ("proof", "@context") and isinstance(child, Mapping | list):
                    work.append(("walk", child))
        elif isinstance(node, list):
            work.extend(("walk", child) for child in node if isinstance(child, Mapping | list))
        pending.extend(reversed(work))
    return found


def check_endorsements(
    credential: Mapping[str, Any], ctx: Context, check_credential: CheckCredential
) -> Check:
    """Verify every endorsement in ``credential`` with ``check_credential``; failures warn."""
    found = _unique(_endorsements(credential))
    if not found:
        return Check("endorsements", SKIP, "There are no endorsements to check.")
    if ctx.depth >= MAX_ENDORSEMENT_DEPTH:
        return Check("endorsements", SKIP, "Endorsements nested this deep are not checked.")
    if len(found) > MAX_ENDORSEMENTS:
        return Check(
            "endorsements",
            WARN,
            f"There are {len(found)} endorsements; only credentials "
            f"with at most {MAX_ENDORSEMENTS} are checked.",
        )
    nested = ctx.nested()
    problems = []
    for _, endorsement in found:
        parsed = parse(endorsement if isinstance(endorsement, Mapping) else str(endorsement))
        if isinstance(parsed, VerificationReport):
            problems.append(parsed.checks[0].message)
            continue
        _, body, token = parsed
        failures = [c for c in check_credential(body, token, nested) if c.status == FAIL]
        if failures:
            name = body.get("name") or body.get("id") or "an endorsement"
            problems.append(f"{name}: " + "; ".join(f.message for f in failures[:3]))
    if problems:
        return Check(
            "endorsements",
            WARN,
            f"{len(problems)} of {len(found)} endorsements did not verify: " + " | ".join(problems),
        )
    return Check("endorsements", PASS, f"All {len(found)} endorsements verify.")


def _unique(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    seen: list[Any] = []
    out = []
    for key, item in items:
        if any(item is s for s in seen):
            continue
        seen.append(item)
        out.append((key, item))
    return out
