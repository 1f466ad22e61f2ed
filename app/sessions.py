"""The session cookie: Flask's signed cookie, not re-sent by background JSON requests.

Signed-in sessions are permanent and their cookie is normally refreshed on every response. A
background request (the module page's autosave, sent with ``Accept: application/json``) that
finishes after a form post would then put back the cookie it started with, and the form post's
flashed message would be lost. Such requests re-send the cookie only when they changed it.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin


class CairnSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session; a JSON request refreshes it only when it changed it."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if has_request_context() and request.accept_mimetypes.best == "application/json":
            return False
        return super().should_set_cookie(app, session)
