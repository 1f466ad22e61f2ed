"""Image uploads: sound PNGs and safe SVGs are stored once; everything else is refused with a
message that says why, and nothing is stored."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from app.extensions import db
from app.models import Image
from app.services._core.errors import ServiceError
from app.services.delivery import images
from app.wiring import service_env

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4096 * 4096


def png(width: int = 64, height: int = 64, colour: str = "#2f6f6a") -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width`` x ``height`` (nothing that size
    is ever allocated: the IDAT holds a few compressed rows only)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)
    return (
        images.PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (32, 32), "#b5542f").save(buffer, "JPEG")
    return buffer.getvalue()


SAFE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#2f6f6a"/></linearGradient></defs>'
    b'<rect width="120" height="80" fill="url(#g)"/><use href="#g"/></svg>'
)

BAD_UPLOADS = {
    "script element": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
        "<script> element",
    ),
    "event handler": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10" onload="alert(1)"/></svg>',
        "event handler",
    ),
    "event handler on root": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onclick="alert(1)"/>',
        "event handler",
    ),
    "external href": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://tracker.example.net/p.png"/></svg>',
        "outside itself",
    ),
    "external xlink:href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<use xlink:href="http://evil.example.net/sprite.svg#a"/></svg>',
        "outside itself",
    ),
    "javascript link": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
        "outside itself",
    ),
    "external css": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example.net/x.css);</style></svg>',
        "styles load",
    ),
    "foreignObject": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p xmlns="http://www.w3.org/1999/xhtml">hi</p>'
        b"</foreignObject></svg>",
        "<foreignObject>",
    ),
    "doctype with entities": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>',
        "DTD or entities",
    ),
    "external entity": (
        b'<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>',
        "DTD or entities",
    ),
    "xml but not svg": (b"<html><body>hello</body></html>", "not an SVG"),
    "malformed xml": (b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "not well-formed"),
    "not utf-8": (b'<svg xmlns="http://www.w3.org/2000/svg"><text>\xff\xfe</text></svg>', "UTF-8"),
    "png decompression bomb": (png_declaring(100_000, 100_000), "100,000 x 100,000 pixels"),
    "png too wide": (png_declaring(9000, 1), "8,192 pixels a side"),
    "png zero size": (png_declaring(0, 10), "pixels"),
    "truncated png": (png()[:60], "damaged or incomplete"),
    "jpeg": (jpeg(), "PNG or an SVG"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "PNG or an SVG"),
    "random bytes": (bytes(range(256)) * 8, "PNG or an SVG"),
    "empty": (b"", "empty"),
}


def store(data: bytes, **kwargs: int) -> Image:
    return images.store_upload(
        data,
        max_bytes=kwargs.get("max_bytes", MAX_BYTES),
        max_pixels=kwargs.get("max_pixels", MAX_PIXELS),
        now=service_env().now,
    )


def image_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Image)) or 0


def test_png_is_stored_as_uploaded(app) -> None:
    data = png(200, 100)
    image = store(data)
    assert (image.media_type, image.width, image.height) == ("image/png", 200, 100)
    assert image.data == data  # baking splices into the original bytes


def test_safe_svg_is_stored_with_its_size(app) -> None:
    image = store(SAFE_SVG)
    assert (image.media_type, image.width, image.height) == ("image/svg+xml", 120, 80)


def test_svg_size_falls_back_to_the_view_box(app) -> None:
    image = store(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150"/>')
    assert (image.width, image.height) == (300, 150)


def test_same_bytes_are_stored_once(app) -> None:
    data = png()
    assert store(data).id == store(data).id
    assert image_count() == 1


@pytest.mark.parametrize(("data", "message"), BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_uploads_are_refused_with_a_reason(app, data: bytes, message: str) -> None:
    with pytest.raises(ServiceError) as info:
        store(data)
    assert message in info.value.message
    assert info.value.field == "image"
    db.session.rollback()
    assert image_count() == 0


def test_size_and_pixel_limits(app) -> None:
    noise = io.BytesIO()
    PILImage.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(noise, "PNG")
    with pytest.raises(ServiceError, match="at most 1 KB"):
        store(noise.getvalue(), max_bytes=1024)
    with pytest.raises(ServiceError, match="under 1,000 pixels"):
        store(png(40, 40), max_pixels=1000)


def test_bomb_is_refused_before_decoding(app, monkeypatch) -> None:
    # The declared size alone refuses it: Pillow is never asked to open the file.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow opened a declared bomb")

    monkeypatch.setattr(images.PILImage, "open", refuse)
    with pytest.raises(ServiceError, match="pixels"):
        store(png_declaring(100_000, 100_000))


def test_generated_default_is_a_stable_png(app) -> None:
    first = images.generate_default("Formative Assessment in Practice", now=service_env().now)
    again = images.generate_default("Formative Assessment in Practice", now=service_env().now)
    assert first.id == again.id
    assert (first.media_type, first.width, first.height) == ("image/png", 512, 512)
    assert first.data == images.default_badge_png("Formative Assessment in Practice")
    assert first.data.startswith(images.PNG_SIGNATURE)
    assert images.default_badge_png("Another Badge") != first.data
    assert images.initials("Formative Assessment in Practice") == "FAP"
    assert images.initials("!!!") == "★"
