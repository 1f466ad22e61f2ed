"""The fast schema verdict (jsonschema-rs) agrees with the detailed one (jsonschema) on every
credential under tests/ and on thousands of broken variants of them; an invalid credential's
messages still come from the detailed path."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credentials import schema
from credentials.vocab import ACHIEVEMENT_CREDENTIAL, ENDORSEMENT_CREDENTIAL, OPEN_BADGE_CREDENTIAL

TESTS = Path(__file__).resolve().parent.parent
#: Broken variants tried per credential (sampled with a fixed seed, so every run is the same).
MUTANTS_PER_CREDENTIAL = 40

Path_ = tuple[str | int, ...]


def _kind(document: dict[str, Any]) -> str | None:
    types = schema._types(document)
    if types & {OPEN_BADGE_CREDENTIAL, ACHIEVEMENT_CREDENTIAL}:
        return ACHIEVEMENT_CREDENTIAL
    if ENDORSEMENT_CREDENTIAL in types:
        return ENDORSEMENT_CREDENTIAL
    return None


def _credentials_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every OB credential in a JSON document, nested ones (endorsements, CLR entries) too."""
    if isinstance(node, dict):
        if _kind(node) is not None:
            yield node
        for value in node.values():
            yield from _credentials_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _credentials_in(value)


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(TESTS.rglob("*.json")):
        if "node_modules" in path.parts:
            continue
        try:
            document = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for number, credential in enumerate(_credentials_in(document)):
            key = json.dumps(credential, sort_keys=True)
            found.setdefault(key, (f"{path.relative_to(TESTS)}#{number}", credential))
    return sorted(found.values(), key=lambda item: item[0])


CORPUS = _corpus()


def detailed_valid(credential: Any, kind: str, version: str) -> bool:
    """The verdict of the full jsonschema path (the reference)."""
    return not any(True for _ in schema._validator(kind, version).iter_errors(credential))


def assert_same_verdict(credential: Any, where: str, *, exact: bool = False) -> None:
    """The fast path never calls valid what the detailed path rejects; ``exact``: and it calls
    valid everything the detailed path accepts (true of every real credential under tests/).

    It may be stricter on odd input: Python's ``$`` in a ``pattern`` also matches before a
    final newline, Rust's does not; such a credential simply takes the detailed path, whose
    verdict is the one reported (checked below).
    """
    kind = _kind(credential) if isinstance(credential, dict) else None
    if kind is None:
        return
    for version in schema.VC_VERSIONS:
        fast = schema._fast_valid(kind, version, credential)
        slow = detailed_valid(credential, kind, version)
        assert slow or not fast, f"{where} (VC {version}): jsonschema-rs valid, jsonschema not"
        if exact:
            assert fast == slow, f"{where} (VC {version}): jsonschema-rs {fast}, jsonschema {slow}"
    # What callers see: [] exactly when valid, else the detailed path's own messages.
    detected = schema._detect_version(credential)
    expected = schema._messages(schema._validator(kind, detected).iter_errors(credential))
    assert schema.schema_errors(credential) == expected, where


def test_the_corpus_is_large_and_has_both_verdicts() -> None:
    assert len(CORPUS) >= 80
    verdicts = {
        detailed_valid(c, k, schema._detect_version(c))
        for _, c in CORPUS
        if (k := _kind(c)) is not None
    }
    assert verdicts == {True, False}


@pytest.mark.parametrize(("where", "credential"), CORPUS, ids=[w for w, _ in CORPUS])
def test_every_credential_under_tests_gets_the_same_verdict(
    where: str, credential: dict[str, Any]
) -> None:
    assert_same_verdict(credential, where, exact=True)


# --- broken variants --------------------------------------------------------------------------


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


