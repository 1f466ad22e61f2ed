"""Shape templates: the RDF of a document shape computed once, then filled with each document's
literals and node IRIs, so a batch of credentials of one achievement skips JSON-LD expansion.

Why this is sound. JSON-LD expansion looks at a string's content only where the string names
something: ``@context`` entries, ``@type`` values (they select type-scoped contexts), terms and
compact IRIs (``@vocab``/``@id``-coerced values, ``@id``). A string that becomes a *literal*
(``{"@value": ...}`` with the term's datatype or language) is copied through untouched, and an
``@id`` that is an absolute IRI whose scheme is not a term prefix is copied through untouched
too. Everything else about the RDF (which terms, which contexts, which blank nodes) depends only
on the document's structure (keys, array lengths, numbers, booleans) and on the strings that are
*not* copied through.

So a :class:`Template` is keyed on that structure (the *skeleton*) plus the values of the
strings that are not slots, and it is found by experiment, not by re-implementing JSON-LD: the
general path is run once on the document and once on a *probe*, the same document with each
candidate string replaced by a unique absolute IRI token. A token that comes out as a whole
literal (``"token"`` plus a datatype or language suffix) or as a whole IRI (``<token>``) is a
slot; the probe's quads with the original strings put back must be exactly the original quads,
or the slot is given up. At fill time an IRI slot only accepts an absolute IRI with the same
scheme (and ``//`` after it or not) as the one it was found with, which is not itself a term,
so compact-IRI and term expansion can never apply to it; anything else takes the general path.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from credentials.jsonld.rdfc import Quad, escape_literal, iri
from credentials.jsonld.to_rdf import ABSOLUTE_IRI

#: Tokens a probe puts in place of candidate strings (absolute IRIs, so they are valid anywhere).
SLOT_PREFIX = "urn:x-cairn-slot:"
#: Templates kept per processor, and templates per skeleton (bounded memory).
MAX_TEMPLATES = 512
MAX_PER_SKELETON = 16
#: Skeletons remembered while counting sightings / failed attempts.
MAX_SKELETONS = 4096
#: Build a template the second time a shape is seen (one-off documents never pay for a probe).
BUILD_AFTER = 2
#: Give up on a skeleton after this many failed builds.
MAX_FAILURES = 3
#: Probe rounds per build (each round gives up the slots that did not survive).
MAX_ROUNDS = 4

# Keys whose string values are never slots: they select contexts or types, or are keywords
# other than @id/@value. (An alias of @type under another name is caught by the probe.)
_NEVER_SLOTS = frozenset({"type", "@type", "@context"})

_LITERAL = 0
_IRI = 1


class _NotTemplatable(Exception):
    """The document has something (a NaN, an infinity) the skeleton does not describe well."""


def skeleton(document: Any) -> tuple[str, list[str]] | None:
    """The document's structure (numbers included, by value) as a string, and its string
    values in document order.

    ``None`` when the document holds something else than JSON's values, or a float that is not
    finite.
    """
    parts: list[str] = []
    leaves: list[str] = []
    try:
        _walk(document, parts, leaves)
    except (_NotTemplatable, RecursionError):  # the general path reports deep nesting
        return None
    return "".join(parts), leaves


def _walk(value: Any, parts: list[str], leaves: list[str]) -> None:
    kind = value.__class__
    if kind is dict:
        # The keys first (repr of a str is quoted and escaped, so they cannot run together),
        # then the values, each of which encodes its own end.
        parts.append("{")
        parts.extend(map(repr, value))
        parts.append("|")
        items: Any = value.values()
        close = "}"
    elif kind is list:
        parts.append("[")
        items = value
        close = "]"
    elif kind is str:
        leaves.append(value)
        parts.append("s")
        return
    elif kind is bool or kind is int or value is None:
        parts.append(f"<{value!r}>")
        return
    elif kind is float and math.isfinite(value):
        # A number is never a slot: its exact value is part of the skeleton (repr round-trips
        # a float, and tells 2.0 from 2), so a template is only used for the very value it was
        # built with, whatever the general path makes of it (an integral float is an integer
        # there). An achievement's creditsAvailable (2.5) is in every credential of it.
        parts.append(f"<f{value!r}>")
        return
    else:  # NaN, infinities, anything odd
        raise _NotTemplatable
    for item in items:
        # Strings (most values) inline: this walk runs for every document.
        if item.__class__ is str:
            leaves.append(item)
            parts.append("s")
        else:
            _walk(item, parts, leaves)
    parts.append(close)


def _leaf_keys(document: Any) -> list[str | None]:
    """For each string of :func:`skeleton`'s leaves, the key it sits under (``None`` inside an
    ``@context``, where nothing may be a slot)."""
    keys: list[str | None] = []

    def visit(value: Any, key: str | None, in_context: bool) -> None:
        if isinstance(value, str):
            keys.append(None if in_context else key)
        elif isinstance(value, dict):
            for name, item in value.items():
                visit(item, name, in_context or name == "@context")
        elif isinstance(value, list):
            for item in value:
                visit(item, key, in_context)

    visit(document, None, False)
    return keys


@dataclass(frozen=True)
class Template:
    """The quads of one shape; an ``int`` component is an index into :attr:`slots`."""

    quads: tuple[tuple[Any, ...], ...]
    #: ``(leaf index, _LITERAL, suffix)`` or ``(leaf index, _IRI, (scheme, slashes))``
    slots: tuple[tuple[int, int, Any], ...]
    #: terms (of any context the processor had built) that look like absolute IRIs
    colon_terms: frozenset[str]
    #: the constant components, then (at fill time) the slot values
    pool: list[Any] = field(init=False, compare=False)
    #: :attr:`quads` with every component an index into the pool
    indexed: list[tuple[int, int, int, int]] = field(init=False, compare=False)
    #: ``(leaf index, suffix)`` of the literal slots, then ``(leaf index, (scheme, slashes))``
    #: of the IRI slots: the order their values follow the constants in the pool
    literal_slots: list[tuple[int, str]] = field(init=False, compare=False)
    iri_slots: list[tuple[int, tuple[str, bool]]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        pool: list[Any] = []
        where: dict[Any, int] = {}
        for quad in self.quads:
            for component in quad:
                if component.__class__ is not int and (component, type(component)) not in where:
                    where[(component, type(component))] = len(pool)
                    pool.append(component)
        literals = [n for n, (_, kind, _) in enumerate(self.slots) if kind == _LITERAL]
        iris = [n for n, (_, kind, _) in enumerate(self.slots) if kind != _LITERAL]
        place = {n: len(pool) + position for position, n in enumerate(literals + iris)}
        indexed = [
            tuple(place[c] if c.__class__ is int else where[(c, type(c))] for c in quad)
            for quad in self.quads
        ]
        object.__setattr__(self, "pool", pool)
        object.__setattr__(self, "indexed", indexed)
        object.__setattr__(self, "literal_slots", [self.slots[n][::2] for n in literals])
        object.__setattr__(self, "iri_slots", [self.slots[n][::2] for n in iris])

    def fill(self, leaves: list[str]) -> list[Quad] | None:
        """The document's quads, or ``None`` when a value does not fit its slot."""
        # Tight loops: this and RDFC-1.0 are most of the per-document work.
        values = [f'"{escape_literal(leaves[i])}"{suffix}' for i, suffix in self.literal_slots]
        for index, found_with in self.iri_slots:
            value = leaves[index]
            scheme, _, rest = value.partition(":")
            if (
                (scheme, rest.startswith("//")) != found_with
                or not ABSOLUTE_IRI.match(value)
                or value in self.colon_terms
            ):
                return None
            values.append(iri(value))
        pool = self.pool + values
        return list(
            dict.fromkeys([(pool[s], pool[p], pool[o], pool[g]) for s, p, o, g in self.indexed])
        )


