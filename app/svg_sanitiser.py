"""An allow-list SVG sanitiser for badge images and logos: the upload is parsed (no DTDs, no
entities), only known SVG elements and attributes whose values can neither run a script nor
load anything are kept, and a new document is written from what was kept.

The input bytes are never passed through: the output is serialised from parse events, so
nothing the parser saw but the allow-list did not name (comments, processing instructions,
CDATA tricks, foreign namespaces, unknown attributes) can reach it. References may only point
inside the document (``#id``, ``url(#id)``); the one exception is a raster picture embedded as
a ``data:image/png|jpeg|gif|webp;base64`` URL in ``<image>``/``<feImage>``, which editors write
for photos in logos and which a browser only ever decodes as pixels.

Pure: no Flask, no database, so the data migration can use it as well as the upload service.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser


def _names(text: str) -> frozenset[str]:
    """A set of names written as one string (long allow-lists read better that way)."""
    return frozenset(text.split())


VERSION = "1"
"""Changes whenever the rules change what is kept, so caches keyed on it are invalidated."""

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_HTML_LIKE_NS = {"http://www.w3.org/1999/xhtml", "http://www.w3.org/1998/Math/MathML"}

# SVG 1.1 / SVG 2 elements that only draw. Everything else is dropped with its content.
_ELEMENTS = _names(
    """svg g defs symbol use image switch title desc path rect circle ellipse line polyline
    polygon text tspan textPath a linearGradient radialGradient stop pattern clipPath mask marker
    filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB
    feFuncG feFuncR feGaussianBlur feImage feMerge feMergeNode feMorphology feOffset fePointLight
    feSpecularLighting feSpotLight feTile feTurbulence animate animateMotion animateTransform set
    mpath style"""
)
# Elements whose text is drawn or read out; elsewhere only whitespace between tags is kept.
_TEXT_ELEMENTS = frozenset({"text", "tspan", "textPath", "title", "desc", "a"})
_ANIMATIONS = frozenset({"animate", "animateMotion", "animateTransform", "set"})
# Elements that run scripts, embed documents or load resources: named when refused.
_ACTIVE_ELEMENTS = _names(
    """script foreignobject iframe frame frameset embed object applet audio video canvas
    handler listener font-face-uri cursor tref animation prefetch color-profile html body
    base link meta"""
)
# Presentation attributes, which are also the properties allowed in style="" and <style>.
_PRESENTATION = _names(
    """alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
    color-interpolation-filters color-rendering direction display dominant-baseline
    enable-background fill fill-opacity fill-rule filter flood-color flood-opacity font
    font-family font-size font-size-adjust font-stretch font-style font-variant font-weight
    glyph-orientation-horizontal glyph-orientation-vertical image-rendering isolation kerning
    letter-spacing lighting-color marker marker-end marker-mid marker-start mask mask-type
    mix-blend-mode opacity overflow paint-order pointer-events shape-rendering stop-color
    stop-opacity stroke stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin
    stroke-miterlimit stroke-opacity stroke-width text-anchor text-decoration text-orientation
    text-rendering transform-origin transform-box unicode-bidi vector-effect visibility
    white-space word-spacing writing-mode"""
)
_GEOMETRY = _names(
    """x y x1 y1 x2 y2 cx cy r rx ry fx fy fr width height d points pathLength transform
    offset dx dy rotate textLength startOffset stdDeviation viewBox"""
)
_ATTRIBUTES = (
    _PRESENTATION
    | _GEOMETRY
    | _names(
        """id class style lang role version baseProfile preserveAspectRatio lengthAdjust method
        spacing side gradientUnits gradientTransform spreadMethod patternUnits
        patternContentUnits patternTransform clipPathUnits maskUnits maskContentUnits
        markerUnits markerWidth markerHeight refX refY orient filterUnits primitiveUnits in in2
        result type values tableValues slope intercept amplitude exponent mode operator k1 k2
        k3 k4 kernelMatrix order divisor bias targetX targetY edgeMode kernelUnitLength
        preserveAlpha surfaceScale diffuseConstant specularConstant specularExponent azimuth
        elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle scale xChannelSelector
        yChannelSelector radius baseFrequency numOctaves seed stitchTiles attributeName
        attributeType begin dur end min max restart repeatCount repeatDur calcMode keyTimes
        keySplines from to by additive accumulate keyPoints path origin systemLanguage
        requiredFeatures"""
    )
)
# What an animation may change: drawing properties only, never a link, a style sheet, a class
# or an event handler (SMIL can set any attribute, which is how a shape becomes a script link).
_ANIMATABLE = _PRESENTATION | _GEOMETRY | frozenset({"gradientTransform", "patternTransform"})
_CSS_PROPERTIES = _PRESENTATION | frozenset(
    {"transform", "line-height", "x", "y", "cx", "cy", "r", "rx", "ry", "width", "height"}
)
# Where a reference may be an embedded raster picture rather than a local #id.
_RASTER_HREF_ELEMENTS = frozenset({"image", "feImage"})
_XML_DECLARATION = re.compile(r"\A\ufeff?<\?xml\s")

_INVISIBLE = re.compile(
    "[\\s\\x00-\\x1f\\x7f-\\x9f\\u00a0\\u1680\\u180e\\u2000-\\u200f\\u2028-\\u202f"
    "\\u205f\\u3000\\ufeff]"
)
_SCRIPT_SCHEME = re.compile(r"(?:java|vb|live)script:|mocha:")
_LOCAL_FRAGMENT = re.compile(r"#[A-Za-z_][\w.-]*")
_RASTER_DATA_URL = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
_LOCAL_URL = re.compile(r"""url\(\s*(['"]?)#[A-Za-z_][\w.-]*\1\s*\)""", re.IGNORECASE)
_SAFE_CSS_VALUE = re.compile(r"[\w\s#%.,+\-/*()'\"]*")
_CSS_FUNCTION = re.compile(r"([A-Za-z-]+)\s*\(")
_CSS_FUNCTIONS = _names(
    """rgb rgba hsl hsla url rect matrix translate translatex translatey scale scalex scaley
    rotate skewx skewy calc blur brightness contrast drop-shadow grayscale hue-rotate invert
    opacity saturate sepia"""
)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9A-Fa-f]{1,6})\s?|(.))", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_DECLARATION = re.compile(r"\s*([A-Za-z-]+)\s*:(.*)", re.DOTALL)
_CSS_IMPORTANT = re.compile(r"!\s*important\s*$", re.IGNORECASE)
_CSS_RULE = re.compile(r"([^{}@;]+)\{([^{}]*)\}")
_CSS_SELECTOR = re.compile(r"[\w\s.#*,>+~-]+")
_CSS_DANGER = ("@import", "expression(", "behavior", "-moz-binding", "image-set(", "image(")
_STANDARD_DOCTYPE = re.compile(
    r"\A(\ufeff?(?:\s|<\?.*?\?>|<!--.*?-->)*)"
    r"<!DOCTYPE\s+svg\s+PUBLIC\s+(['\"])-//W3C//DTD SVG [^'\"<>\[\]]*\2\s+"
    r"(['\"])http://www\.w3\.org/[^'\"<>\[\]]*\3\s*>",
    re.DOTALL,
)
_MAX_SIDE = 2**31 - 1
_LENGTH = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(px)?\s*$")

