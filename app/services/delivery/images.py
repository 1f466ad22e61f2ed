"""Badge and logo images: validated uploads (PNG or SVG) and generated default badges.

Uploads are untrusted. A PNG is checked for its declared size before any pixel is decoded (a
small file can declare a gigantic image), then fully decoded once to prove it is sound; its
bytes are kept as uploaded, because baking splices the credential into the original file. An
SVG is rewritten by the allow-list sanitiser (:mod:`app.svg_sanitiser`), and refused, naming
the problem, if it carried scripts, event handlers, animated links, foreign content or
references to anything outside itself; what is stored is the rewritten document.

An SVG badge is drawn as a PNG (:func:`svg_badge_png`, by resvg) for the baked PNG download.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import resvg_py
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont, UnidentifiedImageError
from sqlalchemy import select

from app import svg_sanitiser
from app.extensions import db
from app.models import Image
from app.services._core.errors import Invalid, ServiceError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The box an SVG badge is drawn into for the baked PNG (its longer side fills it).
RENDERED_SIZE = 512
#: The bundled fonts, the only ones the renderer sees: the same drawing on every machine.
FONTS = Path(__file__).resolve().parents[2] / "static" / "fonts"
#: What the drawn PNG depends on besides the SVG, for entity tags: a new renderer or size is a
#: new file.
RENDERER = f"resvg-{resvg_py.__resvg_version__}-{RENDERED_SIZE}"


def _store(data: bytes, media_type: str, width: int, height: int, now: datetime) -> Image:
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(Image).where(Image.sha256 == digest))
    if existing is not None:
        return existing
    image = Image(
        sha256=digest, media_type=media_type, data=data, width=width, height=height, created_at=now
    )
    db.session.add(image)
    db.session.flush()
    return image


def _check_dimensions(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1 or width * height > max_pixels or max(width, height) > 8192:
        raise Invalid(
            f"The image is {width:,} x {height:,} pixels; keep it under {max_pixels:,} pixels "
            "and 8,192 pixels a side.",
            "image",
        )


def _png_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    # The size is read from the IHDR chunk before Pillow sees the file: Pillow refuses a
    # declared decompression bomb with an error of its own, and the uploader should be told
    # the real reason (the size), not that the file is damaged.
    if len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        _check_dimensions(width, height, max_pixels)
    try:
        with PILImage.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise Invalid("Upload a PNG or an SVG image.", "image")
            width, height = probe.size  # from the header: nothing decoded yet
            _check_dimensions(width, height, max_pixels)
            probe.load()  # decode once: a truncated or corrupt file fails here
    except ServiceError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        PILImage.DecompressionBombError,
    ) as exc:
        raise Invalid(
            "The PNG file is damaged or incomplete, so it cannot be shown. Export it again and "
            "upload the new file.",
            "image",
        ) from exc
    return width, height


def _clean_svg(data: bytes) -> svg_sanitiser.CleanSvg:
    try:
        clean = svg_sanitiser.sanitise(data)
    except svg_sanitiser.SvgRejected as exc:
        raise Invalid(str(exc), "image") from None
    if clean.removed:
        # The safe drawing could be kept, but a badge is baked into every credential and can
        # never be changed afterwards: the issuer is told what is wrong instead of being handed
        # a silently altered picture.
        raise Invalid(
            " ".join(clean.removed)
            + f" Remove {'it' if len(clean.removed) == 1 else 'them'} in your drawing program "
            "and upload the file again.",
            "image",
        )
    return clean


def store_upload(data: bytes, *, max_bytes: int, max_pixels: int, now: datetime) -> Image:
    """Validate an uploaded PNG or SVG and store it (in the caller's transaction).

    :raises ServiceError: explaining what is wrong with the file.
    """
    if not data:
        raise Invalid("The file is empty.", "image")
    if len(data) > max_bytes:
        raise Invalid(f"Images may be at most {max_bytes // 1024:,} KB.", "image")
    if data.startswith(PNG_SIGNATURE):
        width, height = _png_size(data, max_pixels)
        return _store(data, "image/png", width, height, now)
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        clean = _clean_svg(data)
        return _store(clean.data, "image/svg+xml", clean.width, clean.height, now)
    raise Invalid("Upload a PNG or an SVG image.", "image")


def store_drawn_svg(data: bytes, *, now: datetime) -> Image:
    """Store an SVG drawn by Cairn itself (the badge designer), after the same sanitiser an
    upload goes through: nothing reaches a credential that the SVG rules would refuse.

    :raises ServiceError: if the drawing broke the rules (a bug, not the user's doing).
    """
    clean = _clean_svg(data)
    return _store(clean.data, "image/svg+xml", clean.width, clean.height, now)


# A few badges: each entry keeps an SVG (at most MAX_IMAGE_BYTES) and its PNG in memory.
@lru_cache(maxsize=16)
def svg_badge_png(svg: bytes) -> bytes | None:
    """A stored SVG badge drawn as PNG bytes, fitted into :data:`RENDERED_SIZE` pixels square
    (kept for the next download: a badge is drawn once per process, not per request); ``None``
    if today's SVG rules refuse it.

    The stored SVG was sanitised when it was uploaded; it goes through the sanitiser again so
    only what today's rules keep is drawn, and nothing it could name outside itself (a URL, a
    file) is ever loaded: the sanitiser keeps only ``#id`` references and embedded raster
    ``data:`` pictures, and resvg itself never opens a network connection. Fonts are the
    bundled ones only, so text is drawn the same everywhere.
    """
    try:
        clean = svg_sanitiser.sanitise(svg)
    except svg_sanitiser.SvgRejected:
        return None
    return bytes(
        resvg_py.svg_to_bytes(
            svg_string=clean.data.decode("utf-8"),
            width=RENDERED_SIZE,
            height=RENDERED_SIZE,
            skip_system_fonts=True,
            font_files=[str(FONTS / "DejaVuSans.ttf"), str(FONTS / "DejaVuSans-Bold.ttf")],
            font_family="DejaVu Sans",
            sans_serif_family="DejaVu Sans",
            serif_family="DejaVu Sans",
            monospace_family="DejaVu Sans",
        )
    )


_PALETTE = ("#2f6f6a", "#7a4e9c", "#b5542f", "#2f5f9e", "#8a6d1d", "#3d7a3a", "#9c3d5a", "#4a5a6a")


def initials(name: str) -> str:
    """Up to three initials of a name (``Formative Assessment in Practice`` -> ``FAP``)."""
    words = [
        w
        for w in re.split(r"[^\w]+", name)
        if w and w[0].isalnum() and w.lower() not in {"in", "of", "and", "the", "a", "for", "to"}
    ]
    return "".join(w[0].upper() for w in words[:3]) or "★"


def default_badge_png(name: str) -> bytes:
    """The PNG bytes of the generated badge for ``name`` (not stored): a hexagon in a colour
    picked from the name, with its initials. The same name always gives the same bytes."""
    size = 512
    colour = _PALETTE[int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % len(_PALETTE)]
    canvas = PILImage.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    centre, radius = size / 2, size * 0.47
    hexagon = [
        (
            centre + radius * math.cos(math.radians(60 * i - 90)),
            centre + radius * math.sin(math.radians(60 * i - 90)),
        )
        for i in range(6)
    ]
    draw.polygon(hexagon, fill=colour)
    inner = [(centre + (x - centre) * 0.86, centre + (y - centre) * 0.86) for x, y in hexagon]
    draw.polygon(inner, outline="#ffffff", width=8)
    text = initials(name)
    font = ImageFont.load_default(size=170 if len(text) < 3 else 130)
    draw.text((centre, centre), text, fill="#ffffff", font=font, anchor="mm")
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def generate_default(name: str, *, now: datetime) -> Image:
    """Store the generated badge for ``name`` (see :func:`default_badge_png`)."""
    return _store(default_badge_png(name), "image/png", 512, 512, now)
