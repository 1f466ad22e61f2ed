"""What a printed certificate looks like: the issuer's chosen template, colour and signature
block, the pictures it shows, and which paper it is printed on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from app.models import Image, IssuedCredential, Issuer
from app.models.issuer import CERTIFICATE_COLOURS, CERTIFICATE_TEMPLATES
from app.services._core.formatting import format_day
from app.services.delivery import downloads, images

#: Regions whose paper is US Letter (the Unicode CLDR's ``paperSize`` data); A4 elsewhere.
LETTER_REGIONS = frozenset(
    {"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "NI", "PA", "PR", "SV", "BZ"}
)
PAPERS = ("a4", "letter")


@dataclass(frozen=True)
class Picture:
    """An image a certificate shows: PNG or (sanitised) SVG bytes."""

    data: bytes
    media_type: str

    @property
    def is_svg(self) -> bool:
        return self.media_type == "image/svg+xml"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class CertificateDesign:
    """The issuer's certificate design with the pictures of one credential's certificate."""

    template: str = "classic"
    colour: str = "teal"
    signatory_name: str | None = None
    signatory_title: str | None = None
    signature: Picture | None = None
    logo: Picture | None = None
    badge: Picture | None = None
    #: Without a badge image, the generated badge of this name is drawn (made only then).
    badge_name: str = ""

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The accent colour as red, green, blue."""
        value = CERTIFICATE_COLOURS.get(self.colour, CERTIFICATE_COLOURS["teal"]).lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

    def fingerprint(self) -> str:
        """Everything of the design a printed certificate shows, for its entity tag: a new
        design (or logo, or signature) is a new file."""
        parts = [
            self.template,
            self.colour,
            self.signatory_name or "",
            self.signatory_title or "",
            *(p.digest if p else "-" for p in (self.signature, self.logo, self.badge)),
            self.badge_name,
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def _picture(image: Image | None) -> Picture | None:
    return Picture(image.data, image.media_type) if image is not None else None


def design_for(issuer: Issuer, credential: IssuedCredential) -> CertificateDesign:
    """The certificate design of ``credential``: its issuer's choices, logo and signature, and
    the badge image the credential was issued with (the generated one when it had none)."""
    badge = _picture(downloads.version_image(credential))
    template = issuer.certificate_template
    return CertificateDesign(
        template=template if template in CERTIFICATE_TEMPLATES else "classic",
        colour=issuer.certificate_colour,
        signatory_name=issuer.signatory_name,
        signatory_title=issuer.signatory_title,
        # The signature belongs to the signatory: without a name there is no signature block.
        signature=_picture(issuer.signature_image) if issuer.signatory_name else None,
        logo=_picture(issuer.image),
        badge=badge,
        badge_name="" if badge is not None else downloads.version_name(credential),
    )


def badge_of(design: CertificateDesign) -> Picture | None:
    """The badge picture to draw: the credential's own, or the generated one."""
    if design.badge is not None:
        return design.badge
    if design.badge_name:
        return Picture(images.default_badge_png(design.badge_name), "image/png")
    return None


def long_date(value: str | None, locale: str) -> tuple[str, str] | None:
    """A credential date as ``(ISO date, "December 5, 2026")`` in ``locale``, as the
    certificate prints it."""
    parsed = downloads.parse_date(value)
    if parsed is None:
        return None
    return parsed.date().isoformat(), format_day(parsed, locale, width="long")


def region_paper(languages: Iterable[str]) -> str:
    """The paper for a reader's languages, best first (``en-US`` → ``letter``): the first
    language tag that names a region decides; without one, A4."""
    for tag in languages:
        subtags = tag.replace("_", "-").split("-")[1:]
        regions = [s.upper() for s in subtags if len(s) == 2 and s.isalpha()]
        if regions:
            return "letter" if regions[0] in LETTER_REGIONS else "a4"
    return "a4"


def paper_for(asked: str | None, issuer_choice: str, languages: Iterable[str]) -> str:
    """The paper a certificate is printed on: the one asked for (``?paper=``), else the
    issuer's choice, else by the reader's languages (:func:`region_paper`)."""
    if asked in PAPERS:
        return asked
    if issuer_choice in PAPERS:
        return issuer_choice
    return region_paper(languages)
