"""Bake and unbake Open Badges credentials in SVG images, via an ``openbadges:credential`` element.

https://www.imsglobal.org/spec/ob/v3p0/#svg

The document is parsed once with defusedxml (no DTDs, no entities, no external references)
to validate it and to learn the byte offsets of the tags we touch; baking then splices the
original bytes, so everything outside those tags stays byte for byte as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import XMLParserType

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser

from credentials.baking import (
    BakedPayload,
    _check_size,
    _ob2_payload,
    _ob3_payload,
    _prepare_payload,
)
from credentials.errors import BakingError

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_NAMESPACE = "http://openbadges.org"

_SVG_ROOT = f"{{{SVG_NAMESPACE}}}svg"
_OB3_CREDENTIAL = f"{{{OB3_NAMESPACE}}}credential"
_OB2_ASSERTION = f"{{{OB2_NAMESPACE}}}assertion"
_PREFIX = "openbadges"

# XML declaration, comments, processing instructions and whitespace before the DOCTYPE or
# root. Single-character \s inside the repetition keeps the match linear.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s|<!--.*?-->|<\?.*?\?>)*", re.DOTALL)
# Only used to sniff the format: any DOCTYPE, internal subset or not.
_ANY_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL)
_SVG_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")
# The DOCTYPEs that SVG editors (Adobe Illustrator, for one) write and that the 1EdTech
# fixtures carry: a W3C public identifier and no internal subset.
_STANDARD_DOCTYPE = re.compile(
    rb"<!DOCTYPE\s+svg(?:\s+PUBLIC\s+(\"[^\"]*\"|'[^']*')\s+(\"[^\"]*\"|'[^']*'))?\s*>"
)
_STANDARD_DOCTYPE_IDS = {
    (b"-//W3C//DTD SVG 1.1//EN", b"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"),
    (b"-//W3C//DTD SVG 1.1 Basic//EN", b"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11-basic.dtd"),
    (b"-//W3C//DTD SVG 1.1 Tiny//EN", b"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11-tiny.dtd"),
    (b"-//W3C//DTD SVG 1.0//EN", b"http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd"),
    (
        b"-//W3C//DTD SVG 20010904//EN",
        b"http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd",
    ),
}
_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+(?:%\s+)?[^\s>]+\s+(?:SYSTEM|PUBLIC)\b")
_ENCODING_DECL = re.compile(
    rb"(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']"
)
# A start tag in a document already known to be well-formed: quoted attribute values may
# contain '>', so the tag's end cannot be found with a plain search.
_START_TAG = re.compile(
    rb"<([^\s/>]+)(?:\s+[^\s=]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>",
)
_END_TAG = re.compile(rb"</[^\s>]+\s*>")


def looks_like_svg(data: bytes) -> bool:
    """Sniff whether ``data`` is XML whose first element is an ``svg`` element.

    :param data: candidate image bytes.
    :returns: ``True`` when it looks like SVG (it may still turn out to be invalid).
    """
    prolog = _PROLOG.match(data)
    pos = prolog.end() if prolog else 0
    doctype = _ANY_DOCTYPE.match(data, pos)
    if doctype:
        prolog = _PROLOG.match(data, doctype.end())
        pos = prolog.end() if prolog else doctype.end()
    return _SVG_START.match(data, pos) is not None


def _neutralise_doctype(data: bytes) -> bytes:
    """Blank out a standard SVG DOCTYPE so the strict parser accepts the document.

    The standard DOCTYPE only names the W3C DTD, which we never load, so dropping it changes
    nothing we read. Any other DOCTYPE stays and is refused, since an internal subset can
    declare entities (billion laughs, external files). Blanking with spaces keeps every byte
    offset the same.

    :raises BakingError: for a DOCTYPE that is not a standard SVG one.
    """
    prolog = _PROLOG.match(data)
    pos = prolog.end() if prolog else 0
    if not data.startswith(b"<!DOCTYPE", pos):
        return data
    doctype = _STANDARD_DOCTYPE.match(data, pos)
    if doctype is not None:
        public_id, system_id = doctype.group(1), doctype.group(2)
        if public_id is None or (public_id[1:-1], system_id[1:-1]) in _STANDARD_DOCTYPE_IDS:
            return data[:pos] + b" " * (doctype.end() - pos) + data[doctype.end() :]
    whole = _ANY_DOCTYPE.match(data, pos)
    region = whole.group() if whole else data[pos:]
    if _EXTERNAL_ENTITY.search(region):
        raise BakingError(
            "the SVG declares an external entity, which could read local files or the "
            "network; DTDs and entities are not accepted"
        )
    if b"<!ENTITY" in region:
        raise BakingError(
            "the SVG declares XML entities (the 'billion laughs' expansion attack uses them); "
            "DTDs and entities are not accepted"
        )
    if b"[" in region:
        raise BakingError("the SVG has a DOCTYPE with an internal subset; DTDs are not accepted")
    raise BakingError(
        "the SVG has a non-standard DOCTYPE; only the W3C SVG 1.0/1.1 DOCTYPE is accepted "
        "(and no DTD is ever loaded)"
    )


@dataclass
class _Element:
    """An element we care about: where its start tag begins, its ``verify``, its text."""

    start: int
    verify: str | None
    text: list[str] = field(default_factory=list)
    end: int = -1  # offset of the end event (end tag, or just past an empty-element tag)


class _Scanner:
    """ElementTree parser target that records the root and the badge elements as they stream.

    Collecting while parsing (instead of building a tree) keeps memory flat and avoids the
    recursion of the pure-Python ``Element.iter``, which deep nesting would exhaust.
    """

    def __init__(self) -> None:
        self.expat: XMLParserType | None = None
        self.root_tag: str | None = None
        self.root_start = -1
        self.root_namespaces: dict[str, str] = {}
        self.ob3: list[_Element] = []
        self.ob2: list[_Element] = []
        self._open: list[_Element | None] = []

    def _offset(self) -> int:
        # The parser is attached right after it is built, before any event can fire.
        return self.expat.CurrentByteIndex if self.expat is not None else -1

    def start_ns(self, prefix: str, uri: str) -> None:
        if self.root_tag is None:
            # Declarations reported before the root's start event belong to the root.
            self.root_namespaces[prefix] = uri

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        found: _Element | None = None
        if self.root_tag is None:
            self.root_tag = tag
            self.root_start = self._offset()
        elif tag in (_OB3_CREDENTIAL, _OB2_ASSERTION):
            found = _Element(self._offset(), attrib.get("verify"))
            (self.ob3 if tag == _OB3_CREDENTIAL else self.ob2).append(found)
        self._open.append(found)

    def end(self, tag: str) -> None:
        found = self._open.pop()
        if found is not None:
            found.end = self._offset()

    def data(self, text: str) -> None:
        for element in self._open:
            if element is not None:
                element.text.append(text)

    def close(self) -> None:
        return None


def _scan(data: bytes) -> _Scanner:
    """Parse an SVG safely and collect what baking and unbaking need.

    :raises BakingError: on a DOCTYPE, entities, malformed XML or a root that is not ``svg``.
    """
    _check_size(data)
    body = _neutralise_doctype(data)
    scanner = _Scanner()
    parser = DefusedXMLParser(
        target=scanner, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    scanner.expat = parser.parser
    try:
        parser.feed(body)
        parser.close()
    except DTDForbidden:
        raise BakingError(
            "the SVG has a DOCTYPE declaration; DTDs are not accepted because they can "
            "declare entities"
        ) from None
    except EntitiesForbidden:
        raise BakingError("the SVG declares XML entities, which are not accepted") from None
    except ExternalReferenceForbidden:
        raise BakingError("the SVG refers to an external entity, which is not accepted") from None
    except DefusedXmlException as exc:
        raise BakingError(f"the SVG uses a forbidden XML feature: {exc}") from None
    except ParseError as exc:
        raise BakingError(f"the SVG is not well-formed XML: {exc}") from None
    except (ValueError, LookupError, RecursionError) as exc:
        # Unknown or broken declared encodings surface as codec errors.
        raise BakingError(f"the SVG cannot be parsed: {exc}") from None
    if scanner.root_tag != _SVG_ROOT:
        raise BakingError(
            f"the XML root element is {scanner.root_tag!r}, not an SVG <svg> element "
            f"in the {SVG_NAMESPACE} namespace"
        )
    return scanner


def _element_text(element: _Element) -> str:
    return element.verify if element.verify is not None else "".join(element.text)


def unbake_svg(image: bytes) -> BakedPayload | None:
    """Read the credential baked into an SVG.

    OB 3.0 (``credential`` in ``https://purl.imsglobal.org/ob/v3p0``) wins over OB 2.0
    (``assertion`` in ``http://openbadges.org``). The ``verify`` attribute is used when
    present, otherwise the element's text content, stripped.

    :param image: the SVG bytes.
    :returns: the baked payload, or ``None`` when the SVG carries no badge.
    :raises BakingError: when the SVG is invalid or unsafe, a badge element appears more than
        once, or it holds something that is not a credential.
    """
    scanner = _scan(image)
    if len(scanner.ob3) > 1:
        raise BakingError("the SVG has more than one openbadges:credential element")
    if scanner.ob3:
        return _ob3_payload(_element_text(scanner.ob3[0]), "svg")
    if len(scanner.ob2) > 1:
        raise BakingError("the SVG has more than one openbadges:assertion element")
    if scanner.ob2:
        return _ob2_payload(_element_text(scanner.ob2[0]), "svg")
    return None


def _json_for_cdata(text: str) -> str:
    """Make JSON text safe for one CDATA section without changing the JSON value.

    ``>`` and the XML-forbidden U+FFFE/U+FFFF can only occur inside JSON strings (the text
    was parsed as JSON already), where ``\\u`` escapes denote the same characters. Escaping
    the ``>`` of ``]]>`` keeps a single CDATA block, as the spec asks.
    """
    return (
        text.replace("]]>", "]]\\u003e").replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")
    )


def _require_utf8(image: bytes) -> None:
    declared = _ENCODING_DECL.match(image)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise BakingError(
            f"only UTF-8 SVG can be baked; this one declares {declared.group(1).decode()!r}"
        )


def bake_svg(image: bytes, payload: str) -> bytes:
    """Bake a credential into an SVG as an ``openbadges:credential`` element.

    The element goes directly after the ``<svg>`` start tag: a JWS in its ``verify``
    attribute, JSON in a single CDATA block. ``xmlns:openbadges`` is added to the ``<svg>``
    start tag when absent. An existing credential element is removed, so the result has
    exactly one; all other bytes are kept as they were.

    :param image: the SVG bytes (UTF-8).
    :param payload: the signed credential as JSON text, or a compact JWS.
    :returns: the baked SVG bytes.
    :raises BakingError: when the SVG is invalid, unsafe, not UTF-8 or already holds more
        than one credential element, when the payload is neither JSON nor a compact JWS, or
        when the result would exceed the size limit.
    """
    kind, text = _prepare_payload(payload)
    scanner = _scan(image)
    _require_utf8(image)
    if len(scanner.ob3) > 1:
        raise BakingError("the SVG already has more than one openbadges:credential element")

    root_tag = _START_TAG.match(image, scanner.root_start)
    if root_tag is None:  # pragma: no cover -- the parser accepted this start tag
        raise BakingError("cannot locate the <svg> start tag")
    qname = root_tag.group(1)
    self_closing = root_tag.group(2) == b"/"

    bound = scanner.root_namespaces.get(_PREFIX)
    root_decl = b""
    element_decl = b""
    namespace_attr = f' xmlns:{_PREFIX}="{OB3_NAMESPACE}"'.encode()
    if bound is None:
        root_decl = namespace_attr
    elif bound != OB3_NAMESPACE:
        # The prefix already means something else (e.g. OB 2.0's namespace); rebinding it
        # on our element alone leaves the rest of the document's meaning untouched.
        element_decl = namespace_attr

    name = f"{_PREFIX}:credential".encode()
    if kind == "jws":
        element = b'<%s%s verify="%s"></%s>' % (name, element_decl, text.encode(), name)
    else:
        cdata = _json_for_cdata(text).encode("utf-8")
        element = b"<%s%s><![CDATA[%s]]></%s>" % (name, element_decl, cdata, name)

    start, tag_end = root_tag.start(), root_tag.end()
    name_end = start + 1 + len(qname)
    if self_closing:
        new_root = image[start:name_end] + root_decl + image[name_end : tag_end - 2] + b">"
        baked = image[:start] + new_root + element + b"</" + qname + b">" + image[tag_end:]
    else:
        new_root = image[start:name_end] + root_decl + image[name_end:tag_end]
        rest = image[tag_end:]
        if scanner.ob3:
            old = scanner.ob3[0]
            old_tag = _START_TAG.match(image, old.start)
            if old_tag is None:  # pragma: no cover -- the parser accepted this start tag
                raise BakingError("cannot locate the existing credential element")
            if old_tag.group(2) == b"/":
                old_end = old_tag.end()
            else:
                end_tag = _END_TAG.match(image, old.end)
                if end_tag is None:  # pragma: no cover -- the parser accepted this end tag
                    raise BakingError("cannot locate the existing credential's end tag")
                old_end = end_tag.end()
            rest = image[tag_end : old.start] + image[old_end:]
        baked = image[:start] + new_root + element + rest
    _check_size(baked, "the baked image")
    return baked
