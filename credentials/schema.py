"""JSON Schema (2019-09) validation of OB 3.0 credentials against the vendored 1EdTech schemas.

https://www.imsglobal.org/spec/ob/v3p0/ and https://purl.imsglobal.org/spec/ob/v3p0/schema/json/
"""

from __future__ import annotations

import copy
import functools
import json
import re
import reprlib
from collections.abc import Iterable, Iterator
from datetime import date
from importlib import resources
from typing import Any

# types-jsonschema is a dev dependency but may be missing from an environment; "unused-ignore"
# keeps mypy quiet in both cases.
from jsonschema import (  # type: ignore[import-untyped, unused-ignore]
    Draft201909Validator,
    FormatChecker,
)
from jsonschema.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    ValidationError,
    best_match,
)
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from credentials.dates import parse_datetime
from credentials.errors import MalformedCredential
from credentials.vocab import (
    ACHIEVEMENT_CREDENTIAL,
    ENDORSEMENT_CREDENTIAL,
    OPEN_BADGE_CREDENTIAL,
    VC_V1_CONTEXT,
)

#: The vendored schema files (``credentials/jsonschema/``), by the credential type they check.
SCHEMA_FILES = {
    ACHIEVEMENT_CREDENTIAL: "ob_v3p0_achievementcredential_schema.json",
    ENDORSEMENT_CREDENTIAL: "ob_v3p0_endorsementcredential_schema.json",
}
#: Values accepted for ``vc_version``.
VC_VERSIONS = ("1.1", "2.0")
#: At most this many messages are returned; the rest are summarised in one last line.
MAX_MESSAGES = 20

NOT_AN_OB_CREDENTIAL = "not an OpenBadgeCredential, AchievementCredential or EndorsementCredential"

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A scheme is what makes a URI absolute; whitespace never appears in a URI (RFC 3986).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxdict = 2
_short.maxlist = 3
_short.maxlevel = 2


def _refuse_retrieval(uri: str) -> Resource[Any]:
    # The vendored schemas only use local "#/$defs/..." references, so nothing needs fetching;
    # without this, jsonschema's default registry would download an unknown $ref from the
    # network. A validator must never fetch a URL chosen by a schema (or by a credential).
    raise NoSuchResource(uri)


# mypy cannot see through referencing's attrs wrapper to the documented ``retrieve`` argument.
_OFFLINE_REGISTRY: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _check_date_time(value: object) -> bool:
    # RFC 3339 / xsd:dateTime WITH an offset (OB's DateTimeZ). jsonschema's own "date-time"
    # check silently passes everything unless rfc3339-validator is installed, so it is not used.
    if not isinstance(value, str):
        return True  # "type" reports non-strings; format only constrains strings
    try:
        parse_datetime(value)
    except MalformedCredential:
        return False
    return True


def _check_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False  # date.fromisoformat alone would also accept "20240101"
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


@functools.cache
def _format_checker() -> FormatChecker:
    # Start empty: only formats checked here, offline and deterministically, are asserted.
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_check_date_time)
    checker.checks("date")(_check_date)
    checker.checks("uri")(_check_uri)
    return checker


@functools.cache
def _load_schema(filename: str) -> dict[str, Any]:
    # Cached and shared: callers must copy before changing it.
    text = resources.files("credentials").joinpath("jsonschema", filename).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _adapt_credential_schema(node: dict[str, Any]) -> None:
    """Turn one VC 2.0 credential (sub)schema into its VC 1.1 equivalent, in place."""
    properties = node["properties"]
    properties["@context"]["items"][0] = {"enum": [VC_V1_CONTEXT]}
    properties["issuanceDate"] = copy.deepcopy(properties["validFrom"])
    if "validUntil" in properties:
        properties["expirationDate"] = copy.deepcopy(properties["validUntil"])
    node["required"] = [
        "issuanceDate" if name == "validFrom" else name for name in node.get("required", [])
    ]


def _vc1_schema(schema: dict[str, Any]) -> dict[str, Any]:
    adapted = copy.deepcopy(schema)
    _adapt_credential_schema(adapted)
    # Endorsements embedded in a 1.1-era credential are 1.1-era too (see complete_v1.json).
    endorsement = adapted.get("$defs", {}).get("EndorsementCredential")
    if isinstance(endorsement, dict) and "properties" in endorsement:
        _adapt_credential_schema(endorsement)
    return adapted


@functools.cache
def _validator(kind: str, vc_version: str) -> Draft201909Validator:
    schema = _load_schema(SCHEMA_FILES[kind])
    if vc_version == "1.1":
        schema = _vc1_schema(schema)
    return Draft201909Validator(
        schema, registry=_OFFLINE_REGISTRY, format_checker=_format_checker()
    )


