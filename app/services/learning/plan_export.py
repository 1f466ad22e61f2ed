"""A learning plan as a PDF (fpdf2, with the bundled DejaVu fonts as certificates use): the
vision, the research question, each goal with its standards, modules, badges, evidence, target
date and progress, the reflections (each marked private, shared or on the showcase) and the
comments. It is the educator's own copy, so it holds everything of theirs."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.models import Educator, LearningPlan
from app.services._core.env import ServiceEnv
from app.services._core.formatting import DEFAULT_LOCALE, format_day
from app.services.learning import plans

FONTS = Path(__file__).resolve().parents[2] / "static" / "fonts"
INK = (31, 42, 46)
MUTED = (91, 107, 112)
ACCENT = (47, 111, 106)
MODULE_STATES = plans.MODULE_STATES


class _Plan(FPDF):
    """A portrait page with the plan's name and a page number at the foot."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")


def _line(pdf: FPDF, text: str, size: float = 10, *, bold: bool = False, muted: bool = False,
          gap: float = 1.5) -> None:  # fmt: skip
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.set_text_color(*(MUTED if muted else INK))
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(gap)


def _heading(pdf: FPDF, text: str, size: float = 14) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def _bar(pdf: FPDF, percent: int) -> None:
    """A progress bar, 60 mm wide, then its figure."""
    x, y = pdf.get_x(), pdf.get_y() + 1
    pdf.set_draw_color(*MUTED)
    pdf.set_fill_color(230, 236, 236)
    pdf.rect(x, y, 60, 3.5, style="DF")
    pdf.set_fill_color(*ACCENT)
    if percent:
        pdf.rect(x, y, 60 * percent / 100, 3.5, style="F")
    pdf.set_xy(x + 63, y - 1)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*INK)
    pdf.cell(0, 5, f"{percent}% done", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def plan_pdf(
    plan: LearningPlan, educator: Educator, env: ServiceEnv, *, locale: str = DEFAULT_LOCALE
) -> bytes:
    """The plan as PDF bytes, dates in ``locale``."""
    pdf = _Plan(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    year = plan.school_year.replace("-", "\N{EN DASH}")
    title = f"Individual learning plan {year}"
    name = educator.credential_name or educator.name
    pdf.footer_text = f"{name} · {title}"
    pdf.set_title(f"{title}: {name}")
    pdf.set_author(name)
    pdf.set_subject(f"Planned with {plan.issuer.name}")
    pdf.set_creator("Cairn")
    pdf.set_creation_date(plan.updated_at)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()

    _line(pdf, title, 20, bold=True, gap=1)
    _line(pdf, f"{name} · planned with {plan.issuer.name}", 11, muted=True, gap=4)
    _heading(pdf, "Vision")
    _line(pdf, plan.vision or "Not written yet.", muted=not plan.vision)
    if plan.research_question:
        _heading(pdf, "Action research question")
        _line(pdf, plan.research_question)

    goals = plans.progress(plan, educator, env)
    for number, found in enumerate(goals, start=1):
        goal = found.goal
        _heading(pdf, f"Goal {number}: {goal.title}", 13)
        if goal.description:
            _line(pdf, goal.description)
        _bar(pdf, found.percent)
        if goal.target_date:
            _line(pdf, f"Target date: {format_day(goal.target_date, locale, width='long')}")
        if goal.standards:
            _line(pdf, "Standards", bold=True, gap=0.5)
            for standard in goal.standards:
                framework = standard.get("target_framework")
                named = f"{standard['target_name']}" + (f" ({framework})" if framework else "")
                _line(pdf, f"• {named}", gap=0.5)
            pdf.ln(1)
        if found.modules:
            _line(pdf, "Modules", bold=True, gap=0.5)
            for module in found.modules:
                state = MODULE_STATES.get(module.state, module.state)
                detail = state if module.done or module.state == "not_enrolled" else (
                    f"{state}, {module.percent}% of the prompts answered"
                )  # fmt: skip
                _line(pdf, f"• {module.title}: {detail}", gap=0.5)
            pdf.ln(1)
        if found.badges:
            _line(pdf, "Badges", bold=True, gap=0.5)
            for badge in found.badges:
                earned = (
                    f"earned {format_day(badge.credential.issued_at, locale)}"
                    if badge.credential is not None
                    else "not yet earned"
                )
                _line(pdf, f"• {badge.name}: {earned}", gap=0.5)
            pdf.ln(1)
        if goal.evidence:
            _line(pdf, "Evidence to collect", bold=True, gap=0.5)
            _line(pdf, goal.evidence)
        if found.items:
            _line(pdf, "Evidence collected", bold=True, gap=0.5)
            for item in found.items:
                _line(pdf, f"• {item.title}", gap=0.5)
            pdf.ln(1)

    if plan.reflections:
        _heading(pdf, "Reflections")
        for reflection in plan.reflections:
            where = [
                "shared with " + plan.issuer.name if reflection.shared else "private",
                *(["on the showcase"] if reflection.on_showcase else []),
            ]
            about = f" · {reflection.goal.title}" if reflection.goal is not None else ""
            _line(pdf, f"{format_day(reflection.written_on, locale, width='long')}{about}",
                  bold=True, gap=0.5)  # fmt: skip
            _line(pdf, ", ".join(where), 8, muted=True, gap=0.5)
            _line(pdf, reflection.body, gap=3)
    if plan.comments:
        _heading(pdf, "Comments")
        for comment in plan.comments:
            _line(pdf, f"{comment.author.name}, {format_day(comment.created_at, locale)}",
                  bold=True, gap=0.5)  # fmt: skip
            _line(pdf, comment.body, gap=3)
    return bytes(pdf.output())