def build(
    document: dict[str, Any],
    leaves: list[str],
    original: list[Quad],
    run: Callable[[dict[str, Any]], list[Quad]],
    colon_terms: frozenset[str],
) -> tuple[tuple[int, ...], Template] | None:
    """Find the slots of ``document`` by probing (see the module docstring).

    :param original: the document's quads from the general path.
    :param run: the general path (expansion and quads), for probes.
    :returns: the indices of the leaves that are *not* slots, and the template; ``None`` when no
        template could be made.
    """
    digest = hashlib.sha256(repr(leaves).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    base = f"{SLOT_PREFIX}{digest}:"
    if any(SLOT_PREFIX in leaf for leaf in leaves):
        return None
    keys = _leaf_keys(document)
    candidates = {
        index
        for index, key in enumerate(keys)
        if key is not None
        and key not in _NEVER_SLOTS
        and (not key.startswith("@") or key in ("@id", "@value"))
    }
    original_set = set(original)
    components = {c for quad in original for c in quad if c is not None}
    for _ in range(MAX_ROUNDS):
        if not candidates:
            return None
        tokens = {base + str(index): index for index in candidates}
        probe = _replace(document, candidates, base)
        try:
            probed = run(probe)
        except Exception:
            return None
        slots: dict[int, tuple[int, Any]] = {}
        blamed: set[int] = set()
        template_quads: list[tuple[Any, ...]] = []
        for quad in probed:
            out: list[Any] = []
            for component in quad:
                found = _slot_of(component, base, tokens) if component is not None else None
                if found is None:
                    if component is not None and base in component:
                        blamed.update(i for t, i in tokens.items() if t in component)
                    out.append(component)
                    continue
                index, form = found
                if slots.setdefault(index, form) != form:
                    blamed.add(index)
                out.append(("slot", index))
            template_quads.append(tuple(out))
        blamed.update(candidates - set(slots))  # not seen at all: nothing to fill
        rendered = {index: _render(leaves[index], form) for index, form in slots.items()}
        blamed.update(index for index, text in rendered.items() if text not in components)
        if blamed:
            candidates -= blamed
            continue
        refilled = {
            tuple(rendered[c[1]] if isinstance(c, tuple) else c for c in quad)
            for quad in template_quads
        }
        if refilled != original_set:
            return None
        order = sorted(slots)
        position = {index: number for number, index in enumerate(order)}
        quads = tuple(
            tuple(position[c[1]] if isinstance(c, tuple) else c for c in quad)
            for quad in template_quads
        )
        described = []
        for index in order:
            kind, extra = slots[index]
            if kind == _IRI:  # the scheme it was found with, and whether "//" follows
                scheme, _, rest = leaves[index].partition(":")
                extra = (scheme, rest.startswith("//"))
            described.append((index, kind, extra))
        template = Template(quads=quads, slots=tuple(described), colon_terms=colon_terms)
        fixed = tuple(index for index in range(len(leaves)) if index not in slots)
        return fixed, template
    return None


_SUFFIX = re.compile(r'(@[A-Za-z0-9-]+|\^\^<[^<>"\s]*>)?')


def _slot_of(component: str, base: str, tokens: dict[str, int]) -> tuple[int, Any] | None:
    if component.startswith("<" + base) and component.endswith(">"):
        index = tokens.get(component[1:-1])
        return None if index is None else (index, (_IRI, None))
    if component.startswith('"' + base):
        end = component.find('"', 1)
        index = tokens.get(component[1:end])
        suffix = component[end + 1 :]
        if index is None or not _SUFFIX.fullmatch(suffix):
            return None
        return index, (_LITERAL, suffix)
    return None


def _render(value: str, form: tuple[int, Any]) -> str:
    kind, suffix = form
    if kind == _LITERAL:
        return f'"{escape_literal(value)}"{suffix}'
    return iri(value)


def _replace(value: Any, candidates: set[int], base: str) -> Any:
    """A copy of ``value`` with the candidate leaves (by document order) replaced by tokens."""
    counter = [0]

    def visit(item: Any) -> Any:
        if isinstance(item, str):
            index = counter[0]
            counter[0] += 1
            return base + str(index) if index in candidates else item
        if isinstance(item, dict):
            return {key: visit(sub) for key, sub in item.items()}
        if isinstance(item, list):
            return [visit(sub) for sub in item]
        return item

    return visit(value)


class TemplateCache:
    """The templates of one processor, by skeleton, then by the values of the non-slot strings.

    Not locked: lookups only read, and :meth:`add` is called under the processor's lock.
    """

    def __init__(self) -> None:
        self.by_skeleton: dict[str, list[tuple[tuple[int, ...], dict[tuple[str, ...], Template]]]]
        self.by_skeleton = {}
        self.size = 0
        #: documents answered from a template (tests check the fast path is really taken)
        self.hits = 0
        self.sightings: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    def quads(self, shape: str, leaves: list[str]) -> list[Quad] | None:
        """The document's quads from a template, or ``None`` (take the general path)."""
        for fixed, templates in self.by_skeleton.get(shape, ()):
            template = templates.get(tuple([leaves[index] for index in fixed]))
            if template is not None:
                quads = template.fill(leaves)
                if quads is not None:
                    self.hits += 1
                return quads
        return None

    def wants(self, shape: str) -> bool:
        """Count a sighting of ``shape``; true when a template should be built for it now."""
        if self.failures.get(shape, 0) >= MAX_FAILURES:
            return False
        if len(self.sightings) >= MAX_SKELETONS and shape not in self.sightings:
            self.sightings.clear()
        count = self.sightings[shape] = self.sightings.get(shape, 0) + 1
        return count >= BUILD_AFTER

    def failed(self, shape: str) -> None:
        """Remember a failed build (a few are allowed: other non-slot values may work)."""
        if len(self.failures) >= MAX_SKELETONS and shape not in self.failures:
            self.failures.clear()
        self.failures[shape] = self.failures.get(shape, 0) + 1

    def add(
        self, shape: str, leaves: list[str], fixed: tuple[int, ...], template: Template
    ) -> None:
        """Keep ``template`` for documents of ``shape`` with ``leaves``' non-slot values."""
        if self.size >= MAX_TEMPLATES:
            self.by_skeleton.clear()
            self.size = 0
        entries = self.by_skeleton.setdefault(shape, [])
        found = [templates for known, templates in entries if known == fixed]
        if found:
            templates = found[0]
        else:
            templates = {}
            entries.append((fixed, templates))
        if len(templates) < MAX_PER_SKELETON:
            templates[tuple([leaves[index] for index in fixed])] = template
            self.size += 1
