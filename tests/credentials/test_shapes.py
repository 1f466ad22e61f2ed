"""Shape templates (credentials/jsonld/shapes.py) against the general path: documents of recurring
shapes with random literals and IRIs must canonicalise to exactly what JSON-LD expansion and
RDFC-1.0 give, or take the general path; the fast path must really be taken."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials import DocumentLoader, canonize
from credentials.errors import CredentialError
from credentials.jsonld.canonize import canonize_general
from credentials.jsonld.shapes import SLOT_PREFIX, skeleton

SETTINGS = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
BASE = "https://badges.example.org"

# An inline context exercising every kind of term: language-tagged, @id- and @vocab-coerced,
# @json, typed, a compact-IRI prefix and a list container.
INLINE = {
    "ex": "https://ex.example/ns#",
    "notes": {"@id": "ex:notes", "@language": "en"},
    "link": {"@id": "ex:link", "@type": "@id"},
    "kind": {"@id": "ex:kind", "@type": "@vocab"},
    "Special": "ex:Special",
    "data": {"@id": "ex:data", "@type": "@json"},
    "when": {"@id": "ex:when", "@type": "http://www.w3.org/2001/XMLSchema#date"},
    "steps": {"@id": "ex:steps", "@container": "@list"},
}

# Text with everything N-Quads escapes or could trip on: controls, quotes, backslashes, DEL,
# astral characters, right-to-left text.
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x7f", "\u2028"]),
    ),
    max_size=24,
)
iris = st.one_of(
    st.builds(lambda t: f"{BASE}/x/{t}", st.text(alphabet="abcXYZ019-._~%/?#=&", max_size=12)),
    st.builds(lambda t: f"urn:uuid:{t}", st.uuids()),
    st.builds(lambda t: f"did:example:{t}", st.text(alphabet="abc019", min_size=1, max_size=8)),
    st.sampled_from(
        [
            "https:no-slashes",  # same scheme without "//"
            "mailto:someone@example.org",
            "ex:compacted",  # a compact IRI where "ex" is a prefix in the inline context
            "_:b7",  # a blank node identifier
            "relative/path",  # not absolute: an error on every path
            "https://with space.example/",  # not an IRI: an error on every path
            "Special",  # a term (matters where @vocab applies)
            "https://x.example/<{|}>^`",  # characters N-Quads escapes in IRIs
        ]
    ),
)
words = st.one_of(texts, iris)


def _base(style: int) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [VC2, OB],
        "id": f"{BASE}/credentials/1",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "A badge",
        "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "Issuer"},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"{BASE}/achievements/1",
                "type": ["Achievement"],
                "name": "Achievement",
                "description": "What it is",
                "criteria": {"narrative": "How to earn it"},
                "alignment": [
                    {"type": ["Alignment"], "targetName": "T", "targetUrl": f"{BASE}/t"}
                    for _ in range(style % 3 + 1)
                ],
            },
        },
    }
    if style % 2:
        credential["credentialSubject"]["id"] = "did:example:subject"
    else:
        credential["credentialSubject"]["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": "sha256$abc",
                "identityType": "emailAddress",
                "hashed": True,
                "salt": "pepper",
            }
        ]
    if style % 4 >= 2:
        credential["@context"] = [VC2, OB, INLINE]
        credential["notes"] = "a note"
        credential["link"] = f"{BASE}/linked"
        credential["kind"] = "Special"
        credential["data"] = {"free": "form", "n": 1}
        credential["when"] = "2025-01-01"
        credential["steps"] = ["one", "two"]
        credential["description"] = {"@value": "Beschreibung", "@language": "de"}
    credential["evidence"] = [
        {"type": ["Evidence"], "name": f"Evidence {n}", "narrative": "Seen"}
        for n in range(style % 3)
    ]
    return credential


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every string value except ``@context`` entries and ``type`` values."""
    if isinstance(value, str):
        return [path]
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("@context", "type"):
                found.extend(_string_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_string_paths(item, (*path, index)))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = value


@st.composite
def credentials(draw: st.DrawFn) -> dict[str, Any]:
    """A credential of one of a few shapes, with a random subset of its strings replaced."""
    document = _base(draw(st.integers(min_value=0, max_value=11)))
    if draw(st.booleans()):  # a number (never a slot: part of the skeleton, by value)
        document["credentialSubject"]["creditsEarned"] = draw(
            st.sampled_from([2.5, 2.0, 2, 0.1, 1e21, 1.5e-7])
        )
    for path in _string_paths(document):
        if draw(st.booleans()):
            _set(document, path, draw(words))
    return document


def _outcome(function: Any, document: Any, loader: DocumentLoader) -> tuple[str, str]:
    try:
        return "ok", function(document, loader)
    except CredentialError as exc:
        return type(exc).__name__, exc.message


