"""The allow-list SVG sanitiser: every public SVG XSS vector in tests/fixtures/svg-xss comes out
refused or inert (parses, only allowed elements and attributes, no script-capable value, no
external reference), and real badge drawings keep every element that draws."""

from __future__ import annotations

import base64
import json
import re
import zlib
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree as SafeElementTree

from app import svg_sanitiser
from app.svg_sanitiser import SvgRejected, sanitise

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "svg-xss"
BENIGN = FIXTURES / "svg-benign"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
XML = "{http://www.w3.org/XML/1998/namespace}"
SVG_OPEN = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{}</svg>'
)
# What a URL parser ignores (whitespace, controls, zero-width characters), removed before
# looking for a scheme, exactly as a browser would when it follows the link.
INVISIBLE = re.compile("[\\s\\x00-\\x1f\\x7f-\\x9f\\u00a0\\u200b-\\u200f\\u2028-\\u202f\\ufeff]")
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:text/html", "data:image/svg")
RASTER = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*")
NEVER = {"script", "foreignObject", "iframe", "embed", "object", "handler", "listener"}


def squeeze(value: str) -> str:
    return INVISIBLE.sub("", value).lower()


def local_urls_only(value: str) -> bool:
    remaining = re.sub(r"""url\((['"]?)#[\w.-]+\1\)""", "", squeeze(value).replace("\\", ""))
    return "url(" not in remaining


def assert_inert(output: bytes) -> None:
    """The output parses and carries nothing that can run a script or load anything."""
    text = output.decode("utf-8")
    for construct in ("<!DOCTYPE", "<!ENTITY", "<?xml-stylesheet", "<![CDATA[", "<!--"):
        assert construct not in text
    root = SafeElementTree.fromstring(output, forbid_dtd=True, forbid_entities=True)
    assert root.tag == f"{SVG}svg"
    elements: list[Element] = list(root.iter())
    for element in elements:
        assert isinstance(element.tag, str) and element.tag.startswith(SVG), element.tag
        name = element.tag[len(SVG) :]
        assert name in svg_sanitiser._ELEMENTS and name not in NEVER, name
        for attribute, value in element.attrib.items():
            local = attribute.rpartition("}")[2]
            assert attribute.startswith((XLINK, XML)) or "}" not in attribute, attribute
            allowed = svg_sanitiser._ATTRIBUTES | {"href", "lang", "space"}
            assert local in allowed or local.startswith("aria-"), attribute
            assert not local.lower().startswith("on"), attribute
            squeezed = squeeze(value)
            assert not any(scheme in squeezed for scheme in SCRIPT_SCHEMES), (attribute, value)
            assert local_urls_only(value), (attribute, value)
            if local == "href":
                assert value.startswith("#") or (
                    name in ("image", "feImage") and RASTER.fullmatch(value)
                ), (name, value)
            elif "data:" in squeezed:
                raise AssertionError(f"data: URL in {attribute}={value!r}")
            if local == "attributeName":
                target = value.rpartition(":")[2].lower()
                assert target not in ("href", "style", "class") and not target.startswith("on")
        if name == "style":
            css = squeeze(element.text or "").replace("\\", "")
            assert "@" not in css and "expression" not in css and local_urls_only(css)
            assert not any(scheme in css for scheme in SCRIPT_SCHEMES)


# HTML parsing lower-cases names; SVG's are case-sensitive (feGaussianBlur, attributeName).
CAMEL_CASE = {
    name.lower(): name
    for name in svg_sanitiser._ELEMENTS | svg_sanitiser._ATTRIBUTES | {"foreignObject"}
}


