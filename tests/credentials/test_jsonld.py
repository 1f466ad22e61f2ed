"""The offline loader and strict, cached canonicalisation."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld

from credentials.errors import JsonLdFailure, UndefinedTerm, UnknownContext
from credentials.jsonld import BUNDLED_CONTEXTS, DocumentLoader, canonize, expand
from credentials.jsonld.rdfc import Blank, Quad, canonicalize, iri, literal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UNSIGNED = json.loads(
    (FIXTURES / "vectors/ob3-impl-guide-test-vector/unsigned-credential.json").read_text()
)


@pytest.fixture(scope="module")
def loader() -> DocumentLoader:
    return DocumentLoader()


def credential(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(UNSIGNED)
    document.update(changes)
    return document


def reference_dataset(document: dict[str, Any], loader: DocumentLoader) -> Any:
    """Plain pyld's RDF dataset, with no caching of ours and a fresh private resolver."""
    from pyld.context_resolver import ContextResolver

    options = {
        "documentLoader": loader,
        "contextResolver": ContextResolver({}, loader),
        "base": None,
        "produceGeneralizedRdf": False,
    }
    return jsonld.JsonLdProcessor().to_rdf(copy.deepcopy(document), options)


def quads_from_pyld(dataset: dict[str, Any]) -> list[Quad]:
    """The reference conversion of pyld's dataset dicts into rdfc quads."""

    def component(term: dict[str, Any]) -> str:
        if term["type"] == "IRI":
            return iri(term["value"])
        if term["type"] == "blank node":
            return Blank(term["value"][2:])
        return literal(term["value"], term.get("datatype"), term.get("language"))

    quads: list[Quad] = []
    for name, triples in dataset.items():
        graph = (
            None if name == "@default" else Blank(name[2:]) if name.startswith("_:") else iri(name)
        )
        for t in triples:
            quad = (
                component(t["subject"]),
                component(t["predicate"]),
                component(t["object"]),
                graph,
            )
            if quad not in quads:
                quads.append(quad)
    return quads


def pyld_urdna2015(document: dict[str, Any], loader: DocumentLoader) -> str:
    """pyld's own canonicalisation (which differs only in escaping control characters)."""
    from pyld.canon import URDNA2015

    result: str = URDNA2015().main(
        reference_dataset(document, loader), {"format": "application/n-quads"}
    )
    return result


class TestLoader:
    def test_every_bundled_context_loads(self, loader: DocumentLoader) -> None:
        for url in BUNDLED_CONTEXTS:
            assert "@context" in loader(url)["document"]

    def test_unknown_urls_are_refused(self, loader: DocumentLoader) -> None:
        with pytest.raises(UnknownContext):
            loader("https://example.org/context.jsonld")
        with pytest.raises(UnknownContext, match="evil"):
            canonize(
                credential(**{"@context": [*UNSIGNED["@context"], "https://evil.example/x"]}),
                loader,
            )

    def test_examples_context_is_not_bundled(self, loader: DocumentLoader) -> None:
        assert not loader.knows("https://www.w3.org/ns/credentials/examples/v2")

    def test_loaders_do_not_share_state(self) -> None:
        url = "https://example.org/ctx"
        with_extra = DocumentLoader(
            extra={url: {"@context": {"colour": "https://example.org/colour"}}}
        )
        plain = DocumentLoader()
        document = credential(**{"@context": [*UNSIGNED["@context"], url]})
        document["credentialSubject"]["colour"] = "teal"
        assert "https://example.org/colour" in canonize(document, with_extra)
        with pytest.raises(UnknownContext):
            canonize(document, plain)

    def test_pyld_global_cache_is_not_used(self, loader: DocumentLoader) -> None:
        jsonld._resolved_context_cache.clear()
        canonize(credential(), loader)
        assert len(jsonld._resolved_context_cache) == 0

    def test_served_documents_are_copies(self, loader: DocumentLoader) -> None:
        first = loader(UNSIGNED["@context"][0])["document"]
        first["@context"]["id"] = "mutated"
        assert loader(UNSIGNED["@context"][0])["document"]["@context"]["id"] == "@id"


