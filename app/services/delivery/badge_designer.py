"""The badge designer: an SVG badge drawn on the server from a few choices (shape, colours, a
bundled icon, one or two short lines), never from uploaded markup.

The drawing is built element by element with ElementTree (so the lines are escaped as text),
the icons' shapes are copied from the bundled Lucide files attribute by attribute, and the
result still goes through the same SVG sanitiser as an upload before it is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from xml.etree import ElementTree as ET

from defusedxml.ElementTree import parse as parse_xml

from app.models import Image
from app.services.delivery import images
from schemas.badge_designs import DEFAULT_DESIGN, ICONS, SHAPES

SVG_NS = "http://www.w3.org/2000/svg"
#: Where the bundled icons are (served to the designer's picker from the same folder).
ICON_DIR = Path(__file__).resolve().parents[2] / "static" / "badge-icons"
SIZE = 512
CENTRE = SIZE / 2
#: The drawing elements and geometry an icon may contribute; anything else in a file is skipped.
_ICON_ELEMENTS = frozenset({"path", "circle", "ellipse", "line", "polyline", "polygon", "rect"})
_ICON_ATTRIBUTES = frozenset(
    {
        "d",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "width",
        "height",
        "points",
    }
)
_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"


@dataclass(frozen=True)
class BadgeDesign:
    """One badge design, as :class:`schemas.badge_designs.BadgeDesignSchema` loads it."""

    shape: str = DEFAULT_DESIGN["shape"]
    background: str = DEFAULT_DESIGN["background"]
    border: str = DEFAULT_DESIGN["border"]
    text_colour: str = DEFAULT_DESIGN["text_colour"]
    icon: str = DEFAULT_DESIGN["icon"]
    line1: str = ""
    line2: str = ""

    @property
    def lines(self) -> tuple[str, ...]:
        """The lines of text that are not blank."""
        return tuple(line for line in (self.line1, self.line2) if line)

    @property
    def description(self) -> str:
        """Words for the picture (its ``<title>``): the text, else the icon and shape."""
        if self.lines:
            return " ".join(self.lines)
        return f"{ICONS.get(self.icon, 'Plain')} {SHAPES[self.shape].lower()} badge"


def _el(parent: ET.Element, tag: str, **attributes: str | float) -> ET.Element:
    return ET.SubElement(
        parent, f"{{{SVG_NS}}}{tag}", {k.replace("_", "-"): str(v) for k, v in attributes.items()}
    )


def _polygon(sides: int, radius: float, turn: float = -90) -> str:
    return " ".join(
        f"{CENTRE + radius * math.cos(math.radians(360 / sides * i + turn)):.1f},"
        f"{CENTRE + radius * math.sin(math.radians(360 / sides * i + turn)):.1f}"
        for i in range(sides)
    )


def _shield(scale: float) -> str:
    # The outline at full size, drawn about the centre so the inner ring is the same path scaled.
    points = [(0, -236), (206, -170), (206, -10), (0, 236), (-206, -10), (-206, -170)]
    (x0, y0), (x1, y1), (x2, y2), (x3, y3), (x4, y4), (x5, y5) = (
        (CENTRE + x * scale, CENTRE + y * scale) for x, y in points
    )
    return (
        f"M{x0:.1f} {y0:.1f} L{x1:.1f} {y1:.1f} L{x2:.1f} {y2:.1f} "
        f"Q{x2:.1f} {y3 - 60 * scale:.1f} {x3:.1f} {y3:.1f} "
        f"Q{x4:.1f} {y3 - 60 * scale:.1f} {x4:.1f} {y4:.1f} L{x5:.1f} {y5:.1f} Z"
    )


def _draw_shape(svg: ET.Element, design: BadgeDesign) -> None:
    fill: dict[str, str | float] = {
        "fill": design.background,
        "stroke": design.border,
        "stroke_width": 14,
    }
    ring: dict[str, str | float] = {"fill": "none", "stroke": design.border, "stroke_width": 5}
    if design.shape == "hexagon":
        _el(svg, "polygon", points=_polygon(6, 236), stroke_linejoin="round", **fill)
        _el(svg, "polygon", points=_polygon(6, 204), stroke_linejoin="round", **ring)
    elif design.shape == "shield":
        _el(svg, "path", d=_shield(1), stroke_linejoin="round", **fill)
        _el(svg, "path", d=_shield(0.87), stroke_linejoin="round", **ring)
    elif design.shape == "rosette":
        # Scallops in the border colour behind a disc: a rosette that stays one clean outline.
        for i in range(20):
            angle = math.radians(18 * i)
            _el(
                svg,
                "circle",
                cx=f"{CENTRE + 206 * math.cos(angle):.1f}",
                cy=f"{CENTRE + 206 * math.sin(angle):.1f}",
                r=44,
                fill=design.border,
            )
        _el(svg, "circle", cx=CENTRE, cy=CENTRE, r=214, **fill)
        _el(svg, "circle", cx=CENTRE, cy=CENTRE, r=188, **ring)
    else:
        _el(svg, "circle", cx=CENTRE, cy=CENTRE, r=240, **fill)
        _el(svg, "circle", cx=CENTRE, cy=CENTRE, r=206, **ring)


@cache
def icon_shapes(name: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The drawing elements of a bundled icon (24 x 24 units): ``(tag, attributes)`` pairs."""
    if name not in ICONS:
        raise KeyError(name)
    root = parse_xml(ICON_DIR / f"{name}.svg").getroot()
    if root is None:
        raise KeyError(name)
    shapes = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _ICON_ELEMENTS:
            kept = tuple((k, v) for k, v in element.attrib.items() if k in _ICON_ATTRIBUTES)
            shapes.append((tag, kept))
    return tuple(shapes)


