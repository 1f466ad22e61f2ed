"""The Verify page (``/verify``) and ``POST /api/verify``: check any Open Badges 3.0 credential,
from Cairn or elsewhere, given as an upload (baked PNG/SVG, JSON, JWT), pasted text or a URL.

Everything a submitted credential makes Cairn fetch (the credential URL itself, DID documents,
status lists) goes through the hostile-URL fetcher: https only, public addresses only, short
timeouts, size caps. This instance's own documents are read from the database.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template, request
from werkzeug.datastructures import FileStorage

from app.extensions import csrf, limiter
from app.fetch import FetchError
from app.public import bp
from app.services import verification
from app.services.verification import LocalFirstFetcher
from app.wiring import fetcher, service_env
from credentials.verify import MAX_INPUT_BYTES, VerificationReport

VERIFY_LIMIT = "30 per minute"


class UnusableInput(Exception):
    """The submission holds nothing to verify."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _read_upload(upload: FileStorage) -> bytes:
    data = upload.stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise UnusableInput(f"The file is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB.", 413)
    return data


def _fetch_url(url: str) -> bytes:
    url = url.strip()
    if not url.startswith("https://") and not url.startswith("http://"):
        raise UnusableInput("Give a link starting with https://.")
    env = service_env()
    local = LocalFirstFetcher(env, None)
    try:
        # The credential's own URL may be on this instance (in development, on plain http).
        return local(url) if local._is_local(url) else fetcher()(url)
    except (FetchError, OSError) as exc:
        raise UnusableInput(f"Could not fetch that link: {exc}") from None


def submission() -> tuple[bytes | str | dict[str, Any], str | None]:
    """What was submitted, from a form or an API request, and the recipient to check for.

    :raises UnusableInput: when nothing usable was sent.
    """
    recipient = (request.values.get("recipient") or "").strip() or None
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return _read_upload(upload), recipient
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise UnusableInput(
                'Send a JSON object: the credential itself, or {"url": …} or {"credential": …}.'
            )
        recipient = body.get("recipient") if isinstance(body.get("recipient"), str) else recipient
        if isinstance(body.get("url"), str):
            return _fetch_url(body["url"]), recipient
        if isinstance(body.get("credential"), dict | str):
            return body["credential"], recipient
        return body, recipient
    if request.mimetype in (
        "image/png",
        "image/svg+xml",
        "text/plain",
        "application/vc+jwt",
        "application/octet-stream",
    ):
        data = request.get_data(cache=False)
        if len(data) > MAX_INPUT_BYTES:
            raise UnusableInput("The upload is too large.", 413)
        if data:
            return data, recipient
    text = (request.values.get("text") or "").strip()
    if text:
        return text, recipient
    url = (request.values.get("url") or "").strip()
    if url:
        return _fetch_url(url), recipient
    raise UnusableInput("Choose a file, paste a credential, or give a link.")


def _run(data: bytes | str | dict[str, Any], recipient: str | None) -> VerificationReport:
    return verification.verify(data, env=service_env(), fallback=fetcher(), recipient=recipient)


@bp.route("/verify", methods=["GET", "POST"])
# A GET with ?url= fetches on the visitor's behalf, so it counts against the same limit.
@limiter.limit(
    VERIFY_LIMIT, exempt_when=lambda: request.method == "GET" and "url" not in request.args
)
def verify_page() -> tuple[str, int] | str:
    """The Verify page: a form, and the report of whatever was submitted."""
    if request.method == "GET" and not request.args.get("url"):
        return render_template("public/verify.html", report=None, banner=None, error=None)
    try:
        data, recipient = submission()
    except UnusableInput as exc:
        return render_template(
            "public/verify.html", report=None, banner=None, error=exc.message
        ), exc.status
    report = _run(data, recipient)
    status = 200 if report.check("parse") is None or report.check("parse").status != "fail" else 400  # type: ignore[union-attr]
    return (
        render_template(
            "public/verify.html",
            report=report,
            banner=verification.verdict(report),
            error=None,
            credential=report.credential or {},
        ),
        status,
    )


@bp.post("/api/verify")
@limiter.limit(VERIFY_LIMIT)
def verify_api() -> tuple[Response, int]:
    """JSON API: ``{"valid", "format", "checks": [{"id", "status", "message"}], "credential"}``.

    Send a credential as the JSON body, ``{"credential": …}``, ``{"url": "https://…"}``, a raw
    ``image/png``/``image/svg+xml``/``text/plain`` (JWT) body, or a multipart ``file``.
    Unusable input is a 4xx with ``{"error", "message"}``.
    """
    try:
        data, recipient = submission()
    except UnusableInput as exc:
        return jsonify({"error": "unusable_input", "message": exc.message}), exc.status
    report = _run(data, recipient)
    body = report.as_json()
    body["summary"] = verification.verdict(report)
    parse = report.check("parse")
    if parse is not None and parse.status == "fail":
        return jsonify({"error": "unusable_input", "message": parse.message, **body}), 422
    current_app.logger.debug("verified a %s credential: %s", report.format, report.valid)
    return jsonify(body), 200


# An API for machines: no cookies, no session, so no cross-site request to forge.
csrf.exempt(verify_api)
