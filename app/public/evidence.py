"""Public evidence pages (``/evidence/<id>``): a portfolio item its owner published, which
credentials link to from their ``evidence``. Unpublished (or unknown) items answer 404."""

from __future__ import annotations

from flask import Response, render_template
from werkzeug.wrappers import Response as WerkzeugResponse

from app.evidence_files import INLINE_TYPES, send_evidence_file
from app.models import IssuedCredential
from app.public import bp
from app.services._core.errors import NotFound, required
from app.services.learning import portfolio
from app.services.learning import queries as learning_queries
from app.wiring import service_env


def _shown_credentials(credentials: list[IssuedCredential]) -> list[IssuedCredential]:
    # Only credentials their holder shows publicly and that still stand: a private credential
    # must not be revealed by the evidence page of one of its items.
    return [c for c in credentials if not c.is_private and c.revoked_at is None]


@bp.get("/evidence/<public_id>")
def evidence(public_id: str) -> Response:
    """The evidence page: title, narrative, link, file, the credentials it supports, and the
    educator's name when their public profile is on."""
    item = portfolio.public_item(public_id)
    educator = required(learning_queries.educator(item.educator_id), "missing educator")
    citing = _shown_credentials(portfolio.credentials_citing(item, service_env()))
    page = render_template(
        "public/evidence.html",
        item=item,
        educator=educator if educator.profile_public else None,
        citing=citing,
        inline_types=INLINE_TYPES,
        size_words=portfolio.size_words,
    )
    # Caches must ask again: an item its owner unpublishes is gone at once.
    return Response(page, headers={"Cache-Control": "no-cache"})


@bp.get("/evidence/<public_id>/file")
def evidence_file(public_id: str) -> WerkzeugResponse:
    """The file of a published item (see ``send_evidence_file`` for how it is served)."""
    item = portfolio.public_item(public_id)
    if item.file is None:
        raise NotFound("This evidence has no file.")
    return send_evidence_file(item.file)
