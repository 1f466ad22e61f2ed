"""Reading a bulk upload: the CSV file, its column names and their aliases, and a row as the
award schema reads it.

Columns (a header row is required; names are case-insensitive, in any order):

``email`` (required), ``name``, ``narrative``, ``evidence_url`` (or ``evidence``),
``evidence_narrative``, ``expiry`` (``YYYY-MM-DD``, or ``never``; empty means the achievement's
default). UTF-8 (with or without BOM) or Windows-1252; comma or semicolon separated.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from app.models import BulkRow
from app.services._core.errors import Invalid
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput
from schemas.awards import AwardFields, AwardSchema

COLUMNS = {
    "email": ("email", "email address", "e-mail", "recipient", "recipient email"),
    "name": ("name", "full name", "recipient name"),
    "narrative": ("narrative",),
    "evidence_url": ("evidence_url", "evidence url", "evidence", "evidence link"),
    "evidence_narrative": ("evidence_narrative", "evidence narrative"),
    "expiry": ("expiry", "expires", "expiry date", "valid_until", "valid until"),
}

#: The award schema, made once: making one costs four times what loading a row does.
AWARD_SCHEMA = AwardSchema()


@dataclass(frozen=True)
class ParsedRow:
    """One row as read from the file, before checking."""

    row_number: int
    email: str
    name: str | None
    narrative: str | None
    evidence_url: str | None
    evidence_narrative: str | None
    expiry: str | None

    @classmethod
    def stored(cls, row: BulkRow) -> ParsedRow:
        """A row as the preview stored it."""
        return cls(
            row_number=row.row_number,
            email=row.email,
            name=row.name,
            narrative=row.narrative,
            evidence_url=row.evidence_url,
            evidence_narrative=row.evidence_narrative,
            expiry=row.expires,
        )

    def schema_input(self) -> dict[str, Any]:
        """What the award schema reads for this row: the evidence columns are one piece of
        evidence, and the expiry column chooses the expiry (``never`` in any case, or a date)."""
        data: dict[str, Any] = {"email": self.email, "name": self.name, "narrative": self.narrative}
        if self.evidence_url or self.evidence_narrative:
            data["evidence"] = [{"url": self.evidence_url, "narrative": self.evidence_narrative}]
        if self.expiry and self.expiry.lower() == "never":
            data["expiry"] = "never"
        elif self.expiry:
            data["expiry"], data["expiry_date"] = "date", self.expiry
        return {key: value for key, value in data.items() if value is not None}

    def award(self) -> AwardInput:
        """The award this row asks for, through the award schema (the one the award form and
        JSON use), so a row is valid exactly when the same award from the form would be.

        :raises ValidationError: with the schema's problems per field.
        """
        fields: AwardFields = AWARD_SCHEMA.load(self.schema_input())
        return issuing.award_input(fields)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("The file is not UTF-8 or Windows-1252 text.", "file")


def _positions(header: list[str]) -> dict[str, int]:
    """Where each known column is, by its name or an alias (case and spaces aside)."""
    names = [h.strip().lower() for h in header]
    positions: dict[str, int] = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                positions[field] = names.index(alias)
                break
    if "email" not in positions:
        raise Invalid("The first row must name the columns, including an 'email' column.", "file")
    return positions


def parse_csv(data: bytes, *, max_rows: int) -> list[ParsedRow]:
    """Read a CSV file into rows.

    :raises ServiceError: for a file that is not a CSV with an ``email`` column, is empty, or
        has more than ``max_rows`` rows.
    """
    text = _decode(data)
    if "\x00" in text:
        raise Invalid("That is not a CSV file.", "file")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header = next(reader, None)
        if not header:
            raise Invalid("The file is empty.", "file")
        positions = _positions(header)
        rows: list[ParsedRow] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise Invalid(f"The file has more than {max_rows:,} rows; split it.", "file")

            def cell(field: str, cells: list[str] = cells) -> str | None:
                position = positions.get(field)
                if position is None or position >= len(cells):
                    return None
                return cells[position].strip() or None

            rows.append(
                ParsedRow(
                    row_number=reader.line_num,
                    email=cell("email") or "",
                    name=cell("name"),
                    narrative=cell("narrative"),
                    evidence_url=cell("evidence_url"),
                    evidence_narrative=cell("evidence_narrative"),
                    expiry=cell("expiry"),
                )
            )
    except csv.Error as exc:
        raise Invalid(f"The CSV file is malformed: {exc}.", "file") from None
    if not rows:
        raise Invalid("The file has a header but no rows.", "file")
    return rows
