"""Flask's JSON provider, with JSON nested too deeply for the parser refused as bad input.

Python's ``json`` raises ``RecursionError`` (not ``ValueError``) for arrays or objects nested
about a thousand deep, so without this a request body like ``[[[[…]]]]`` would be a 500 on every
route that reads JSON. As a ``ValueError`` it takes Flask's ordinary path for malformed JSON: a
400, or ``None`` from ``get_json(silent=True)``.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class TooDeeplyNested(ValueError):
    """The JSON is nested deeper than the parser can follow."""


class CairnJSONProvider(DefaultJSONProvider):
    """Flask's default provider; only ``loads`` differs (see the module docstring)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON; nesting too deep to parse is a ``ValueError`` like any malformed JSON."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise TooDeeplyNested("The JSON is nested too deeply to process.") from None
