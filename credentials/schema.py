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
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import jsonschema_rs

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


#: The formats asserted, by both validators (the same functions, so the same verdicts).
_FORMATS = {"date-time": _check_date_time, "date": _check_date, "uri": _check_uri}


@functools.cache
def _format_checker() -> FormatChecker:
    # Start empty: only formats checked here, offline and deterministically, are asserted.
    checker = FormatChecker(formats=())
    for name, check in _FORMATS.items():
        checker.checks(name)(check)
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
def _schema(kind: str, vc_version: str) -> dict[str, Any]:
    schema = _load_schema(SCHEMA_FILES[kind])
    return _vc1_schema(schema) if vc_version == "1.1" else schema


@functools.cache
def _validator(kind: str, vc_version: str) -> Draft201909Validator:
    return Draft201909Validator(
        _schema(kind, vc_version), registry=_OFFLINE_REGISTRY, format_checker=_format_checker()
    )


@functools.cache
def _fast_validator(kind: str, vc_version: str) -> jsonschema_rs.Draft201909Validator:
    # The same schema and format checks compiled by jsonschema-rs (Rust): about 40 times faster
    # than walking the schema in Python, but its errors are not shaped like jsonschema's, so it
    # only answers "valid or not". ``offline``: it must never fetch a $ref either.
    return jsonschema_rs.Draft201909Validator(
        _schema(kind, vc_version), formats=_FORMATS, validate_formats=True, offline=True
    )


def _fast_valid(kind: str, vc_version: str, credential: dict[str, Any]) -> bool:
    """True when the credential certainly matches the schema; False means "ask jsonschema".

    Only a True answer is ever used on its own (it is most credentials, the ones that need no
    message); every other answer, and anything jsonschema-rs cannot take (a non-string key in a
    dict handed in from Python), goes to the detailed path, whose verdict is the one reported.
    """
    try:
        return _fast_validator(kind, vc_version).is_valid(credential)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return False


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
    if _fast_valid(kind, version, credential):
        return []
    return _messages(_validator(kind, version).iter_errors(credential))


#: How many rounds of lifting compact forms are tried before giving up (each round lifts every
#: compact form the schema reports; nesting is shallow, so a handful is plenty).
_MAX_LIFT_ROUNDS = 8


@dataclass(frozen=True)
class SchemaJudgement:
    """What the strict schema and its JSON-LD-tolerant reading say about one credential.

    ``strict_errors`` are the strict schema's messages (empty when the credential matches it).
    ``compact_forms`` describe each place where the credential uses a compact form that JSON-LD
    allows but the strict schema does not ("proof is a single object rather than an array").
    ``structural_errors`` are the errors left once those forms are read in their strict shape:
    real problems (a required property missing, a wrong value). A credential whose only problems
    are compact forms has ``structural_errors == []``.
    """

    strict_errors: list[str]
    compact_forms: list[str]
    structural_errors: list[str]

    @property
    def strict(self) -> bool:
        """True when the credential matches the strict schema as it is."""
        return not self.strict_errors

    @property
    def conforms(self) -> bool:
        """True when the credential matches the schema once compact JSON-LD forms are lifted."""
        return not self.structural_errors


