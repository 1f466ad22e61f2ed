"""The certificate PDF: every template on A4 and Letter, rendered to pixels; long names,
achievement names and URLs stay on the page and clear of the QR code; the paper follows the
reader's region; a new design is a new file."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image as PILImage

from app.services.delivery.certificate_design import (
    CertificateDesign,
    Picture,
    paper_for,
    region_paper,
)
from app.services.delivery.certificates import QR, certificate_pdf
from app.services.delivery.downloads import CredentialView
from tests.app.services.delivery.test_images import SAFE_SVG

PT_PER_MM = 72 / 25.4
#: A badge as the designer or an issuer's drawing program would make it.
BADGE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">'
    b'<circle cx="100" cy="100" r="94" fill="#1f3a68"/>'
    b'<circle cx="100" cy="100" r="78" fill="none" stroke="#ffffff" stroke-width="6"/>'
    b'<path d="M100 48 L114 86 L154 86 L122 110 L134 150 L100 126 L66 150 L78 110 L46 86 L86 86 Z"'
    b' fill="#f2c14e"/></svg>'
)
#: Set to a folder to keep the rendered pages (to look at them).
SHOTS = os.environ.get("CAIRN_CERTIFICATE_SHOTS")


def credential_view(**changes: object) -> CredentialView:
    view = CredentialView(
        id="0b7c3f52-9a1e-4c55-8d8b-3f0e2b6a1c9d",
        url="https://badges.district7.example.org/credentials/0b7c3f52-9a1e-4c55-8d8b-3f0e2b6a1c9d",
        name="Formative Assessment in Practice",
        description="Designed and ran formative assessment routines (exit tickets, hinge "
        "questions, peer feedback) for a full term and adjusted teaching from the evidence.",
        criteria="",
        issuer_name="District 7 Professional Learning",
        issuer_url=None,
        issuer_id="did:web:badges.district7.example.org:issuers:district-7",
        recipient_name="Ann Example-Smith",
        valid_from="2026-12-05T10:00:00Z",
        valid_until="2031-03-15T00:00:00Z",
        awarded="2026-12-05T10:00:00Z",
        narrative=None,
        evidence=[],
        alignments=[],
        achievement_type="Certificate",
        credits=6.0,
        credit_unit=None,
        credits_earned=None,
        proof_format="di",
        document={},
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def png(colour: str, width: int = 240, height: int = 80) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def signature_png() -> bytes:
    """A scribble on a transparent background."""
    from PIL import ImageDraw

    canvas = PILImage.new("RGBA", (360, 100), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line(
        [(10, 70), (60, 20), (90, 80), (140, 30), (190, 75), (260, 25), (340, 60)],
        fill=(20, 30, 90, 255),
        width=6,
    )
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def design(template: str, **changes: object) -> CertificateDesign:
    base = CertificateDesign(
        template=template,
        colour={"classic": "teal", "modern": "navy", "minimal": "burgundy"}[template],
        signatory_name="Dr. Maria Alvarez",
        signatory_title="Director of Professional Learning",
        signature=Picture(signature_png(), "image/png"),
        logo=Picture(png("#b5542f"), "image/png"),
        badge=Picture(BADGE_SVG, "image/svg+xml"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def render(data: bytes, name: str) -> PILImage.Image:
    """The PDF's page as pixels (kept in ``CAIRN_CERTIFICATE_SHOTS`` when set)."""
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=1.5).to_pil()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        image.save(Path(SHOTS) / f"{name}.png")
    return image


def text_boxes(data: bytes) -> tuple[tuple[float, float], list[tuple[str, tuple[float, ...]]]]:
    """The page size and every character shown with its box (left, bottom, right, top), in
    points from the bottom left."""
    page = pypdfium2.PdfDocument(data)[0]
    text = page.get_textpage()
    boxes = [(text.get_text_range(i, 1), text.get_charbox(i)) for i in range(text.count_chars())]
    return page.get_size(), [(c, b) for c, b in boxes if c.strip()]


def assert_fits(data: bytes, template: str) -> str:
    """Every character lies on the page inside a 9 mm margin, and none on the QR code."""
    (width, height), boxes = text_boxes(data)
    margin = 9 * PT_PER_MM
    right = width - (22 if template != "minimal" else 24) * PT_PER_MM
    qr = (right - QR * PT_PER_MM, 22 * PT_PER_MM, right, (22 + QR) * PT_PER_MM)
    for char, (left, bottom, right_edge, top) in boxes:
        assert margin <= left and right_edge <= width - margin, (char, left, right_edge, width)
        assert margin <= bottom and top <= height - margin, (char, bottom, top, height)
        clear = right_edge <= qr[0] or left >= qr[2] or top <= qr[1] or bottom >= qr[3]
        assert clear, (char, (left, bottom, right_edge, top), qr)
    return "".join(c for c, _ in boxes)


