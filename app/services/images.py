"""Badge and logo images: validated uploads (PNG or SVG) and generated default badges.

Uploads are untrusted. A PNG is checked for its declared size before any pixel is decoded (a
small file can declare a gigantic image), then fully decoded once to prove it is sound; its
bytes are kept as uploaded, because baking splices the credential into the original file. An
SVG is parsed with DTDs and entities off and refused if it carries scripts, event handlers,
foreign content or references to anything outside itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
import struct
from datetime import datetime

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont, UnidentifiedImageError
from sqlalchemy import select

from app.extensions import db
from app.models import Image
from app.services.errors import ServiceError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_FORBIDDEN_ELEMENTS = {
    "script",
    "foreignObject",
    "iframe",
    "embed",
    "object",
    "audio",
    "video",
    "handler",
}
_SAFE_HREF = re.compile(r"^(#[\w.-]+|data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+)$")
_URL_IN_CSS = re.compile(r"url\(\s*['\"]?(?!#)", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(px)?\s*$")


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
        raise ServiceError(
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
                raise ServiceError("Upload a PNG or an SVG image.", "image")
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
        raise ServiceError(
            "The PNG file is damaged or incomplete, so it cannot be shown. Export it again and "
            "upload the new file.",
            "image",
        ) from exc
    return width, height


def _svg_length(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    return float(match.group(1)) if match else None


def _check_svg(data: bytes) -> tuple[int, int]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError("The SVG must be UTF-8 text.", "image") from None
    try:
        root = SafeElementTree.fromstring(
            text, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise ServiceError(
            "The SVG declares a DTD or entities, which are not allowed.", "image"
        ) from None
    except SafeElementTree.ParseError as exc:
        raise ServiceError(f"The SVG is not well-formed XML ({exc}).", "image") from None
    if root.tag != f"{SVG_NS}svg":
        raise ServiceError("The file is XML but not an SVG image.", "image")
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if local in _FORBIDDEN_ELEMENTS:
            raise ServiceError(
                f"The SVG contains a <{local}> element, which is not allowed in a badge.", "image"
            )
        for name, value in element.attrib.items():
            attribute = name.rsplit("}", 1)[-1].lower()
            if attribute.startswith("on"):
                raise ServiceError(
                    "The SVG contains a script event handler, which is not allowed.", "image"
                )
            if attribute == "href" and not _SAFE_HREF.match(value.strip()):
                raise ServiceError(
                    "The SVG links to something outside itself, which is not allowed.", "image"
                )
            if attribute == "style" and _URL_IN_CSS.search(value):
                raise ServiceError(
                    "The SVG's styles load something from outside, which is not allowed.", "image"
                )
        if (
            local == "style"
            and element.text
            and (_URL_IN_CSS.search(element.text) or "@import" in element.text)
        ):
            raise ServiceError(
                "The SVG's styles load something from outside, which is not allowed.", "image"
            )
    width = _svg_length(root.get("width"))
    height = _svg_length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        with contextlib.suppress(ValueError):
            width, height = float(box[2]), float(box[3])
    return int(width or 512), int(height or 512)


def store_upload(data: bytes, *, max_bytes: int, max_pixels: int, now: datetime) -> Image:
    """Validate an uploaded PNG or SVG and store it (in the caller's transaction).

    :raises ServiceError: explaining what is wrong with the file.
    """
    if not data:
        raise ServiceError("The file is empty.", "image")
    if len(data) > max_bytes:
        raise ServiceError(f"Images may be at most {max_bytes // 1024:,} KB.", "image")
    if data.startswith(PNG_SIGNATURE):
        width, height = _png_size(data, max_pixels)
        return _store(data, "image/png", width, height, now)
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        width, height = _check_svg(data)
        return _store(data, "image/svg+xml", width, height, now)
    raise ServiceError("Upload a PNG or an SVG image.", "image")


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
