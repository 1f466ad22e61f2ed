"""Baking and unbaking credentials in PNG and SVG: 1EdTech fixtures, round trips, bad input."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Literal

import pytest
from PIL import Image

from credentials.baking import (
    MAX_IMAGE_BYTES,
    BakedPayload,
    bake,
    bake_png,
    bake_svg,
    detect_image_format,
    unbake,
    unbake_png,
    unbake_svg,
)
from credentials.errors import BakingError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VALIDATOR = FIXTURES / "1edtech-validator"
BAD = FIXTURES / "bad-images"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_NS = "https://purl.imsglobal.org/ob/v3p0"
SVG_NS = "http://www.w3.org/2000/svg"
JWS = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkaWQ6ZXhhbXBsZToxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"
JWS_2 = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkaWQ6ZXhhbXBsZTo0NTYifQ.b3RoZXItc2lnbmF0dXJl"


def _credential_json(name: str = "Teamwork Badge") -> str:
    return json.dumps(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": name,
            "description": "Zusammenarbeit — 協力 ✓",
        },
        ensure_ascii=False,
    )


# --- independent helpers (deliberately not the library's own code) -------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """Split a PNG into (type, data, raw chunk bytes), checking CRCs."""
    assert data.startswith(PNG_SIGNATURE)
    chunks = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk_type = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(chunk_type + body) == crc
        chunks.append((chunk_type, body, data[pos : pos + 12 + length]))
        pos += 12 + length
    return chunks


def make_chunk(chunk_type: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + chunk_type
        + body
        + struct.pack(">I", zlib.crc32(chunk_type + body))
    )


def itxt(keyword: bytes, text: str, flag: int = 0) -> bytes:
    payload = text.encode() if flag == 0 else zlib.compress(text.encode())
    return make_chunk(b"iTXt", keyword + b"\0" + bytes([flag, 0]) + b"\0\0" + payload)


def with_chunks_before_iend(png: bytes, *extra: bytes) -> bytes:
    assert png[-12:] == make_chunk(b"IEND", b"")
    return png[:-12] + b"".join(extra) + png[-12:]


def ob3_chunks(png: bytes) -> list[bytes]:
    return [
        body
        for chunk_type, body, _ in png_chunks(png)
        if chunk_type == b"iTXt" and body.startswith(b"openbadgecredential\0")
    ]


def pillow_png(mode: str = "RGBA", size: tuple[int, int] = (7, 5)) -> bytes:
    """A small PNG written by Pillow, with a deterministic gradient."""
    length = len(Image.new(mode, size).tobytes())
    image = Image.frombytes(mode, size, bytes((i * 37) % 256 for i in range(length)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pixels(png: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


SIMPLE_SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">\n'
    b'  <circle cx="5" cy="5" r="4" fill="#c33"/>\n'
    b"</svg>\n"
)


# --- the 1EdTech validator fixtures -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("simple-json.png", "json"),
        ("simple-jwt.png", "jws"),
        ("simple-jwt_v1.png", "jws"),
        ("simple-json.svg", "json"),
        ("simple-jwt.svg", "jws"),
        ("simple-jwt_v1.svg", "jws"),
    ],
)
def test_1edtech_fixtures_unbake(name: str, kind: Literal["json", "jws"]) -> None:
    data = (VALIDATOR / name).read_bytes()
    image_format = detect_image_format(data)
    assert image_format == name.rsplit(".", 1)[1]

    baked = unbake(data)

    assert baked is not None
    assert (baked.ob_version, baked.kind, baked.image_format) == ("3.0", kind, image_format)
    assert baked.text == baked.text.strip()
    if kind == "json":
        credential = json.loads(baked.text)
        assert "OpenBadgeCredential" in credential["type"]
        assert "proof" in credential
    else:
        parts = baked.text.split(".")
        assert len(parts) == 3
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        types = claims.get("type") or claims["vc"]["type"]  # VC 2.0 vs VC 1.1-era claims
        assert "OpenBadgeCredential" in types
    # The per-format functions agree with the dispatcher.
    direct = unbake_png(data) if image_format == "png" else unbake_svg(data)
    assert direct == baked


def test_1edtech_png_and_svg_carry_the_same_credential() -> None:
    def text(name: str) -> str:
        baked = unbake((VALIDATOR / name).read_bytes())
        assert baked is not None
        return baked.text

    assert json.loads(text("simple-json.png")) == json.loads(text("simple-json.svg"))
    assert text("simple-jwt_v1.png") == text("simple-jwt_v1.svg")


@pytest.mark.parametrize("name", ["simple-json.png", "simple-jwt.png", "simple-jwt_v1.png"])
def test_rebaking_a_1edtech_png_replaces_its_chunk(name: str) -> None:
    original = (VALIDATOR / name).read_bytes()
    payload = _credential_json()

    baked = bake_png(original, payload)

    assert unbake_png(baked) == BakedPayload("3.0", "json", payload, "png")
    assert len(ob3_chunks(baked)) == 1
    # Everything except the old badge chunk survives byte for byte, in order.
    kept = [raw for t, b, raw in png_chunks(original) if not b.startswith(b"openbadgecredential")]
    new = [raw for t, b, raw in png_chunks(baked) if not b.startswith(b"openbadgecredential")]
    assert kept == new
    assert pixels(baked) == pixels(original)


@pytest.mark.parametrize("name", ["simple-json.svg", "simple-jwt.svg", "simple-jwt_v1.svg"])
def test_rebaking_a_1edtech_svg_replaces_its_element(name: str) -> None:
    original = (VALIDATOR / name).read_bytes()

    baked = bake_svg(original, JWS)

    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")
    assert baked.count(b"<openbadges:credential") == 1
    # The DOCTYPE, declarations and drawing are untouched: only the element was swapped.
    start = original.index(b"<openbadges:credential")
    end_tag = b"</openbadges:credential>"
    end = original.index(end_tag) + len(end_tag)
    element = f'<openbadges:credential verify="{JWS}"></openbadges:credential>'.encode()
    svg_tag_end = original.index(b">", original.index(b"<svg")) + 1
    assert baked == (
        original[:svg_tag_end] + element + original[svg_tag_end:start] + original[end:]
    )


# --- PNG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [_credential_json(), JWS])
def test_png_round_trip(payload: str) -> None:
    original = pillow_png()

    baked = bake_png(original, payload)

    kind: Literal["json", "jws"] = "json" if payload.startswith("{") else "jws"
    assert unbake_png(baked) == BakedPayload("3.0", kind, payload, "png")
    assert unbake(baked) == unbake_png(baked)
    assert bake(original, payload) == baked


def test_png_bake_splices_one_exact_itxt_chunk_before_iend() -> None:
    original = pillow_png()
    payload = _credential_json()

    baked = bake_png(original, payload)

    expected_chunk = make_chunk(
        b"iTXt", b"openbadgecredential\0" + b"\0\0" + b"\0" + b"\0" + payload.encode("utf-8")
    )
    assert baked == original[:-12] + expected_chunk + original[-12:]


def test_png_bake_keeps_pixels_and_pillow_reads_the_chunk() -> None:
    original = pillow_png("RGB", (16, 9))
    payload = _credential_json()

    baked = bake_png(original, payload)

    assert pixels(baked) == pixels(original)
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.text["openbadgecredential"] == payload  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(baked)) as image:
        image.verify()


def test_png_rebake_replaces_rather_than_appends() -> None:
    first = bake_png(pillow_png(), JWS)

    second = bake_png(first, JWS_2)

    assert len(ob3_chunks(second)) == 1
    assert unbake_png(second) == BakedPayload("3.0", "jws", JWS_2, "png")
    assert bake_png(second, JWS) == first


def test_png_bake_replaces_a_compressed_chunk_without_reading_it() -> None:
    compressed = (BAD / "compressed-itxt.png").read_bytes()

    baked = bake_png(compressed, JWS)

    assert unbake_png(baked) == BakedPayload("3.0", "jws", JWS, "png")
    assert len(ob3_chunks(baked)) == 1


def test_png_bake_strips_surrounding_whitespace() -> None:
    baked = bake_png(pillow_png(), f"\n  {JWS}\n")
    assert unbake_png(baked) == BakedPayload("3.0", "jws", JWS, "png")


def test_png_without_badge_unbakes_to_none() -> None:
    assert unbake_png(pillow_png()) is None
    assert unbake(pillow_png("L")) is None


def test_png_keyword_must_match_exactly() -> None:
    # A longer keyword that merely starts with ours is somebody else's chunk.
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadgecredentialx", JWS))
    assert unbake_png(png) is None


def test_png_ob3_chunk_holding_a_url_is_refused() -> None:
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadgecredential", "https://x.test/a"))
    with pytest.raises(BakingError, match="neither JSON nor a compact JWS"):
        unbake_png(png)


def test_png_empty_ob3_chunk_is_refused() -> None:
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadgecredential", "  "))
    with pytest.raises(BakingError, match="empty"):
        unbake_png(png)


def test_png_ob3_chunk_with_invalid_utf8_is_refused() -> None:
    body = b"openbadgecredential\0\0\0\0\0{\xff}"
    png = with_chunks_before_iend(pillow_png(), make_chunk(b"iTXt", body))
    with pytest.raises(BakingError, match="UTF-8"):
        unbake_png(png)


def test_png_ob3_chunk_missing_separators_is_refused() -> None:
    png = with_chunks_before_iend(pillow_png(), make_chunk(b"iTXt", b"openbadgecredential\0\0\0en"))
    with pytest.raises(BakingError, match="malformed"):
        unbake_png(png)


# --- PNG, Open Badges 2.0 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"type": "Assertion", "id": "https://x.test/a/1"}', "json"),
        (JWS, "jws"),
        ("https://badges.example.org/assertions/1", "url"),
    ],
)
def test_png_ob2_itxt(text: str, kind: Literal["json", "jws", "url"]) -> None:
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadges", text))
    assert unbake_png(png) == BakedPayload("2.0", kind, text, "png")


def test_png_ob2_legacy_text_chunk_with_url() -> None:
    url = "https://badges.example.org/assertions/1"
    png = with_chunks_before_iend(pillow_png(), make_chunk(b"tEXt", b"openbadges\0" + url.encode()))
    assert unbake_png(png) == BakedPayload("2.0", "url", url, "png")


def test_png_ob3_wins_over_ob2_and_baking_leaves_ob2_alone() -> None:
    ob2 = make_chunk(b"tEXt", b"openbadges\0https://badges.example.org/assertions/1")
    png = with_chunks_before_iend(pillow_png(), ob2)

    baked = bake_png(png, JWS)

    assert unbake_png(baked) == BakedPayload("3.0", "jws", JWS, "png")
    assert ob2 in baked


def test_png_compressed_ob2_itxt_is_refused() -> None:
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadges", JWS, flag=1))
    with pytest.raises(BakingError, match="compressed"):
        unbake_png(png)


def test_png_ztxt_badge_is_refused() -> None:
    ztxt = make_chunk(b"zTXt", b"openbadges\0\0" + zlib.compress(b"https://x.test/a"))
    with pytest.raises(BakingError, match="compressed"):
        unbake_png(with_chunks_before_iend(pillow_png(), ztxt))


def test_png_ob2_url_that_is_not_http_is_refused() -> None:
    png = with_chunks_before_iend(pillow_png(), itxt(b"openbadges", "javascript:alert(1)"))
    with pytest.raises(BakingError, match="URL"):
        unbake_png(png)


# --- SVG ---------------------------------------------------------------------------------------


def test_svg_bake_json_exact_bytes() -> None:
    payload = _credential_json()

    baked = bake_svg(SIMPLE_SVG, payload)

    expected = SIMPLE_SVG.replace(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">',
        b'<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
        b'xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<openbadges:credential><![CDATA[" + payload.encode() + b"]]></openbadges:credential>",
    )
    assert baked == expected
    assert unbake_svg(baked) == BakedPayload("3.0", "json", payload, "svg")


def test_svg_bake_jws_uses_verify_attribute() -> None:
    baked = bake_svg(SIMPLE_SVG, JWS)

    assert f'<openbadges:credential verify="{JWS}"></openbadges:credential>'.encode() in baked
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")
    assert unbake(baked) == unbake_svg(baked)
    assert bake(SIMPLE_SVG, JWS) == baked


def test_svg_bake_does_not_duplicate_namespace_declaration() -> None:
    svg = SIMPLE_SVG.replace(b"<svg ", b'<svg xmlns:openbadges="' + OB3_NS.encode() + b'" ')

    baked = bake_svg(svg, JWS)

    assert baked.count(b"xmlns:openbadges") == 1
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_json_with_cdata_terminator_stays_in_one_cdata_block() -> None:
    payload = json.dumps({"type": ["OpenBadgeCredential"], "note": "a ]]> b ]]]]>> c"})

    baked = bake_svg(SIMPLE_SVG, payload)

    assert baked.count(b"<![CDATA[") == 1
    assert baked.count(b"]]>") == 1
    result = unbake_svg(baked)
    assert result is not None
    assert result.kind == "json"
    assert json.loads(result.text) == json.loads(payload)
    assert "\\u003e" in result.text


def test_svg_json_with_noncharacters_round_trips_as_the_same_value() -> None:
    payload = json.dumps({"type": ["OpenBadgeCredential"], "x": "\ufffe\uffff"}, ensure_ascii=False)

    result = unbake_svg(bake_svg(SIMPLE_SVG, payload))

    assert result is not None
    assert json.loads(result.text) == json.loads(payload)


def test_svg_rebake_replaces_rather_than_appends() -> None:
    first = bake_svg(SIMPLE_SVG, _credential_json())

    second = bake_svg(first, JWS_2)

    assert second.count(b"<openbadges:credential") == 1
    assert unbake_svg(second) == BakedPayload("3.0", "jws", JWS_2, "svg")
    assert bake_svg(second, JWS) == bake_svg(SIMPLE_SVG, JWS)


def test_svg_rebake_replaces_an_empty_element_form() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="' + OB3_NS.encode() + b'">'
        b'<g/><ob:credential verify="' + JWS.encode() + b'" /><rect/></svg>'
    )

    baked = bake_svg(svg, JWS_2)

    assert b"<ob:credential" not in baked
    assert baked.count(b"<openbadges:credential") == 1
    assert b"<g/><rect/></svg>" in baked
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS_2, "svg")


def test_svg_self_closing_root() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" />'

    baked = bake_svg(svg, JWS)

    assert baked.startswith(b'<svg xmlns:openbadges="' + OB3_NS.encode() + b'" xmlns=')
    assert baked.endswith(b"</openbadges:credential></svg>")
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_prefixed_root_and_gt_inside_attribute() -> None:
    svg = (
        b"<!-- <svg> in a comment -->\n"
        b'<s:svg xmlns:s="http://www.w3.org/2000/svg" data-note="a > b"><s:g/></s:svg>'
    )
    assert detect_image_format(svg) == "svg"

    baked = bake_svg(svg, JWS)

    assert b'data-note="a > b">' + b"<openbadges:credential verify=" in baked
    assert baked.endswith(b"</openbadges:credential><s:g/></s:svg>")
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_prefix_already_bound_to_ob2_namespace() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        b'<openbadges:assertion verify="https://badges.example.org/a/1"/></svg>'
    )
    assert unbake_svg(svg) == BakedPayload("2.0", "url", "https://badges.example.org/a/1", "svg")

    baked = bake_svg(svg, JWS)

    # Our element rebinds the prefix locally; the OB 2.0 assertion keeps its meaning.
    assert f'<openbadges:credential xmlns:openbadges="{OB3_NS}" verify="{JWS}">'.encode() in baked
    assert b'<openbadges:assertion verify="https://badges.example.org/a/1"/>' in baked
    assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_with_bom_and_standard_doctypes() -> None:
    bom = b"\xef\xbb\xbf" + SIMPLE_SVG
    assert unbake_svg(bake_svg(bom, JWS)) == BakedPayload("3.0", "jws", JWS, "svg")
    for doctype in (
        b"<!DOCTYPE svg>",
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.0//EN" '
        b'"http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd">',
        b"<!DOCTYPE svg PUBLIC '-//W3C//DTD SVG 1.1//EN'\n"
        b"  'http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd'>",
    ):
        svg = SIMPLE_SVG.replace(b"?>\n", b"?>\n" + doctype + b"\n", 1)
        baked = bake_svg(svg, JWS)
        assert doctype in baked
        assert unbake_svg(baked) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_text_content_is_stripped_and_cdata_joined() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><credential xmlns="' + OB3_NS.encode() + b'">'
        b"\n   " + JWS.encode() + b"\n</credential></svg>"
    )
    assert unbake_svg(svg) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_without_badge_unbakes_to_none() -> None:
    assert unbake_svg(SIMPLE_SVG) is None
    assert unbake(SIMPLE_SVG) is None


def test_svg_deep_nesting_is_not_a_recursion_problem() -> None:
    depth = 5000
    svg = b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<g>" * depth + b"</g>" * depth + b"</svg>"
    assert unbake_svg(svg) is None
    assert unbake_svg(bake_svg(svg, JWS)) == BakedPayload("3.0", "jws", JWS, "svg")


def test_svg_declared_latin1_unbakes_but_is_not_baked() -> None:
    svg = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg"><title>caf\xe9</title>'
        b'<openbadges:credential xmlns:openbadges="'
        + OB3_NS.encode()
        + b'" verify="'
        + JWS.encode()
        + b'"/></svg>'
    )
    assert unbake_svg(svg) == BakedPayload("3.0", "jws", JWS, "svg")
    with pytest.raises(BakingError, match="UTF-8"):
        bake_svg(svg, JWS_2)


def test_svg_empty_credential_element_is_refused() -> None:
    svg = bake_svg(SIMPLE_SVG, JWS).replace(f'verify="{JWS}"'.encode(), b"")
    with pytest.raises(BakingError, match="empty"):
        unbake_svg(svg)


# --- SVG, Open Badges 2.0 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "kind", "text"),
    [
        (b'<openbadges:assertion verify="' + JWS.encode() + b'"/>', "jws", JWS),
        (
            b'<openbadges:assertion verify="https://badges.example.org/a/1"></openbadges:assertion>',
            "url",
            "https://badges.example.org/a/1",
        ),
        (
            b'<openbadges:assertion><![CDATA[ {"type": "Assertion"} ]]></openbadges:assertion>',
            "json",
            '{"type": "Assertion"}',
        ),
    ],
)
def test_svg_ob2_assertion(inner: bytes, kind: Literal["json", "jws", "url"], text: str) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
        + inner
        + b"</svg>"
    )
    assert unbake_svg(svg) == BakedPayload("2.0", kind, text, "svg")


# --- format detection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG_SIGNATURE, "png"),
        (SIMPLE_SVG, "svg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (b"  \n<?xml-stylesheet href='a.css'?><!-- hi --><svg>", "svg"),
        (b"<html><svg/></html>", None),
        (b"<svgfoo/>", None),
        (b"GIF89a", None),
        (b"", None),
        (b"\x89PNG", None),
    ],
)
def test_detect_image_format(data: bytes, expected: str | None) -> None:
    assert detect_image_format(data) == expected


# --- bad input: every one a clean BakingError ------------------------------------------------

BAD_IMAGES = {
    "not-an-image.txt": "neither a PNG nor an SVG",
    "not-an-image.gif": "neither a PNG nor an SVG",
    "truncated.png": "truncated",
    "truncated-header.png": "truncated",
    "bad-crc.png": "bad CRC",
    "missing-iend.png": "no IEND",
    "data-after-iend.png": "after IEND",
    "ihdr-not-first.png": "IHDR",
    "two-credentials.png": "more than one openbadgecredential",
    "compressed-itxt.png": "compressed",
    "doctype.svg": "internal subset",
    "custom-doctype.svg": "non-standard DOCTYPE",
    "billion-laughs.svg": "entities",
    "external-entity.svg": "external entity",
    "malformed.svg": "not well-formed",
    "wrong-namespace-root.svg": "not an SVG <svg> element",
    "two-credentials.svg": "more than one openbadges:credential",
}


def test_bad_image_corpus_is_complete() -> None:
    on_disk = {p.name for p in BAD.iterdir() if p.suffix != ".md"}
    assert on_disk == set(BAD_IMAGES)


@pytest.mark.parametrize(("name", "message"), sorted(BAD_IMAGES.items()))
def test_bad_images_unbake(name: str, message: str) -> None:
    data = (BAD / name).read_bytes()
    with pytest.raises(BakingError, match=message) as caught:
        unbake(data)
    assert caught.value.code == "baking_error"


@pytest.mark.parametrize(
    ("name", "message"),
    sorted((n, m) for n, m in BAD_IMAGES.items() if n != "compressed-itxt.png"),
)
def test_bad_images_bake(name: str, message: str) -> None:
    data = (BAD / name).read_bytes()
    with pytest.raises(BakingError, match=message):
        bake(data, JWS)


@pytest.mark.parametrize("name", ["malformed.svg", "doctype.svg", "billion-laughs.svg"])
def test_bad_svgs_through_the_png_functions(name: str) -> None:
    with pytest.raises(BakingError, match="not a PNG"):
        unbake_png((BAD / name).read_bytes())


def test_non_svg_root_through_unbake_svg() -> None:
    with pytest.raises(BakingError, match="root element"):
        unbake_svg(b"<html xmlns='http://www.w3.org/1999/xhtml'><svg/></html>")
    with pytest.raises(BakingError, match="root element"):
        unbake_svg(b"<svg><rect/></svg>")  # no namespace: not SVG to an XML processor


def test_png_that_is_not_svg_through_the_svg_functions() -> None:
    with pytest.raises(BakingError):
        unbake_svg(pillow_png())


@pytest.mark.parametrize(
    "data",
    [
        PNG_SIGNATURE + b"\0" * (MAX_IMAGE_BYTES - len(PNG_SIGNATURE) + 1),
        b"<svg xmlns='http://www.w3.org/2000/svg'>" + b" " * MAX_IMAGE_BYTES + b"</svg>",
    ],
    ids=["png", "svg"],
)
def test_oversize_input_is_refused(data: bytes) -> None:
    for call in (unbake, unbake_png, unbake_svg):
        with pytest.raises(BakingError, match="limit"):
            call(data)
    with pytest.raises(BakingError, match="limit"):
        bake(data, JWS)


def test_oversize_output_is_refused() -> None:
    # The payload alone fits under the limit; payload plus image does not.
    payload = json.dumps({"type": ["OpenBadgeCredential"], "pad": "x" * (MAX_IMAGE_BYTES - 100)})
    assert len(payload) <= MAX_IMAGE_BYTES
    with pytest.raises(BakingError, match="baked image"):
        bake_png(pillow_png(), payload)
    with pytest.raises(BakingError, match="baked image"):
        bake_svg(SIMPLE_SVG, payload)


def test_oversize_payload_is_refused_before_parsing() -> None:
    with pytest.raises(BakingError, match="payload is larger"):
        bake(SIMPLE_SVG, "{" + " " * MAX_IMAGE_BYTES + "}")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "neither a JSON credential"),
        ("   ", "neither a JSON credential"),
        ("hello world", "neither a JSON credential"),
        ("https://badges.example.org/a/1", "neither a JSON credential"),
        ("[1, 2]", "neither a JSON credential"),
        ("a.b", "neither a JSON credential"),
        ("a.b.c.d", "neither a JSON credential"),
        ("a..c", "neither a JSON credential"),
        ("ab+/.cd.ef", "neither a JSON credential"),
        ("{not json", "not valid JSON"),
        ("{}}", "not valid JSON"),
        ('{"a": "\ud800"}', "UTF-8"),
    ],
)
def test_bad_payloads_are_refused(payload: str, message: str) -> None:
    for image in (pillow_png(), SIMPLE_SVG):
        with pytest.raises(BakingError, match=message):
            bake(image, payload)


def test_non_string_payload_is_refused() -> None:
    with pytest.raises(BakingError, match="text"):
        bake_png(pillow_png(), b"a.b.c")  # type: ignore[arg-type]