# The sentences an uploader sees (the upload form shows them under the file field).
SCRIPT_ELEMENT = "The SVG contains a <{}> element, which is not allowed in a badge."
HTML_CONTENT = "The SVG contains HTML content (<{}>), which is not allowed in a badge."
EVENT_HANDLER = "The SVG contains a script event handler, which is not allowed."
OUTSIDE_LINK = (
    "The SVG links to something outside itself (a web address, a script or another "
    "document), which is not allowed."
)
SCRIPT_ADDRESS = "The SVG contains a script address (javascript:), which is not allowed."
OUTSIDE_STYLE = (
    "The SVG's styles load something from outside or run a script, which is not allowed."
)
ANIMATED_LINK = (
    'The SVG animates its "{}" attribute, which could turn a shape into a script link; '
    "animating links, styles and event handlers is not allowed."
)


class SvgRejected(ValueError):
    """The file cannot be read as an SVG at all; the message says why, for the uploader."""


@dataclass(frozen=True)
class CleanSvg:
    """A sanitised SVG: the new document, its size, and what active content was removed."""

    data: bytes
    width: int
    height: int
    removed: tuple[str, ...]
    """One sentence per kind of script-capable or external content that was dropped (empty
    when the drawing only lost harmless things such as editor metadata)."""


@dataclass
class _Frame:
    """One open element: whether it is written out, and how its text is handled."""

    kept: bool
    name: str = ""
    text: bool = False
    style: bool = False
    pending: bool = False  # the start tag is written but not yet closed with '>'
    css: list[str] = field(default_factory=list)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return (
        _escape_text(value)
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
    )


