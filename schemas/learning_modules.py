"""Learning modules: one schema per operation, each validating its workspace or learner form and
the JSON body of the same operation (module, activity, prompt, answers, evidence, partner,
thanks, completion)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from schemas.fields import FormSchema, email_address, optional_text, required_text

#: Who may join a module, and how its badge is given (the model's vocabulary, repeated here
#: because schemas may not import the application).
ENROLMENT_MODES = ("open", "cohort")
AWARD_MODES = ("automatic", "review")
EVIDENCE_KINDS = ("file", "link", "narrative")
MAX_TITLE = 200
MAX_SUMMARY = 5000
MAX_OUTCOMES = 20
MAX_DIRECTIONS = 20_000
MAX_RESOURCES = 20
MAX_PROMPT = 2000
MAX_ANSWER = 50_000
MAX_NOTE = 2000
MAX_URL = 2000
#: The form names an answer's textarea ``prompt-<prompt id>``.
ANSWER_INPUT = re.compile(r"^prompt-(\d{1,12})$")


def _text(value: Any) -> Any:
    # Browsers send textarea line breaks as CRLF; store one kind of line break.
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class TextLines(fields.Field[list[str]]):
    """Short texts given one per line (a form's textarea) or as a list of strings (JSON);
    blank lines are dropped."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": "Not a valid list of texts.",
        "too_many": "At most {max_items} entries.",
        "too_long": "Each entry may be at most {max_length} characters.",
    }

    def __init__(self, *, max_items: int, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_items, self.max_length = max_items, max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items: list[Any] = value.splitlines() if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise self.make_error("invalid")
        cleaned = [item.strip() for item in items if item.strip()]
        if len(cleaned) > self.max_items:
            raise self.make_error("too_many", max_items=self.max_items)
        if any(len(item) > self.max_length for item in cleaned):
            raise self.make_error("too_long", max_length=self.max_length)
        return cleaned


_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


class Resources(fields.Field[list[dict[str, str]]]):
    """Resource links: one per line as ``Title https://…`` (or just the address) in a form, or
    a list of ``{"title", "url"}`` objects in JSON. Only http and https addresses."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": "Give resources as a list of links.",
        "too_many": f"At most {MAX_RESOURCES} resources.",
        "bad_url": "Line {line}: end each line with a link starting with https:// or http://.",
        "too_long": "Line {line}: the title or the link is too long.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> list[dict[str, str]]:
        pairs: list[tuple[str, str]] = []
        if isinstance(value, str):
            for line in value.splitlines():
                words = line.strip().rsplit(None, 1)
                if not words:
                    continue
                url = words[-1]
                title = words[0].strip(" -\u2013|:") if len(words) == 2 else ""
                pairs.append((title, url))
        elif isinstance(value, (list, tuple)):
            for entry in value:
                if not isinstance(entry, Mapping):
                    raise self.make_error("invalid")
                title, url = entry.get("title") or "", entry.get("url") or ""
                if not isinstance(title, str) or not isinstance(url, str):
                    raise self.make_error("invalid")
                pairs.append((title.strip(), url.strip()))
        else:
            raise self.make_error("invalid")
        if len(pairs) > MAX_RESOURCES:
            raise self.make_error("too_many")
        resources = []
        for number, (name, url) in enumerate(pairs, start=1):
            if not _URL.match(url):
                raise self.make_error("bad_url", line=number)
            if len(name) > MAX_TITLE or len(url) > MAX_URL:
                raise self.make_error("too_long", line=number)
            resources.append({"title": name or url, "url": url})
        return resources


class _Form(FormSchema):
    """A form schema whose texts keep one kind of line break."""

    @pre_load
    def _line_breaks(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: _text(value) for key, value in data.items()}
        return data


def _choice(choices: tuple[str, ...], message: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.OneOf(choices, error=message),
        error_messages={"required": message},
    )


class ModuleSchema(_Form):
    """Create or edit a module: what it is, which achievement it leads to, who may join, whether
    a learning partner must confirm, and how the badge is given."""

    title = required_text("Give the module a title.", max_length=MAX_TITLE)
    summary = required_text("Say in a sentence or two what the module is.", max_length=MAX_SUMMARY)
    learning_outcomes = TextLines(max_items=MAX_OUTCOMES, max_length=300, load_default=list)
    achievement = fields.String(
        required=True,
        validate=validate.Length(max=36, error="Choose an achievement from the list."),
        error_messages={"required": "Choose the achievement the module leads to."},
    )
    enrolment_mode = _choice(ENROLMENT_MODES, "Choose who may enrol.")
    requires_partner = fields.Boolean(
        load_default=False, error_messages={"invalid": "Tick the box or leave it empty."}
    )
    award_mode = _choice(AWARD_MODES, "Choose how the badge is given.")


class ActivitySchema(_Form):
    """Add or edit an activity: a title, directions (markdown) and resource links."""

    title = required_text("Give the activity a title.", max_length=MAX_TITLE)
    directions = optional_text(max_length=MAX_DIRECTIONS)
    resources = Resources(load_default=list)


class PromptSchema(_Form):
    """Add or edit a reflection prompt."""

    text = required_text("Write the prompt.", max_length=MAX_PROMPT)


class MoveSchema(FormSchema):
    """Move an activity or a prompt one place up or down."""

    direction = _choice(("up", "down"), "Move it up or down.")


class AnswersSchema(Schema):
    """Answers to an activity's prompts, by prompt id: ``{"answers": {"12": "…"}}`` in JSON, or
    the form's ``prompt-12`` textareas. A blank answer is kept blank (it clears the answer), so
    this schema does not drop blank fields as the other forms do."""

    class Meta:
        unknown = EXCLUDE

    answers = fields.Dict(
        keys=fields.Integer(strict=False),
        values=fields.String(
            validate=validate.Length(
                max=MAX_ANSWER, error=f"Keep each answer under {MAX_ANSWER:,} characters."
            )
        ),
        required=True,
        error_messages={"required": "Answer at least one prompt."},
    )

    @pre_load
    def _from_form(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping) or "answers" in data:
            return data
        answers = {}
        for key, value in data.items():
            match = ANSWER_INPUT.match(str(key))
            if match:
                answers[match.group(1)] = _text(value).strip() if isinstance(value, str) else value
        return {"answers": answers} if answers else {}


class EvidenceSchema(_Form):
    """Attach evidence to an enrolment: a file (its title defaults to the file's name), a link
    or a narrative."""

    kind = _choice(EVIDENCE_KINDS, "Choose a file, a link or a narrative.")
    title = optional_text(max_length=MAX_TITLE)
    body = optional_text(max_length=MAX_ANSWER)
    url = fields.URL(
        schemes={"http", "https"},
        load_default=None,
        validate=validate.Length(max=MAX_URL, error=f"Use at most {MAX_URL:,} characters."),
        error_messages={"invalid": "Enter a web address starting with https:// or http://."},
    )

    @validates_schema
    def _complete(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("kind")
        if kind in ("link", "narrative") and not data.get("title"):
            raise ValidationError("Give it a title.", "title")
        if kind == "link" and not data.get("url"):
            raise ValidationError("Give the link's address.", "url")
        if kind == "narrative" and not data.get("body"):
            raise ValidationError("Write the narrative.", "body")


class PartnerInviteSchema(FormSchema):
    """Invite a learning partner to confirm the completion checklist."""

    name = required_text("Give your partner's name.", max_length=MAX_TITLE)
    email = email_address(required=True, message="Give your partner's email address.")


class ThanksSchema(_Form):
    """Thank a learning partner with a short note, sent by email."""

    note = required_text("Write a short note to your partner.", max_length=MAX_NOTE)


class CompletionSchema(Schema):
    """Submit a module for completion, naming the items to publish as the credential's evidence
    (an empty list publishes none). A form sends one ``publish`` value per ticked box."""

    class Meta:
        unknown = EXCLUDE

    publish = fields.List(
        fields.String(validate=validate.Length(max=36)),
        load_default=list,
        validate=validate.Length(max=1000, error="Too many items."),
    )
