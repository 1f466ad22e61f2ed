"""What an earner downloads: baked badge images (PNG, SVG), QR codes, a printable certificate PDF,
and the LinkedIn "Add to profile" link.

Baking splices the stored credential text into the achievement's own image bytes; a PNG is
never re-encoded. When the achievement image is an SVG, the PNG badge is that SVG drawn as a
512-pixel PNG (:func:`images.svg_badge_png`), and when it is a PNG, the SVG badge wraps that PNG,
so every credential has both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from app import svg_sanitiser
from app.extensions import db
from app.models import AchievementVersion, Image, IssuedCredential, Issuer
from app.services._core.errors import required
from app.services.awarding import credit
from app.services.awarding.credit import credit_unit
from app.services.awarding.credit import number as _number
from app.services.delivery import images
from credentials import bake_png, bake_svg, decode_jwt


@dataclass(frozen=True)
class CredentialView:
    """The facts of a credential a page, a certificate or LinkedIn needs, read from the stored
    (signed) document, so what is shown is what was signed."""

    id: str
    url: str
    name: str
    description: str
    criteria: str
    issuer_name: str
    issuer_url: str | None
    issuer_id: str
    recipient_name: str | None
    valid_from: str
    valid_until: str | None
    awarded: str | None
    narrative: str | None
    evidence: list[dict[str, Any]]
    alignments: list[dict[str, Any]]
    achievement_type: str | None
    credits: float | None
    #: The unit of ``credits`` and ``credits_earned`` (a key of ``credentials.CREDIT_UNITS``);
    #: none: hours, unit not stated.
    credit_unit: str | None
    #: What this award earned (``creditsEarned``), when it was recorded.
    credits_earned: float | None
    proof_format: str
    document: dict[str, Any]

    @property
    def credited(self) -> float | None:
        """The credit this award carries: what was earned when recorded, else what the
        achievement makes available."""
        return self.credits_earned if self.credits_earned is not None else self.credits


def _payload(credential: IssuedCredential) -> dict[str, Any]:
    text = credential.document
    if text.startswith("{"):
        parsed: dict[str, Any] = json.loads(text)
        return parsed
    return dict(decode_jwt(text).credential)


def view(credential: IssuedCredential, base_url: str) -> CredentialView:
    """The credential's display facts."""
    document = _payload(credential)
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    issuer = document.get("issuer") or {}
    names = [
        i.get("identityHash")
        for i in subject.get("identifier") or []
        if isinstance(i, dict) and i.get("identityType") == "name" and not i.get("hashed")
    ]
    return CredentialView(
        id=credential.id,
        url=f"{base_url}/credentials/{credential.id}",
        name=str(achievement.get("name") or document.get("name") or "Credential"),
        description=str(achievement.get("description") or ""),
        criteria=str((achievement.get("criteria") or {}).get("narrative") or ""),
        issuer_name=str(issuer.get("name") or ""),
        issuer_url=issuer.get("url"),
        issuer_id=str(issuer.get("id") or ""),
        recipient_name=names[0] if names else None,
        valid_from=str(document.get("validFrom") or ""),
        valid_until=document.get("validUntil"),
        awarded=document.get("awardedDate"),
        narrative=subject.get("narrative"),
        evidence=[e for e in document.get("evidence") or [] if isinstance(e, dict)],
        alignments=[a for a in achievement.get("alignment") or [] if isinstance(a, dict)],
        achievement_type=achievement.get("achievementType"),
        credits=_number(achievement.get("creditsAvailable")),
        credit_unit=credit_unit(achievement),
        credits_earned=_number(subject.get("creditsEarned")),
        proof_format=credential.proof_format,
        document=document,
    )


def credit_of(credential: IssuedCredential) -> tuple[float | None, str | None]:
    """The credit a credential carries as signed (``creditsEarned`` when recorded, else its
    achievement's ``creditsAvailable``) and its unit (none: hours, unit not stated)."""
    return credit.credit_in(_payload(credential))


def version_image(credential: IssuedCredential) -> Image | None:
    """The badge image of the achievement version the credential was issued from, if any."""
    version = required(
        db.session.get(AchievementVersion, credential.achievement_version_id), "missing version"
    )
    return version.image


def version_name(credential: IssuedCredential) -> str:
    """The name of the achievement version the credential was issued from."""
    version = required(
        db.session.get(AchievementVersion, credential.achievement_version_id), "missing version"
    )
    return version.name


def badge_png(credential: IssuedCredential) -> bytes:
    """The badge image as a PNG with the credential baked in."""
    version = required(
        db.session.get(AchievementVersion, credential.achievement_version_id), "missing version"
    )
    return bake_png(version_png(version), credential.document)


def version_png(version: AchievementVersion) -> bytes:
    """An achievement version's badge image as a PNG: a PNG as it is, an SVG drawn, or the
    generated badge when it has none (or today's SVG rules refuse its SVG)."""
    image = version.image
    if image is not None and image.media_type == "image/png":
        return image.data
    drawn = None
    if image is not None and image.media_type == "image/svg+xml":
        drawn = images.svg_badge_png(image.data)
    return drawn if drawn is not None else images.default_badge_png(version.name)


def badge_svg(credential: IssuedCredential) -> bytes:
    """The badge image as an SVG with the credential baked in."""
    image = version_image(credential)
    if image is not None and image.media_type == "image/svg+xml":
        return bake_svg(image.data, credential.document)
    png = image.data if image is not None else images.default_badge_png(version_name(credential))
    width = image.width if image is not None else 512
    height = image.height if image is not None else 512
    wrapper = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
        f'href="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"/></svg>'
    )
    return bake_svg(wrapper.encode("utf-8"), credential.document)


def etag(credential: IssuedCredential, kind: str, extra: str = "") -> str:
    """An entity tag for a download of a credential. The credential and its achievement image
    never change; ``extra`` names anything else the download shows (e.g. the issuer's logo)."""
    image = version_image(credential)
    name = image.sha256 if image else "default"
    if image is not None and image.media_type == "image/svg+xml":
        # A stored SVG is rewritten (same address) when the sanitiser's rules change.
        name += f":sanitiser-{svg_sanitiser.VERSION}"
        if kind == "png":  # the SVG drawn as PNG: a new renderer may draw it differently
            name += f":{images.RENDERER}"
    seed = (
        f"{kind}:{credential.id}:{name}:"
        f"{hashlib.sha256(credential.document.encode('utf-8')).hexdigest()}:{extra}"
    )
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


def url_etag(kind: str, url: str) -> str:
    """An entity tag for a download made from a URL alone (a QR code)."""
    return hashlib.sha256(f"{kind}:{url}".encode()).hexdigest()[:32]


def linkedin_url(view: CredentialView, issuer: Issuer) -> str:
    """LinkedIn's "Add licence or certification" link, pre-filled."""
    issued = parse_date(view.awarded or view.valid_from)
    expires = parse_date(view.valid_until)
    fields: dict[str, str] = {
        "startTask": "CERTIFICATION_NAME",
        "name": view.name,
        "organizationName": issuer.name,
        "certUrl": view.url,
        "certId": view.id,
    }
    if issued:
        fields.update(issueYear=str(issued.year), issueMonth=str(issued.month))
    if expires:
        fields.update(expirationYear=str(expires.year), expirationMonth=str(expires.month))
    return "https://www.linkedin.com/profile/add?" + urlencode(fields)


def parse_date(value: str | None) -> datetime | None:
    """A credential date string as a datetime (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
