"""The achievement schema: one operation read alike from a JSON body and from the workspace form,
and refused field by field."""

from __future__ import annotations

import json

import pytest
from marshmallow import ValidationError

from app.services.org.achievements import AchievementInput
from schemas.achievements import AchievementSchema, achievement_form_data
from schemas.errors import flat_errors

ISTE = {
    "target_name": "Analyst",
    "target_url": "https://iste.org/standards/educators#analyst",
    "target_framework": "ISTE Standards for Educators",
    "target_code": "2.7",
}


JSON_BODY = {
    "name": "Feedback That Moves Learning",
    "description": "Gives timely, specific feedback.",
    "criteria_markdown": "Submit **three** annotated samples.",
    "criteria_url": "https://pd.example.org/feedback",
    "learning_outcomes": ["Write actionable feedback", "  ", "Plan re-teaching"],
    "alignments": [{**ISTE, "target_type": "CFItem"}],
    "achievement_type": "Competency",
    "tags": ["feedback", "assessment"],
    "credits_available": 2.25,
    "default_validity_days": 730,
}


def test_schema_loads_a_json_body() -> None:
    loaded = AchievementSchema().load(json.loads(json.dumps(JSON_BODY)))
    assert loaded["learning_outcomes"] == ["Write actionable feedback", "Plan re-teaching"]
    assert loaded["alignments"] == [{**ISTE, "target_type": "CFItem"}]
    assert loaded["credits_available"] == 2.25
    assert loaded["default_validity_days"] == 730
    assert loaded["generate_image"] is False
    AchievementInput(**{k: v for k, v in loaded.items() if k != "generate_image"})


def test_schema_loads_the_same_operation_from_a_form() -> None:
    form = {
        "name": " Feedback That Moves Learning ",
        "description": "Gives timely,\r\nspecific feedback.",
        "criteria_markdown": "Submit **three** annotated samples.\r\n",
        "criteria_url": "",
        "learning_outcomes": "Write actionable feedback\r\n\r\nPlan re-teaching\r\n",
        "achievement_type": "",
        "tags": "feedback, assessment,",
        "credits_available": "1.5",
        "default_validity_days": "",
        "alignments-0-target_name": "",  # a spare row left blank
        "alignments-0-target_url": "",
        "alignments-1-target_name": "Analyst",
        "alignments-1-target_url": "https://iste.org/standards/educators#analyst",
        "alignments-1-target_type": "",
        "alignments-12-target_name": "Designer",
        "alignments-12-target_url": "https://iste.org/standards/educators#designer",
        "csrf_token": "ignored",
    }
    loaded = AchievementSchema().load(achievement_form_data(form))
    assert loaded["name"] == "Feedback That Moves Learning"
    assert loaded["description"] == "Gives timely,\nspecific feedback."  # CRLF from browsers
    assert loaded["criteria_url"] is None and loaded["default_validity_days"] is None
    assert loaded["achievement_type"] == "Badge"
    assert loaded["learning_outcomes"] == ["Write actionable feedback", "Plan re-teaching"]
    assert loaded["tags"] == ["feedback", "assessment"]
    assert [a["target_name"] for a in loaded["alignments"]] == ["Analyst", "Designer"]
    assert "target_type" not in loaded["alignments"][0]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give it a name."),
        ({"name": "x" * 201}, "name", "At most 200 characters."),
        ({"description": None}, "description", "Describe the achievement."),
        ({"criteria_markdown": "", "criteria_url": None}, "criteria_markdown", "Say what earns it"),
        ({"criteria_url": "javascript:alert(1)"}, "criteria_url", "http:// or https://"),
        ({"criteria_url": "ftp://files.example.org/c"}, "criteria_url", "http:// or https://"),
        ({"achievement_type": "Trophy"}, "achievement_type", "from the list"),
        ({"credits_available": -0.5}, "credits_available", "between 0 and 10,000"),
        ({"credits_available": "lots"}, "credits_available", "Enter a number"),
        ({"credits_available": "NaN"}, "credits_available", "Enter a number"),
        ({"credits_available": True}, "credits_available", "Enter a number"),
        ({"credit_unit": "furlongs"}, "credit_unit", "clock hours, CEUs or PD points"),
        ({"credits_available": "0.0000001"}, "credits_available", "two decimal places"),
        ({"default_validity_days": 0}, "default_validity_days", "between 1 and 36,500"),
        ({"default_validity_days": "2.5"}, "default_validity_days", "whole number"),
        ({"tags": "x" * 61}, "tags", "at most 60 characters"),
        ({"tags": [1, 2]}, "tags", "Not a valid list"),
        ({"learning_outcomes": {"a": 1}}, "learning_outcomes", "Not a valid list"),
        (
            {"alignments": [{"target_name": "A", "target_url": "javascript:alert(1)"}]},
            "alignments-0-target_url",
            "http:// or https://",
        ),
        (
            {"alignments": [ISTE, {"target_url": "https://iste.org"}]},
            "alignments-1-target_name",
            "Name the standard",
        ),
        (
            {"alignments": [{**ISTE, "target_type": "Standard"}]},
            "alignments-0-target_type",
            "from the list",
        ),
        ({"alignments": [ISTE] * 51}, "alignments", "At most 50 alignments."),
    ],
)
def test_schema_refuses_bad_values_by_field(changes: dict, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AchievementSchema().load({**JSON_BODY, **changes})
    errors = flat_errors(info.value)
    assert field in errors, errors
    assert any(message in text for text in errors[field]), errors


def test_schema_refuses_a_body_that_is_not_an_object() -> None:
    with pytest.raises(ValidationError) as info:
        AchievementSchema().load(["not", "an", "object"])  # type: ignore[arg-type]
    assert "_schema" in flat_errors(info.value)


def test_extension_types_are_accepted() -> None:
    loaded = AchievementSchema().load({**JSON_BODY, "achievement_type": "ext:PeerCoaching"})
    assert loaded["achievement_type"] == "ext:PeerCoaching"
