"""A renewal statement as a PDF a licensing office can file: who, which organisation, the
period and credit rules, a table of every credential with its credit, hours and category, the
totals by category and overall against the hours required, and the QR code and address that
verify the signed statement. A4 portrait; long tables continue on further pages, each with the
statement's id and page number at the foot.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from fpdf import FPDF, FontFace

from app.qr import qr_png
from app.services._core.formatting import (
    DEFAULT_LOCALE,
    format_credit,
    format_day,
    format_decimal,
)
from app.services.learning.statements import StatementView

FONTS = Path(__file__).resolve().parents[2] / "static" / "fonts"
INK = (31, 42, 46)
MUTED = (91, 107, 112)
ACCENT = (22, 94, 110)
RULE = (205, 214, 216)
HEAD_FILL = (232, 241, 243)
#: The QR code's side in millimetres.
QR = 32.0


class _Statement(FPDF):
    """The page with the statement's foot on every page."""

    statement_id = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("DejaVu", "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"Renewal statement {self.statement_id}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def _day(value: str | date, locale: str) -> str:
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return format_day(day, locale, width="long")


def _hours(value: float, locale: str) -> str:
    return format_decimal(round(value, 2), locale)


def statement_pdf(shown: StatementView, *, locale: str = DEFAULT_LOCALE) -> bytes:
    """The statement as PDF bytes, dates and numbers in ``locale``'s way."""
    pdf = _Statement(orientation="portrait", unit="mm", format="A4")
    pdf.statement_id = shown.statement.public_id
    pdf.set_title(f"Renewal statement for {shown.holder}")
    pdf.set_subject(f"Renewal statement {shown.url}")
    pdf.set_author(shown.issuer_name)
    pdf.set_creator("Cairn")
    # The day it was made rather than now: the same statement always gives the same bytes.
    pdf.set_creation_date(shown.statement.created_at)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    _heading(pdf, shown, locale)
    _lines(pdf, shown, locale)
    _totals(pdf, shown, locale)
    _verification(pdf, shown, locale)
    return bytes(pdf.output())


def _heading(pdf: FPDF, shown: StatementView, locale: str) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.line(pdf.l_margin, 14, pdf.w - pdf.r_margin, 14)
    pdf.set_y(20)
    pdf.set_text_color(*ACCENT)
    pdf.set_font("DejaVu", "B", 9)
    pdf.set_char_spacing(1.2)
    pdf.cell(width, 5, "RENEWAL STATEMENT", new_x="LMARGIN", new_y="NEXT")
    pdf.set_char_spacing(0)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "B", 17)
    pdf.multi_cell(width, 8, shown.issuer_name, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        width, 5.5,
        "Professional learning credentials awarded in the period below, with the hours each "
        "counts for toward licence renewal.",
        align="L", new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.ln(3)
    facts = [
        ("Educator", shown.holder),
        ("Issued by", shown.issuer_name),
        ("Period", f"{_day(shown.start, locale)} to {_day(shown.end, locale)}"),
        ("Counted under", shown.rule_name or "Hours as each credential states them (no rules)"),
        ("Statement made", _day(shown.statement.created_at.date(), locale)),
    ]
    for label, value in facts:
        pdf.set_font("DejaVu", "B", 10)
        pdf.set_text_color(*INK)
        pdf.cell(38, 6.5, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(width - 38, 6.5, value, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _section(pdf: FPDF, title: str) -> None:
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


def _lines(pdf: FPDF, shown: StatementView, locale: str) -> None:
    _section(pdf, "Credentials")
    pdf.set_font("DejaVu", "", 9)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    heading = FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=INK)
    with pdf.table(
        col_widths=(56, 36, 30, 16, 36),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT"),
        headings_style=heading,
        line_height=5.2,
        padding=1.6,
        borders_layout="HORIZONTAL_LINES",
        repeat_headings=1,
    ) as table:
        table.row(("Credential", "Awarded", "Credit", "Hours", "Category"))
        for line in shown.lines:
            credit = format_credit(line.credit, line.unit, locale) if line.credit else (
                "Micro-credential" if line.hours else "None"
            )  # fmt: skip
            table.row((
                line.name, _day(line.awarded, locale), credit, _hours(line.hours, locale),
                line.category or "Not in a category",
            ))  # fmt: skip
    pdf.ln(4)


def _totals(pdf: FPDF, shown: StatementView, locale: str) -> None:
    # The totals stay together: on the next page when the rest of this one cannot hold them.
    rows_count = len(shown.categories) + 2 + (1 if shown.categories and shown.uncategorised else 0)
    if pdf.get_y() + 12 + 9.5 * rows_count > pdf.h - 20:
        pdf.add_page()
    _section(pdf, "Totals")
    pdf.set_font("DejaVu", "", 9.5)
    heading = FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=INK)
    rows: list[tuple[str, str, str, str]] = [
        (c.name, _hours(c.hours, locale), _hours(c.minimum, locale),
         "Met" if not c.missing else f"{_hours(c.missing, locale)} still needed")
        for c in shown.categories
    ]  # fmt: skip
    if shown.categories and shown.uncategorised:
        rows.append(("Not in a category", _hours(shown.uncategorised, locale), "", ""))
    if shown.hours_required is not None:
        overall = "Met" if not shown.missing else f"{_hours(shown.missing, locale)} still needed"
        rows.append(("All hours", _hours(shown.total, locale),
                     _hours(shown.hours_required, locale), overall))  # fmt: skip
    else:
        rows.append(("All hours", _hours(shown.total, locale), "", ""))
    with pdf.table(
        col_widths=(70, 30, 30, 44),
        text_align=("LEFT", "RIGHT", "RIGHT", "LEFT"),
        headings_style=heading,
        line_height=5.6,
        padding=1.6,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row(("Category", "Hours", "Required", "Status"))
        for number, row in enumerate(rows):
            style = FontFace(emphasis="BOLD") if number == len(rows) - 1 else None
            table.row(row, style=style)
    pdf.ln(5)


def _verification(pdf: FPDF, shown: StatementView, locale: str) -> None:
    """The QR code beside the words that say where and how to verify the statement; on a new
    page when the rest of this one is too short for it."""
    if pdf.get_y() + QR + 6 > pdf.h - 20:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, top, pdf.w - pdf.r_margin, top)
    top += 4
    pdf.image(io.BytesIO(qr_png(shown.url)), x=pdf.l_margin, y=top, w=QR, h=QR)
    x = pdf.l_margin + QR + 6
    width = pdf.w - pdf.r_margin - x
    pdf.set_xy(x, top + 1)
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.multi_cell(width, 5.5, "Verify this statement", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(width, 4.8, shown.url, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(x, pdf.get_y() + 1.5)  # ln() would go back to the margin, under the code
    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "", 8)
    signer = shown.document.get("issuer", {}).get("id", "")
    pdf.multi_cell(
        width, 4.2,
        "Scan the code or open the address: the page checks the statement's signature and each "
        "credential in it. The statement is a signed CLR 2.0 credential (download it there); "
        f"it is signed by {shown.issuer_name} ({signer}), and every credential in it keeps "
        "its own issuer's Open Badges 3.0 signature, so each line verifies on its own.",
        align="L", new_x="LEFT", new_y="NEXT",
    )  # fmt: skip