class TestStrictness:
    def test_undefined_properties_are_named(self, loader: DocumentLoader) -> None:
        document = credential(shoeSize=44)
        document["credentialSubject"]["favouriteColour"] = "teal"
        with pytest.raises(UndefinedTerm) as info:
            canonize(document, loader)
        assert info.value.terms == ["favouriteColour", "shoeSize"]

    def test_undefined_types_are_refused(self, loader: DocumentLoader) -> None:
        document = credential(
            credentialSchema=[
                {"id": "https://x.example/s.json", "type": "1EdTechJsonSchemaValidator2019"}
            ]
        )
        with pytest.raises(UndefinedTerm, match="1EdTechJsonSchemaValidator2019"):
            canonize(document, loader)
        # ...and the same type is fine once extensions.json defines it.
        document["@context"] = [
            *UNSIGNED["@context"],
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ]
        assert "1EdTechJsonSchemaValidator2019" in canonize(document, loader)

    def test_relative_ids_are_refused_not_resolved_against_a_made_up_base(
        self, loader: DocumentLoader
    ) -> None:
        with pytest.raises(UndefinedTerm, match="relative IRI 'credentials/1'"):
            canonize(credential(id="credentials/1"), loader)

    def test_vocab_coerced_values_must_be_defined(self, loader: DocumentLoader) -> None:
        config = {
            "@context": UNSIGNED["@context"],
            "type": "DataIntegrityProof",
            "proofPurpose": "notAPurpose",
            "verificationMethod": "urn:k",
        }
        with pytest.raises(UndefinedTerm):
            canonize(config, loader)

    def test_protected_terms_cannot_be_redefined(self, loader: DocumentLoader) -> None:
        document = credential(
            **{"@context": [*UNSIGNED["@context"], {"name": "https://evil.example/name"}]}
        )
        with pytest.raises(JsonLdFailure, match="protected"):
            canonize(document, loader)

    def test_non_objects_and_deep_nesting_fail_cleanly(self, loader: DocumentLoader) -> None:
        with pytest.raises(JsonLdFailure):
            canonize([UNSIGNED], loader)
        deep: dict[str, Any] = credential()
        node = deep["credentialSubject"]
        for _ in range(3000):
            node["achievement"] = {"type": ["Achievement"]}
            node = node["achievement"]
        with pytest.raises(JsonLdFailure, match="nested too deeply"):
            canonize(deep, loader)

    def test_look_alike_blank_nodes_cannot_pin_the_cpu(self, loader: DocumentLoader) -> None:
        # Blank nodes that all point at each other can only be told apart by the factorial
        # N-degree step of RDFC-1.0; the work bound turns that into a prompt, clean error.
        nodes = [
            {
                "@id": f"_:n{i}",
                "http://ex.org/knows": [{"@id": f"_:n{j}"} for j in range(9) if j != i],
            }
            for i in range(9)
        ]
        started = time.monotonic()
        with pytest.raises(JsonLdFailure, match="look-alike"):
            canonize({"@context": {"@vocab": "http://ex.org/"}, "@graph": nodes}, loader)
        assert time.monotonic() - started < 10
        # A few symmetric blank nodes are still fine.
        small = [
            {"@id": f"_:n{i}", "http://ex.org/knows": {"@id": f"_:n{1 - i}"}} for i in range(2)
        ]
        assert canonize({"@graph": small}, loader).count("_:c14n") == 4

    def test_expand_returns_expanded_form(self, loader: DocumentLoader) -> None:
        expanded = expand(credential(), loader)
        assert expanded[0]["@id"] == UNSIGNED["id"]


