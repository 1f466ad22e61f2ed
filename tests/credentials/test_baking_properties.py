"""Property tests for baking: round trips over arbitrary payloads and images, and fuzzing."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from credentials.baking import (
    BakedPayload,
    bake,
    bake_png,
    bake_svg,
    unbake,
    unbake_png,
    unbake_svg,
)
from credentials.errors import BakingError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2">\n'
    b'  <rect width="2" height="2" fill="#123456"/>\n'
    b"</svg>\n"
)

# Strings that hit the escaping rules: CDATA terminators, XML-forbidden noncharacters,
# newlines, non-ASCII, JSON escapes.
_TRICKY = st.sampled_from(
    ["]]>", "]]", "]]]]>>", "<![CDATA[", "\ufffe", "\uffff", "\n", "\r\n", "é", "😀", "\\", '"']
)
_STRINGS = st.lists(st.one_of(st.text(max_size=12), _TRICKY), max_size=4).map("".join)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _STRINGS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_STRINGS, children, max_size=4)
    ),
    max_leaves=12,
)
_JSON_OBJECTS = st.dictionaries(_STRINGS, _JSON_VALUES, max_size=5)


@st.composite
def json_payloads(draw: st.DrawFn) -> str:
    value: dict[str, Any] = draw(_JSON_OBJECTS)
    indent = draw(st.sampled_from([None, 0, 2]))
    return json.dumps(value, ensure_ascii=draw(st.booleans()), indent=indent)


_B64URL = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=40,
)
jws_payloads = st.tuples(_B64URL, _B64URL, _B64URL).map(".".join)


_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]


@st.composite
def pngs(draw: st.DrawFn) -> bytes:
    """A small PNG written by Pillow, sometimes with text chunks of its own."""
    mode = draw(st.sampled_from(_MODES))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    length = len(Image.new(mode, size).tobytes())
    image = Image.frombytes(mode, size, draw(st.binary(min_size=length, max_size=length)))
    info = PngImagePlugin.PngInfo()
    for key, value, compressed in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["Title", "Comment", "Software"]),
                st.text(max_size=20),
                st.booleans(),
            ),
            max_size=2,
        )
    ):
        info.add_itxt(key, value, zip=compressed)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=draw(st.integers(0, 9)))
    return out.getvalue()


def chunks(png: bytes) -> list[bytes]:
    """Raw chunk bytes, in order (an independent splitter: the tests don't trust the library)."""
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append(png[pos : pos + 12 + length])
        pos += 12 + length
    return out


def decoded(png: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def same_json_text(got: str, sent: str) -> bool:
    """Exact text, except where the SVG baker had to escape (the JSON value is still equal)."""
    if json.loads(got) != json.loads(sent):
        return False
    escaped = any(s in sent for s in ("]]>", "\ufffe", "\uffff", "\r"))
    return escaped or got == sent.strip()


@SETTINGS
@given(payload=json_payloads())
def test_png_round_trip_for_any_json(payload: str) -> None:
    baked = bake_png(PNG_BASE, payload)
    assert unbake_png(baked) == BakedPayload("3.0", "json", payload.strip(), "png")


@SETTINGS
@given(payload=json_payloads())
def test_svg_round_trip_for_any_json(payload: str) -> None:
    baked = bake_svg(SVG, payload)
    result = unbake_svg(baked)
    assert result is not None
    assert (result.ob_version, result.kind, result.image_format) == ("3.0", "json", "svg")
    assert same_json_text(result.text, payload)
    assert baked.count(b"]]>") == 1  # one CDATA block, closed once


@SETTINGS
@given(payload=jws_payloads)
def test_round_trip_for_any_jws(payload: str) -> None:
    for image in (PNG_BASE, SVG):
        result = unbake(bake(image, payload))
        assert result is not None
        assert (result.kind, result.text) == ("jws", payload)


@SETTINGS
@given(png=pngs(), payload=st.one_of(jws_payloads, json_payloads()))
def test_any_png_bakes_without_touching_its_chunks(png: bytes, payload: str) -> None:
    baked = bake_png(png, payload)

    result = unbake_png(baked)
    assert result is not None
    assert result.text == payload.strip()
    original, new = chunks(png), chunks(baked)
    # One chunk added just before IEND; every original chunk identical and in order.
    assert new[:-2] == original[:-1]
    assert new[-1] == original[-1]
    assert new[-2][4:8] == b"iTXt"
    assert decoded(baked) == decoded(png)
    # Re-baking is idempotent: replace, never append.
    assert bake_png(baked, payload) == baked


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """Flip, delete, insert or truncate a few bytes of ``data``."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        at = draw(st.integers(0, max(len(buf) - 1, 0)))
        if op == "flip" and buf:
            buf[at] ^= draw(st.integers(1, 255))
        elif op == "delete" and buf:
            del buf[at : at + draw(st.integers(1, 16))]
        elif op == "insert":
            buf[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8),
                    st.sampled_from(
                        [b"<", b"&", b"]]>", b"<!DOCTYPE svg>", b"\0", b"\xff", b"IEND", b'"']
                    ),
                )
            )
        else:
            del buf[at:]
    return bytes(buf)


def only_baking_errors(data: bytes) -> None:
    """Unbaking (and baking) may succeed or raise BakingError, never anything else."""
    for call in (unbake, unbake_png, unbake_svg):
        try:
            result = call(data)
        except BakingError:
            continue
        assert result is None or isinstance(result, BakedPayload)
    with contextlib.suppress(BakingError):
        bake(data, '{"type": ["OpenBadgeCredential"]}')


def _png_base() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(out, format="PNG")
    return bake_png(out.getvalue(), "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")


PNG_BASE = _png_base()
SVG_BAKED = bake_svg(SVG, json.dumps({"type": ["OpenBadgeCredential"], "x": "]]> é"}))


@SETTINGS
@given(data=mutations(PNG_BASE))
def test_fuzz_mutated_png(data: bytes) -> None:
    only_baking_errors(data)


@SETTINGS
@given(data=mutations(SVG_BAKED))
def test_fuzz_mutated_svg(data: bytes) -> None:
    only_baking_errors(data)


@SETTINGS
@given(
    body=st.binary(max_size=200), keyword=st.sampled_from([b"openbadgecredential", b"openbadges"])
)
def test_fuzz_badge_chunk_contents_with_valid_crc(body: bytes, keyword: bytes) -> None:
    # A correct CRC gets the chunk past the integrity check, so the iTXt parser sees it.
    for chunk_type in (b"iTXt", b"tEXt", b"zTXt"):
        data = keyword + b"\0" + body
        chunk = (
            struct.pack(">I", len(data))
            + chunk_type
            + data
            + struct.pack(">I", zlib.crc32(chunk_type + data))
        )
        plain = PNG_BASE.replace(chunks(PNG_BASE)[-2], b"")
        only_baking_errors(plain[:-12] + chunk + plain[-12:])


@SETTINGS
@given(data=st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    only_baking_errors(data)
    only_baking_errors(b"\x89PNG\r\n\x1a\n" + data)


_XMLISH = st.lists(
    st.sampled_from(
        [
            "<svg xmlns='http://www.w3.org/2000/svg'>",
            "</svg>",
            "<openbadges:credential xmlns:openbadges='https://purl.imsglobal.org/ob/v3p0'>",
            "</openbadges:credential>",
            "<a:assertion xmlns:a='http://openbadges.org' verify='https://x.test/1'/>",
            "<![CDATA[",
            "]]>",
            '{"a": 1}',
            "x.y.z",
            "<!DOCTYPE svg>",
            "<!ENTITY e 'x'>",
            "&e;",
            "&amp;",
            "<?xml version='1.0'?>",
            "<!--",
            "-->",
            " ",
            "\n",
            "/>",
            "<g>",
            "</g>",
        ]
    ),
    max_size=12,
).map("".join)


@SETTINGS
@given(text=_XMLISH)
def test_fuzz_xml_shaped_text(text: str) -> None:
    only_baking_errors(text.encode())
