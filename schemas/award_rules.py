"""An achievement's award rules (rubric, portfolio submissions, pathway): one schema for the
workspace's Award rules form and for a JSON body."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

#: Limits the service enforces too (a rubric is published in every credential of a version).
MAX_CRITERIA = 20
MAX_LEVELS = 10
MAX_NAME = 200
MAX_TEXT = 2000
MAX_POINTS = 20
MAX_MEMBERS = 100
AWARD_MODES = ("automatic", "review")
#: A criterion or level id: what the service accepts, and what is derived from a name.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_CRITERION_INPUT = re.compile(r"^rubric-(\d{1,2})-(id|name|description)$")
_LEVEL_INPUT = re.compile(r"^rubric-(\d{1,2})-levels-(\d{1,2})-(id|name|description|points)$")
CRITERION_FIELDS = ("id", "name", "description")
LEVEL_FIELDS = ("id", "name", "description", "points")


def slugify(text: str, fallback: str) -> str:
    """A short id from a name (``Evidence of impact`` → ``evidence-of-impact``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:40].strip("-")
    return slug or fallback


def _unique_ids(rows: list[dict[str, Any]], prefix: str) -> None:
    # Keep ids that were given (a rubric edited again keeps its ids, so unchanged criteria keep
    # their names in the history); derive the others from their names, distinct within the list.
    taken = {row["id"] for row in rows if row.get("id")}
    for position, row in enumerate(rows, start=1):
        if row.get("id"):
            continue
        base = slugify(row["name"], f"{prefix}-{position}")
        candidate, n = base, 2
        while candidate in taken:
            candidate = f"{base[:36]}-{n}"
            n += 1
        row["id"] = candidate
        taken.add(candidate)


def _text(maximum: int, *, required: bool = False, message: str = "") -> fields.String:
    length = validate.Length(max=maximum, error=f"Use at most {maximum:,} characters.")
    if required:
        return fields.String(required=True, validate=length, error_messages={"required": message})
    return fields.String(load_default="", validate=length)


def _slug_field() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Regexp(
            SLUG, error="Use a short id of lower-case letters, digits and hyphens."
        ),
    )


def _tidy(data: Any) -> Any:
    # Trim text (CRLF from browsers as LF, so an unchanged form is an unchanged rubric); a NUL
    # is refused (no one types it, and PostgreSQL cannot store it).
    if not isinstance(data, Mapping):
        return data
    tidy: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError("Remove the NUL character.", str(key))
            value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
            if value == "":
                continue  # blank: absent (a required name then says it is missing)
        tidy[key] = value
    return tidy


class LevelSchema(Schema):
    """A level of a rubric criterion (an OB 3.0 ``RubricCriterionLevel``)."""

    class Meta:
        unknown = EXCLUDE

    id = _slug_field()
    name = _text(MAX_NAME, required=True, message="Name the level.")
    description = _text(MAX_TEXT)
    points = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^\d{1,6}(\.\d{1,2})?$", error="Points are a number, like 3 or 2.5."
        ),
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        return _tidy(data)


