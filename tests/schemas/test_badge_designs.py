"""The badge design schema: defaults for what is missing, colours and names checked, lines
limited so they fit the badge."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from schemas.badge_designs import DEFAULT_DESIGN, MAX_LINE, BadgeDesignSchema, design_form_data


def test_missing_choices_take_the_default_design_without_an_icon() -> None:
    assert BadgeDesignSchema().load({}) == {**DEFAULT_DESIGN, "icon": ""}


def test_colours_are_lower_cased_and_lines_tidied() -> None:
    loaded = BadgeDesignSchema().load(
        {"background": "#ABCDEF", "line1": "  Data   Coach ", "icon": "compass", "shape": "shield"}
    )
    assert loaded["background"] == "#abcdef" and loaded["line1"] == "Data Coach"
    assert (loaded["icon"], loaded["shape"]) == ("compass", "shield")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"shape": "octagon"}, "shape", "Choose a shape"),
        ({"icon": "../x"}, "icon", "Choose an icon"),
        ({"background": "red"}, "background", "Choose a colour"),
        ({"border": "#12345"}, "border", "Choose a colour"),
        ({"text_colour": "#1234567"}, "text_colour", "Choose a colour"),
        ({"line1": "x" * (MAX_LINE + 1)}, "line1", f"At most {MAX_LINE} characters"),
        ({"line2": "y" * (MAX_LINE + 1)}, "line2", f"At most {MAX_LINE} characters"),
    ],
)
def test_bad_choices_are_refused_on_their_field(data: dict, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BadgeDesignSchema().load(data)
    assert message in caught.value.messages[field][0]


def test_form_data_reads_the_prefixed_inputs_only() -> None:
    form = {"design_shape": "circle", "design_line1": "Hi", "shape": "shield", "name": "X"}
    assert design_form_data(form) == {"shape": "circle", "line1": "Hi"}
