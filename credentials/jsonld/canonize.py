"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, strict about undefined terms.

https://www.w3.org/TR/rdf-canon/ and https://www.w3.org/TR/json-ld11-api/#deserialize-json-ld-to-rdf-algorithm

pyld does the JSON-LD work (expansion and conversion to RDF); ``rdfc.py`` canonicalises the
result. Three things are added on top of pyld:

* **Speed.** Almost all of pyld's time goes into processing the same contexts again for every
  document. :class:`CachingProcessor` memoises processed contexts per document loader, so
  repeated signing and verifying only walks the document itself.
* **Strictness.** pyld silently drops properties and types no context defines, so they would go
  unsigned (and another verifier would reject the credential). Here they are an error, as they
  are in Digital Bazaar's "safe mode" and in the 1EdTech validator.
* **Agreement with jsonld.js.** JSON numbers like ``2.0`` are integers to JavaScript; pyld would
  turn them into ``xsd:double`` and so sign different bytes than vc.js verifies.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from credentials.errors import JsonLdFailure, UndefinedTerm, UnknownContext
from credentials.jsonld.rdfc import Quad, canonicalize
from credentials.jsonld.shapes import TemplateCache, build, skeleton
from credentials.jsonld.to_rdf import ABSOLUTE_IRI, node_map_quads

if TYPE_CHECKING:
    from credentials.jsonld.loader import DocumentLoader


#: Processed contexts kept per loader; a credential uses a few dozen.
_CONTEXT_CACHE_SIZE = 4096
#: Expanded IRIs (terms and types against finished contexts) kept per loader.
_IRI_CACHE_SIZE = 65_536
_MISSING = object()


class _Memo:
    """A small bounded mapping (insertion-ordered eviction) for processed contexts."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[Any, tuple[Any, Any, Any]] = {}

    def get(self, key: Any) -> tuple[Any, Any, Any] | None:
        return self.entries.get(key)

    def put(self, key: Any, value: tuple[Any, Any, Any]) -> None:
        if len(self.entries) >= self.size:
            # Drop the oldest quarter; the hot entries are re-added on their next use.
            for stale in list(self.entries)[: self.size // 4]:
                del self.entries[stale]
        self.entries[key] = value


class CachingProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """A pyld processor that memoises processed contexts and reports dropped terms.

    Active contexts are immutable once pyld has built them, so the result of processing local
    context *L* on active context *A* can be reused whenever the same *A* and *L* come back.
    Identity is checked with ``is`` against references the memo keeps alive, so an id reused by
    a new object can never produce a false hit.
    """

    def __init__(self, loader: DocumentLoader) -> None:
        super().__init__(on_property_dropped=self._dropped)
        self.loader = loader
        self.lock = threading.RLock()
        self._memo = _Memo(_CONTEXT_CACHE_SIZE)
        # id -> context, for contexts pyld has finished building (kept alive by _memo or here).
        self._sealed: dict[int, Any] = {}
        # Canonical forms of proof options: a batch signed in one second with one key has the
        # same options for every credential, so they are canonicalised once.
        self.options_cache: dict[str, str] = {}
        self._iris: dict[tuple[int, str, Any, bool], Any] = {}
        # A private resolver cache: pyld's default one is process-global and keyed only by URL,
        # so a context one loader served would leak into every other loader.
        self.resolver = ContextResolver(_LRU(256), loader)
        self._dropped_terms: list[str] = []
        # RDF of recurring document shapes (credentials/jsonld/shapes.py).
        self.templates = TemplateCache()

    def _dropped(self, expanded_property: str | None) -> None:
        self._dropped_terms.append(
            "null-mapped term" if expanded_property is None else expanded_property
        )

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        if isinstance(local_ctx, dict):
            local_key: Any = id(local_ctx)
            identity = local_ctx
        else:
            # Strings and lists of strings (the usual document @context) are keyed by value.
            local_key = json.dumps(local_ctx, sort_keys=True)
            identity = None
        key = (id(active_ctx), local_key, override_protected, propagate, validate_scoped)
        hit = self._memo.get(key)
        if hit is not None and hit[0] is active_ctx and (identity is None or hit[1] is identity):
            return hit[2]
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        self._memo.put(key, (active_ctx, local_ctx, result))
        # Finished contexts never change again, so IRI expansion against them can be memoised.
        if len(self._sealed) >= _CONTEXT_CACHE_SIZE:
            # Forget both together: an IRI memoised under the id of a forgotten context must
            # never be found again by a new context that happens to get the same id.
            self._sealed.clear()
            self._iris.clear()
        self._sealed[id(result)] = result
        return result

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        # Only for finished contexts: while a context is being built its terms still change.
        if (
            local_ctx is None
            and isinstance(value, str)
            and self._sealed.get(id(active_ctx)) is active_ctx
        ):
            key = (id(active_ctx), value, base, vocab)
            found = self._iris.get(key, _MISSING)
            if found is _MISSING:
                if len(self._iris) >= _IRI_CACHE_SIZE:
                    self._iris.clear()
                found = self._iris[key] = super()._expand_iri(active_ctx, value, base, vocab)
            return found
        return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)

    def options(self) -> dict[str, Any]:
        """Options for one pyld operation through this processor."""
        self.resolver.per_op_cache = {}
        return {
            "documentLoader": self.loader,
            "contextResolver": self.resolver,
            "base": None,  # never resolve relative IRIs against a made-up base
            "processingMode": "json-ld-1.1",
            "produceGeneralizedRdf": False,
        }

    def strict_expand(self, document: Any) -> list[Any]:
        """Expand ``document``; raise when a term or IRI would be silently dropped."""
        self._dropped_terms = []
        expanded: list[Any] = self.expand(document, self.options())
        problems = list(dict.fromkeys(self._dropped_terms))
        problems.extend(_relative_iris(expanded))
        if problems:
            raise UndefinedTerm(
                "these terms are not defined by the document's @context (they would not be "
                "signed or verified): " + ", ".join(sorted(set(problems))),
                sorted(set(problems)),
            )
        return expanded

    def quads(self, expanded: list[Any]) -> list[Quad]:
        """The RDF quads of an expanded document (what pyld's ``to_rdf`` does after expanding,
        which it would otherwise do a second time)."""
        issuer = IdentifierIssuer("_:b")
        node_map: dict[str, Any] = {"@default": {}}
        self._create_node_map(expanded, node_map, "@default", issuer)
        return node_map_quads(node_map, issuer)

    def colon_terms(self) -> frozenset[str]:
        """Terms of every context processed so far that contain ``:`` (an absolute IRI in a
        document could be one of them, and would then not stand for itself)."""
        found: set[str] = set()
        for _, _, result in self._memo.entries.values():
            if isinstance(result, dict):
                found.update(term for term in result.get("mappings", {}) if ":" in term)
        return frozenset(found)

    def templated_quads(self, document: dict[str, Any], shape: tuple[str, list[str]]) -> list[Quad]:
        """The general path's quads for ``document``, building a shape template when its shape
        recurs (called under the lock, on a document :func:`skeleton` accepted)."""
        quads = self.quads(self.strict_expand(document))
        name, leaves = shape
        if self.templates.wants(name):
            made = build(
                document,
                leaves,
                quads,
                lambda probe: self.quads(self.strict_expand(probe)),
                self.colon_terms(),
            )
            if made is None:
                self.templates.failed(name)
            else:
                self.templates.add(name, leaves, *made)
        return quads


class _LRU(dict[Any, Any]):
    """The cache pyld's ContextResolver expects (``get``/``__setitem__``), bounded in size."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: Any, value: Any) -> None:
        if len(self) >= self.size and key not in self:
            del self[next(iter(self))]
        super().__setitem__(key, value)


