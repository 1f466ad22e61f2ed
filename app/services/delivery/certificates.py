"""A printable certificate PDF for a credential, in A4 or US Letter, landscape, with its QR code."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from app.qr import qr_png
from app.services.delivery.downloads import CredentialView, parse_date

FONTS = Path(__file__).resolve().parents[2] / "static" / "fonts"
PAPER = {"a4": "A4", "letter": "Letter"}


def _plain(text: str, limit: int) -> str:
    """Markdown reduced to plain text for print (emphasis markers dropped), cut to ``limit``."""
    flat = " ".join(text.replace("**", "").replace("__", "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def certificate_pdf(
    view: CredentialView, *, paper: str = "a4", logo_png: bytes | None = None
) -> bytes:
    """The certificate as PDF bytes.

    :param paper: ``a4`` or ``letter``.
    :param logo_png: the issuer's logo, when it is a PNG.
    """
    pdf = FPDF(orientation="landscape", unit="mm", format=PAPER.get(paper, "A4"))
    issued = parse_date(view.awarded or view.valid_from)
    _describe(pdf, view, issued)
    # A Unicode font, so names in any Latin, Greek or Cyrillic script print correctly.
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    _draw_border(pdf)
    _draw_award(pdf, view, logo_png)
    _draw_footer(pdf, view, issued)
    return bytes(pdf.output())


def _describe(pdf: FPDF, view: CredentialView, issued: datetime | None) -> None:
    """The document's own metadata: title, subject, author, creator and date."""
    holder = f" for {view.recipient_name}" if view.recipient_name else ""
    pdf.set_title(f"{view.name}: certificate{holder}")
    pdf.set_subject(f"Open Badges 3.0 credential {view.url}")
    pdf.set_author(view.issuer_name)
    pdf.set_creator("Cairn")
    if issued is not None:
        # The issue date rather than now: the same credential always gives the same bytes.
        pdf.set_creation_date(issued)


def _draw_border(pdf: FPDF) -> None:
    """A double frame round the page."""
    width, height = pdf.w, pdf.h
    pdf.set_draw_color(47, 111, 106)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, width - 26, height - 26)


def _draw_award(pdf: FPDF, view: CredentialView, logo_png: bytes | None) -> None:
    """The centred middle: logo, issuer, achievement, holder and description."""
    width = pdf.w
    top = 26.0
    if logo_png:
        pdf.image(
            io.BytesIO(logo_png), x=(width - 22) / 2, y=top, w=22, h=22, keep_aspect_ratio=True
        )
        top += 26
    pdf.set_text_color(91, 107, 112)
    pdf.set_font("DejaVu", "", 12)
    pdf.set_xy(20, top)
    pdf.cell(width - 40, 8, view.issuer_name, align="C")
    pdf.set_text_color(31, 42, 46)
    pdf.set_font("DejaVu", "B", 28)
    pdf.set_xy(20, top + 12)
    pdf.multi_cell(width - 40, 12, view.name, align="C")
    y = pdf.get_y() + 4
    pdf.set_font("DejaVu", "", 13)
    pdf.set_xy(20, y)
    pdf.cell(width - 40, 8, "awarded to", align="C")
    pdf.set_font("DejaVu", "B", 20)
    pdf.set_xy(20, y + 9)
    pdf.cell(width - 40, 10, view.recipient_name or "the holder of this credential", align="C")
    pdf.set_font("DejaVu", "", 11)
    pdf.set_xy(35, y + 24)
    pdf.multi_cell(width - 70, 6, _plain(view.description, 420), align="C")


def _draw_footer(pdf: FPDF, view: CredentialView, issued: datetime | None) -> None:
    """Dates, where to verify, the credential id, and the QR code of its URL."""
    width, height = pdf.w, pdf.h
    expires = parse_date(view.valid_until)
    dates = f"Issued {issued:%d %B %Y}" if issued else ""
    if expires:
        dates += f" · valid until {expires:%d %B %Y}"
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(91, 107, 112)
    pdf.set_xy(20, height - 52)
    pdf.cell(width - 80, 6, dates)
    pdf.set_xy(20, height - 44)
    pdf.cell(width - 80, 6, f"Verify at {view.url}")
    pdf.set_xy(20, height - 36)
    pdf.cell(
        width - 80, 6, f"Credential id {view.id} · Open Badges 3.0, signed by {view.issuer_id}"
    )
    pdf.image(io.BytesIO(qr_png(view.url)), x=width - 58, y=height - 60, w=38, h=38)