_REPLACEMENTS: list[Any] = [
    1, 1.5, -3, True, False, None, "", "x", [], {}, ["x"], {"id": "x"},
    "https://example.org/thing", "not a uri", "urn:uuid:3f2b9c1e-0000-4000-8000-000000000000",
    "2025-01-01T00:00:00Z", "2025-01-01T00:00:00", "2025-13-01T00:00:00Z", "2025-01-01t00:00:00z",
    "2025-01-01", "2025-02-30", "20250101", "2025-01-01T00:00:00+25:00",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json\n",
    "https://www.w3.org/ns/credentials/v2", "Profile", "Achievement", "Image",
]  # fmt: skip


def _mutate(credential: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    changed = copy.deepcopy(credential)
    path = rng.choice(list(_paths(changed)))
    parent: Any = changed
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    value = parent[last]
    roll = rng.random()
    if roll < 0.25:
        del parent[last]
        return f"delete {path}", changed
    if roll < 0.35 and isinstance(value, list) and value:
        parent[last] = value[0]  # the compact single-value form
        return f"unwrap {path}", changed
    if roll < 0.45 and not isinstance(value, list):
        parent[last] = [value]
        return f"wrap {path}", changed
    if roll < 0.5 and isinstance(value, dict) and isinstance(value.get("id"), str):
        parent[last] = value["id"]  # an object given by its URL
        return f"url for object {path}", changed
    replacement = rng.choice(_REPLACEMENTS)
    parent[last] = copy.deepcopy(replacement)
    return f"{path} = {replacement!r}", changed


@pytest.mark.parametrize(("where", "credential"), CORPUS, ids=[w for w, _ in CORPUS])
def test_broken_variants_get_the_same_verdict(where: str, credential: dict[str, Any]) -> None:
    rng = random.Random(where)  # noqa: S311 - reproducible test variants, not secrets
    for _ in range(MUTANTS_PER_CREDENTIAL):
        change, mutant = _mutate(credential, rng)
        assert_same_verdict(mutant, f"{where}: {change}")


def test_the_variants_include_missing_fields_wrong_types_and_bad_dates() -> None:
    """The variants are not all valid (or all invalid): they exercise the checks."""
    simple = json.loads((TESTS / "fixtures/1edtech-validator/simple.json").read_text("utf-8"))
    cases = {
        "validFrom": None,
        "issuer": 7,
        "credentialSubject": "x",
    }
    for field, value in cases.items():
        mutant = copy.deepcopy(simple)
        if value is None:
            del mutant[field]
        else:
            mutant[field] = value
        assert schema.schema_errors(mutant), field
        assert_same_verdict(mutant, field)
    for bad_date in ("2025-01-01T00:00:00", "2025-13-01T00:00:00Z", "yesterday"):
        mutant = copy.deepcopy(simple)
        mutant["validFrom"] = bad_date
        assert any("validFrom" in m for m in schema.schema_errors(mutant)), bad_date
        assert_same_verdict(mutant, bad_date)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0),
    path_pick=st.integers(min_value=0),
    value=json_values,
)
def test_arbitrary_values_anywhere_get_the_same_verdict(
    index: int, path_pick: int, value: Any
) -> None:
    where, credential = CORPUS[index % len(CORPUS)]
    mutant = copy.deepcopy(credential)
    paths = list(_paths(mutant))
    path = paths[path_pick % len(paths)]
    parent: Any = mutant
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    assert_same_verdict(mutant, f"{where}: {path} = {value!r}")


def test_what_jsonschema_rs_cannot_take_goes_to_the_detailed_path() -> None:
    """A dict with a non-string key (only possible from Python) is not "valid" by default."""
    simple = json.loads((TESTS / "fixtures/1edtech-validator/simple.json").read_text("utf-8"))
    simple["credentialSubject"][7] = "seven"
    assert schema._fast_valid(ACHIEVEMENT_CREDENTIAL, "2.0", simple) is False
    assert schema.schema_errors(simple) == schema._messages(
        schema._validator(ACHIEVEMENT_CREDENTIAL, "2.0").iter_errors(simple)
    )
