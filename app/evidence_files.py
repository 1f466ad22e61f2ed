"""Serving uploaded evidence files (public evidence pages, the educator's own portfolio and the
reviewers of a submission all use this): the type Cairn sniffed, never the uploader's claim."""

from __future__ import annotations

from io import BytesIO

from flask import current_app, send_file
from werkzeug.wrappers import Response

from app.models import StoredFile

#: Shown in the browser; anything else is downloaded. Images, PDF and video are what browsers
#: display without running the file's content as a page of Cairn's origin.
INLINE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "application/pdf",
)
#: The file is a document of its own: it may load nothing, run nothing, and is sandboxed (a
#: unique origin, no scripts, no forms), so even a file that is not what it seems gets nowhere.
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'none'; sandbox"
#: PDF viewers refuse to run in a sandboxed document, so PDFs get the same policy without
#: ``sandbox``; a PDF's own scripts run inside the viewer, never in Cairn's pages.
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'none'"


def evidence_limit() -> int:
    """The largest evidence file an educator may upload, in bytes (``MAX_EVIDENCE_BYTES``; the
    whole request is refused earlier when it exceeds ``MAX_CONTENT_LENGTH``)."""
    return int(current_app.config["MAX_EVIDENCE_BYTES"])


def send_evidence_file(stored: StoredFile) -> Response:
    """The file as a response: its sniffed Content-Type, ``nosniff``, a safe filename, inline
    only for images, PDF and video, a strict CSP, and revalidation on every use (whether it may
    be seen can change, e.g. when its owner unpublishes it)."""
    inline = stored.media_type in INLINE_TYPES
    response = send_file(
        BytesIO(stored.data),
        mimetype=stored.media_type,
        as_attachment=not inline,
        # store_file kept only letters, digits, '.', '-', '_' and spaces; werkzeug quotes it and
        # adds an RFC 5987 filename* for non-ASCII letters.
        download_name=stored.filename or "evidence",
        etag=stored.sha256,
        max_age=0,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        PDF_CSP if stored.media_type == "application/pdf" else FILE_CSP
    )
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
