"""CSV that is safe to open in a spreadsheet: text that would run as a formula stays text."""

from __future__ import annotations

from typing import Any

#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` for a CSV cell: text that starts like a formula gets a leading apostrophe.

    Names, emails and messages come from staff, CSV uploads and sign-in attempts, so a value
    like ``=HYPERLINK(...)`` must stay text when someone opens an export in a spreadsheet.
    Numbers and other non-text values pass unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    """Every cell of a row through :func:`safe_cell`."""
    return [safe_cell(v) for v in values]
