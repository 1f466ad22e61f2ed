"""From a JSON-LD node map to RDF quads in canonical N-Quads form.

https://www.w3.org/TR/json-ld11-api/#deserialize-json-ld-to-rdf-algorithm

This is pyld's ``_graph_to_rdf``/``_object_to_rdf`` rule for rule (so the result is the same
dataset), but it writes each term straight into the canonical N-Quads text ``rdfc`` works on,
instead of building a dict per term that would then be converted again.
"""

from __future__ import annotations

import re
from typing import Any

from c14n.Canonicalize import canonicalize as json_canonical  # JCS, as pyld uses for @json
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import _is_keyword

from credentials.jsonld.rdfc import RDF_LANGSTRING, XSD_STRING, Blank, Quad, iri, literal

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = iri(RDF + "type")
RDF_FIRST = iri(RDF + "first")
RDF_REST = iri(RDF + "rest")
RDF_NIL = iri(RDF + "nil")
RDF_JSON = RDF + "JSON"
XSD_BOOLEAN = XSD + "boolean"
XSD_DOUBLE = XSD + "double"
XSD_INTEGER = XSD + "integer"

#: The form JSON-LD processors accept as an absolute IRI or blank node identifier.
ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$")
_DOUBLE_TIDY = re.compile(r"(\d)0*E\+?(-)?0*(\d)")


def canonical_double(value: float) -> str:
    """The canonical ``xsd:double`` lexical form JSON-LD uses (``1.5E0``, ``2.5E-5``)."""
    return _DOUBLE_TIDY.sub(r"\1E\2\3", f"{value:1.15E}")


def _resource(identifier: str) -> str:
    return Blank(identifier[2:]) if identifier.startswith("_:") else iri(identifier)


class _Writer:
    def __init__(self, issuer: IdentifierIssuer) -> None:
        self.issuer = issuer
        self.quads: list[Quad] = []

    def value(self, item: dict[str, Any]) -> str:
        value = item["@value"]
        datatype = item.get("@type")
        if datatype == "@json":
            return literal(json_canonical(value).decode("utf-8"), RDF_JSON, None)
        if isinstance(value, bool):
            return literal("true" if value else "false", datatype or XSD_BOOLEAN, None)
        if isinstance(value, float):
            return literal(canonical_double(value), datatype or XSD_DOUBLE, None)
        if datatype == XSD_DOUBLE:
            try:
                return literal(canonical_double(float(value)), XSD_DOUBLE, None)
            except (TypeError, ValueError):
                return literal(str(value), XSD_DOUBLE, None)
        if isinstance(value, int):
            if abs(value) >= 1e21:
                return literal(canonical_double(float(value)), datatype or XSD_DOUBLE, None)
            return literal(str(value), datatype or XSD_INTEGER, None)
        if "@language" in item:
            return literal(value, datatype or RDF_LANGSTRING, item["@language"])
        return literal(value, datatype or XSD_STRING, None)

    def object(self, item: Any, graph: str | None) -> str | None:
        if isinstance(item, dict) and "@value" in item:
            return self.value(item)
        if isinstance(item, dict) and "@list" in item:
            return self.list(list(item["@list"]), graph)
        identifier = item["@id"] if isinstance(item, dict) else item
        if not identifier.startswith("_:") and not ABSOLUTE_IRI.match(identifier):
            return None  # relative IRIs name nothing
        return _resource(identifier)

    def list(self, items: list[Any], graph: str | None) -> str:
        if not items:
            return RDF_NIL
        head = subject = Blank(self.issuer.get_id()[2:])
        for position, item in enumerate(items):
            value = self.object(item, graph)
            rest = RDF_NIL if position == len(items) - 1 else Blank(self.issuer.get_id()[2:])
            if value is not None:
                self.quads.append((subject, RDF_FIRST, value, graph))
            self.quads.append((subject, RDF_REST, rest, graph))
            subject = rest  # type: ignore[assignment]
        return head

    def graph(self, nodes: dict[str, Any], graph: str | None) -> None:
        for identifier, node in sorted(nodes.items()):
            if not ABSOLUTE_IRI.match(identifier):
                continue
            subject = _resource(identifier)
            for prop, items in sorted(node.items()):
                if prop == "@type":
                    predicate = RDF_TYPE
                elif _is_keyword(prop) or prop.startswith("_:") or not ABSOLUTE_IRI.match(prop):
                    continue  # keywords, blank-node predicates (generalised RDF), relative IRIs
                else:
                    predicate = iri(prop)
                for item in items:
                    value = self.object(item, graph)
                    if value is not None:
                        self.quads.append((subject, predicate, value, graph))


def node_map_quads(node_map: dict[str, dict[str, Any]], issuer: IdentifierIssuer) -> list[Quad]:
    """All quads of a node map (pyld's ``_create_node_map`` output), duplicates removed.

    :param issuer: the blank node issuer the node map was built with (lists need more labels).
    """
    writer = _Writer(issuer)
    for name, nodes in sorted(node_map.items()):
        if name == "@default":
            writer.graph(nodes, None)
        elif name.startswith("_:") or ABSOLUTE_IRI.match(name):
            writer.graph(nodes, _resource(name))
    # A dataset is a set; the node map already merges equal values, but lists or repeated
    # references could still repeat a quad. Labels never start with "<" or '"', so a Blank
    # cannot be equal to IRI or literal text.
    return list(dict.fromkeys(writer.quads))