def _relative_iris(expanded: Any) -> list[str]:
    """IRIs in an expanded document that are not absolute (pyld would drop their statements)."""
    found: list[str] = []
    stack = [expanded]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "@id" and isinstance(value, str) and not ABSOLUTE_IRI.match(value):
                    found.append(f"relative IRI {value!r}")
                elif key == "@type" and "@value" not in item:
                    for type_ in value if isinstance(value, list) else [value]:
                        if isinstance(type_, str) and not ABSOLUTE_IRI.match(type_):
                            found.append(type_)
                elif key == "@type" and isinstance(value, str):
                    if value != "@json" and not ABSOLUTE_IRI.match(value):
                        found.append(f"datatype {value!r}")
                elif key != "@value" and isinstance(value, (list, dict)):
                    stack.append(value)
    return found


def _has_integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer() and abs(value) < 1e21
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


def _integral_floats_to_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_to_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_to_int(v) for v in value]
    return value


def _has_number(document: Any) -> bool:
    kind = document.__class__
    if kind is dict or kind is list:
        for item in document.values() if kind is dict else document:
            if item.__class__ is not str and _has_number(item):
                return True
        return False
    return kind is not str and kind is not bool and document is not None


def unportable_numbers(document: Any, path: str = "$") -> list[str]:
    """Numbers that JSON-LD processors turn into different RDF, so a signature over them would
    not verify everywhere: integers beyond 2**53 (JavaScript rounds them) and tiny fractions
    JavaScript writes as ``1e-7`` (jsonld.js then treats them as the integer 0).

    :returns: JSON paths of the offending values (empty when the document is portable).
    """
    if path == "$":
        try:
            if not _has_number(document):
                return []  # the common case, checked without building a path for every value
        except RecursionError:
            pass  # reported below as before
    found: list[str] = []
    if isinstance(document, bool):
        return found
    if isinstance(document, int) and abs(document) > 2**53:
        found.append(f"{path} = {document}")
    elif isinstance(document, float) and not document.is_integer():
        # JavaScript writes fractions below 1e-6 in exponent form ("1e-7", or "1.5e-7" when
        # there is more than one digit); only the form without a "." trips jsonld.js up.
        # Python's repr has the same shortest digits and is exponential in that range too.
        text = repr(document)
        if abs(document) < 1e-6 and "." not in text:
            found.append(f"{path} = {text}")
    elif isinstance(document, dict):
        for key, value in document.items():
            found.extend(unportable_numbers(value, f"{path}.{key}"))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(unportable_numbers(value, f"{path}[{index}]"))
    return found