def _types(credential: dict[str, Any]) -> set[str]:
    value = credential.get("type")
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def _detect_version(credential: dict[str, Any]) -> str:
    context = credential.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    return "1.1" if first == VC_V1_CONTEXT else "2.0"


def _path(error: ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _describe(error: ValidationError) -> str:
    message = error.message
    full = repr(error.instance)
    # jsonschema starts most messages with the repr of the whole failing value, which for an
    # object can be kilobytes; keep the message readable.
    if len(full) > 80 and message.startswith(full):
        message = _short.repr(error.instance) + message[len(full) :]
    return f"{_path(error)}: {message}"


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors worth showing for one top-level error.

    For ``oneOf``/``anyOf`` (ProfileRef, achievementType, @context entries) jsonschema only says
    "not valid under any of the given schemas". Pick the branch the value most likely meant
    (jsonschema's ``best_match`` heuristic: the deepest error) and report all of that branch's
    errors instead.
    """
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield error
        return
    best = best_match([error])
    if best is None or best is error:
        yield error
        return
    branch = best
    while branch.parent is not None and branch.parent is not error:
        branch = branch.parent
    index = branch.relative_schema_path[0] if branch.relative_schema_path else None
    for child in error.context:
        if child.relative_schema_path and child.relative_schema_path[0] == index:
            yield from _leaves(child)


def _messages(errors: Iterable[ValidationError]) -> list[str]:
    messages = sorted({_describe(leaf) for error in errors for leaf in _leaves(error)})
    if len(messages) > MAX_MESSAGES:
        hidden = len(messages) - MAX_MESSAGES
        messages = [*messages[:MAX_MESSAGES], f"... and {hidden} more schema errors"]
    return messages


def schema_errors(credential: dict[str, Any], *, vc_version: str | None = None) -> list[str]:
    """Validate a credential against the 1EdTech OB 3.0 JSON Schema for its type.

    ``OpenBadgeCredential``/``AchievementCredential`` use
    ``ob_v3p0_achievementcredential_schema.json``, ``EndorsementCredential`` uses
    ``ob_v3p0_endorsementcredential_schema.json`` (the strict ``/schema/json/`` schemas: arrays
    for ``type``/``proof``, ``image`` as an object, ...). Draft 2019-09, fully offline.

    ``format`` is asserted for ``date-time`` (RFC 3339 / xsd:dateTime, timezone offset
    required, upper-case ``T``/``Z``), ``date`` (``YYYY-MM-DD``) and ``uri`` (must have a scheme)
    by checkers defined here, independent of optional jsonschema extras.

    VC 1.1-era credentials (``@context[0]`` is ``https://www.w3.org/2018/credentials/v1``)
    cannot pass the VC 2.0 schema, and 1EdTech's "any" schemas are not vendored. They are
    checked against the same schema after this adaptation, applied to the credential and to
    every embedded ``EndorsementCredential``:

    * ``@context[0]`` must be the VC 1.1 context instead of the VC 2.0 one;
    * ``issuanceDate`` takes the place of ``validFrom`` (required, date-time);
    * ``expirationDate`` is checked as ``validUntil`` is (optional, date-time).

    Everything else is unchanged. Callers should still warn that the credential is VC 1.1.

    :param credential: the credential as parsed JSON.
    :param vc_version: ``"2.0"`` or ``"1.1"``; by default taken from ``@context[0]``.
    :returns: sorted messages ``"<path>: <problem>"`` (path ``$`` for the credential itself),
        at most ``MAX_MESSAGES`` plus a summary line; an empty list when the credential is valid.
    :raises ValueError: for a ``vc_version`` other than ``"1.1"`` or ``"2.0"``.
    """
    if vc_version is not None and vc_version not in VC_VERSIONS:
        raise ValueError(f"vc_version must be one of {VC_VERSIONS}, got {vc_version!r}")
    if not isinstance(credential, dict):
        return ["$: a credential must be a JSON object"]
    types = _types(credential)
    if OPEN_BADGE_CREDENTIAL in types or ACHIEVEMENT_CREDENTIAL in types:
        kind = ACHIEVEMENT_CREDENTIAL
    elif ENDORSEMENT_CREDENTIAL in types:
        kind = ENDORSEMENT_CREDENTIAL
    else:
        return [NOT_AN_OB_CREDENTIAL]
    version = vc_version or _detect_version(credential)
    return _messages(_validator(kind, version).iter_errors(credential))
