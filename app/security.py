"""Security headers on every response: a strict Content-Security-Policy (all assets are served
locally, so nothing else is needed), no sniffing, no framing, no referrer leaks."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.wrappers import Response as BaseResponse

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


#: For pages whose URL holds a secret (a sign-in, address-confirmation, partner or manage link):
#: the link is a password in the URL, so keep it out of caches, search engines and Referers.
SECRET_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def secret_page(page: BaseResponse | str, status: int = 200) -> BaseResponse:
    """``page`` (rendered HTML, or a response such as a redirect) with ``SECRET_PAGE_HEADERS``."""
    if isinstance(page, BaseResponse):
        response = page
    else:
        response = BaseResponse(page, status=status, mimetype="text/html")
    response.headers.update(SECRET_PAGE_HEADERS)
    return response


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

    always = (
        ("content-security-policy", "Content-Security-Policy", CSP),
        ("x-content-type-options", "X-Content-Type-Options", "nosniff"),
        ("x-frame-options", "X-Frame-Options", "DENY"),
        ("referrer-policy", "Referrer-Policy", "same-origin"),
    )
    hsts = (("strict-transport-security", "Strict-Transport-Security", "max-age=31536000"),)

    @app.after_request
    def headers(response: Response) -> Response:
        # A header the view set itself stays (e.g. the stricter CSP of an SVG download). One
        # pass over the response's headers rather than a search per header: this runs on every
        # request.
        present = {name.lower() for name, _ in response.headers}
        secure = app.config.get("SESSION_COOKIE_SECURE")
        for key, name, value in always + hsts if secure else always:
            if key not in present:
                response.headers.add(name, value)
        return response