def _css_unescape(value: str) -> str:
    """The text with CSS escapes (``\\75 rl(`` is ``url(``) decoded, for checking only."""
    return _CSS_ESCAPE.sub(
        lambda m: chr(min(int(m.group(1), 16), 0x10FFFF) or 0xFFFD) if m.group(1) else m.group(2),
        value,
    )


def _squeeze(value: str) -> str:
    """The value as a URL parser would see it: lower case, without whitespace or controls."""
    return _INVISIBLE.sub("", value).lower()


def _only_local_urls(squeezed: str) -> bool:
    return "url(" not in _LOCAL_URL.sub("", squeezed)


def _clean_css_value(value: str) -> str | None:
    """A CSS value made only of names, numbers, colours, transforms and local ``url(#id)``."""
    value = value.strip()
    if not value or not _SAFE_CSS_VALUE.fullmatch(value):
        return None  # no ':' (so no scheme), no '\\' escapes, no '@', ';', '<', braces
    if value.count("'") % 2 or value.count('"') % 2:
        return None
    if any(name.lower() not in _CSS_FUNCTIONS for name in _CSS_FUNCTION.findall(value)):
        return None
    if not _only_local_urls(_squeeze(value)):
        return None
    return value


def _css_is_dangerous(css: str) -> bool:
    squeezed = _squeeze(_css_unescape(css))
    return (
        any(marker in squeezed for marker in _CSS_DANGER)
        or _SCRIPT_SCHEME.search(squeezed) is not None
        or not _only_local_urls(squeezed)
    )


def _clean_declarations(css: str) -> str:
    """Keep the allowed ``property: value`` pairs of a declaration list, rewritten."""
    kept = []
    for declaration in _CSS_COMMENT.sub("", css).split(";"):
        match = _CSS_DECLARATION.fullmatch(declaration)
        if match is None:
            continue
        name, value = match.group(1).lower(), match.group(2)
        important = _CSS_IMPORTANT.search(value)
        if important:
            value = value[: important.start()]
        if name not in _CSS_PROPERTIES:
            continue
        clean = _clean_css_value(value)
        if clean is not None:
            kept.append(f"{name}:{clean}{' !important' if important else ''}")
    return ";".join(kept)


def _skip_block(css: str, pos: int) -> int:
    """The position after the at-rule or broken rule starting at ``pos`` (braces balanced)."""
    depth = 0
    while pos < len(css):
        char = css[pos]
        pos += 1
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth <= 0:
                return pos
        elif char == ";" and depth == 0:
            return pos
    return pos


def _clean_sheet(css: str) -> str:
    """Keep the plain ``selector { declarations }`` rules of a style sheet, rewritten; at-rules
    (``@import``, ``@font-face``, ``@media``) and anything unreadable are dropped."""
    css = _CSS_COMMENT.sub("", css).replace("<!--", " ").replace("-->", " ")
    rules = []
    pos = 0
    while pos < len(css):
        if css[pos].isspace():
            pos += 1
            continue
        rule = _CSS_RULE.match(css, pos)
        if css[pos] == "@" or rule is None:
            pos = _skip_block(css, pos)
            continue
        selector = " ".join(rule.group(1).split())
        declarations = _clean_declarations(rule.group(2))
        if declarations and _CSS_SELECTOR.fullmatch(selector):
            rules.append(f"{selector}{{{declarations}}}")
        pos = rule.end()
    return "\n".join(rules)


