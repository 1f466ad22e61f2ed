"""Typed inputs for building credentials, named after the OB 3.0 classes they become.

https://www.imsglobal.org/spec/ob/v3p0/#data-model
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Image:
    """An ``Image``: a URL or ``data:`` URI, with an optional caption."""

    id: str
    caption: str | None = None


@dataclass(frozen=True)
class Profile:
    """A ``Profile``: the issuer (or creator, endorser) of something."""

    id: str
    name: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None
    description: str | None = None
    image: Image | None = None


@dataclass(frozen=True)
class Alignment:
    """An ``Alignment`` to a framework item, e.g. an ISTE Standard for Educators."""

    target_name: str
    target_url: str
    target_description: str | None = None
    target_framework: str | None = None
    target_code: str | None = None
    target_type: str | None = None


@dataclass(frozen=True)
class RubricCriterionLevel:
    """A ``RubricCriterionLevel``: one level of a rubric criterion (e.g. "Proficient")."""

    id: str
    name: str
    description: str | None = None
    level: str | None = None
    points: str | None = None


@dataclass(frozen=True)
class ResultDescription:
    """A ``ResultDescription``: a kind of result the achievement records. A rubric criterion
    is one with ``result_type`` ``RubricCriterionLevel`` and its levels."""

    id: str
    name: str
    result_type: str
    allowed_value: tuple[str, ...] = ()
    required_value: str | None = None
    value_min: str | None = None
    value_max: str | None = None
    rubric_levels: tuple[RubricCriterionLevel, ...] = ()


@dataclass(frozen=True)
class Result:
    """A ``Result`` of this award, optionally pointing at a ResultDescription by id."""

    value: str | None = None
    status: str | None = None
    result_description: str | None = None
    achieved_level: str | None = None


@dataclass(frozen=True)
class Achievement:
    """An ``Achievement``: what the credential says was accomplished.

    ``criteria_narrative`` is markdown; OB 3.0 requires ``criteria`` with an id or a narrative.
    """

    id: str
    name: str
    description: str
    criteria_narrative: str | None = None
    criteria_id: str | None = None
    achievement_type: str | None = None
    image: Image | None = None
    alignments: tuple[Alignment, ...] = ()
    tags: tuple[str, ...] = ()
    credits_available: float | None = None
    result_descriptions: tuple[ResultDescription, ...] = ()
    creator: Profile | None = None
    version: str | None = None
    in_language: str | None = None
    field_of_study: str | None = None
    specialization: str | None = None
    human_code: str | None = None


@dataclass(frozen=True)
class Evidence:
    """An ``Evidence`` item: ideally a narrative as well as a URL."""

    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who the credential is about.

    Give ``id`` (a DID or URL the earner controls) and/or ``email`` with a fresh ``salt`` (the
    email is published only as a salted hash). ``name`` is published in the clear, as an
    ``IdentityObject`` of type ``name``, only when the earner allows it.
    """

    id: str | None = None
    email: str | None = None
    salt: str | None = None
    name: str | None = None
    extra_identifiers: tuple[JSON, ...] = field(default_factory=tuple)
