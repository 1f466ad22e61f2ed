"""Public images: badge and logo images, addressed by content hash."""

from __future__ import annotations

from flask import Response

from app.public import bp
from app.services._core.errors import NotFound
from app.services.delivery import queries as public_queries


@bp.get("/images/<sha256>.<extension>")
def image(sha256: str, extension: str) -> Response:
    """A stored image. Images never change (they are addressed by their hash), so caches may
    keep them for ever; SVGs are sandboxed so any script in one could never run."""
    found = public_queries.image(sha256)
    expected = "svg" if found is not None and found.media_type == "image/svg+xml" else "png"
    if found is None or extension != expected:
        raise NotFound("There is no such image.")
    response = Response(found.data, mimetype=found.media_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Access-Control-Allow-Origin"] = "*"
    if found.media_type == "image/svg+xml":
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    return response