class _Writer:
    """Parser target that writes the kept elements as they stream in (no tree, no recursion)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.frames: list[_Frame] = []
        self.removed: dict[str, None] = {}  # an ordered set of sentences
        self.root: dict[str, str] | None = None
        self.uses_xlink = False
        self._xlink_slot = -1

    def _remove(self, sentence: str) -> None:
        self.removed.setdefault(sentence, None)

    def _close_pending(self) -> None:
        if self.frames and self.frames[-1].pending:
            self.parts.append(">")
            self.frames[-1].pending = False

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if self.root is None:
            if (namespace, local) != (SVG_NS, "svg"):
                raise SvgRejected("The file is XML but not an SVG image.")
        elif not self.frames[-1].kept or self.frames[-1].style:
            self._drop(attrib)
            return
        if not self._element_allowed(namespace, local, attrib):
            self._drop(attrib)
            return
        attributes = self._attributes(local, attrib)
        if self.root is None:
            self.root = dict(attributes)
            self.parts.append(f'<svg xmlns="{SVG_NS}"')
            self.parts.append("")  # filled with xmlns:xlink at the end if it is needed
            self._xlink_slot = len(self.parts) - 1
        elif local == "style":
            # Written whole at its end, once the style sheet has been cleaned.
            self.frames.append(_Frame(kept=True, name=local, style=True))
            return
        else:
            self._close_pending()
            self.parts.append(f"<{local}")
        for name, value in attributes:
            self.parts.append(f' {name}="{_escape_attribute(value)}"')
        self.frames.append(
            _Frame(kept=True, name=local, text=local in _TEXT_ELEMENTS, pending=True)
        )

    def _drop(self, attrib: Mapping[str, str]) -> None:
        """Leave an element out (with its content), still naming any script it carried: the
        uploader should hear about an ``onerror`` even on an element that would never run."""
        for tag, value in attrib.items():
            if tag.rpartition("}")[2].lower().startswith("on"):
                self._remove(EVENT_HANDLER)
            elif _SCRIPT_SCHEME.search(_squeeze(value)):
                self._remove(SCRIPT_ADDRESS)
        self.frames.append(_Frame(kept=False))

    def _element_allowed(self, namespace: str, local: str, attrib: Mapping[str, str]) -> bool:
        if namespace in _HTML_LIKE_NS:
            self._remove(HTML_CONTENT.format(local))
            return False
        if local.lower() in _ACTIVE_ELEMENTS:
            self._remove(SCRIPT_ELEMENT.format(local))
            return False
        if namespace != SVG_NS or local not in _ELEMENTS:
            return False  # editor metadata and the like: harmless, dropped quietly
        if local in _ANIMATIONS and "attributeName" in attrib:
            target = attrib["attributeName"].strip()
            if target not in _ANIMATABLE:
                plain = target.rpartition(":")[2].lower()
                if plain in ("href", "style", "class") or plain.startswith("on"):
                    self._remove(ANIMATED_LINK.format(target))
                return False
        return True

    def _attributes(self, element: str, attrib: Mapping[str, str]) -> list[tuple[str, str]]:
        kept = []
        for tag, value in attrib.items():
            namespace, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
            if name.lower().startswith("on"):
                self._remove(EVENT_HANDLER)
                continue
            if name == "href" and namespace in ("", XLINK_NS):
                href = self._href(element, value)
                if href is not None:
                    kept.append(("xlink:href" if namespace else "href", href))
                    self.uses_xlink = self.uses_xlink or bool(namespace)
                continue
            if namespace == XML_NS and name in ("lang", "space"):
                qualified = f"xml:{name}"
            elif namespace or not (name in _ATTRIBUTES or name.startswith("aria-")):
                continue
            else:
                qualified = name
            clean = self._value(name, value)
            if clean is not None:
                kept.append((qualified, clean))
        return kept

    def _href(self, element: str, value: str) -> str | None:
        href = value.strip()
        if not href:
            return None
        if _LOCAL_FRAGMENT.fullmatch(href):
            return href
        raster = _INVISIBLE.sub("", href)
        if element in _RASTER_HREF_ELEMENTS and _RASTER_DATA_URL.fullmatch(raster):
            return raster
        self._remove(OUTSIDE_LINK)
        return None

    def _value(self, name: str, value: str) -> str | None:
        squeezed = _squeeze(value)
        if _SCRIPT_SCHEME.search(squeezed):
            self._remove(SCRIPT_ADDRESS)
            return None
        if name == "style":
            if _css_is_dangerous(value):
                self._remove(OUTSIDE_STYLE)
            return _clean_declarations(value) or None
        if not _only_local_urls(_squeeze(_css_unescape(value))):
            self._remove(OUTSIDE_LINK)
            return None
        if "\\" in value or "data:" in squeezed or "expression(" in squeezed:
            return None  # CSS escapes and data: have no use outside href and could hide a URL
        if name in _PRESENTATION:
            return _clean_css_value(value)
        return value

    def pi(self, target: str, text: str) -> None:
        """Processing instructions are never written; a style sheet link is named."""
        if target.lower() == "xml-stylesheet":
            self._remove(OUTSIDE_STYLE)

    def data(self, text: str) -> None:
        if not self.frames or not self.frames[-1].kept:
            return
        frame = self.frames[-1]
        if frame.style:
            frame.css.append(text)
        elif frame.text or text.isspace():
            self._close_pending()
            self.parts.append(_escape_text(text))

    def end(self, tag: str) -> None:
        frame = self.frames.pop()
        if not frame.kept:
            return
        if frame.style:
            css = "".join(frame.css)
            if _css_is_dangerous(css):
                self._remove(OUTSIDE_STYLE)
            sheet = _clean_sheet(css)
            if sheet:
                self._close_pending()
                self.parts.append(f"<style>{_escape_text(sheet)}</style>")
        elif frame.pending:
            self.parts.append("/>")
        else:
            self.parts.append(f"</{frame.name}>")

    def close(self) -> str:
        if self.uses_xlink and self._xlink_slot >= 0:
            self.parts[self._xlink_slot] = f' xmlns:xlink="{XLINK_NS}"'
        return "".join(self.parts)


def _length(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    return float(match.group(1)) if match else None


def _size(root: Mapping[str, str]) -> tuple[int, int]:
    """The drawing's size from ``width``/``height``, else its ``viewBox``, else 512 x 512."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        with contextlib.suppress(ValueError):
            width, height = float(box[2]), float(box[3])
    # Clamped so that an absurd declared size cannot overflow the database's integer column.
    return min(int(width or 512), _MAX_SIDE), min(int(height or 512), _MAX_SIDE)