@pytest.mark.parametrize("template", ["classic", "modern", "minimal"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_template_on_both_papers(template: str, paper: str) -> None:
    data = certificate_pdf(credential_view(), paper=paper, design=design(template))
    shown = assert_fits(data, template)
    for text in ("AnnExample-Smith", "FormativeAssessmentinPractice", "6hoursofcredit",
                 "Dr.MariaAlvarez", "DirectorofProfessionalLearning", "IssuedDecember5,2026",
                 "validuntilMarch15,2031", "Verifyathttps://badges.district7"):  # fmt: skip
        assert text in shown, (text, shown)
    image = render(data, f"{template}-{paper}")
    assert image.width > image.height  # landscape
    size = pypdfium2.PdfDocument(data)[0].get_size()
    assert size == pytest.approx((841.89, 595.28) if paper == "a4" else (792, 612), abs=0.5)


LONG = credential_view(
    recipient_name="Maximiliana Alejandra Guadalupe Fernández-Villanueva de los Santos "
    "Oyelaran-Whitcombe",
    name="Culturally Responsive Formative Assessment, Feedback and Differentiated Instruction "
    "in Secondary Mathematics and Science Classrooms: Advanced Practicum",
    url="https://credentials.professional-learning.very-long-district-name.example.org/"
    "credentials/0b7c3f52-9a1e-4c55-8d8b-3f0e2b6a1c9d-with-a-much-longer-path-than-usual",
    issuer_id="did:web:credentials.professional-learning.very-long-district-name.example.org:"
    "issuers:the-very-long-district-professional-learning-office",
    issuer_name="The Very Long District Office of Professional Learning and Instructional "
    "Leadership Development",
    description=" ".join(["Word"] * 300),
)


@pytest.mark.parametrize("template", ["classic", "modern", "minimal"])
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_long_names_and_addresses_never_overflow(template: str, paper: str) -> None:
    data = certificate_pdf(
        LONG,
        paper=paper,
        design=design(template, signatory_title="Assistant Superintendent for Curriculum, "
                      "Instruction and Professional Learning Across the District"),
    )  # fmt: skip
    shown = assert_fits(data, template)
    assert "MaximilianaAlejandra" in shown
    render(data, f"long-{template}-{paper}")


def test_a_name_without_spaces_is_cut_not_run_off_the_page() -> None:
    data = certificate_pdf(
        credential_view(recipient_name="W" * 200, url="https://x.example/" + "a" * 300),
        design=design("classic"),
    )
    shown = assert_fits(data, "classic")
    assert "…" in shown


def test_without_signatory_logo_or_badge_image() -> None:
    data = certificate_pdf(
        credential_view(recipient_name=None, credits=None, valid_until=None),
        design=CertificateDesign(badge_name="Formative Assessment in Practice"),
    )
    shown = assert_fits(data, "classic")
    assert "theholderofthiscredential" in shown and "validuntil" not in shown
    render(data, "plain-classic-a4")


def test_an_svg_logo_and_signature_are_drawn() -> None:
    plain = certificate_pdf(credential_view(), design=design("minimal", logo=None, signature=None))
    svg = Picture(BADGE_SVG, "image/svg+xml")
    drawn = certificate_pdf(credential_view(), design=design("minimal", logo=svg, signature=svg))
    assert len(drawn) > len(plain)


def test_a_drawing_the_pdf_library_cannot_render_leaves_the_rest_of_the_certificate() -> None:
    # The sanitiser allows a <use> of a gradient, which fpdf2 cannot draw.
    odd = Picture(SAFE_SVG, "image/svg+xml")
    data = certificate_pdf(credential_view(), design=design("classic", badge=odd, logo=odd))
    assert "AnnExample-Smith" in assert_fits(data, "classic")


def test_the_design_fingerprint_names_everything_shown() -> None:
    base = design("classic")
    changed = [
        replace(base, template="modern"),
        replace(base, colour="plum"),
        replace(base, signatory_name="Someone Else"),
        replace(base, signatory_title=None),
        replace(base, signature=None),
        replace(base, logo=Picture(png("#000000"), "image/png")),
        replace(base, badge=None, badge_name="Other"),
    ]
    prints = {d.fingerprint() for d in changed}
    assert base.fingerprint() not in prints and len(prints) == len(changed)
    assert design("classic").fingerprint() == base.fingerprint()


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["en-US", "en"], "letter"),
        (["en-CA"], "letter"),
        (["es-MX", "es"], "letter"),
        (["en-GB", "en-US"], "a4"),
        (["de-DE"], "a4"),
        (["en", "en-US"], "letter"),  # the first tag that names a region decides
        (["fr"], "a4"),
        ([], "a4"),
        (["zh-Hant-TW"], "a4"),
        (["es-419"], "a4"),
        (["en_US"], "letter"),
    ],
)
def test_region_paper(languages: list[str], expected: str) -> None:
    assert region_paper(languages) == expected


def test_paper_asked_for_then_the_issuers_then_the_readers() -> None:
    assert paper_for("a4", "letter", ["en-US"]) == "a4"
    assert paper_for("letter", "a4", ["de-DE"]) == "letter"
    assert paper_for(None, "a4", ["en-US"]) == "a4"
    assert paper_for("bogus", "letter", ["de-DE"]) == "letter"
    assert paper_for(None, "auto", ["en-US"]) == "letter"
    assert paper_for(None, "auto", ["de-DE"]) == "a4"


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        ("en_GB", ("Issued5December2026", "validuntil15March2031", "1.5hoursofcredit")),
        ("en", ("IssuedDecember5,2026", "validuntilMarch15,2031", "1hourofcredit")),
        ("de", ("Issued5.Dezember2026", "validuntil15.März2031", "1,5Stundenofcredit")),
    ],
)
def test_dates_and_hours_are_written_for_the_locale_it_is_given(
    locale: str, texts: tuple[str, ...]
) -> None:
    hours = 1.0 if locale == "en" else 1.5
    data = certificate_pdf(credential_view(credits=hours), locale=locale)
    shown = assert_fits(data, "classic")
    for text in texts:
        assert text in shown, (text, shown)
