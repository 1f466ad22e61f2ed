"""A designed badge's choices (shape, colours, icon, one or two short lines): one schema for the
achievement form's designer and its live preview."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

#: The shapes a badge can take, with the names the designer shows.
SHAPES = {"hexagon": "Hexagon", "circle": "Circle", "shield": "Shield", "rosette": "Rosette"}
#: The bundled icons (Lucide, ISC licence: app/static/badge-icons/LICENSE) and their names.
ICONS = {
    "award": "Award ribbon",
    "star": "Star",
    "trophy": "Trophy",
    "graduation-cap": "Graduation cap",
    "school": "School",
    "book-open": "Open book",
    "notebook-pen": "Notebook",
    "pencil": "Pencil",
    "apple": "Apple",
    "lightbulb": "Light bulb",
    "brain": "Brain",
    "chart-column": "Chart",
    "calculator": "Calculator",
    "flask-conical": "Science flask",
    "microscope": "Microscope",
    "globe": "Globe",
    "compass": "Compass",
    "palette": "Palette",
    "music": "Music",
    "users": "People",
    "heart-handshake": "Caring handshake",
    "puzzle": "Puzzle piece",
    "target": "Target",
    "rocket": "Rocket",
}
#: Colour sets that read well together (text on background has a contrast of at least 4.5:1).
PRESETS = {
    "teal": ("Teal", "#1f5f5b", "#c9a227", "#ffffff"),
    "navy": ("Navy", "#1d3a6b", "#9fb8e0", "#ffffff"),
    "plum": ("Plum", "#5b3a7a", "#e0c46c", "#ffffff"),
    "brick": ("Brick", "#8f3b22", "#f1d3a8", "#ffffff"),
    "forest": ("Forest", "#2d5e2a", "#d8e8c8", "#ffffff"),
    "slate": ("Slate", "#37434f", "#c9d1d9", "#ffffff"),
    "gold": ("Gold on cream", "#fbf4df", "#a67c00", "#4a3800"),
}
#: The first preset, which a new design starts from.
DEFAULT_DESIGN = {
    "shape": "hexagon",
    "background": PRESETS["teal"][1],
    "border": PRESETS["teal"][2],
    "text_colour": PRESETS["teal"][3],
    "icon": "award",
    "line1": "",
    "line2": "",
}
#: How many characters each line may have: more would not fit the badge at a readable size.
MAX_LINE = 16
#: The designer's inputs in the achievement form are named ``design_<field>``.
FIELDS = tuple(DEFAULT_DESIGN)

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def _colour(value: str) -> None:
    if not _COLOUR.fullmatch(value):
        raise ValidationError("Choose a colour, written like #1f5f5b.")


def _line() -> fields.String:
    return fields.String(
        load_default="",
        validate=validate.Length(
            max=MAX_LINE, error=f"At most {MAX_LINE} characters, so it fits the badge."
        ),
    )


class BadgeDesignSchema(Schema):
    """A badge design's choices; loads to a dict with every key of :data:`DEFAULT_DESIGN`
    (colours lower-cased, lines stripped; an empty icon means none)."""

    class Meta:
        unknown = EXCLUDE

    shape = fields.String(
        load_default=DEFAULT_DESIGN["shape"],
        validate=validate.OneOf(tuple(SHAPES), error="Choose a shape from the list."),
    )
    background = fields.String(load_default=DEFAULT_DESIGN["background"], validate=_colour)
    border = fields.String(load_default=DEFAULT_DESIGN["border"], validate=_colour)
    text_colour = fields.String(load_default=DEFAULT_DESIGN["text_colour"], validate=_colour)
    icon = fields.String(
        load_default="",
        validate=validate.OneOf(("", *ICONS), error="Choose an icon from the list."),
    )
    line1 = _line()
    line2 = _line()

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned = {
            key: " ".join(value.split()) if isinstance(value, str) else value
            for key, value in data.items()
        }
        for key in ("background", "border", "text_colour"):
            if isinstance(cleaned.get(key), str):
                cleaned[key] = cleaned[key].lower()
        return cleaned


def design_form_data(form: Mapping[str, str], prefix: str = "design_") -> dict[str, str]:
    """The schema's input from a form whose designer inputs are named ``<prefix><field>``."""
    return {name: form[prefix + name] for name in FIELDS if prefix + name in form}
