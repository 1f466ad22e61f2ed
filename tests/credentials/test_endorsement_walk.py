"""The endorsements check finds the same endorsements, in the same order, as the plain
recursive walk it replaced, on arbitrary JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from credentials.verify.endorsements import _endorsements


def reference(value: Any) -> Iterator[tuple[str, Any]]:
    """The recursive walk, as first written."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("endorsement", "endorsementJwt"):
                for one in item if isinstance(item, list) else [item]:
                    yield key, one
            elif key not in ("proof", "@context"):
                yield from reference(item)
    elif isinstance(value, list):
        for item in value:
            yield from reference(item)


keys = st.sampled_from(["endorsement", "endorsementJwt", "proof", "@context", "a", "b", "name"])
documents = st.recursive(
    st.none() | st.integers() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_same_endorsements_in_the_same_order(document: Any) -> None:
    found = _endorsements(document)
    expected = list(reference(document))
    assert [key for key, _ in found] == [key for key, _ in expected]
    assert all(a is b for (_, a), (_, b) in zip(found, expected, strict=True))


def test_a_credential_with_endorsements_at_several_depths() -> None:
    first, second, third = {"id": "1"}, {"id": "2"}, "a.b.c"
    document = {
        "endorsement": [first],
        "credentialSubject": {"achievement": {"endorsement": second, "endorsementJwt": [third]}},
        "proof": {"endorsement": {"id": "ignored"}},
    }
    assert _endorsements(document) == [
        ("endorsement", first),
        ("endorsement", second),
        ("endorsementJwt", third),
    ]
