"""RDF Dataset Canonicalization (RDFC-1.0) and canonical N-Quads, as rdf-canonize writes them.

https://www.w3.org/TR/rdf-canon/ (algorithm) and https://www.w3.org/TR/rdf12-n-quads/#canonical-quads

Why not pyld's ``URDNA2015``: its N-Quads writer leaves control characters raw, where RDFC-1.0
(and rdf-canonize, which Digital Bazaar's vc.js uses) escape them, so a credential with, say, a
form feed in a narrative would be signed over different bytes than every other verifier
checks. This module also bounds the work of the N-degree step, so a hostile document cannot pin
a CPU, and works on plain tuples, which is several times faster.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

from credentials.errors import JsonLdFailure

RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

#: Bounds on the N-degree step (symmetric, look-alike blank nodes), in calls and permutations.
MAX_N_DEGREE_CALLS = 2_000
MAX_PERMUTATIONS = 50_000


def _escape_table(extra: str, echar: bool) -> dict[int, str]:
    table = {c: f"\\u{c:04X}" for c in range(0x20)}
    table[0x7F] = "\\u007F"
    for char in extra:
        table[ord(char)] = f"\\u{ord(char):04X}"
    if echar:
        table.update(
            {ord("\b"): "\\b", ord("\t"): "\\t", ord("\n"): "\\n", ord("\f"): "\\f",
             ord("\r"): "\\r", ord('"'): '\\"', ord("\\"): "\\\\"}
        )  # fmt: skip
    return table


# Literals: ECHARs for \b \t \n \f \r " \, UCHARs for the other controls and DEL.
_LITERAL_ESCAPES = _escape_table("", echar=True)
# IRIs: UCHARs for controls, space and <>"{}|^`\ (rdf-canonize 5's choice).
_IRI_ESCAPES = _escape_table(' <>"{}|^`\\', echar=False)
del _IRI_ESCAPES[0x7F]


_NEEDS_IRI_ESCAPE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_NEEDS_LITERAL_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')


def iri(value: str) -> str:
    """``<value>`` with canonical N-Quads escaping."""
    if _NEEDS_IRI_ESCAPE.search(value):
        value = value.translate(_IRI_ESCAPES)
    return "<" + value + ">"


def escape_literal(value: str) -> str:
    """The inside of a canonical N-Quads literal (without its quotes)."""
    if _NEEDS_LITERAL_ESCAPE.search(value):
        return value.translate(_LITERAL_ESCAPES)
    return value


def literal(value: str, datatype: str | None, language: str | None) -> str:
    """A literal in canonical N-Quads form."""
    if _NEEDS_LITERAL_ESCAPE.search(value):
        value = value.translate(_LITERAL_ESCAPES)
    text = '"' + value + '"'
    if datatype == RDF_LANGSTRING or (language and not datatype):
        return text + "@" + (language or "")
    if datatype and datatype != XSD_STRING:
        return text + "^^" + iri(datatype)
    return text


class Blank(str):
    """A blank node label (without ``_:``) inside a quad; every other component is N-Quads text."""

    __slots__ = ()


Quad = tuple[str, str, str, str | None]


def _line(quad: Quad, label: Any) -> str:
    s, p, o, g = quad
    text = (
        ("_:" + label(s) if isinstance(s, Blank) else s)
        + " "
        + ("_:" + label(p) if isinstance(p, Blank) else p)
        + " "
        + ("_:" + label(o) if isinstance(o, Blank) else o)
    )
    if g is not None:
        text += " " + ("_:" + label(g) if isinstance(g, Blank) else g)
    return text + " .\n"


_UCHAR = re.compile(r"\\u([0-9A-F]{4})")


def _raw_iri(text: str) -> str:
    """``<iri>`` without N-Quads escapes: the form RDFC-1.0 hashes a related predicate in."""
    if "\\u" not in text:
        return text
    return _UCHAR.sub(lambda m: chr(int(m.group(1), 16)), text)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Issuer:
    """An identifier issuer (RDFC-1.0 §4.3): ``prefix + counter``, remembering issue order."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = dict(issued) if issued else {}

    def issue(self, label: str) -> str:
        found = self.issued.get(label)
        if found is None:
            found = self.issued[label] = f"{self.prefix}{len(self.issued)}"
        return found

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, self.issued)