class Xmlifier(HTMLParser):
    """Rewrite HTML-style markup as well-formed XML (quoted attributes, every element closed),
    the way a careless converter would, keeping every tag and attribute it can name."""

    NAME = re.compile(r"(?:xlink:|xml:)?[A-Za-z_][\w.-]*")
    VOID = frozenset(
        {"img", "br", "hr", "input", "meta", "link", "base", "embed", "source", "param"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_startendtag(tag, attrs)
        if tag not in self.VOID and self.out[-1].endswith("/>"):
            self.out[-1] = self.out[-1][:-2] + ">"
            self.open.append(self.out[-1][1:].split(" ", 1)[0].rstrip(">"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.NAME.fullmatch(tag):
            self.out.append("<g/>")
            return
        written = [CAMEL_CASE.get(tag, tag)]
        seen = set()
        for name, value in attrs:
            name = CAMEL_CASE.get(name, name)
            if self.NAME.fullmatch(name) and name not in seen and name != "xmlns":
                seen.add(name)
                written.append(f'{name}="{escape(value or "", quote=True)}"')
        self.out.append("<" + " ".join(written) + "/>")

    def handle_endtag(self, tag: str) -> None:
        tag = CAMEL_CASE.get(tag, tag)
        if tag in self.open:
            while self.open:
                name = self.open.pop()
                self.out.append(f"</{name}>")
                if name == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))

    def xml(self) -> str:
        return "".join(self.out) + "".join(f"</{name}>" for name in reversed(self.open))


def xmlified(payload: str) -> list[str]:
    converter = Xmlifier()
    try:
        converter.feed(payload)
        converter.close()
    except AssertionError:  # html.parser gives up on some broken declarations
        return []
    return [SVG_OPEN.format(converter.xml())]


def variants(payload: str) -> list[str]:
    """The vector as it is, and made into an SVG document the way a careless editor would,
    so that HTML-only vectors reach the allow-list instead of stopping at the XML parser."""
    found = [payload, *xmlified(payload)]
    namespaced = re.sub(
        r"<svg(?=[\s/>])(?![^>]*xmlns=)",
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"',
        payload,
        count=1,
        flags=re.IGNORECASE,
    )
    if namespaced != payload:
        found.append(namespaced)
    found.append(SVG_OPEN.format(payload))
    return found


def corpus() -> list[tuple[str, str]]:
    vectors = json.loads((CORPUS / "vectors.json").read_text("utf-8"))
    cases = [
        (f"{v['id']}#{n}", text) for v in vectors for n, text in enumerate(variants(v["payload"]))
    ]
    for path in sorted((CORPUS / "payloadsallthethings").glob("*.svg")):
        cases.append((f"patt-file-{path.stem}", path.read_text("utf-8")))
    return cases


CORPUS_CASES = corpus()


def outcome(text: str) -> svg_sanitiser.CleanSvg | None:
    try:
        return sanitise(text.encode("utf-8"))
    except SvgRejected:
        return None  # refused outright: nothing is stored


@pytest.mark.parametrize(("case", "text"), CORPUS_CASES, ids=[c for c, _ in CORPUS_CASES])
def test_every_public_vector_is_refused_or_inert(case: str, text: str) -> None:
    clean = outcome(text)
    if clean is not None:
        assert_inert(clean.data)
        assert clean.data != text.encode("utf-8") or "<" not in text  # always rewritten


def test_the_corpus_really_reaches_the_allow_list() -> None:
    """Not vacuous: most vectors parse and are rewritten, and most of those lose something
    dangerous (the rest were only dangerous as HTML)."""
    cleaned = [c for c in (outcome(text) for _, text in CORPUS_CASES) if c is not None]
    assert len(CORPUS_CASES) > 500
    assert len(cleaned) > 200
    assert sum(1 for c in cleaned if c.removed) > 120


@pytest.mark.parametrize(
    ("markup", "sentence"),
    [
        ('<a><animate attributeName="href" values="javascript:alert(1)"/><rect/></a>', "animates"),
        ('<a><set attributeName="xlink:href" to="javascript:alert(1)"/><rect/></a>', "animates"),
        ('<a><animate attributeName="HREF" from="javascript:alert(1)"/></a>', "animates"),
        ('<rect><set attributeName="onmouseover" to="alert(1)"/></rect>', "animates"),
        (
            '<rect><animate attributeName="fill" values="url(https://evil.example/x#a)"/></rect>',
            "outside itself",
        ),
        ('<rect><animate attributeName="fill" to="  java\tscript:alert(1)"/></rect>', "script"),
        ('<a href="&#106;avascript:alert(1)"><rect/></a>', "outside itself"),
        ('<a xlink:href="java&#x0A;script:alert(1)"><rect/></a>', "outside itself"),
        ('<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"><rect/></a>', "outside"),
        ('<image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="/>', "outside itself"),
        ('<image href="https://tracker.example/p.png"/>', "outside itself"),
        ('<feImage href="https://tracker.example/p.png"/>', "outside itself"),
        ('<use href="https://evil.example/sprite.svg#a"/>', "outside itself"),
        ('<use href="data:image/svg+xml,&lt;svg id=&quot;a&quot;/&gt;#a"/>', "outside itself"),
        ('<rect filter="url(https://evil.example/f.svg#f)"/>', "outside itself"),
        ("<rect fill=\"url('//evil.example/p.svg#p')\"/>", "outside itself"),
        ('<rect fill="\\75 rl(https://evil.example/p#p)"/>', "outside itself"),
        ('<rect style="fill:url(https://evil.example/p#p)"/>', "styles load"),
        ('<rect style="fill:u\\rl(https://evil.example/p#p)"/>', "styles load"),
        ('<rect style="width:expression(alert(1))"/>', "styles load"),
        ("<style>@import 'https://evil.example/x.css';</style>", "styles load"),
        ("<style>@font-face{src:url(https://evil.example/f.woff)}</style>", "styles load"),
        ("<style>rect{fill:url(https://evil.example/p#p)}</style>", "styles load"),
        ('<rect onload="alert(1)"/>', "event handler"),
        ('<rect ONCLICK="alert(1)"/>', "event handler"),
        ("<script>alert(1)</script>", "<script>"),
        ("<SCRIPT>alert(1)</SCRIPT>", "<SCRIPT>"),
        (
            '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject>',
            "<foreignObject>",
        ),
        ('<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>', "HTML content"),
        (
            '<g><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(1)"/></g>',
            "HTML content",
        ),
        ('<handler type="application/ecmascript">alert(1)</handler>', "<handler>"),
    ],
)
def test_active_content_is_removed_and_named(markup: str, sentence: str) -> None:
    clean = sanitise(SVG_OPEN.format(markup).encode("utf-8"))
    assert_inert(clean.data)
    assert any(sentence.lower() in removed.lower() for removed in clean.removed), clean.removed
    for gone in (b"javascript", b"alert", b"evil.example", b"tracker", b"expression"):
        assert gone not in clean.data.lower()


def test_harmless_local_references_and_raster_pictures_are_kept() -> None:
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n" + zlib.compress(b"x")).decode()
    markup = (
        '<defs><linearGradient id="g"><stop offset="1" stop-color="red"/></linearGradient>'
        '<filter id="f"><feGaussianBlur stdDeviation="2"/></filter></defs>'
        '<a href="#top"><rect id="top" fill="url(#g)" filter="url( \'#f\' )"/></a>'
        f'<image width="10" height="10" xlink:href="data:image/png;base64,{pixel}"/>'
        '<use xlink:href="#top" x="20"/>'
        '<rect width="10" height="10"><animate attributeName="opacity" values="0;1" dur="1s"/>'
        '<animateTransform attributeName="transform" type="rotate" from="0" to="90" dur="2s"/>'
        "</rect>"
    )
    clean = sanitise(SVG_OPEN.format(markup).encode("utf-8"))
    assert clean.removed == ()
    assert_inert(clean.data)
    text = clean.data.decode()
    for kept in (
        'href="#top"',
        'fill="url(#g)"',
        "filter=\"url( '#f' )\"",
        f'xlink:href="data:image/png;base64,{pixel}"',
        'xlink:href="#top"',
        '<animate attributeName="opacity"',
        '<animateTransform attributeName="transform"',
    ):
        assert kept in text


def test_the_output_is_written_anew_never_the_input_passed_through() -> None:
    upload = (
        b"<?xml version='1.0'?><?xml-stylesheet href='x.css'?><!-- hi -->"
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'>"
        b"<desc><![CDATA[</desc><script>alert(1)</script>]]></desc>"
        b"<rect width='10' height='10' data-x='1' fill='#000'/></svg>"
    )
    clean = sanitise(upload)
    assert clean.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<desc>&lt;/desc&gt;&lt;script&gt;alert(1)&lt;/script&gt;</desc>"
        b'<rect width="10" height="10" fill="#000"/></svg>'
    )
    # The "script" was only text in a description; the style sheet link is named.
    assert clean.removed == (svg_sanitiser.OUTSIDE_STYLE,)


def test_deep_nesting_does_not_recurse() -> None:
    depth = 100_000
    clean = sanitise(SVG_OPEN.format("<g>" * depth + "</g>" * depth).encode())
    assert clean.data.count(b"<g") == depth


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe<svg/>", "UTF-8"),
        (b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', "DTD"),
        (
            b'<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="http://www.w3.org/2000/svg"/>',
            "DTD",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><g></svg>', "not well-formed"),
        (b"<svg><rect/></svg>", "not an SVG"),  # no SVG namespace: browsers show it as text
        (b'<html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>', "not an SVG"),
    ],
)
def test_unreadable_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SvgRejected, match=message):
        sanitise(data)


