"""The issuer's certificate design: template, colour, paper size and the signature block."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Image, Issuer
from app.models.issuer import CERTIFICATE_COLOURS, CERTIFICATE_PAPERS, CERTIFICATE_TEMPLATES
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid
from app.services.org import issuers
from app.services.org.audit import Actor


@dataclass(frozen=True)
class CertificateDesignInput:
    """The certificate's design (already validated by ``schemas.certificate_design``)."""

    template: str = "classic"
    colour: str = "teal"
    paper: str = "auto"
    signatory_name: str | None = None
    signatory_title: str | None = None


def _check(data: CertificateDesignInput) -> None:
    if data.template not in CERTIFICATE_TEMPLATES:
        raise Invalid("Choose the classic, modern or minimal template.", "template")
    if data.colour not in CERTIFICATE_COLOURS:
        raise Invalid("Choose one of the listed colours.", "colour")
    if data.paper not in CERTIFICATE_PAPERS:
        raise Invalid("Choose automatic, A4 or US Letter.", "paper")
    if data.signatory_title and not data.signatory_name:
        raise Invalid("Give the name of the person whose title this is.", "signatory_name")


def _state(issuer: Issuer) -> dict[str, str | None]:
    return {
        "template": issuer.certificate_template,
        "colour": issuer.certificate_colour,
        "paper": issuer.certificate_paper,
        "signatory_name": issuer.signatory_name,
        "signatory_title": issuer.signatory_title,
        "signature": issuer.signature_image.sha256 if issuer.signature_image else None,
    }


def update(
    issuer: Issuer,
    data: CertificateDesignInput,
    *,
    signature: Image | None = None,
    remove_signature: bool = False,
    actor: Actor,
    env: ServiceEnv,
) -> Issuer:
    """Change how the issuer's certificates look. Certificates are printed from the signed
    credential and this design, so the change applies to every certificate printed from now on.

    :param signature: a newly uploaded signature image (already validated and stored).
    :param remove_signature: drop the current signature image.
    :raises Invalid: for a value outside the choices, or both a new and no signature.
    """
    _check(data)
    if signature is not None and remove_signature:
        raise Invalid(
            "Either upload a new signature or remove the current one, not both.",
            "remove_signature",
        )
    before = _state(issuer)
    issuer.certificate_template = data.template
    issuer.certificate_colour = data.colour
    issuer.certificate_paper = data.paper
    issuer.signatory_name = data.signatory_name
    issuer.signatory_title = data.signatory_title
    if signature is not None:
        issuer.signature_image = signature
    elif remove_signature:
        issuer.signature_image = None
    after = _state(issuer)
    issuers.record_changes(issuer, "issuer.certificate", before, after, actor=actor, env=env)
    return issuer
