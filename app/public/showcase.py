"""A learning-plan showcase (``/showcase/<slug>``): the plan an educator published at the end of
a cycle, with only the portfolio items, credentials and reflections they selected, and an Open
Graph preview as credential pages have. An unpublished showcase answers 404, exactly like one
that does not exist."""

from __future__ import annotations

from flask import Response, render_template, url_for

from app.public import bp
from app.services.learning import plans
from app.services.learning.plans import Showcase
from app.wiring import service_env


def preview_image(showcase: Showcase) -> str:
    """The Open Graph image: the first selected credential's badge (as a credential page
    previews it), else the organisation's image, else Cairn's mark."""
    if showcase.credentials:
        credential_id = showcase.credentials[0].credential.id
        return url_for("public.credential", credential_id=credential_id, _external=True) + (
            "/badge.png"
        )
    image = showcase.plan.issuer.image
    if image is not None:
        extension = "svg" if image.media_type == "image/svg+xml" else "png"
        return url_for("public.image", sha256=image.sha256, extension=extension, _external=True)
    return url_for("static", filename="favicon.svg", _external=True)


@bp.get("/showcase/<slug>")
def showcase(slug: str) -> Response:
    """The showcase page."""
    env = service_env()
    found = plans.public_showcase(slug, env)
    page = render_template(
        "public/showcase.html",
        showcase=found,
        plan=found.plan,
        educator=found.educator,
        page_url=url_for("public.showcase", slug=slug, _external=True),
        og_image=preview_image(found),
        module_states=plans.MODULE_STATES,
    )
    # Caches must ask again: an unpublished showcase, or a deselected item, goes at once.
    return Response(page, headers={"Cache-Control": "no-cache"})
