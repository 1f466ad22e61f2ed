"""The badge designer: every shape, icon and text choice draws an SVG the sanitiser keeps whole,
text is escaped, and a design is stored like an upload (once per drawing)."""

from __future__ import annotations

import itertools

import pytest
from defusedxml.ElementTree import fromstring
from sqlalchemy import func, select

from app import svg_sanitiser
from app.extensions import db
from app.models import Image
from app.services.delivery import badge_designer
from app.services.delivery.badge_designer import BadgeDesign, render_svg
from app.wiring import service_env
from schemas.badge_designs import ICONS, SHAPES

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("shape", "icon", "line1", "line2"),
    [
        *((shape, "award", "Formative", "Assessment") for shape in SHAPES),
        *((shape, "", "Reading Coach", "") for shape in SHAPES),
        *((shape, "apple", "", "") for shape in SHAPES),
    ],
)
def test_every_shape_passes_the_svg_rules_unchanged(
    shape: str, icon: str, line1: str, line2: str
) -> None:
    design = BadgeDesign(shape=shape, icon=icon, line1=line1, line2=line2)
    drawn = render_svg(design)
    clean = svg_sanitiser.sanitise(drawn)
    assert not clean.removed
    assert (clean.width, clean.height) == (512, 512)
    assert render_svg(design) == drawn  # the same design, the same bytes


def test_every_bundled_icon_is_drawn() -> None:
    for icon in ICONS:
        shapes = badge_designer.icon_shapes(icon)
        assert shapes, f"{icon} has no drawing elements"
        root = fromstring(render_svg(BadgeDesign(icon=icon)))
        group = root.find(f"{SVG}g")
        assert group is not None and len(group) == len(shapes)
        assert svg_sanitiser.sanitise(render_svg(BadgeDesign(icon=icon))).removed == ()


def test_an_unknown_icon_is_refused() -> None:
    with pytest.raises(KeyError):
        badge_designer.icon_shapes("../../../etc/passwd")


def test_text_is_escaped_and_the_title_describes_the_badge() -> None:
    drawn = render_svg(BadgeDesign(line1="<script>", line2="A & B"))
    assert b"<script>" not in drawn and b"&lt;script&gt;" in drawn and b"A &amp; B" in drawn
    root = fromstring(drawn)
    assert root.find(f"{SVG}title").text == "<script> A & B"
    assert [t.text for t in root.iter(f"{SVG}text")] == ["<script>", "A & B"]
    plain = fromstring(render_svg(BadgeDesign(shape="rosette", icon="star")))
    assert plain.find(f"{SVG}title").text == "Star rosette badge"


def test_long_wide_lines_are_fitted_into_the_badge() -> None:
    root = fromstring(render_svg(BadgeDesign(line1="WWWWWWWWWWWWWWWW", line2="Level 2")))
    wide, short = root.iter(f"{SVG}text")
    assert wide.get("textLength") == "270" and wide.get("lengthAdjust") == "spacingAndGlyphs"
    assert short.get("textLength") is None
    assert wide.get("font-size") == short.get("font-size")  # one size for both lines


def test_colours_are_used_where_chosen() -> None:
    design = BadgeDesign(background="#123456", border="#abcdef", text_colour="#fedcba", line1="X")
    drawn = render_svg(design).decode()
    assert 'fill="#123456"' in drawn and 'stroke="#abcdef"' in drawn and 'fill="#fedcba"' in drawn


def test_a_design_is_stored_once_as_svg(app) -> None:
    design = BadgeDesign(shape="shield", icon="book-open", line1="Literacy")
    first = badge_designer.store_design(design, now=service_env().now)
    again = badge_designer.store_design(design, now=service_env().now)
    assert first.id == again.id and first.media_type == "image/svg+xml"
    assert (first.width, first.height) == (512, 512)
    assert svg_sanitiser.sanitise(first.data).data == first.data
    assert db.session.scalar(select(func.count()).select_from(Image)) == 1


def test_all_combinations_of_shape_and_line_count_fit_the_rules() -> None:
    for shape, count in itertools.product(SHAPES, (0, 1, 2)):
        line1, line2 = ["Sixteen chars ok", "Second line here"][:count] + [""] * (2 - count)
        design = BadgeDesign(shape=shape, icon="", line1=line1, line2=line2)
        assert svg_sanitiser.sanitise(render_svg(design)).removed == ()