class TestAgreementWithJsonLdJs:
    def test_integral_floats_are_integers(self, loader: DocumentLoader) -> None:
        subject = {**UNSIGNED["credentialSubject"], "creditsEarned": 2.0}
        nquads = canonize(credential(credentialSubject=subject), loader)
        # JSON-LD (and JavaScript) read 2.0 as the integer 2; pyld alone would say 2.0E0.
        # (The OB context types creditsEarned as xsd:float, spelled with https.)
        assert '"2"^^<https://www.w3.org/2001/XMLSchema#float>' in nquads
        assert "2.0E0" not in nquads

    def test_fractional_numbers_are_canonical_doubles(self, loader: DocumentLoader) -> None:
        subject = {**UNSIGNED["credentialSubject"], "creditsEarned": 1.5}
        nquads = canonize(credential(credentialSubject=subject), loader)
        assert '"1.5E0"^^<https://www.w3.org/2001/XMLSchema#float>' in nquads
        untyped = {**UNSIGNED["credentialSubject"], "result": [{"type": ["Result"], "value": "x"}]}
        untyped["achievement"] = {**untyped["achievement"], "creditsAvailable": 0.25}
        assert "2.5E-1" in canonize(credential(credentialSubject=untyped), loader)


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
#: Text pyld's N-Quads writer escapes the same way RDFC-1.0 does (no control characters).
PLAIN_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
NUMBERS = st.one_of(
    st.integers(-1000, 10**6), st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: round(f, 3))
)


def varied_credential(
    name: str, narrative: str, credits: float, evidence: list[dict[str, str]], tags: list[str]
) -> dict[str, Any]:
    document = credential(name=name)
    subject = document["credentialSubject"]
    subject["narrative"] = narrative
    # Integral floats are integers (see TestAgreementWithJsonLdJs); give pyld the same input.
    subject["creditsEarned"] = int(credits) if float(credits).is_integer() else credits
    subject["achievement"]["tag"] = tags
    # Evidence without ids is blank nodes, and equal items are look-alikes: that exercises the
    # N-degree step of the canonicalisation.
    document["evidence"] = [{"type": ["Evidence"], **item} for item in evidence]
    return document


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=TEXT,
    narrative=TEXT,
    credits=NUMBERS,
    evidence=st.lists(st.fixed_dictionaries({"name": TEXT, "narrative": TEXT}), max_size=4),
    tags=st.lists(TEXT, max_size=4),
)
def test_cached_processing_equals_uncached_pyld(
    loader: DocumentLoader,
    name: str,
    narrative: str,
    credits: float,
    evidence: list[dict[str, str]],
    tags: list[str],
) -> None:
    document = varied_credential(name, narrative, credits, evidence, tags)
    assert canonize(document, loader) == canonicalize(
        quads_from_pyld(reference_dataset(document, loader))
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=PLAIN_TEXT,
    narrative=PLAIN_TEXT,
    credits=NUMBERS,
    evidence=st.lists(
        st.sampled_from([{"name": "same", "narrative": "x"}, {"name": "other", "narrative": ""}]),
        max_size=5,
    ),
    tags=st.lists(PLAIN_TEXT, max_size=4),
)
def test_rdfc_equals_pyld_urdna2015_without_control_characters(
    loader: DocumentLoader,
    name: str,
    narrative: str,
    credits: float,
    evidence: list[dict[str, str]],
    tags: list[str],
) -> None:
    document = varied_credential(name, narrative, credits, evidence, tags)
    assert canonize(document, loader) == pyld_urdna2015(document, loader)


class TestCanonicalNQuads:
    """The escaping rdf-canonize (and RDFC-1.0's canonical N-Quads) use."""

    def test_literal_escapes(self) -> None:
        text = 'a\bb\fc\x0bd\x00e\x1ff\x7fg"h\\i\nj\rk\tl é 😀'
        assert literal(text, None, None) == (
            '"a\\bb\\fc\\u000Bd\\u0000e\\u001Ff\\u007Fg\\"h\\\\i\\nj\\rk\\tl é 😀"'
        )

    def test_iri_escapes(self) -> None:
        assert (
            iri("https://example.com/a{b}|c^d`e f")
            == "<https://example.com/a\\u007Bb\\u007D\\u007Cc\\u005Ed\\u0060e\\u0020f>"
        )

    def test_datatypes_and_languages(self) -> None:
        assert literal("x", "http://www.w3.org/2001/XMLSchema#string", None) == '"x"'
        assert (
            literal("x", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString", "en-GB")
            == '"x"@en-GB'
        )
        assert literal("1", "http://www.w3.org/2001/XMLSchema#integer", None).endswith("#integer>")

    def test_control_characters_in_a_credential(self, loader: DocumentLoader) -> None:
        nquads = canonize(credential(name="form\x0cfeed"), loader)
        assert '"form\\ffeed"' in nquads and "\x0c" not in nquads
