"""Security headers on every response: a strict Content-Security-Policy (all assets are served
locally, so nothing else is needed), no sniffing, no framing, no referrer leaks."""

from __future__ import annotations

from flask import Flask, Response, abort, request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _has_nul(value: str) -> bool:
    return "\x00" in value


def init_app(app: Flask) -> None:
    """Refuse NUL characters in requests, and add the headers to every response."""

    @app.before_request
    def refuse_nul_characters() -> None:
        # No field, slug or id ever contains NUL; PostgreSQL cannot even store it in text,
        # so letting one through would turn bad input into a server error.
        if _has_nul(request.path) or any(
            _has_nul(k) or _has_nul(v) for k, v in request.args.items(multi=True)
        ):
            abort(400, description="The request contains a NUL character.")
        form_post = request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
        if form_post and any(_has_nul(k) or _has_nul(v) for k, v in request.form.items(multi=True)):
            abort(400, description="The form contains a NUL character.")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
