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


# ---------------------------------------------------------------------------- SVG drawn as PNG

TEAL_CIRCLE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    b'<circle cx="100" cy="50" r="40" fill="#2f6f6a"/></svg>'
)


def _pixels(data: bytes) -> PILImage.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    picture = PILImage.open(io.BytesIO(data))
    picture.load()
    return picture.convert("RGBA")


def test_an_svg_badge_is_drawn_as_a_png_fitted_into_512_pixels() -> None:
    images.svg_badge_png.cache_clear()
    drawn = _pixels(required_png(images.svg_badge_png(TEAL_CIRCLE)))
    assert drawn.size == (512, 256)  # the longer side fills the box; the shape is kept
    assert drawn.getpixel((256, 128)) == (0x2F, 0x6F, 0x6A, 255)
    assert drawn.getpixel((5, 5))[3] == 0  # outside the circle: transparent, as drawn


def required_png(data: bytes | None) -> bytes:
    assert data is not None
    return data


def test_text_is_drawn_with_the_bundled_font() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<text x="5" y="60" font-family="Nonexistent Face" font-size="40" fill="#000">Hi'
        b"</text></svg>"
    )
    drawn = _pixels(required_png(images.svg_badge_png(svg)))
    # Some ink where the letters are: the unknown face falls back to DejaVu Sans, not nothing.
    assert any(drawn.getpixel((x, y))[3] > 0 for x in range(0, 300, 2) for y in range(100, 320, 2))


class _Listener:
    """A local HTTP server that counts every connection made to it."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(png(64, 64, "#ff0000"))

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_drawing_an_svg_loads_nothing_from_outside_it(app, tmp_path) -> None:
    """An SVG naming a picture on a server or on disk: upload refuses it, and even drawn
    directly (an SVG stored under older rules) nothing is fetched or read: only the sanitised
    document reaches the renderer."""
    listener = _Listener()
    local_file = tmp_path / "red.png"
    local_file.write_bytes(png(64, 64, "#ff0000"))
    try:
        url = f"http://127.0.0.1:{listener.port}/badge.png"
        for href in (url, str(local_file), local_file.as_uri()):
            svg = (
                '<svg xmlns="http://www.w3.org/2000/svg" '
                'xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">'
                f'<image href="{href}" width="64" height="64"/>'
                f'<image xlink:href="{href}" width="64" height="64"/>'
                '<rect width="8" height="8" fill="#0000ff"/></svg>'
            ).encode()
            with pytest.raises(ServiceError, match="outside"):
                store(svg)
            images.svg_badge_png.cache_clear()
            drawn = _pixels(required_png(images.svg_badge_png(svg)))
            assert drawn.getpixel((4, 4)) == (0, 0, 255, 255)  # the SVG's own drawing is kept
            colours = {drawn.getpixel((x, y)) for x in range(0, 512, 16) for y in range(0, 512, 16)}
            assert not any(r > 200 and g < 50 and b < 50 and a for r, g, b, a in colours), href
        assert listener.requests == []
    finally:
        listener.close()


def test_a_badge_is_drawn_once_per_process(monkeypatch) -> None:
    calls: list[int] = []
    real = images.resvg_py.svg_to_bytes

    def counting(**kwargs: object) -> bytes:
        calls.append(1)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images.resvg_py, "svg_to_bytes", counting)
    images.svg_badge_png.cache_clear()
    first = images.svg_badge_png(TEAL_CIRCLE)
    assert images.svg_badge_png(TEAL_CIRCLE) == first
    assert len(calls) == 1