class CriterionSchema(Schema):
    """A rubric criterion (an OB 3.0 ``ResultDescription``) with its levels, lowest first."""

    class Meta:
        unknown = EXCLUDE

    id = _slug_field()
    name = _text(MAX_NAME, required=True, message="Name the criterion.")
    description = _text(MAX_TEXT)
    levels = fields.List(
        fields.Nested(LevelSchema),
        required=True,
        validate=validate.Length(
            min=2, max=MAX_LEVELS, error=f"Give each criterion 2 to {MAX_LEVELS} levels."
        ),
        error_messages={"required": f"Give each criterion 2 to {MAX_LEVELS} levels."},
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        return _tidy(data)

    @validates_schema
    def _distinct_level_ids(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [level["id"] for level in data.get("levels", []) if level.get("id")]
        if len(given) != len(set(given)):
            raise ValidationError("Two levels have the same id.", "levels")

    @post_load
    def _ids(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        _unique_ids(data["levels"], "level")
        return data


class AwardRulesSchema(Schema):
    """How an achievement is earned besides a staff award.

    ``rubric``: criteria with levels (ids derived from names when not given);
    ``accepts_submissions``: educators may submit portfolio items for it;
    ``pathway_members`` (achievement public ids) and ``pathway_required`` (how many of them):
    holding that many earns it, ``automatic``-ally or after ``review``.
    """

    class Meta:
        unknown = EXCLUDE

    rubric = fields.List(
        fields.Nested(CriterionSchema),
        load_default=list,
        validate=validate.Length(
            max=MAX_CRITERIA, error=f"A rubric may have at most {MAX_CRITERIA} criteria."
        ),
    )
    accepts_submissions = fields.Boolean(load_default=False)
    pathway_required = fields.Integer(
        load_default=None,
        strict=False,
        validate=validate.Range(min=1, max=MAX_MEMBERS, error="Require at least 1 achievement."),
        error_messages={"invalid": "Enter a whole number."},
    )
    pathway_members = fields.List(
        fields.String(validate=validate.Length(max=36)),
        load_default=list,
        validate=validate.Length(max=MAX_MEMBERS, error="Choose fewer achievements."),
    )
    pathway_award_mode = fields.String(
        load_default="automatic",
        validate=validate.OneOf(AWARD_MODES, error="Award automatically or after review."),
    )

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        cleaned = dict(data)
        for name in ("pathway_required", "pathway_award_mode"):
            if isinstance(cleaned.get(name), str) and not cleaned[name].strip():
                del cleaned[name]
        return cleaned

    @validates_schema(skip_on_field_errors=False)
    def _pathway(self, data: dict[str, Any], **kwargs: Any) -> None:
        members = list(dict.fromkeys(data.get("pathway_members") or []))
        required = data.get("pathway_required")
        if members and required is None:
            raise ValidationError(
                f"Say how many of the {len(members)} chosen achievements earn this one.",
                "pathway_required",
            )
        if required is not None and not members:
            raise ValidationError(
                "Choose the achievements the pathway is made of.", "pathway_members"
            )
        if required is not None and required > len(members):
            raise ValidationError(
                f"Only {len(members)} achievements are chosen; require at most that many.",
                "pathway_required",
            )
        ids = [c["id"] for c in data.get("rubric") or [] if c.get("id")]
        if len(ids) != len(set(ids)):
            raise ValidationError("Two criteria have the same id.", "rubric")

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        _unique_ids(data["rubric"], "criterion")
        data["pathway_members"] = list(dict.fromkeys(data["pathway_members"]))
        return data


def _blank(row: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return not any(str(row.get(name) or "").strip() for name in names if name != "id")


def rubric_rows(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rubric rows of a submitted form, as they were on the page (blank ones included):
    ``rubric-<i>-name`` and ``rubric-<i>-levels-<j>-name`` inputs, in their order."""
    criteria: dict[int, dict[str, Any]] = {}
    levels: dict[int, dict[int, dict[str, str]]] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if match := _CRITERION_INPUT.match(key):
            criteria.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif match := _LEVEL_INPUT.match(key):
            index, position = int(match.group(1)), int(match.group(2))
            criteria.setdefault(index, {})
            levels.setdefault(index, {}).setdefault(position, {})[match.group(3)] = value
    rows = []
    for index in sorted(criteria):
        row = {name: criteria[index].get(name, "") for name in CRITERION_FIELDS}
        row["levels"] = [
            {name: level.get(name, "") for name in LEVEL_FIELDS}
            for _, level in sorted(levels.get(index, {}).items())
        ]
        rows.append(row)
    return rows


def compact_rubric(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without the blank ones (the spare rows a form offers): a level with no text,
    a criterion with no text and no level left."""
    compacted = []
    for row in rows:
        kept = [level for level in row["levels"] if not _blank(level, LEVEL_FIELDS)]
        if _blank(row, CRITERION_FIELDS) and not kept:
            continue
        compacted.append({**row, "levels": kept})
    return compacted


def award_rules_form_data(form: Any) -> dict[str, Any]:
    """The schema's input from the Award rules form (a werkzeug ``MultiDict``): the rubric rows
    without blank ones, the chosen pathway members (one checkbox each) and the switches."""
    getlist = getattr(form, "getlist", None)
    members = getlist("pathway_members") if getlist else form.get("pathway_members", [])
    return {
        "rubric": compact_rubric(rubric_rows(form)),
        "accepts_submissions": bool(form.get("accepts_submissions")),
        "pathway_required": form.get("pathway_required", ""),
        "pathway_members": [m for m in members if isinstance(m, str) and m.strip()],
        "pathway_award_mode": form.get("pathway_award_mode", "automatic"),
    }


def load_award_rules(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate award rules given as a form's data or a JSON body.

    :raises ValidationError: with the problems per field (``rubric`` errors nested by index).
    """
    loaded: dict[str, Any] = AwardRulesSchema().load(data)
    return loaded