def drawing(data: bytes) -> list[tuple[str, dict[str, str]]]:
    """The SVG elements of a document (tag and attributes), in document order."""
    root = SafeElementTree.fromstring(re.sub(r"<!DOCTYPE svg PUBLIC [^>]*>", "", data.decode()))
    return [
        (e.tag[len(SVG) :], {k: v for k, v in e.attrib.items() if "}" not in k or XLINK in k})
        for e in root.iter()
        if isinstance(e.tag, str) and e.tag.startswith(SVG) and e.tag != f"{SVG}metadata"
    ]


BENIGN_FILES = [
    BENIGN / "inkscape-export.svg",
    BENIGN / "illustrator-export.svg",
    FIXTURES / "1edtech-validator" / "simple-json.svg",
    FIXTURES / "1edtech-validator" / "simple-jwt.svg",
]


@pytest.mark.parametrize("path", BENIGN_FILES, ids=[p.name for p in BENIGN_FILES])
def test_real_badge_drawings_keep_every_element_that_draws(path: Path) -> None:
    original = path.read_bytes()
    clean = sanitise(original)
    assert clean.removed == ()
    assert_inert(clean.data)
    before, after = drawing(original), drawing(clean.data)
    assert [tag for tag, _ in after] == [tag for tag, _ in before]
    for (tag, attributes), (_, kept) in zip(before, after, strict=True):
        for name in ("d", "points", "transform", "fill", "stroke", "class", "clip-path", "href"):
            assert kept.get(name) == attributes.get(name), (tag, name)
        assert kept.get(f"{XLINK}href") == attributes.get(f"{XLINK}href")
    assert clean.data.count(b"<text") == original.count(b"<text")


def test_the_illustrator_style_sheet_survives() -> None:
    clean = sanitise((BENIGN / "illustrator-export.svg").read_bytes()).data.decode()
    assert ".st0{fill:url(#SVGID_1_)}" in clean
    assert ".st2{fill:#FFFFFF;stroke:#231F20;stroke-width:4;stroke-miterlimit:10}" in clean
    assert "MENTOR" in clean


def test_the_generated_svg_badge_wrapper_is_kept_whole() -> None:
    """The SVG badge Cairn writes around a PNG achievement image passes unchanged."""
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    wrapper = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">'
        f'<image width="512" height="512" href="data:image/png;base64,{pixel}"/></svg>'
    ).encode()
    clean = sanitise(wrapper)
    assert (clean.data, clean.removed, clean.width, clean.height) == (wrapper, (), 512, 512)