def judge_schema(credential: dict[str, Any], *, vc_version: str | None = None) -> SchemaJudgement:
    """Validate strictly, then as 1EdTech's validator does with its tolerant JSON-LD schema.

    The 1EdTech validator runs the strict ``/schema/json/`` schema first and, when that fails, a
    tolerant JSON-LD ("alias") schema; if the tolerant one passes, the strict errors become
    warnings. The tolerant schema files are not published, so the same reading is made here from
    the strict schema: each value in a form JSON-LD compaction produces is lifted to the strict
    shape, which denotes the same linked data, and the result is validated again:

    * a single value where the schema wants an array (``"proof": {...}``, ``"type": "Profile"``)
      becomes a one-item array (JSON-LD does not distinguish a value from a set of one);
    * an absolute URI string where the schema wants an object with an ``id`` (``"image":
      "https://..."``) becomes ``{"id": uri, "type": <the type the schema requires>}`` (every
      such OB property, ``image`` included, is ``"@type": "@id"`` in the OB context).

    Nothing else is lifted, so a missing property or a wrong value is still an error.
    """
    strict = schema_errors(credential, vc_version=vc_version)
    if not strict or strict == [NOT_AN_OB_CREDENTIAL] or not isinstance(credential, dict):
        return SchemaJudgement(strict, [], strict)
    kind = (
        ACHIEVEMENT_CREDENTIAL
        if _types(credential) & {OPEN_BADGE_CREDENTIAL, ACHIEVEMENT_CREDENTIAL}
        else ENDORSEMENT_CREDENTIAL
    )
    validator = _validator(kind, vc_version or _detect_version(credential))
    lifted = copy.deepcopy(credential)
    forms: dict[str, str] = {}
    for _ in range(_MAX_LIFT_ROUNDS):
        changed = False
        for error in validator.iter_errors(lifted):
            for leaf in _every_leaf(error):
                described = _lift_compact_form(lifted, leaf)
                if described is not None:
                    forms.setdefault(_path(leaf), described)
                    changed = True
        if not changed:
            break
    remaining = _messages(validator.iter_errors(lifted))
    return SchemaJudgement(strict, [forms[k] for k in sorted(forms)], remaining)


def _every_leaf(error: ValidationError) -> Iterator[ValidationError]:
    """The error and, for ``anyOf``/``oneOf``, every branch's errors (any may be compact)."""
    yield error
    for child in error.context or ():
        yield from _every_leaf(child)


def _lift_compact_form(document: dict[str, Any], error: ValidationError) -> str | None:
    """Lift the value ``error`` is about to its strict shape, if it is a compact JSON-LD form.

    Returns a plain description of the form, or ``None`` when the error is not about one (or
    the value was already lifted through another branch).
    """
    if error.validator != "type":
        return None
    wanted = error.validator_value
    wanted_types = wanted if isinstance(wanted, list) else [wanted]
    path = list(error.absolute_path)
    if not path:
        return None
    parent = _at(document, path[:-1])
    key = path[-1]
    if parent is None or not _holds(parent, key):
        return None
    value = parent[key]
    if value is not error.instance and value != error.instance:
        return None  # changed by an earlier lift this round
    where = _path(error)
    if "array" in wanted_types and not isinstance(value, list):
        parent[key] = [value]
        kind = (
            "an object"
            if isinstance(value, dict)
            else "a string"
            if isinstance(value, str)
            else "a single value"
        )
        return f"{where} is {kind} rather than an array"
    if "object" in wanted_types and isinstance(value, str) and _URI.fullmatch(value):
        schema = error.schema if isinstance(error.schema, dict) else {}
        properties = schema.get("properties", {})
        if "id" not in properties:
            return None
        lifted: dict[str, Any] = {"id": value}
        if "type" in schema.get("required", []):
            required_type = _required_type_name(properties.get("type"))
            if required_type is None:
                return None
            type_schema = properties.get("type", {})
            is_array = isinstance(type_schema, dict) and type_schema.get("type") == "array"
            lifted["type"] = [required_type] if is_array else required_type
        parent[key] = lifted
        return f"{where} is a URL rather than an object"
    return None


def _at(document: Any, path: list[Any]) -> Any:
    node = document
    for part in path:
        if not _holds(node, part):
            return None
        node = node[part]
    return node if isinstance(node, dict | list) else None


def _holds(node: Any, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)


def _required_type_name(schema: Any) -> str | None:
    """The one type name a ``type`` property schema requires (``const``, ``enum`` or
    ``contains``), or ``None`` when it does not pin one."""
    if not isinstance(schema, dict):
        return None
    for holder in (schema, schema.get("contains"), schema.get("items")):
        if not isinstance(holder, dict):
            continue
        if isinstance(holder.get("const"), str):
            return str(holder["const"])
        enum = holder.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
            return enum[0]
    return None