def _prepare(document: Any) -> Any:
    # JavaScript has one number type: 2.0 is the integer 2 there, and JSON-LD says an integral
    # value is xsd:integer. pyld would emit "2.0E0"^^xsd:double; align with the spec and vc.js.
    if _has_integral_float(document):
        return _integral_floats_to_int(document)
    return document


def _run(
    document: Any, loader: DocumentLoader, step: Callable[[CachingProcessor, Any], Any]
) -> Any:
    if not isinstance(document, dict):
        raise JsonLdFailure("a JSON-LD document must be a JSON object")
    processor = loader.processor()
    with processor.lock:
        try:
            return step(processor, _prepare(document))
        except (UndefinedTerm, JsonLdFailure):
            raise
        except jsonld.JsonLdError as exc:
            unknown = _find_cause(exc, UnknownContext)
            if unknown is not None:
                raise unknown from None
            raise JsonLdFailure(f"JSON-LD processing failed: {_describe(exc)}") from None
        except RecursionError:
            raise JsonLdFailure("the document is nested too deeply") from None


def expand(document: Any, loader: DocumentLoader) -> list[Any]:
    """Expand a JSON-LD document with the loader's contexts.

    :raises UndefinedTerm: when a property or type is not defined by the document's contexts.
    :raises UnknownContext: when the document names a context the loader does not bundle.
    :raises JsonLdFailure: for any other JSON-LD error.
    """
    result: list[Any] = _run(document, loader, lambda p, d: copy.deepcopy(p.strict_expand(d)))
    return result


def canonize(document: Any, loader: DocumentLoader) -> str:
    """Return the RDFC-1.0 canonical N-Quads of a JSON-LD document.

    :raises UndefinedTerm: when a property or type is not defined by the document's contexts.
    :raises UnknownContext: when the document names a context the loader does not bundle.
    :raises JsonLdFailure: for any other JSON-LD error or an unreasonably complex graph.
    """

    shape = skeleton(document) if isinstance(document, dict) else None
    if shape is not None:
        # A recurring shape: fill its template instead of expanding (credentials/jsonld/shapes.py).
        quads = loader.processor().templates.quads(*shape)
        if quads is not None:
            return canonicalize(quads)

    def step(processor: CachingProcessor, doc: Any) -> str:
        if shape is not None:
            # _prepare changed at most numbers (integral floats), never a string: the leaves
            # and their order are the same in ``doc``, and the skeleton holds the original
            # numbers, so a template built from ``doc`` is found again for the same values.
            return canonicalize(processor.templated_quads(doc, shape))
        return canonicalize(processor.quads(processor.strict_expand(doc)))

    result: str = _run(document, loader, step)
    return result


def canonize_general(document: Any, loader: DocumentLoader) -> str:
    """:func:`canonize` always by the general path (JSON-LD expansion, node map, RDFC-1.0),
    never from a shape template, and building none: the reference the fast path is tested
    against."""

    def step(processor: CachingProcessor, doc: Any) -> str:
        return canonicalize(processor.quads(processor.strict_expand(doc)))

    result: str = _run(document, loader, step)
    return result


def _find_cause(exc: BaseException, kind: type[UnknownContext]) -> UnknownContext | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 20:
        if isinstance(current, kind):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _describe(exc: BaseException) -> str:
    """The innermost pyld message, which names the actual problem."""
    messages: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(messages) < 20:
        code = getattr(current, "code", None)
        text = str(getattr(current, "message", "") or current).split("\n")[0]
        messages.append(f"{text} ({code})" if code else text)
        current = current.__cause__
    return messages[-1]


def canonize_options(options: Any, loader: DocumentLoader) -> str:
    """:func:`canonize` for proof options, remembered per loader (bounded): the same options
    come back for every credential signed with one key at one time.

    :raises UndefinedTerm: when a term is undefined (see :func:`canonize`).
    """
    key = json.dumps(options, sort_keys=True, ensure_ascii=False)
    processor = loader.processor()
    found = processor.options_cache.get(key)
    if found is None:
        found = canonize(options, loader)
        if len(processor.options_cache) >= 1024:
            processor.options_cache.clear()
        processor.options_cache[key] = found
    return found
