"""One flattener for marshmallow's nested error messages: the shapes forms and JSON answers
need (dotted or dashed input names, all messages or the first, nested or top-level fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, overload

from marshmallow import ValidationError


@overload
def flat_errors(
    error: ValidationError | Any,
    *,
    separator: str = ...,
    depth: int | None = ...,
    first: Literal[False] = ...,
) -> dict[str, list[str]]: ...


@overload
def flat_errors(
    error: ValidationError | Any,
    *,
    separator: str = ...,
    depth: int | None = ...,
    first: Literal[True],
) -> dict[str, str]: ...


def flat_errors(
    error: ValidationError | Any,
    *,
    separator: str = "-",
    depth: int | None = None,
    first: bool = False,
) -> dict[str, list[str]] | dict[str, str]:
    """A ``ValidationError`` (or its ``messages``) as ``{input name: [messages]}``.

    :param separator: joins the path to a nested field: ``-`` names inputs the way the forms
        do (``alignments-0-target_url``), ``.`` gives dotted paths (``evidence.1.url``).
    :param depth: how many levels of the path to keep; deeper messages count for the field at
        that depth (``1``: one entry per top-level field).
    :param first: only the first message of each field, for showing beside its input.

    Problems with the whole input are under ``_schema``.
    """
    messages = error.messages if isinstance(error, ValidationError) else error
    flat: dict[str, list[str]] = {}

    def walk(path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                keep = depth is None or len(path) < depth
                walk((*path, str(key)) if keep else path, item)
        elif isinstance(value, (list, tuple)):
            # A field's own messages before those of anything nested under the same name.
            for item in value:
                if isinstance(item, str):
                    flat.setdefault(separator.join(path) or "_schema", []).append(item)
            for item in value:
                if not isinstance(item, str):
                    walk(path, item)
        else:
            flat.setdefault(separator.join(path) or "_schema", []).append(str(value))

    walk((), messages)
    if first:
        return {name: texts[0] for name, texts in flat.items()}
    return flat
