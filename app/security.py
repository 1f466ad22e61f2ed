"""Security headers on every response: a strict Content-Security-Policy (all assets are served
locally, so nothing else is needed), no sniffing, no framing, no referrer leaks, no powerful
browser features (Permissions-Policy), and HSTS when Cairn is served over https."""

from __future__ import annotations

from flask import Flask, Request, Response, abort, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.wrappers import Response as BaseResponse

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

#: Browser features Cairn never uses, denied to every page (and to anything a page embeds), so
#: an injected script could not reach a camera or a payment sheet even past the CSP. Kept:
#: ``clipboard-write`` for the copy-link buttons (share.js) and ``fullscreen`` and
#: ``picture-in-picture`` for the evidence page's video player. FLoC's ``interest-cohort`` is
#: left out: it was withdrawn, and Chromium logs an error for a feature it does not know.
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "autoplay=()",
        "bluetooth=()",
        "browsing-topics=()",
        "camera=()",
        "clipboard-read=()",
        "clipboard-write=(self)",
        "display-capture=()",
        "encrypted-media=()",
        "fullscreen=(self)",
        "geolocation=()",
        "gyroscope=()",
        "hid=()",
        "idle-detection=()",
        "local-fonts=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "otp-credentials=()",
        "payment=()",
        "picture-in-picture=(self)",
        "publickey-credentials-create=()",
        "publickey-credentials-get=()",
        "screen-wake-lock=()",
        "serial=()",
        "usb=()",
        "xr-spatial-tracking=()",
    ]
)

#: A year, and every subdomain of Cairn's host too (not the parent domain: HSTS never climbs).
#: No ``preload``: that is a submission to the browsers' list, an operator's decision.
HSTS = "max-age=31536000; includeSubDomains"


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


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened without building their signer (a serializer made
    afresh on every request) when the request sends no session cookie: an empty session, as
    Flask's own would be. Every API request (bearer tokens, never cookies) is such a request."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Refuse NUL characters in requests, add the headers to every response, and open
    sessions as :class:`CookieSessions` does."""
    app.session_interface = CookieSessions()

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
        # A header the view set itself stays (e.g. the stricter CSP of an SVG download). One
        # pass over the response's headers rather than a search per header: this runs on every
        # request.
        present = {name.lower() for name, _ in response.headers}
        for name, value in response_headers(bool(app.config.get("HSTS_ON"))):
            if name.lower() not in present:
                response.headers.add(name, value)
        return response


_ALWAYS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
)
_WITH_HSTS = (*_ALWAYS, ("Strict-Transport-Security", HSTS))


def response_headers(hsts: bool) -> tuple[tuple[str, str], ...]:
    """The headers every response gets (unless its view set one of them itself)."""
    return _WITH_HSTS if hsts else _ALWAYS
