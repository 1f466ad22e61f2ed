"""The organisation archive: a zip of JSON Lines parts and a ``manifest.json`` naming the
format version and each part's record count and SHA-256, written and read a record at a time
(nothing holds a whole part in memory)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from app.services._core.errors import Invalid

FORMAT = "cairn-organisation-export"
#: The archive layout's version; an importer refuses any other.
VERSION = 1
MANIFEST = "manifest.json"
#: Every part, in the order they are written and imported.
PARTS = (
    "issuer.jsonl",
    "images.jsonl",
    "keys.jsonl",
    "staff.jsonl",
    "achievements.jsonl",
    "modules.jsonl",
    "status_lists.jsonl",
    "status_allocations.jsonl",
    "credentials.jsonl",
    "audit.jsonl",
    "educators.jsonl",
    "manage_links.jsonl",
    "wallet_copies.jsonl",
)
_CHUNK = 1 << 16


class PartWriter:
    """Writes one part's records as JSON Lines, counting them and hashing the bytes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.count = 0
        self.size = 0

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (one line of compact JSON)."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self._stream.write(line)
        self._digest.update(line)
        self.count += 1
        self.size += len(line)

    def summary(self) -> dict[str, Any]:
        """What the manifest says of this part."""
        return {"records": self.count, "bytes": self.size, "sha256": self._digest.hexdigest()}


class ArchiveWriter:
    """Writes an archive to a temporary file next to ``path``, renamed into place only when
    :meth:`finish` has written the manifest (a failed export leaves nothing behind)."""

    def __init__(self, path: Path, moment: datetime | None = None) -> None:
        self.path = path
        # Each part's time in the zip's directory (zip times have no zone: UTC here).
        self._date_time = (moment or datetime.now(UTC)).astimezone(UTC).timetuple()[:6]
        self._tmp = path.with_name(f".{path.name}.partial")
        self._zip = zipfile.ZipFile(self._tmp, "w", compression=zipfile.ZIP_DEFLATED)
        self.parts: dict[str, dict[str, Any]] = {}

    @contextmanager
    def part(self, name: str) -> Iterator[PartWriter]:
        """Stream one part into the archive (each record is compressed as it is written)."""
        if name not in PARTS or name in self.parts:
            raise ValueError(f"unknown or repeated part {name}")
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(info, "w", force_zip64=True) as stream:
            writer = PartWriter(stream)
            yield writer
        self.parts[name] = writer.summary()

    def finish(self, header: dict[str, Any]) -> None:
        """Write the manifest and move the archive into place."""
        missing = [name for name in PARTS if name not in self.parts]
        if missing:
            raise ValueError(f"parts not written: {missing}")
        manifest = {"format": FORMAT, "version": VERSION, **header, "parts": self.parts}
        info = zipfile.ZipInfo(MANIFEST, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        self._zip.close()
        os.replace(self._tmp, self.path)

    def abandon(self) -> None:
        """Close and delete the unfinished archive."""
        with suppress(Exception):
            self._zip.close()
        with suppress(FileNotFoundError):
            self._tmp.unlink()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a whole file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArchiveReader:
    """Opens an archive, checks its manifest and every part's checksum, then streams records.

    :raises Invalid: for anything that is not an intact archive of a known version.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path, "r")
        except (OSError, zipfile.BadZipFile) as exc:
            raise Invalid(f"{path} is not a Cairn export archive: {exc}") from None
        try:
            raw = self._zip.read(MANIFEST)
            manifest: Any = json.loads(raw)
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            self.close()
            raise Invalid(f"{path} has no readable {MANIFEST}: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            self.close()
            raise Invalid(f"{path} is not a Cairn organisation export")
        if manifest.get("version") != VERSION:
            self.close()
            raise Invalid(
                f"{path} is export format version {manifest.get('version')!r}; "
                f"this Cairn reads version {VERSION} only"
            )
        self.manifest: dict[str, Any] = manifest

    def close(self) -> None:
        """Close the file."""
        self._zip.close()

    def verify(self) -> None:
        """Check that the archive holds exactly the manifest's parts, each with its SHA-256 and
        record count (read through once, in chunks).

        :raises Invalid: naming the first part that does not match.
        """
        parts = self.manifest.get("parts")
        if not isinstance(parts, dict) or set(parts) != set(PARTS):
            raise Invalid("the archive's manifest does not list the parts of this format")
        names = set(self._zip.namelist())
        if names != {*PARTS, MANIFEST}:
            raise Invalid(f"the archive holds other files than its manifest lists: {sorted(names)}")
        for name in PARTS:
            expected = parts[name]
            digest = hashlib.sha256()
            lines = 0
            try:
                with self._zip.open(name) as stream:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        lines += chunk.count(b"\n")
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise Invalid(f"{name} in the archive is damaged: {exc}") from None
            if not isinstance(expected, dict) or digest.hexdigest() != expected.get("sha256"):
                raise Invalid(f"{name} does not match its SHA-256 in the manifest: altered")
            if lines != expected.get("records"):
                raise Invalid(f"{name} does not hold the number of records its manifest says")

    def count(self, name: str) -> int:
        """How many records a part holds (as the checked manifest says)."""
        return int(self.manifest["parts"][name]["records"])

    def records(self, name: str) -> Iterator[dict[str, Any]]:
        """A part's records, one line at a time."""
        with self._zip.open(name) as stream:
            for line in io.TextIOWrapper(stream, encoding="utf-8"):
                try:
                    record = json.loads(line)
                except ValueError:
                    raise Invalid(f"{name}: a line is not JSON") from None
                if not isinstance(record, dict):
                    raise Invalid(f"{name}: a line is not a JSON object")
                yield record
