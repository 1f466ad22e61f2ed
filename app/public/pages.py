"""Public profile pages: issuers (``/issuers/<slug>``) and achievements (``/achievements/<id>``),
each an HTML page for people and, by content negotiation, OB 3.0 JSON-LD for machines."""

from __future__ import annotations

from flask import Response, render_template

from app.public import bp
from app.public.credentials import wants_html
from app.public.identity import IDENTITY_CACHE, json_response
from app.services._core.errors import required
from app.services.delivery import queries as public_queries
from app.services.org import achievements, issuers
from app.services.org import queries as org_queries
from app.wiring import service_env
from credentials import OB_CONTEXT, VC_V2_CONTEXT, achievement_json


@bp.get("/issuers/<slug>")
def issuer_page(slug: str) -> Response | str:
    """The issuer's public profile (HTML), or its OB 3.0 ``Profile`` (JSON-LD)."""
    issuer = issuers.get_by_slug(slug)
    env = service_env()
    if not wants_html():
        response = json_response(
            issuers.profile_document(issuer, env), "application/ld+json", cache=IDENTITY_CACHE
        )
        response.headers["Vary"] = "Accept"
        return response
    offered = achievements.list_for(issuer)
    counts = public_queries.awarded_counts(issuer)
    return render_template(
        "public/issuer.html",
        issuer=issuer,
        offered=offered,
        counts=counts,
        did=issuers.issuer_did(issuer, env),
        env=env,
    )


def _achievement(public_id: str, number: int | None) -> Response | str:
    achievement, version = public_queries.achievement_version(public_id, number)
    issuer = required(org_queries.issuer(achievement.issuer_id), "There is no such issuer.")
    env = service_env()
    ob = achievements.ob_achievement(achievement, version, issuer, env)
    if not wants_html():
        body = {"@context": [VC_V2_CONTEXT, OB_CONTEXT], **achievement_json(ob)}
        response = json_response(body, "application/ld+json", cache="public, max-age=3600")
        response.headers["Vary"] = "Accept"
        return response
    return render_template(
        "public/achievement.html",
        achievement=achievement,
        version=version,
        issuer=issuer,
        criteria=achievements.criteria_narrative(version),
        latest=achievement.current_version,
        env=env,
    )


@bp.get("/achievements/<public_id>")
def achievement_page(public_id: str) -> Response | str:
    """The achievement as it is awarded now."""
    return _achievement(public_id, None)


@bp.get("/achievements/<public_id>/versions/<int:number>")
def achievement_version(public_id: str, number: int) -> Response | str:
    """One version of an achievement: the ``id`` of the Achievement in credentials of that
    version."""
    return _achievement(public_id, number)
