"""A test-side Open Badges 2.0 checker that applies the rules of 1EdTech's OB 2.0 validator.

The validator is 1EdTech/openbadges-validator-core (Python package ``openbadges`` 1.1.2), read
at commit 6fe7402373d1059bfb3a968802032b44b37455ed. It no longer imports on current Python (it
needs ``future``, an old ``pyld`` and ``requests_cache``), so its rules are ported here, each
with the module and function it comes from, and run over a ``fetch`` function instead of
``requests``: the tests answer Cairn's URLs from the Flask test client and the validator's own
test fixtures from memory (``tests/fixtures/ob2_validator/``); nothing touches the network.

What :func:`verify_hosted` does, in the validator's order (``openbadges/verifier/tasks/``):

1. ``graph.fetch_http_node``: GET the URL with the validator's ``Accept``; a body that is not
   JSON fails. ``graph.intake_json``: the ``@context`` must be OB 2.0 (``…/openbadges/v2``).
2. ``graph.jsonld_compact_data``: compact against the OB 2.0 context (pyld, Cairn's offline
   loader with the bundled context); a node whose ``id`` differs from the URL it came from is
   fetched again from its ``id`` (once).
3. ``validation.ClassValidators``: every property rule of ``Assertion``, ``BadgeClass``,
   ``Profile`` (Issuer), ``IdentityObject``, ``VerificationObjectAssertion``, ``Criteria``,
   ``AlignmentObject``, ``Evidence``; the value types of ``PrimitiveValueValidator``; ``badge``
   and ``issuer`` fetched (``fetch: True``); ``identity_object_property_dependencies``,
   ``criteria_property_dependencies``, ``issuer_property_dependencies``,
   ``assertion_timestamp_checks``.
4. ``images.validate_image``: the BadgeClass image is fetched and must be PNG or SVG.
5. ``verification.hosted_id_in_verification_scope``: the assertion's ``id`` must be on the
   issuer's host (the default policy: ``allowedOrigins`` = the issuer id's authority).
6. ``verification.verify_recipient_against_trusted_profile``: with an expected email, the
   salted hash must match.

A revoked hosted assertion (the OB 2.0 spec's 410 Gone, or ``revoked: true``) is reported as
revoked, as OB 2.0 verifiers treat it. Baked images: ``openbadges_bakery`` reads the
``openbadges`` iTXt chunk; here Cairn's own ``credentials.unbake`` reads it (tested against an
independent chunk walk in the tests).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pyld import jsonld

from credentials import OB2_CONTEXT, DocumentLoader

#: ``(status, content type, body)`` for a URL; raise ``OSError`` when it cannot be fetched.
Fetch = Callable[[str], tuple[int, str, bytes]]

#: graph.fetch_http_node's request header.
ACCEPT = "application/ld+json, application/json, image/png, image/svg+xml"

_LOADER = DocumentLoader()
_URN_UUID = re.compile(
    r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I
)


@dataclass
class Result:
    """What the checker found: ``errors`` empty means valid."""

    errors: list[str] = field(default_factory=list)
    revoked: bool = False
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


# --- tasks/utils.py and validation.PrimitiveValueValidator -------------------------------------


def is_url(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and " " not in value


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(
        is_url(value) or value.startswith("_:") or _URN_UUID.match(value)
    )


def is_data_uri(value: Any) -> bool:
    return isinstance(value, str) and bool(
        re.match(r"(?P<scheme>^data):(?P<mimetypes>[^,]{0,}?)?(?P<encoding>base64)?,", value, re.I)
    )


def is_datetime(value: Any) -> bool:
    """aniso8601 must parse it, and it must carry a zone (``Z`` or an offset)."""
    if not isinstance(value, str):
        return False
    if not (value.endswith("Z") or re.match(r".*[+-](?:\d{4}|\d{2}|\d{2}:\d{2})$", value)):
        return False
    return _parse_datetime(value) is not None


def _parse_datetime(value: str) -> datetime | None:
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if re.search(r"[+-]\d{2}$", text):
        text += ":00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def is_email(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"(^[^@\s]+@[^@\s]+$)", value))


def is_hashed_identity(value: Any) -> bool:
    return isinstance(value, str) and bool(
        re.match(r"md5\$[\da-fA-F]{32}$", value) or re.match(r"sha256\$[\da-fA-F]{64}$", value)
    )


def type_iri(value: Any) -> str | None:
    """The IRI a ``type`` value expands to in the OB 2.0 context (``None``: none)."""
    if not isinstance(value, str):
        return None
    try:
        expanded = jsonld.expand(
            {"@context": OB2_CONTEXT, "type": value}, {"documentLoader": _LOADER}
        )
        iri = expanded[0]["@type"][0]
    except (jsonld.JsonLdError, IndexError, KeyError):
        return None
    return iri if is_iri(iri) else None


def is_rdf_type(value: Any) -> bool:
    """A type that expands, in the OB 2.0 context, to an IRI."""
    return type_iri(value) is not None


PRIMITIVES: dict[str, Callable[[Any], bool]] = {
    "BOOLEAN": lambda v: isinstance(v, bool),
    "DATETIME": is_datetime,
    "EMAIL": is_email,
    "IDENTITY_HASH": lambda v: isinstance(v, str),
    "IRI": is_iri,
    "MARKDOWN_TEXT": lambda v: isinstance(v, str),
    "TEXT": lambda v: isinstance(v, str),
    "TEXT_OR_NUMBER": lambda v: isinstance(v, str | int | float),
    "TELEPHONE": lambda v: (
        isinstance(v, str) and bool(re.match(r"^\+?[1-9]\d{1,14}(;ext=\d+)?$", v))
    ),
    "URL": is_url,
    "RDF_TYPE": is_rdf_type,
}

# --- validation.ClassValidators (the rules this checker applies) -------------------------------

#: prop: (type, required, expected class for ID props, must_contain_one, many)
Rule = tuple[str, bool, str | None, tuple[str, ...], bool]
CLASSES: dict[str, dict[str, Rule]] = {
    "Assertion": {
        "id": ("IRI", True, None, (), False),
        "type": ("RDF_TYPE", True, None, ("Assertion",), True),
        "recipient": ("ID", True, "IdentityObject", (), False),
        "badge": ("ID", True, "BadgeClass", (), False),
        "verification": ("ID", True, "VerificationObjectAssertion", (), False),
        "issuedOn": ("DATETIME", True, None, (), False),
        "expires": ("DATETIME", False, None, (), False),
        "image": ("ID", False, "Image", (), False),
        "narrative": ("MARKDOWN_TEXT", False, None, (), False),
        "evidence": ("ID", False, "Evidence", (), True),
    },
    "BadgeClass": {
        "id": ("IRI", True, None, (), False),
        "type": ("RDF_TYPE", True, None, ("BadgeClass",), True),
        "issuer": ("ID", True, "Profile", (), False),
        "name": ("TEXT", True, None, (), False),
        "description": ("TEXT", True, None, (), False),
        "image": ("ID", False, "Image", (), False),
        "criteria": ("ID", True, "Criteria", (), False),
        "alignment": ("ID", False, "AlignmentObject", (), True),
        "tags": ("TEXT", False, None, (), True),
    },
    "Profile": {
        "id": ("IRI", True, None, (), False),
        "type": ("RDF_TYPE", True, None, ("Issuer", "Profile"), True),
        "name": ("TEXT", True, None, (), False),
        "description": ("TEXT", False, None, (), False),
        "image": ("ID", False, "Image", (), False),
        "url": ("URL", True, None, (), False),
        "email": ("EMAIL", True, None, (), False),
        "telephone": ("TELEPHONE", False, None, (), False),
    },
    "IdentityObject": {
        "type": ("RDF_TYPE", True, None, ("id", "email", "url", "telephone"), False),
        "identity": ("IDENTITY_HASH", True, None, (), False),
        "hashed": ("BOOLEAN", True, None, (), False),
        "salt": ("TEXT", False, None, (), False),
    },
    "VerificationObjectAssertion": {
        "type": ("RDF_TYPE", True, None, ("HostedBadge", "SignedBadge"), False),
    },
    "Criteria": {
        "id": ("IRI", False, None, (), False),
        "narrative": ("MARKDOWN_TEXT", False, None, (), False),
    },
    "AlignmentObject": {
        "targetName": ("TEXT", True, None, (), False),
        "targetUrl": ("URL", True, None, (), False),
        "description": ("TEXT", False, None, (), False),
        "targetFramework": ("TEXT", False, None, (), False),
        "targetCode": ("TEXT", False, None, (), False),
    },
    "Evidence": {
        "id": ("IRI", False, None, (), False),
        "narrative": ("MARKDOWN_TEXT", False, None, (), False),
        "name": ("TEXT", False, None, (), False),
        "description": ("TEXT", False, None, (), False),
        "genre": ("TEXT", False, None, (), False),
        "audience": ("TEXT", False, None, (), False),
    },
    "Image": {
        "id": ("DATA_URI_OR_URL", True, None, (), False),
        "caption": ("TEXT", False, None, (), False),
    },
}
PRIMITIVES["DATA_URI_OR_URL"] = lambda v: is_url(v) or is_data_uri(v)
#: Classes whose nodes are fetched when named by URL (``fetch: True``).
FETCHED = {"BadgeClass", "Profile"}


def validate_node(
    node: dict[str, Any], node_class: str, where: str, result: Result, fetch: Fetch
) -> None:
    """validation.validate_property for every rule of ``node_class``, then its class tasks."""
    for prop, (kind, required, expected, must_contain, many) in CLASSES[node_class].items():
        value = node.get(prop)
        if value is None or value == [] or value == "":
            if required:
                result.errors.append(
                    f"Required property {prop} not present in {node_class} {where}"
                )
            continue
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not many:
            result.errors.append(f"Property {prop} in {node_class} {where} has more than one value")
            continue
        if kind == "RDF_TYPE":
            if not all(is_rdf_type(v) for v in values):
                result.errors.append(f"Invalid type {value!r} in {node_class} {where}")
            # The validator compares compacted terms; current pyld compacts a type to the
            # shortest term (``hosted`` for ``HostedBadge``), so the terms are compared as the
            # IRIs they stand for, which is what they mean.
            elif must_contain and not {type_iri(v) for v in values} & {
                type_iri(t) for t in must_contain
            }:
                result.errors.append(
                    f"{node_class} {where} type {value!r} is not one of {list(must_contain)}"
                )
            continue
        if kind != "ID":
            for item in values:
                if not PRIMITIVES[kind](item):
                    result.errors.append(
                        f"{kind} property {prop} value {item!r} not valid in {node_class} {where}"
                    )
            continue
        assert expected is not None
        for item in values:
            if isinstance(item, dict):
                validate_node(item, expected, f"{where}.{prop}", result, fetch)
            elif expected == "Image" and (is_url(item) or is_data_uri(item)):
                continue
            elif not is_iri(item):
                result.errors.append(f"ID-type property {prop} {item!r} in {where} is not an IRI")
            elif expected in FETCHED:
                fetched = fetch_node(item, fetch, result, expected)
                if fetched is not None:
                    validate_node(fetched, expected, item, result, fetch)
            elif expected in ("Evidence", "Criteria"):
                continue  # a URL stands for a page; fetch: False
            else:
                result.errors.append(f"Property {prop} in {where} must be an embedded {expected}")
    _class_tasks(node, node_class, where, result, fetch)


def _class_tasks(
    node: dict[str, Any], node_class: str, where: str, result: Result, fetch: Fetch
) -> None:
    if node_class == "IdentityObject":  # validation.identity_object_property_dependencies
        identity, hashed = node.get("identity"), node.get("hashed")
        if not isinstance(identity, str):
            return
        looks_hashed = is_hashed_identity(identity)
        if hashed and not looks_hashed:
            result.errors.append(
                f"Identity {identity} must match known hash style if hashed is true"
            )
        elif looks_hashed and not hashed:
            result.errors.append(f"Identity {identity} must not be hashed if hashed is false")
        elif not hashed and node.get("type") == "email" and not re.match(r"[^@]+@[^@]+$", identity):
            result.errors.append("Email type identity must match email format.")
    elif node_class == "Criteria":  # validation.criteria_property_dependencies
        if not node.get("id") and not node.get("narrative"):
            result.errors.append(
                f"Criteria node {where} has no narrative. Either external id or narrative is required."
            )
    elif node_class == "Profile":  # validation.issuer_property_dependencies
        if not re.match(r"^http(s)?://", str(node.get("id", ""))):
            result.errors.append(f"Issuer Profile {where} not hosted with HTTP-based identifier.")
    elif node_class == "BadgeClass":  # images.validate_image
        _check_image(node.get("image"), where, result, fetch)


def _check_image(image: Any, where: str, result: Result, fetch: Fetch) -> None:
    url = image.get("id") if isinstance(image, dict) else image
    if not isinstance(url, str) or is_data_uri(url):
        return
    try:
        status, content_type, _body = fetch(url)
    except OSError as error:
        result.errors.append(f"Unable to fetch image {url} of {where}: {error}")
        return
    if status != 200 or content_type.split(";")[0] not in ("image/png", "image/svg+xml"):
        result.errors.append(
            f"Image {url} of {where} is not a PNG or SVG ({status} {content_type})"
        )


# --- graph.fetch_http_node, intake_json, jsonld_compact_data -----------------------------------


def fetch_node(
    url: str, fetch: Fetch, result: Result, expected: str, refetched: bool = False
) -> dict[str, Any] | None:
    """Fetch, check the version, compact against the OB 2.0 context and store the node; a node
    whose ``id`` is not its URL is fetched again from its ``id``."""
    try:
        status, _content_type, body = fetch(url)
    except OSError as error:
        result.errors.append(f"Unable to fetch {url}: {error}")
        return None
    try:
        data = json.loads(body)
    except ValueError:
        result.errors.append(f"Response could not be interpreted from url {url}")
        return None
    if expected == "Assertion" and (status == 410 or data.get("revoked") is True):
        result.revoked = True
        reason = data.get("revocationReason", "")
        result.errors.append(f"Assertion {url} has been revoked. {reason}".strip())
        return None
    if status != 200:
        result.errors.append(f"{url} answered HTTP {status}")
        return None
    context = data.get("@context")
    if not (isinstance(context, str) and "v2" in context):
        result.errors.append(f"{url} is not an Open Badges 2.0 object (@context {context!r})")
        return None
    compacted = jsonld.compact(data, OB2_CONTEXT, {"documentLoader": _LOADER})
    compacted.pop("@context", None)
    node_id = compacted.get("id")
    if node_id and node_id != url:
        if refetched:
            result.errors.append(f"Node fetched from source {url} declared its id as {node_id}")
            return None
        return fetch_node(node_id, fetch, result, expected, refetched=True)
    result.nodes[url] = compacted
    return compacted


# --- the whole hosted verification ------------------------------------------------------------


def verify_hosted(
    assertion_url: str, fetch: Fetch, *, recipient: str | None = None, now: datetime | None = None
) -> Result:
    """Check a hosted OB 2.0 assertion as the validator does (see the module docstring)."""
    result = Result()
    assertion = fetch_node(assertion_url, fetch, result, "Assertion")
    if assertion is None:
        return result
    validate_node(assertion, "Assertion", assertion_url, result, fetch)
    if result.errors:
        return result
    _timestamps(assertion, result, now or datetime.now(UTC))
    badge = result.nodes.get(assertion["badge"]) or {}
    issuer = result.nodes.get(badge.get("issuer", "")) or {}
    _hosted_scope(assertion, issuer, result)
    if recipient is not None:
        _recipient(assertion["recipient"], recipient, result)
    return result


def _timestamps(assertion: dict[str, Any], result: Result, now: datetime) -> None:
    """validation.assertion_timestamp_checks."""
    issued = _parse_datetime(assertion["issuedOn"])
    assert issued is not None
    if issued > now:
        result.errors.append(f"Assertion has issue date {issued} in the future.")
    if assertion.get("expires"):
        expires = _parse_datetime(assertion["expires"])
        assert expires is not None
        if expires < issued:
            result.errors.append("Assertion expiration is prior to issue date.")
        if expires < now:
            result.errors.append(f"Assertion expired on {assertion['expires']}")


def _hosted_scope(assertion: dict[str, Any], issuer: dict[str, Any], result: Result) -> None:
    """verification.hosted_id_in_verification_scope, with the default policy (Cairn's issuers
    publish none): the assertion must be hosted on the issuer id's authority."""
    if type_iri(assertion.get("verification", {}).get("type")) != type_iri("HostedBadge"):
        return
    policy = issuer.get("verification") or {}
    issuer_id = str(issuer.get("id", ""))
    starts_with = policy.get("startsWith")
    if starts_with and not any(assertion["id"].startswith(s) for s in _as_list(starts_with)):
        result.errors.append(
            f"Assertion id {assertion['id']} does not start with any permitted values"
        )
    allowed = _as_list(policy.get("allowedOrigins", urlsplit(issuer_id).netloc))
    if allowed and issuer_id.startswith("http") and urlsplit(assertion["id"]).netloc not in allowed:
        result.errors.append(f"Assertion {assertion['id']} not hosted in allowed origins {allowed}")


def _recipient(identity: dict[str, Any], email: str, result: Result) -> None:
    """verification.verify_recipient_against_trusted_profile for an email profile."""
    if identity.get("type") != "email":
        result.errors.append("Profile identifier property of type email not found")
        return
    if identity.get("hashed"):
        value = identity["identity"].lower()
        algorithm, _, _digest = value.partition("$")
        digest = hashlib.new(algorithm, (email + identity.get("salt", "")).encode("utf-8"))
        if f"{algorithm}${digest.hexdigest()}" != value:
            result.errors.append(
                f"Identifier {email} did not match assertion recipient hash {value}"
            )
    elif identity.get("identity") != email:
        result.errors.append(f"Identifier {email} did not match assertion recipient value")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
