"""A printable certificate PDF for a credential, in A4 or US Letter, landscape, in the issuer's
template (classic, modern or minimal) and colour, with its badge, the issuer's logo and
signature block, and the QR code and address that verify it.

Everything a person typed (a recipient's or an achievement's name, a URL) is fitted: the font
shrinks to a floor, then the text wraps to a set number of lines, then it is cut with an
ellipsis, so nothing ever runs off the page or over another part of it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from fpdf import FPDF

from app.qr import qr_png
from app.services._core.formatting import DEFAULT_LOCALE, format_credit, format_day
from app.services.delivery.certificate_design import CertificateDesign, Picture, badge_of
from app.services.delivery.downloads import CredentialView, parse_date

FONTS = Path(__file__).resolve().parents[2] / "static" / "fonts"
PAPER = {"a4": "A4", "letter": "Letter"}
INK = (31, 42, 46)
MUTED = (91, 107, 112)
#: Millimetres per typographic point.
PT = 25.4 / 72
#: The QR code's side, and the footer's height above the page's bottom margin.
QR = 28.0
FOOTER = 62.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """Where a template leaves room for the text: between ``x0`` and ``x1``, from ``top`` on,
    aligned ``C`` (centred) or ``L``; the signature block centred (classic) or beside the dates."""

    x0: float
    x1: float
    top: float
    align: str

    @property
    def width(self) -> float:
        return self.x1 - self.x0


def _plain(text: str, limit: int) -> str:
    """Markdown reduced to plain text for print (emphasis markers dropped), cut to ``limit``."""
    flat = " ".join(text.replace("**", "").replace("__", "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def certificate_pdf(
    view: CredentialView,
    *,
    paper: str = "a4",
    design: CertificateDesign | None = None,
    locale: str = DEFAULT_LOCALE,
) -> bytes:
    """The certificate as PDF bytes.

    :param paper: ``a4`` or ``letter``.
    :param design: the issuer's template, colour, pictures and signature block.
    :param locale: how dates and hours are written ("December 5, 2026" in ``en``, "5 December
        2026" in ``en_GB``): the reader's, as the certificate page shows them.
    """
    design = design or CertificateDesign()
    pdf = FPDF(orientation="landscape", unit="mm", format=PAPER.get(paper, "A4"))
    issued = parse_date(view.awarded or view.valid_from)
    _describe(pdf, view, issued)
    # A Unicode font, so names in any Latin, Greek or Cyrillic script print correctly.
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.add_page()
    draw = {"modern": _modern, "minimal": _minimal}.get(design.template, _classic)
    frame = draw(pdf, view, design)
    _draw_body(pdf, view, design, frame, locale)
    _draw_footer(pdf, view, design, frame, issued, locale)
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


# ---------------------------------------------------------------------------- pictures and text


def _place(pdf: FPDF, picture: Picture | None, x: float, y: float, w: float, h: float) -> bool:
    """Draw a picture fitted (aspect kept) into a box; False when there is none to draw."""
    if picture is None:
        return False
    try:
        pdf.image(io.BytesIO(picture.data), x=x, y=y, w=w, h=h, keep_aspect_ratio=True)
    except Exception:  # a drawing fpdf cannot render must not stop the certificate
        log.warning("certificate: a %s picture could not be drawn", picture.media_type)
        return False
    return True


def _fit(
    pdf: FPDF,
    text: str,
    *,
    style: str,
    size: float,
    smallest: float,
    width: float,
    lines: int,
    one_line_first: bool = False,
) -> tuple[float, list[str]]:
    """The largest font size (from ``size`` down to ``smallest``) at which ``text`` fits in
    ``lines`` lines of ``width``, and those lines; at the floor, the last line kept ends "…".
    With ``one_line_first``, one line at any size down to the floor is preferred to several."""

    def wrap(at: float) -> list[str]:
        pdf.set_font("DejaVu", style, at)
        # With output="LINES" multi_cell answers the lines (its annotation is the union of all
        # its answers).
        return cast(list[str], pdf.multi_cell(width, 1, text, dry_run=True, output="LINES"))

    sizes = [size - step for step in range(int(size - smallest) + 1)] or [size]
    if sizes[-1] != smallest:
        sizes.append(smallest)
    if one_line_first:
        for at in sizes:
            if len(wrapped := wrap(at)) <= 1:
                return at, wrapped
    for at in sizes:
        if len(wrapped := wrap(at)) <= lines:
            return at, wrapped
    wrapped = wrapped[:lines]
    last = wrapped[-1].rstrip()
    while last and pdf.get_string_width(last + "…") > width:
        last = last[:-1].rstrip()
    wrapped[-1] = last + "…"
    return smallest, wrapped


@dataclass(frozen=True)
class Style:
    """How one piece of text is set: weight, size and its floor, lines, colour, leading."""

    style: str = ""
    size: float = 11
    smallest: float | None = None
    lines: int = 1
    colour: tuple[int, int, int] = INK
    spacing: float = 1.25
    one_line_first: bool = False


def _text(
    pdf: FPDF, text: str, frame: Frame, y: float, look: Style = Style(), *, draw: bool = True
) -> float:
    """Write fitted text in the frame from ``y`` (or, with ``draw`` false, only measure it);
    the ``y`` just below it."""
    size, wrapped = _fit(
        pdf,
        text,
        style=look.style,
        size=look.size,
        smallest=look.smallest or look.size,
        width=frame.width,
        lines=look.lines,
        one_line_first=look.one_line_first,
    )
    height = size * PT * look.spacing
    if draw:
        pdf.set_text_color(*look.colour)
        for number, line in enumerate(wrapped):
            pdf.set_xy(frame.x0, y + number * height)
            pdf.cell(frame.width, height, line, align=frame.align)
    return y + height * len(wrapped)


# ---------------------------------------------------------------------------- the templates


def _classic(pdf: FPDF, view: CredentialView, design: CertificateDesign) -> Frame:
    """A double frame in the accent colour; the logo at the top left, the badge centred."""
    width, height = pdf.w, pdf.h
    pdf.set_draw_color(*design.rgb)
    pdf.set_line_width(1.4)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.35)
    pdf.rect(13.5, 13.5, width - 27, height - 27)
    _place(pdf, design.logo, 22, 20, 36, 16)
    _place(pdf, badge_of(design), (width - 30) / 2, 19, 30, 30)
    return Frame(x0=30, x1=width - 30, top=52, align="C")


def _modern(pdf: FPDF, view: CredentialView, design: CertificateDesign) -> Frame:
    """A band of the accent colour down the left with the badge and logo on white; the text
    aligned left beside it."""
    width, height = pdf.w, pdf.h
    band = round(width * 0.27, 1)
    pdf.set_fill_color(*design.rgb)
    pdf.rect(0, 0, band, height, style="F")
    pdf.set_fill_color(255, 255, 255)
    pdf.ellipse(band / 2 - 26, 30, 52, 52, style="F")
    _place(pdf, badge_of(design), band / 2 - 19, 37, 38, 38)
    if design.logo is not None:
        pdf.rect(band / 2 - 26, 94, 52, 24, style="F")
        _place(pdf, design.logo, band / 2 - 22, 97, 44, 18)
    pdf.set_font("DejaVu", "B", 10)
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(8, 126 if design.logo is not None else 92)
    pdf.multi_cell(band - 16, 5, _plain(view.issuer_name, 120), align="C")
    return Frame(x0=band + 16, x1=width - 20, top=26, align="L")


def _minimal(pdf: FPDF, view: CredentialView, design: CertificateDesign) -> Frame:
    """No frame: a thin accent rule at the top, the logo under it, the badge at the right."""
    width = pdf.w
    pdf.set_draw_color(*design.rgb)
    pdf.set_line_width(1.0)
    pdf.line(24, 18, width - 24, 18)
    _place(pdf, design.logo, 24, 24, 40, 14)
    _place(pdf, badge_of(design), width - 24 - 32, 26, 32, 32)
    return Frame(x0=24, x1=width - 24 - 40, top=46, align="L")


# ---------------------------------------------------------------------------- body and footer


def _draw_body(
    pdf: FPDF, view: CredentialView, design: CertificateDesign, frame: Frame, locale: str
) -> None:
    """The body, moved down by half the room it leaves above the footer (at most 20 mm), so a
    short certificate does not hang from the top."""
    spare = pdf.h - FOOTER - _body(pdf, view, design, frame, frame.top, locale, draw=False)
    _body(pdf, view, design, frame, frame.top + min(max(spare, 0) / 2, 20), locale, draw=True)


def _body(
    pdf: FPDF, view: CredentialView, design: CertificateDesign, frame: Frame, y: float,
    locale: str, *, draw: bool,
) -> float:  # fmt: skip
    """Heading, holder, achievement, its credit hours and what it recognises; the ``y`` below."""
    limit = pdf.h - FOOTER  # nothing of the body below the footer's top
    accent = design.rgb
    pdf.set_char_spacing(1.2)
    y = _text(pdf, "CERTIFICATE OF ACHIEVEMENT", frame, y, Style("B", 10, colour=accent), draw=draw)
    pdf.set_char_spacing(0)
    if design.template != "modern":  # the modern band names the issuer already
        y = _text(pdf, view.issuer_name, frame, y + 1, Style(size=12, smallest=8, colour=MUTED),
                  draw=draw)  # fmt: skip
    y = _text(pdf, "awarded to", frame, y + 3, Style(size=12, colour=MUTED), draw=draw)
    name = view.recipient_name or "the holder of this credential"
    y = _text(pdf, name, frame, y + 1, Style("B", 30, 14, lines=2, spacing=1.15), draw=draw)
    if draw:
        pdf.set_draw_color(*accent)
        pdf.set_line_width(0.6)
        rule = frame.x0 + (frame.width - 40) / 2 if frame.align == "C" else frame.x0
        pdf.line(rule, y + 2, rule + 40, y + 2)
    y = _text(pdf, "for", frame, y + 5, Style(size=11, colour=MUTED), draw=draw)
    y = _text(pdf, view.name, frame, y + 1, Style("B", 19, 11, lines=2, colour=accent), draw=draw)
    if view.credited:
        credit = f"{format_credit(view.credited, view.credit_unit, locale)} of credit"
        y = _text(pdf, credit, frame, y + 1.5, Style("B", 11), draw=draw)
    description = _plain(view.description, 420)
    room = int((limit - y - 3) // (10 * PT * 1.3))
    if description and room > 0:
        look = Style(size=10, lines=min(room, 3), colour=MUTED, spacing=1.3)
        y = _text(pdf, description, frame, y + 3, look, draw=draw)
    return y


def _draw_signature(pdf: FPDF, design: CertificateDesign, x: float, width: float) -> None:
    """The signature image over a line, the signatory's name and title under it."""
    if not design.signatory_name:
        return
    line_y = pdf.h - 44
    _place(pdf, design.signature, x + 4, line_y - 17, width - 8, 16)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(x, line_y, x + width, line_y)
    box = Frame(x0=x, x1=x + width, top=line_y, align="C")
    y = _text(pdf, design.signatory_name, box, line_y + 1.5, Style("B", 10, 7))
    if design.signatory_title:
        _text(pdf, design.signatory_title, box, y, Style(size=9, smallest=7, lines=2, colour=MUTED))


def _draw_footer(
    pdf: FPDF,
    view: CredentialView,
    design: CertificateDesign,
    frame: Frame,
    issued: datetime | None,
    locale: str,
) -> None:
    """Dates, the signature block, the QR code of the credential's URL and the lines that say
    where and how to verify it."""
    width, height = pdf.w, pdf.h
    right = width - 22 if design.template != "minimal" else width - 24
    qr_x, qr_y = right - QR, height - 22 - QR
    pdf.image(io.BytesIO(qr_png(view.url)), x=qr_x, y=qr_y, w=QR, h=QR)
    left = frame.x0 if design.template != "classic" else 24
    if design.template == "classic":
        signature_x, dates_x = (width - 76) / 2, left
    else:
        signature_x, dates_x = left, left + 82
    dates = Frame(x0=dates_x, x1=min(dates_x + 72, qr_x - 6), top=height - 50, align="L")
    y = dates.top
    if issued is not None:
        y = _text(
            pdf, f"Issued {format_day(issued, locale, width='long')}", dates, y, Style("B", 10, 7)
        )
    expires = parse_date(view.valid_until)
    if expires is not None:
        _text(
            pdf,
            f"valid until {format_day(expires, locale, width='long')}",
            dates,
            y,
            Style(size=9, smallest=7, colour=MUTED),
        )
    _draw_signature(pdf, design, signature_x, 76 if design.template == "classic" else 72)
    verify = Frame(x0=left, x1=qr_x - 6, top=height - 30, align="L")
    # The address is never cut (a cut address verifies nothing): one line if it fits at any
    # size down to 6 pt, else up to three.
    look = Style(size=8, smallest=6, lines=3, colour=MUTED, one_line_first=True)
    y = _text(pdf, f"Verify at {view.url}", verify, verify.top, look)
    look = Style(size=7, smallest=6, lines=2, colour=MUTED)
    _text(pdf, f"Credential id {view.id} · Open Badges 3.0, signed by {view.issuer_id}", verify,
          y, look)  # fmt: skip