def _draw_icon(svg: ET.Element, design: BadgeDesign, size: float, centre_y: float) -> None:
    scale = size / 24
    group = _el(
        svg,
        "g",
        transform=f"translate({CENTRE - size / 2:.1f} {centre_y - size / 2:.1f}) scale({scale:g})",
        fill="none",
        stroke=design.text_colour,
        stroke_width=2,
        stroke_linecap="round",
        stroke_linejoin="round",
    )
    for tag, attributes in icon_shapes(design.icon):
        _el(group, tag, **dict(attributes))


def _font_size(lines: tuple[str, ...], largest: int) -> int:
    # About 0.72 em a character in a bold sans-serif; the longest line stays within ~270 units,
    # which every shape (the shield's narrowing foot included) has room for where lines are
    # drawn. Both lines share one size, so they read as one title.
    longest = max((len(line) for line in lines), default=1)
    return max(20, min(largest, int(270 / (0.72 * longest))))


def _draw_lines(svg: ET.Element, design: BadgeDesign, baselines: tuple[float, ...]) -> None:
    size = _font_size(design.lines, 56 if len(design.lines) == 1 else 46)
    for text, baseline in zip(design.lines, baselines, strict=False):
        line = _el(
            svg,
            "text",
            x=CENTRE,
            y=baseline,
            fill=design.text_colour,
            font_family=_FONT,
            font_weight="bold",
            font_size=size,
            text_anchor="middle",
        )
        line.text = text
        if len(text) * size * 0.72 > 270 or sum(c in "MWmw@" for c in text) > 4:
            # Wide letters can still overrun the estimate: squeeze the line into the room.
            line.set("textLength", "270")
            line.set("lengthAdjust", "spacingAndGlyphs")


def render_svg(design: BadgeDesign) -> bytes:
    """The badge's SVG document (512 x 512), the same bytes for the same design."""
    ET.register_namespace("", SVG_NS)
    svg = ET.Element(
        f"{{{SVG_NS}}}svg",
        {"width": str(SIZE), "height": str(SIZE), "viewBox": f"0 0 {SIZE} {SIZE}"},
    )
    _el(svg, "title").text = design.description
    _draw_shape(svg, design)
    lines = len(design.lines)
    if design.icon and lines:
        _draw_icon(svg, design, 130 if lines == 1 else 116, 196 if lines == 1 else 178)
        _draw_lines(svg, design, (338,) if lines == 1 else (312, 364))
    elif design.icon:
        _draw_icon(svg, design, 200, CENTRE)
    else:
        _draw_lines(svg, design, (CENTRE + 20,) if lines == 1 else (CENTRE - 10, CENTRE + 50))
    document: bytes = ET.tostring(svg, encoding="utf-8", xml_declaration=False)
    return document


def store_design(design: BadgeDesign, *, now: datetime) -> Image:
    """Draw the design and store it like an uploaded SVG (in the caller's transaction)."""
    return images.store_drawn_svg(render_svg(design), now=now)