class _Canonicalizer:
    def __init__(self, quads: list[Quad]) -> None:
        self.quads = quads
        self.by_blank: dict[str, list[Quad]] = {}
        # Most quads of a credential have no blank node and no graph name: their lines are
        # written directly, and only the others are indexed and labelled.
        self.plain: list[Quad] = []
        self.labelled: list[Quad] = []
        for quad in quads:
            if (
                quad[3] is None
                and quad[0].__class__ is not Blank
                and quad[2].__class__ is not Blank
            ):
                self.plain.append(quad)
                continue
            self.labelled.append(quad)
            for position in (0, 2, 3):
                component = quad[position]
                if isinstance(component, Blank):
                    bucket = self.by_blank.setdefault(component, [])
                    if not bucket or bucket[-1] is not quad:
                        bucket.append(quad)
        self.canonical = _Issuer("c14n")
        self.first_degree: dict[str, str] = {}
        self.calls = 0
        self.permutations = 0

    def hash_first_degree(self, blank: str) -> str:
        found = self.first_degree.get(blank)
        if found is None:
            lines = sorted(
                _line(q, lambda b: "a" if b == blank else "z") for q in self.by_blank[blank]
            )
            found = self.first_degree[blank] = _sha256("".join(lines))
        return found

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        if related in self.canonical.issued:
            identifier = "_:" + self.canonical.issued[related]
        elif related in issuer.issued:
            identifier = "_:" + issuer.issued[related]
        else:
            identifier = self.hash_first_degree(related)
        text = position + (_raw_iri(quad[1]) if position != "g" else "") + identifier
        return _sha256(text)

    def hash_n_degree(self, blank: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self.calls += 1
        if self.calls > MAX_N_DEGREE_CALLS:
            raise JsonLdFailure("canonicalization gave up: too many look-alike blank nodes")
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.by_blank[blank]:
            for position, component in (("s", quad[0]), ("o", quad[2]), ("g", quad[3])):
                if isinstance(component, Blank) and component != blank:
                    digest = self.hash_related(component, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(component)
        data = ""
        for digest in sorted(related_by_hash):
            data += digest
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            nodes = sorted(related_by_hash[digest])
            for permutation in itertools.permutations(nodes):
                self.permutations += 1
                if self.permutations > MAX_PERMUTATIONS:
                    raise JsonLdFailure("canonicalization gave up: too many look-alike blank nodes")
                candidate = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    if related in self.canonical.issued:
                        path += "_:" + self.canonical.issued[related]
                    else:
                        if related not in candidate.issued:
                            recursion.append(related)
                        path += "_:" + candidate.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, candidate = self.hash_n_degree(related, candidate)
                    path += "_:" + candidate.issue(related) + "<" + result_hash + ">"
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path, chosen_issuer = path, candidate
            data += chosen_path
            if chosen_issuer is not None:
                issuer = chosen_issuer
        return _sha256(data), issuer

    def run(self) -> str:
        by_hash: dict[str, list[str]] = {}
        for blank in self.by_blank:
            by_hash.setdefault(self.hash_first_degree(blank), []).append(blank)
        shared: list[list[str]] = []
        for digest in sorted(by_hash):
            blanks = by_hash[digest]
            if len(blanks) == 1:
                self.canonical.issue(blanks[0])
            else:
                shared.append(blanks)
        for blanks in shared:
            results = []
            for blank in blanks:
                if blank in self.canonical.issued:
                    continue
                temporary = _Issuer("b")
                temporary.issue(blank)
                results.append(self.hash_n_degree(blank, temporary))
            for _, issuer in sorted(results, key=lambda r: r[0]):
                for existing in issuer.issued:  # dicts keep issue order
                    self.canonical.issue(existing)
        canonical = self.canonical.issued
        label = canonical.__getitem__
        lines = [f"{s} {p} {o} .\n" for s, p, o, _ in self.plain]
        lines.extend(_line(q, label) for q in self.labelled)
        lines.sort()
        return "".join(lines)


def canonicalize(quads: list[Quad]) -> str:
    """Canonical N-Quads of a dataset (RDFC-1.0 with SHA-256).

    :raises JsonLdFailure: when blank nodes are so symmetric that the work bound is exceeded.
    """
    return _Canonicalizer(quads).run()
