"""The fast lane for a credential's stored document: ``GET`` or ``HEAD /credentials/<id>`` from a
machine (a verifier, a wallet) answered in front of Flask.

Serving the stored bytes needs none of Flask's per-request work: no session (the document is
the same for everyone), no sign-in lookups, no rate limit (the view is exempt), no template. A
request qualifies only when it has no query string, no cookie, an ``Accept`` that does not ask
for the page or for the OB 2.0 assertion, and the credential exists; anything else, and any
database error, goes on to Flask unchanged. The answer is built by the view's own function
(:func:`app.public.credentials.document_response`: the same bytes, ``ETag``, ``304``,
``Cache-Control``, ``Vary`` and CORS header), with the same security headers, request id,
request log line and request metrics as a request through Flask. Nothing is cached: each
answer reads the stored text, so a credential signed again (a recipient's name added) is
served at once by every process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

from app import logs, security
from app.extensions import db
from app.ops import record_request, request_id_for
from app.public.credentials import document_response, negotiate
from app.services.delivery import queries as public_queries
from credentials import OB2_CONTEXT

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: A credential's URL (ids are UUIDs); its sub-resources (downloads, manage) are Flask's.
PATH = re.compile(r"/credentials/([0-9a-f-]{36})\Z")
#: How the request log and the metrics name the request, as for one routed through Flask.
ROUTE = "/credentials/<credential_id>"
ENDPOINT = "public.credential"


class DocumentLane:
    """WSGI middleware: the stored document for the requests that qualify, Flask for the rest."""

    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.inner = inner
        with app.app_context():
            self.engine = db.engine
        self.headers = security.response_headers(bool(app.config.get("HSTS_ON")))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or environ.get("QUERY_STRING") or "HTTP_COOKIE" in environ:
            return self.inner(environ, start_response)
        match = PATH.match(environ.get("PATH_INFO", ""))
        accept = environ.get("HTTP_ACCEPT", "")
        if match is None or OB2_CONTEXT in accept:
            return self.inner(environ, start_response)
        negotiated = negotiate(accept)
        if negotiated.html:
            return self.inner(environ, start_response)
        try:
            found = public_queries.stored_raw(match.group(1), self.engine)
        except Exception:
            # Whatever went wrong, Flask's path answers (its 503 page if the database is down).
            found = None
        if found is None:
            return self.inner(environ, start_response)
        response = document_response(found, negotiated.media_type(found.proof_format), environ)
        for name, value in self.headers:
            response.headers.add(name, value)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        response.headers["X-Request-ID"] = request_id
        token = logs.request_id.set(request_id)
        try:
            record_request(
                str(method),
                ROUTE,
                ENDPOINT,
                response.status_code,
                time.perf_counter() - started,
                request_id=request_id,
            )
        finally:
            logs.request_id.reset(token)
        return response(environ, start_response)


def init_app(app: Flask) -> None:
    """Put the lane in front of the application (outermost: it needs no proxy headers)."""
    app.wsgi_app = DocumentLane(app, app.wsgi_app)  # type: ignore[method-assign]
