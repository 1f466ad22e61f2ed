"""The badge designer in the workspace: reading its choices from the achievement form, and the
live preview (the same server-drawn SVG that saving would store, never stored itself)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Response, request, url_for
from marshmallow import ValidationError

from app.services.delivery.badge_designer import BadgeDesign, render_svg
from app.workspace import bp, workspace_view
from schemas.badge_designs import (
    DEFAULT_DESIGN,
    FIELDS,
    ICONS,
    PRESETS,
    SHAPES,
    BadgeDesignSchema,
    design_form_data,
)
from schemas.errors import flat_errors

#: The achievement form names the designer's inputs ``design_<field>``.
PREFIX = "design_"


def design_from_form(form: Mapping[str, str]) -> BadgeDesign:
    """The design chosen in a submitted achievement form.

    :raises ValidationError: with messages keyed by the form's input names (``design_icon``).
    """
    try:
        return BadgeDesign(**BadgeDesignSchema().load(design_form_data(form, PREFIX)))
    except ValidationError as exc:
        named = {PREFIX + key: messages for key, messages in flat_errors(exc).items()}
        raise ValidationError(named) from None


def design_values(form: Mapping[str, str] | None) -> dict[str, str]:
    """The designer's inputs as the form shows them: as submitted (with the colours of a preset
    button pressed without JavaScript), or the default design."""
    if form is None:
        return {PREFIX + name: DEFAULT_DESIGN[name] for name in FIELDS}
    values = {PREFIX + name: form.get(PREFIX + name, "") for name in FIELDS}
    preset = PRESETS.get(form.get(PREFIX + "preset", ""))
    if preset is not None:
        _, background, border, text_colour = preset
        values.update(
            design_background=background, design_border=border, design_text_colour=text_colour
        )
    return values


def swatch(background: str, border: str) -> str:
    """A preset's colours as a small ``data:`` SVG for its button (no inline styles: the CSP
    forbids them)."""
    drawing = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='28' height='28'>"
        f"<circle cx='14' cy='14' r='12' fill='{background}' stroke='{border}' stroke-width='4'/>"
        "</svg>"
    )
    return "data:image/svg+xml," + quote(drawing)


def preview_link(slug: str, values: Mapping[str, Any]) -> str:
    """The preview's URL for the designer's values (the page without JavaScript shows it)."""
    arguments: dict[str, Any] = {name: values.get(PREFIX + name) or "" for name in FIELDS}
    try:
        BadgeDesignSchema().load(arguments)
    except ValidationError as exc:
        # A refused choice is left out (the default is drawn instead), so the page shows a
        # picture beside the error rather than a broken image.
        for name in exc.messages:
            arguments.pop(str(name), None)
    return url_for("workspace.badge_design_preview", slug=slug, **arguments)


def designer_context() -> dict[str, Any]:
    """What the designer's part of the form lists: shapes, icons and colour presets."""
    return {
        "shapes": SHAPES,
        "icons": ICONS,
        "presets": PRESETS,
        "swatch": swatch,
        "design_prefix": PREFIX,
    }


@bp.get("/<slug>/badge-design.svg")
@workspace_view("editor")
def badge_design_preview(slug: str) -> Response:
    """The badge a design would make, as SVG, from the designer's choices in the query string
    (missing choices take the default design's)."""
    try:
        design = BadgeDesign(**BadgeDesignSchema().load(request.args.to_dict()))
    except ValidationError as exc:
        message = "; ".join(m for messages in flat_errors(exc).values() for m in messages)
        return Response(message, 400, mimetype="text/plain")
    response = Response(render_svg(design), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
