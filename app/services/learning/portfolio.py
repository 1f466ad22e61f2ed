"""Portfolios: the items an educator owns (prompt responses, files, links, narratives), their
consent to publish an item, and the evidence entries credentials carry for published items.

Uploaded files are untrusted: the type is decided by the file's own bytes (magic numbers), not
its name or the browser's claim, only an allow-list of types is kept, and sizes are capped.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Educator,
    Enrolment,
    EnrolmentItem,
    IssuedCredential,
    PortfolioItem,
    Prompt,
    Response,
    StoredFile,
    Submission,
    SubmissionItem,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.awarding.issuing import EvidenceInput
from app.services.learning.educators import actor as educator_actor
from app.services.org import audit
from app.services.verification.verifier import stored_payload

ITEM_KINDS = ("response", "file", "link", "narrative")
MAX_TITLE = 200
MAX_BODY = 50_000

#: Accepted evidence files: media type -> (how to recognise its bytes, file extensions).
FILE_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("pdf", (".pdf",)),
    "image/png": ("png", (".png",)),
    "image/jpeg": ("jpeg", (".jpg", ".jpeg")),
    "image/gif": ("gif", (".gif",)),
    "image/webp": ("webp", (".webp",)),
    "video/mp4": ("mp4", (".mp4", ".m4v")),
    "audio/mp4": ("mp4", (".m4a",)),
    "audio/mpeg": ("mp3", (".mp3",)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", (".docx",)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "pptx",
        (".pptx",),
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", (".xlsx",)),
    "text/plain": ("text", (".txt", ".md", ".csv")),
}
_OOXML = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}


@dataclass(frozen=True)
class ItemInput:
    """A portfolio item's editable parts."""

    title: str
    body: str = ""
    url: str | None = None