def sanitise(data: bytes) -> CleanSvg:
    """Parse an uploaded SVG and write a new one holding only its safe drawing.

    :param data: the uploaded bytes (UTF-8; a standard W3C SVG DOCTYPE is allowed and dropped,
        any other DOCTYPE, DTD or entity is refused).
    :returns: the new document and the sentences naming any active content that was removed.
    :raises SvgRejected: when the bytes are not UTF-8, not well-formed XML, declare a DTD or
        entities, or are not an SVG document.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SvgRejected("The SVG must be UTF-8 text.") from None
    # The W3C DOCTYPE that editors write only names a DTD, which is never loaded; any other
    # DOCTYPE (an internal subset can declare entities) stays and is refused by the parser.
    text = _STANDARD_DOCTYPE.sub(r"\1", text, count=1)
    writer = _Writer()
    parser = DefusedXMLParser(
        target=writer, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(text)
        body = parser.close()
    except DefusedXmlException:
        raise SvgRejected("The SVG declares a DTD or entities, which are not allowed.") from None
    except ParseError as exc:
        raise SvgRejected(f"The SVG is not well-formed XML ({exc}).") from None
    if not isinstance(body, str) or writer.root is None:  # pragma: no cover -- parser checked
        raise SvgRejected("The file is XML but not an SVG image.")
    # The XML declaration is optional for UTF-8; it is written back only when the upload had
    # one, so an upload that is already clean comes out byte for byte the same.
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if _XML_DECLARATION.match(text) else ""
    width, height = _size(writer.root)
    return CleanSvg((head + body).encode("utf-8"), width, height, tuple(writer.removed))
