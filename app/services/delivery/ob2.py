"""Open Badges 2.0 for older backpacks: the hosted Assertion, BadgeClass and Issuer of every
credential, and its OB 2.0 baked PNG.

Where they live (stable, documented in the README): ``/ob2/assertions/<credential id>``,
``/ob2/badges/<achievement public id>/<version>`` (its image at ``…/image.png``) and
``/ob2/issuers/<slug>``; ``/credentials/<id>?v=2_0`` and content negotiation answer the assertion
too. Everything is made from the stored OB 3.0 credential and the achievement version it was
issued from (``credentials.ob2``), so the two forms say the same thing.

- **Revoked**: HTTP 410 Gone with ``{"id", "revoked": true, "revocationReason"}``, the public
  reason only (never the internal note), as OB 2.0 hosted verification prescribes.
- **Suspended**: OB 2.0 has no suspension, and a hosted assertion is checked again at every
  verification; so while suspended it answers as revoked (410, the reason saying it is
  suspended), and the full assertion again once the suspension is lifted. Answering 200 would
  have OB 2.0 verifiers call a suspended credential valid.
- **Private**: served all the same, as the OB 3.0 JSON of a private credential is: whoever holds
  the baked badge (or its URL) must be able to verify it; private hides the page, not the proof.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from app.extensions import db
from app.models import Achievement, AchievementVersion, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import required
from app.services.delivery import downloads
from app.services.delivery import queries as public_queries
from app.services.org import achievements, issuers
from credentials import (
    Ob2Urls,
    achievement_json,
    badge_class,
    bake_ob2_png,
    issuer_profile,
    ob2_assertion,
    revoked_assertion,
)

#: What a revoked credential answers when the issuer gave no public reason.
DEFAULT_REVOCATION_REASON = "The issuer revoked this badge."
#: What a suspended credential answers (its public reason, if any, follows).
SUSPENDED_REASON = "The issuer has suspended this badge; it is not valid while suspended."


@dataclass(frozen=True)
class Hosted:
    """One hosted OB 2.0 document and the HTTP status it is served with."""

    status: int
    document: dict[str, Any]

    def body(self) -> bytes:
        """The document as served (UTF-8 JSON)."""
        return json.dumps(self.document, ensure_ascii=False, indent=2).encode("utf-8")

    def etag(self) -> str:
        """A strong entity tag of the bytes served."""
        return hashlib.sha256(self.body()).hexdigest()[:32]


def assertion_url(credential_id: str, env: ServiceEnv) -> str:
    """The hosted assertion's URL (its ``id``; what the OB 2.0 baked PNG holds)."""
    return f"{env.base_url}/ob2/assertions/{credential_id}"


def badge_url(achievement: Achievement, version: AchievementVersion, env: ServiceEnv) -> str:
    """The hosted BadgeClass of one achievement version."""
    return f"{env.base_url}/ob2/badges/{achievement.public_id}/{version.version}"


def issuer_url(issuer: Issuer, env: ServiceEnv) -> str:
    """The hosted OB 2.0 Issuer profile."""
    return f"{env.base_url}/ob2/issuers/{issuer.slug}"


def _version_of(credential: IssuedCredential) -> tuple[Achievement, AchievementVersion]:
    version = required(
        db.session.get(AchievementVersion, credential.achievement_version_id), "missing version"
    )
    return version.achievement, version


def urls(credential: IssuedCredential, env: ServiceEnv) -> Ob2Urls:
    """Where a credential's three OB 2.0 objects are hosted."""
    achievement, version = _version_of(credential)
    issuer = required(db.session.get(Issuer, credential.issuer_id), "missing issuer")
    return Ob2Urls(
        assertion=assertion_url(credential.id, env),
        badge=badge_url(achievement, version, env),
        issuer=issuer_url(issuer, env),
    )


def hosted_assertion(credential_id: str, env: ServiceEnv) -> Hosted:
    """The credential's hosted Assertion: 200 with the assertion, or 410 with the revoked form
    for a revoked or suspended credential (see the module's notes).

    :raises NotFound: when there is no such credential.
    """
    credential = public_queries.credential(credential_id)
    url = assertion_url(credential.id, env)
    if credential.revoked_at is not None:
        reason = credential.revocation_public_reason or DEFAULT_REVOCATION_REASON
        return Hosted(410, revoked_assertion(url, reason))
    if credential.suspended_at is not None:
        reason = SUSPENDED_REASON
        if credential.suspension_public_reason:
            reason = f"{SUSPENDED_REASON} {credential.suspension_public_reason}"
        return Hosted(410, revoked_assertion(url, reason))
    payload = downloads.view(credential, env.base_url).document
    return Hosted(200, ob2_assertion(payload, urls(credential, env)))


def hosted_badge_class(public_id: str, number: int, env: ServiceEnv) -> Hosted:
    """The BadgeClass of one version of an achievement (the one its credentials name).

    :raises NotFound: when there is no such achievement or version.
    """
    achievement, version = public_queries.achievement_version(public_id, number)
    issuer = required(db.session.get(Issuer, achievement.issuer_id), "There is no such issuer.")
    ob = achievement_json(achievements.ob_achievement(achievement, version, issuer, env))
    url = badge_url(achievement, version, env)
    return Hosted(
        200,
        badge_class(
            ob,
            url=url,
            issuer_url=issuer_url(issuer, env),
            image_url=f"{url}/image.png",
            criteria_url=achievements.version_url(achievement, version, env),
        ),
    )


def badge_image_png(public_id: str, number: int) -> bytes:
    """The badge image of an achievement version as a PNG (an SVG drawn, or the generated
    badge when it has none): what the BadgeClass's ``image`` names.

    :raises NotFound: when there is no such achievement or version.
    """
    _achievement, version = public_queries.achievement_version(public_id, number)
    return downloads.version_png(version)


def hosted_issuer(slug: str, env: ServiceEnv) -> Hosted:
    """The issuer's OB 2.0 profile. OB 2.0 requires a homepage and a contact email: an issuer
    without its own has its Cairn page and the instance's mail address.

    :raises NotFound: when there is no such issuer.
    """
    issuer = issuers.get_by_slug(slug)
    image = issuer.image
    return Hosted(
        200,
        issuer_profile(
            url=issuer_url(issuer, env),
            name=issuer.name,
            homepage=issuer.url or f"{env.base_url}/issuers/{issuer.slug}",
            email=issuer.email or instance_address(env),
            description=issuer.description,
            image_url=f"{env.base_url}/images/{image.sha256}.{_extension(image.media_type)}"
            if image is not None
            else None,
        ),
    )


def _extension(media_type: str) -> str:
    return "svg" if media_type == "image/svg+xml" else "png"


def instance_address(env: ServiceEnv) -> str:
    """This instance's own mail address: ``MAIL_FROM``'s, else ``no-reply@<host>``."""
    _name, address = parseaddr(env.settings.mail_from or "")
    if "@" in address:
        return address
    return f"no-reply@{urlsplit(env.base_url).hostname or 'localhost'}"


def baked_png(credential: IssuedCredential, env: ServiceEnv) -> bytes:
    """The badge image with the hosted assertion's URL baked in (``openbadges`` iTXt)."""
    _achievement, version = _version_of(credential)
    return bake_ob2_png(downloads.version_png(version), assertion_url(credential.id, env))


def baked_png_etag(credential: IssuedCredential, env: ServiceEnv) -> str:
    """An entity tag for :func:`baked_png`: the image and the URL it carries."""
    return downloads.etag(credential, "ob2-png", assertion_url(credential.id, env))