def _sniff(data: bytes, filename: str) -> str | None:
    """The allowed media type ``data`` really is (cross-checked with the name), or None."""
    name = filename.lower()
    head = data[:16]
    kind: str | None
    if head.startswith(b"%PDF-"):
        kind = "pdf"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif head.startswith(b"\xff\xd8\xff"):
        kind = "jpeg"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        kind = "gif"
    elif head[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "webp"
    elif data[4:8] == b"ftyp":
        kind = "mp4"
    elif head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        kind = "mp3"
    elif head.startswith(b"PK\x03\x04"):
        kind = _office_kind(data)
        if kind is None:
            return None
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        kind = "text" if b"\x00" not in data else ""
    for media_type, (pattern, extensions) in FILE_TYPES.items():
        if pattern == kind and name.endswith(extensions):
            return media_type
    return None


def _office_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = archive.namelist()
            if len(names) > 5000:  # not a document: an archive bomb or a disguised archive
                return None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    for kind, folder in _OOXML.items():
        if any(n.startswith(folder) for n in names) and "[Content_Types].xml" in names:
            return kind
    return None


def size_words(size: int) -> str:
    """A byte count as people read it: ``5 MB``, ``512 KB``, ``1.5 MB``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size // 1024:,} KB"
    return f"{size} bytes"


def store_file(data: bytes, filename: str, *, max_bytes: int, now: datetime) -> StoredFile:
    """Check and keep an uploaded evidence file (in the caller's transaction).

    :raises ServiceError: for an empty, oversized or unsupported file.
    """
    if not data:
        raise Invalid("The file is empty.", "file")
    if len(data) > max_bytes:
        raise Invalid(f"Evidence files may be at most {size_words(max_bytes)}.", "file")
    safe_name = (
        re.sub(r"[^\w.\- ]+", "_", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:255]
        or "evidence"
    )
    media_type = _sniff(data, safe_name)
    if media_type is None:
        allowed = sorted({e for _, (_, extensions) in FILE_TYPES.items() for e in extensions})
        raise Invalid(
            "That file type is not accepted (or its contents do not match its name). "
            f"Accepted: {', '.join(allowed)}.",
            "file",
        )
    stored = StoredFile(
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
        filename=safe_name,
        size=len(data),
        data=data,
        created_at=now,
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def _check(data: ItemInput, kind: str) -> None:
    if kind not in ITEM_KINDS:
        raise Invalid(f"Unknown kind of item {kind!r}.")
    if not data.title.strip() or len(data.title) > MAX_TITLE:
        raise Invalid(f"Give the item a title (at most {MAX_TITLE} characters).", "title")
    if len(data.body) > MAX_BODY:
        raise Invalid(f"Keep the text under {MAX_BODY:,} characters.", "body")
    bad_url = not data.url or not re.match(r"^https?://[^\s/]+", data.url) or len(data.url) > 2000
    if kind == "link" and bad_url:
        raise Invalid("Give a link starting with https://.", "url")


def create_item(
    educator: Educator,
    kind: str,
    data: ItemInput,
    env: ServiceEnv,
    *,
    file: StoredFile | None = None,
) -> PortfolioItem:
    """Add an item to an educator's portfolio (private until they publish it).

    :raises ServiceError: for invalid input.
    """
    _check(data, kind)
    if kind == "file" and file is None:
        raise Invalid("Choose a file to upload.", "file")
    item = PortfolioItem(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        kind=kind,
        title=data.title.strip(),
        body=data.body.strip(),
        url=data.url if kind == "link" else None,
        file_id=file.id if file is not None else None,
        publish=False,
        created_at=env.now,
        updated_at=env.now,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "portfolio.add",
        actor=educator_actor(educator),
        now=env.now,
        subject_type="portfolio_item",
        subject_id=item.public_id,
        detail={"kind": kind},
    )
    db.session.commit()
    return item


def get_item(educator: Educator, public_id: str) -> PortfolioItem:
    """One of the educator's items.

    :raises NotFound: when it is someone else's or does not exist.
    """
    item = db.session.scalar(select(PortfolioItem).where(PortfolioItem.public_id == public_id))
    if item is None or item.educator_id != educator.id:
        raise NotFound("There is no such portfolio item.")
    return item


def edit_refusal(item: PortfolioItem, env: ServiceEnv) -> str | None:
    """Why the item cannot be changed now, or None when it can (see ``edit_refusal_given``)."""
    return edit_refusal_given(item, credentials_citing(item, env), submissions_with(item))


def edit_refusal_given(
    item: PortfolioItem, citing: list[IssuedCredential], submissions: list[Submission]
) -> str | None:
    """``edit_refusal`` for a caller that already holds the item's ``credentials_citing`` and
    ``submissions_with`` (the item's page shows both).

    What a credential cites or a reviewer approved stays as it was then: the evidence page a
    signed credential links to must show what was attested. Work waiting for review stays put
    while the reviewer reads it; changes are made when they are asked for.
    """
    if item.kind == "response":
        return "This is your answer to a module prompt; change it in the module instead."
    if citing:
        return (
            "A credential links to this item as its evidence, so it stays as it was when the "
            "credential was issued. To show newer work, add a new item."
        )
    states = {submission.state for submission in submissions}
    if "approved" in states:
        return "This item is part of an approved submission, so it is kept as its record."
    if "submitted" in states:
        return "This item is waiting for review; withdraw the submission to change it."
    return None


def update_item(
    item: PortfolioItem, educator: Educator, data: ItemInput, env: ServiceEnv
) -> PortfolioItem:
    """Change an item's title, text or link.

    :raises NotFound: when it is not theirs.
    :raises Conflict: when it cannot be changed now (see ``edit_refusal``).
    :raises ServiceError: for invalid input.
    """
    if item.educator_id != educator.id:
        raise NotFound("There is no such portfolio item.")
    refusal = edit_refusal(item, env)
    if refusal is not None:
        raise Conflict(refusal, "item")
    _check(data, item.kind)
    item.title, item.body = data.title.strip(), data.body.strip()
    if item.kind == "link":
        item.url = data.url
    item.updated_at = env.now
    db.session.commit()
    return item


def set_publish(item: PortfolioItem, educator: Educator, publish: bool, env: ServiceEnv) -> None:
    """Record the educator's consent (or its withdrawal) to show an item on a public evidence
    page; credentials only link to items published when they were issued."""
    if item.educator_id != educator.id:
        raise NotFound("There is no such portfolio item.")
    item.publish = publish
    item.updated_at = env.now
    audit.record(
        "portfolio.publish" if publish else "portfolio.unpublish",
        actor=educator_actor(educator),
        now=env.now,
        subject_type="portfolio_item",
        subject_id=item.public_id,
    )
    db.session.commit()


def items_of(educator: Educator) -> list[PortfolioItem]:
    """An educator's items, newest first."""
    return list(
        db.session.scalars(
            select(PortfolioItem)
            .where(PortfolioItem.educator_id == educator.id)
            .order_by(PortfolioItem.updated_at.desc(), PortfolioItem.id.desc())
        )
    )


def submissions_with(item: PortfolioItem) -> list[Submission]:
    """The submissions an item is part of, newest first."""
    return list(
        db.session.scalars(
            select(Submission)
            .join(SubmissionItem, SubmissionItem.submission_id == Submission.id)
            .where(SubmissionItem.item_id == item.id)
            .order_by(Submission.id.desc())
        )
    )


def _evidence_ids(credential: IssuedCredential) -> set[str]:
    evidence = stored_payload(credential.document).get("evidence") or []
    if isinstance(evidence, dict):
        evidence = [evidence]
    return {e["id"] for e in evidence if isinstance(e, dict) and isinstance(e.get("id"), str)}


def credentials_citing(item: PortfolioItem, env: ServiceEnv) -> list[IssuedCredential]:
    """Credentials whose signed ``evidence`` links to the item's public page (only items
    published when the credential was issued are linked), oldest first."""
    reviewed = (
        select(Submission.credential_id)
        .join(SubmissionItem, SubmissionItem.submission_id == Submission.id)
        .where(SubmissionItem.item_id == item.id)
    )
    # A module awarded automatically has no submission: its enrolment holds the credential.
    in_modules = select(Enrolment.credential_id).where(
        Enrolment.id.in_(select(EnrolmentItem.enrolment_id).where(EnrolmentItem.item_id == item.id))
        | Enrolment.id.in_(select(Response.enrolment_id).where(Response.item_id == item.id))
    )
    found = db.session.scalars(
        select(IssuedCredential)
        .where(IssuedCredential.id.in_(reviewed) | IssuedCredential.id.in_(in_modules))
        .order_by(IssuedCredential.issued_at)
    )
    url = evidence_url(item, env)
    return [c for c in dict.fromkeys(found) if url in _evidence_ids(c)]


def delete_item(item: PortfolioItem, educator: Educator, env: ServiceEnv) -> None:
    """Delete one of the educator's items (and its file, when nothing else uses it).

    Items a credential or a pending review relies on stay: a credential's evidence link must
    keep working, and a reviewer must see what was submitted.

    :raises NotFound: when it is not theirs.
    :raises Conflict: for an answer to a module prompt, an item in a submission that is being
        reviewed or was approved, or one attached elsewhere (e.g. to a module).
    """
    _check_deletable(item, educator, env)
    # What remains are declined or withdrawn submissions: they lose the item, not the review.
    for row in db.session.scalars(select(SubmissionItem).where(SubmissionItem.item_id == item.id)):
        db.session.delete(row)
    file_id = item.file_id
    db.session.delete(item)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            "This item is attached to a module; remove it there first.", "item"
        ) from None
    if file_id is not None:
        _delete_file_if_unused(file_id)
    audit.record(
        "portfolio.delete",
        actor=educator_actor(educator),
        now=env.now,
        subject_type="portfolio_item",
        subject_id=item.public_id,
        detail={"kind": item.kind},
    )
    db.session.commit()


def _check_deletable(item: PortfolioItem, educator: Educator, env: ServiceEnv) -> None:
    """Refuse to delete what is not the educator's, or what a credential or a review needs."""
    if item.educator_id != educator.id:
        raise NotFound("There is no such portfolio item.")
    if item.kind == "response":
        raise Conflict(
            "This is your answer to a module prompt; change it in the module instead.", "item"
        )
    if credentials_citing(item, env):
        raise Conflict(
            "A credential links to this item as its evidence, so it cannot be deleted"
            + (" and stays published." if item.publish else "."),
            "item",
        )
    for submission in submissions_with(item):
        if submission.state in ("submitted", "changes_requested"):
            raise Conflict(
                "This item is part of a submission in review; withdraw the submission first.",
                "item",
            )
        if submission.state == "approved":
            raise Conflict(
                "This item is part of an approved submission, so it is kept as its record.",
                "item",
            )


def _delete_file_if_unused(file_id: int) -> None:
    """Delete a stored file no item uses any more (in the caller's transaction)."""
    still_used = db.session.scalar(
        select(func.count()).select_from(PortfolioItem).where(PortfolioItem.file_id == file_id)
    )
    if not still_used:
        stored = db.session.get(StoredFile, file_id)
        if stored is not None:
            db.session.delete(stored)


def public_item(public_id: str) -> PortfolioItem:
    """A published item, for its public evidence page.

    :raises NotFound: when it does not exist or its owner has not published it.
    """
    item = db.session.scalar(select(PortfolioItem).where(PortfolioItem.public_id == public_id))
    if item is None or not item.publish:
        raise NotFound("There is no such evidence, or its owner has not published it.")
    return item


def evidence_url(item: PortfolioItem, env: ServiceEnv) -> str:
    """The public evidence page of an item."""
    return f"{env.base_url}/evidence/{item.public_id}"


def evidence_for(items: list[PortfolioItem], env: ServiceEnv) -> tuple[EvidenceInput, ...]:
    """``evidence`` entries for a credential: published items only, each with its public page
    and its text as the narrative (unpublished work stays out of the credential entirely)."""
    entries = []
    for item in items:
        if not item.publish:
            continue
        narrative = item.body.strip() or None
        if narrative and len(narrative) > 2000:
            narrative = narrative[:1999].rstrip() + "…"
        entries.append(
            EvidenceInput(url=evidence_url(item, env), name=item.title, narrative=narrative)
        )
    return tuple(entries)


def save_response(
    enrolment: Enrolment, prompt: Prompt, educator: Educator, text: str, env: ServiceEnv
) -> Response:
    """Save (create or update) an educator's answer to a prompt; the answer is a portfolio item
    of theirs. Saving as they type is fine: it is one row per prompt.

    :raises NotFound: when the enrolment is not theirs.
    :raises ServiceError: for an answer that is too long.
    """
    if enrolment.educator_id != educator.id:
        raise NotFound("There is no such enrolment.")
    if len(text) > MAX_BODY:
        raise Invalid(f"Keep the answer under {MAX_BODY:,} characters.", "text")
    where = (Response.enrolment_id == enrolment.id, Response.prompt_id == prompt.id)
    response = db.session.scalar(select(Response).where(*where))
    if response is None:
        item = PortfolioItem(
            public_id=str(uuid.uuid4()),
            educator_id=educator.id,
            kind="response",
            title=_title_for(prompt),
            body=text.strip(),
            publish=False,
            created_at=env.now,
            updated_at=env.now,
        )
        db.session.add(item)
        db.session.flush()
        response = Response(
            enrolment_id=enrolment.id, prompt_id=prompt.id, item_id=item.id, updated_at=env.now
        )
        db.session.add(response)
        try:
            db.session.commit()
            return response
        except IntegrityError:
            # Another request stored the first answer meanwhile (the autosave on leaving the
            # field and the Save button post at once): this one updates it instead.
            db.session.rollback()
            response = db.session.scalars(select(Response).where(*where)).one()
    item = db.session.get(PortfolioItem, response.item_id)  # type: ignore[assignment]
    if item is not None:
        item.body = text.strip()
        item.updated_at = env.now
    response.updated_at = env.now
    db.session.commit()
    return response


def _title_for(prompt: Prompt) -> str:
    text = " ".join(prompt.text.split())
    return text if len(text) <= 120 else text[:119].rstrip() + "…"
