"""The Verify page (``/verify``) and ``POST /api/verify``: check any Open Badges 3.0 credential,
from Cairn or elsewhere, given as an upload (baked PNG/SVG, JSON, JWT), pasted text or a URL.

Everything a submitted credential makes Cairn fetch (the credential URL itself, DID documents,
status lists) goes through the hostile-URL fetcher: https only, public addresses only, short
timeouts, size caps. This instance's own documents are read from the database.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, jsonify, render_template, request
from werkzeug.datastructures import FileStorage

from app.extensions import csrf, limiter
from app.fetch import FetchError
from app.formatting import format_day
from app.public import bp, verdicts
from app.services.verification import verifier as verification
from app.services.verification.verifier import LocalFirstFetcher
from app.wiring import base_url, fetcher, service_env, view_tally
from credentials import MAX_INPUT_BYTES, VALID, VerificationReport, detect_image_format, is_clr

VERIFY_LIMIT = "30 per minute"
#: A badge image shown on the page is embedded as a data: URI; larger uploads are not echoed.
MAX_SHOWN_IMAGE_BYTES = 1024 * 1024
#: Images a browser shows without running anything (an SVG in <img> runs no script).
_SHOWABLE_DATA_URI = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


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
    """Verify, and count the verification when the credential is one of ours."""
    env = service_env()
    report, ours = verification.verify_own(
        data, env=env, fallback=fetcher(), recipient=recipient, kept=verdicts.submissions()
    )
    if ours is not None:
        # Tallied in memory and written within a second, as page views are: an upsert and a
        # commit per verification made every request wait its turn for the database's write
        # lock (on SQLite, in the busy handler's sleeps: p99 35-40 ms, up to 230 ms, at 8
        # connections across 2 workers, for a request of 2 ms of CPU).
        view_tally().add(ours, env.now.date(), "verify")
    return report


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
    if is_clr(data):
        record = verification.verify_record(data, env=service_env(), fallback=fetcher())
        failed = record.record.check("parse")
        return render_template(
            "public/verify_record.html",
            record=record,
            banner=verification.record_verdict(record),
        ), (400 if failed is not None and failed.status == "fail" else 200)
    report = _run(data, recipient)
    status = 200 if report.check("parse") is None or report.check("parse").status != "fail" else 400  # type: ignore[union-attr]
    return (
        render_template(
            "public/verify.html",
            report=report,
            banner=verification.verdict(report),
            error=None,
            about=_about(report, data),
        ),
        status,
    )


def _about(report: VerificationReport, data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """What the page says about the credential. Only a valid credential's statements are facts;
    for any other the page presents them as claims, and shows no badge image that could lend
    a forgery the look of the real thing."""
    credential = report.credential or {}
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    subject = subject if isinstance(subject, Mapping) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    issuer = credential.get("issuer")
    issuer_name = issuer.get("name") if isinstance(issuer, Mapping) else None
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    issuer_url = issuer.get("url") if isinstance(issuer, Mapping) else None
    recipient = report.check("recipient")
    valid = report.outcome == VALID
    return {
        "valid": valid,
        "has_credential": bool(credential),
        "name": _text(achievement.get("name")) or _text(credential.get("name")),
        "description": _text(achievement.get("description")),
        "issuer_name": _text(issuer_name),
        "issuer_id": _text(issuer_id),
        "issuer_url": issuer_url if isinstance(issuer_url, str) and _is_web(issuer_url) else None,
        "recipient_name": _text(subject.get("name")),
        "recipient_status": recipient.status if recipient is not None else "skip",
        "recipient_message": recipient.message if recipient is not None else "",
        "issued": _date(credential.get("validFrom") or credential.get("issuanceDate")),
        "expires": _date(credential.get("validUntil") or credential.get("expirationDate")),
        "source": verification.describe_source(report.format),
        "image": _image_src(achievement.get("image"), data) if valid else None,
    }


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any) -> str | None:
    """A date the credential claims, in the reader's locale; as written (its first ten
    characters) when it is not a date Python can read, since it may come from anywhere."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return format_day(value)
    except ValueError:
        return value[:10]


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _image_src(image: Any, data: bytes | str | dict[str, Any]) -> str | None:
    """A badge image the page may show (its CSP allows this instance's images and data: URIs):
    the achievement's image when it is one of those, else the baked image that was uploaded."""
    source = image.get("id") if isinstance(image, Mapping) else image
    if isinstance(source, str):
        if _SHOWABLE_DATA_URI.match(source) and len(source) <= MAX_SHOWN_IMAGE_BYTES:
            return source
        if source.startswith(base_url() + "/"):
            return source[len(base_url()) :]  # this instance's image, by path
    if isinstance(data, bytes) and len(data) <= MAX_SHOWN_IMAGE_BYTES:
        kind = detect_image_format(data)
        if kind is not None:
            media_type = "image/png" if kind == "png" else "image/svg+xml"
            return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
    return None


@bp.post("/api/verify")
@limiter.limit(VERIFY_LIMIT)
def verify_api() -> tuple[Response, int]:
    """JSON API: ``{"valid", "outcome", "format", "checks": [{"id", "status", "message"}],
    "credential", "summary"}``. ``outcome`` is ``valid``, ``issuer_not_confirmed`` (the signature
    is genuine but nothing ties its key to the issuer) or ``not_valid``; ``valid`` is true only
    for the first.

    Send a credential as the JSON body, ``{"credential": …}``, ``{"url": "https://…"}``, a raw
    ``image/png``/``image/svg+xml``/``text/plain`` (JWT) body, or a multipart ``file``.
    Unusable input is a 4xx with ``{"error", "message"}``.
    """
    try:
        data, recipient = submission()
    except UnusableInput as exc:
        return jsonify({"error": "unusable_input", "message": exc.message}), exc.status
    if is_clr(data):
        record = verification.verify_record(data, env=service_env(), fallback=fetcher())
        answer = {**record.as_json(), "summary": verification.record_verdict(record)}
        failed = record.record.check("parse")
        return jsonify(answer), (422 if failed is not None and failed.status == "fail" else 200)
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