# One loader for the whole run, so shapes recur and templates are built and used.
FAST = DocumentLoader()
REFERENCE = DocumentLoader()


@SETTINGS
@given(document=credentials())
def test_templates_give_what_the_general_path_gives(document: dict[str, Any]) -> None:
    expected = _outcome(canonize_general, copy.deepcopy(document), REFERENCE)
    # Twice: the first sighting of a shape may build its template, the second may use it.
    assert _outcome(canonize, document, FAST) == expected
    assert _outcome(canonize, document, FAST) == expected


def test_the_fast_path_is_taken() -> None:
    loader = DocumentLoader()
    for number in range(8):
        document = _base(number % 2)
        document["id"] = f"{BASE}/credentials/{number}"
        document["name"] = f'Name {number} "quoted"\n'
        expected = canonize_general(document, REFERENCE)
        assert canonize(document, loader) == expected
    templates = loader.processor().templates
    assert templates.size == 2
    assert templates.hits == 4  # each shape: seen, built on its second sighting, then used


def test_the_property_test_reaches_the_fast_path() -> None:
    # It must not be vacuous: most of its documents must come from templates. (Run it here
    # when it has not run in this process, e.g. under pytest-xdist.)
    if FAST.processor().templates.hits == 0:
        test_templates_give_what_the_general_path_gives()
    assert FAST.processor().templates.hits > 50


def _template_for(document: dict[str, Any]) -> Any:
    loader = DocumentLoader()
    canonize(document, loader)
    canonize(document, loader)
    templates = loader.processor().templates
    shape = skeleton(document)
    assert shape is not None
    (fixed, by_values), *_ = templates.by_skeleton[shape[0]]
    template = next(iter(by_values.values()))
    return loader, fixed, template, shape[1]


def test_contexts_types_and_vocab_values_are_never_slots() -> None:
    document = _base(2)
    _, fixed, template, leaves = _template_for(document)
    slots = {index for index, _, _ in template.slots}
    fixed_values = {leaves[index] for index in fixed}
    assert {VC2, OB, "OpenBadgeCredential", "AchievementSubject", "Special"} <= fixed_values
    # "data" is @json: its strings appear inside a JSON literal, never as a whole literal
    assert leaves.index("form") not in slots
    assert leaves.index("a note") in slots  # language-tagged literal
    assert leaves.index("2025-01-01") in slots  # typed literal
    assert leaves.index(f"{BASE}/linked") in slots  # @id-coerced IRI


def test_iri_slots_refuse_values_that_expansion_would_change() -> None:
    document = _base(2)
    _, _, template, leaves = _template_for(document)
    index = leaves.index(f"{BASE}/linked")
    for value in ("ex:compacted", "https:no-slashes", "_:b0", "relative", "http://x.example/"):
        changed = list(leaves)
        changed[index] = value
        assert template.fill(changed) is None, value
    changed = list(leaves)
    changed[index] = f"{BASE}/other"
    assert template.fill(changed) is not None


def test_a_document_holding_the_token_prefix_is_not_templated() -> None:
    loader = DocumentLoader()
    document = _base(1)
    document["name"] = SLOT_PREFIX + "x:1"
    for _ in range(3):
        assert canonize(document, loader) == canonize_general(document, REFERENCE)
    assert loader.processor().templates.size == 0


@pytest.mark.parametrize("value", [1.5, 2.0, 2, -0.0, 1e21, 1.5e-7, 12345.678])
def test_numbers_are_part_of_the_skeleton(value: float) -> None:
    # An achievement's creditsAvailable (a float) is in every credential of it: its shape is
    # templated, keyed on the number's exact value, and gives what the general path gives
    # (an integral float is an integer there).
    loader = DocumentLoader()
    for number in range(4):
        document = _base(1)
        document["name"] = f"Name {number}"
        document["credentialSubject"]["creditsEarned"] = value
        assert canonize(document, loader) == canonize_general(document, REFERENCE)
    assert loader.processor().templates.hits == 2


def test_a_template_is_used_only_for_its_own_numbers() -> None:
    loader = DocumentLoader()
    # Each value seen, then its template built, then used.
    for value in (1.5, 2.5, 2.0, 2) * 3:
        document = _base(1)
        document["credentialSubject"]["creditsEarned"] = value
        assert canonize(document, loader) == canonize_general(document, REFERENCE), value
    shapes = loader.processor().templates.by_skeleton
    assert len(shapes) == 4  # 1.5, 2.5, 2.0 and 2: one skeleton each
    assert loader.processor().templates.hits == 4


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_that_are_not_finite_have_no_skeleton(value: float) -> None:
    document = _base(1)
    document["credentialSubject"]["creditsEarned"] = value
    assert skeleton(document) is None
