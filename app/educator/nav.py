"""The educator side's navigation: links to educator pages that may not exist yet (other parts
of the educator side register their views separately), so the layout renders either way."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from app.educator import bp


def educator_link(endpoint: str, **values: Any) -> str | None:
    """The URL of ``endpoint``, or None when no view is registered for it."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


@bp.app_context_processor
def navigation() -> dict[str, Any]:
    """Make ``educator_link`` available to every template."""
    return {"educator_link": educator_link}
