"""The award-rules schema (rubric, submissions, pathway): the form and a JSON body load the same
rules; duplicate level ids are refused and equal level names get distinct ids."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from schemas.award_rules import award_rules_form_data, load_award_rules
from tests.app.workspace.test_award_rules import RUBRIC_FORM


def test_form_data_and_json_load_the_same_rules() -> None:
    from werkzeug.datastructures import MultiDict

    form = MultiDict({**RUBRIC_FORM, "accepts_submissions": "1", "pathway_required": ""})
    from_form = load_award_rules(award_rules_form_data(form))
    from_json = load_award_rules({
        "rubric": [
            {"name": "Evidence of impact", "description": "How clearly the work shows an effect on students.",
             "levels": [{"name": "Emerging", "points": "1"}, {"name": "Proficient", "points": "2"}]},
            {"name": "Reflection", "levels": [{"name": "Developing"}, {"name": "Secure"}]},
        ],
        "accepts_submissions": True,
    })  # fmt: skip
    assert from_form == from_json
    with pytest.raises(ValidationError):
        load_award_rules(
            {
                "rubric": [
                    {"name": "Dup", "levels": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}
                ]
            }
        )
    same_names = load_award_rules(
        {"rubric": [{"name": "Impact", "levels": [{"name": "Good"}, {"name": "Good"}]}]}
    )
    assert [lvl["id"] for lvl in same_names["rubric"][0]["levels"]] == ["good", "good-2"]
