"""An educator's public profile page (``/people/<slug>``): the credentials they chose to show
that are public and in good standing, each linking to its own page. A profile that is switched
off answers 404, exactly like one that does not exist."""

from __future__ import annotations

from flask import Response, render_template

from app.public import bp
from app.services.learning import educators, imports
from app.wiring import service_env


@bp.get("/people/<slug>")
def person(slug: str) -> Response:
    """The profile page."""
    educator, entries = educators.public_profile(slug)
    imported = [(i, imports.credential_link(i)) for i in imports.shown_on_profile(educator)]
    page = render_template(
        "public/person.html",
        educator=educator,
        entries=entries,
        imported=imported,
        now=service_env().now,
    )
    # Caches must ask again: a credential made private, or a profile switched off, goes at once.
    return Response(page, headers={"Cache-Control": "no-cache"})
