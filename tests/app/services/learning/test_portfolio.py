"""Portfolio items and files: type sniffing and size limits, ownership, publishing consent, the
evidence entries credentials get, and what may be deleted."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import PortfolioItem, StoredFile, SubmissionItem
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.learning import portfolio, reviews
from app.services.learning.portfolio import ItemInput
from app.wiring import service_env
from tests.app.portfolio_helpers import (
    EXE,
    PDF,
    PNG,
    SVG_WITH_SCRIPT,
    add_item,
    make_educator,
    portfolio_badge,
)

LIMIT = 64 * 1024
OOXML = "application/vnd.openxmlformats-officedocument"


def store(data: bytes, name: str, limit: int = LIMIT) -> StoredFile:
    return portfolio.store_file(data, name, max_bytes=limit, now=service_env().now)


def office(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<doc/>")
    return buffer.getvalue()


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "media_type"),
    [
        (PDF, "plan.pdf", "application/pdf"),
        (PNG, "photo.PNG", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "class.jpeg", "image/jpeg"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20, "lesson.mp4", "video/mp4"),
        ("Notes, with ünïcode".encode(), "notes.txt", "text/plain"),
        (office("word/"), "report.docx", f"{OOXML}.wordprocessingml.document"),
        (office("ppt/"), "talk.pptx", f"{OOXML}.presentationml.presentation"),
    ],
)
def test_files_are_typed_by_their_bytes(app, data: bytes, name: str, media_type: str) -> None:
    stored = store(data, name)
    assert stored.media_type == media_type
    assert stored.size == len(data) and stored.data == data


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (EXE, "lesson-plan.pdf"),  # a program renamed to look like a document
        (EXE, "setup.exe"),
        (PDF, "plan.png"),  # real PDF bytes, but the name claims an image
        (SVG_WITH_SCRIPT, "diagram.svg"),  # SVG can carry script: not accepted at all
        (b"<html><script>alert(1)</script></html>", "page.html"),
        (office("other/"), "report.docx"),  # a zip that is no Office document
        (b"PK\x03\x04 not really a zip", "report.docx"),
    ],
)
def test_unsupported_or_disguised_files_are_refused(app, data: bytes, name: str) -> None:
    with pytest.raises(ServiceError) as refused:
        store(data, name)
    assert refused.value.field == "file"
    assert "not accepted" in refused.value.message and ".pdf" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_svg_renamed_to_text_is_kept_as_plain_text(app) -> None:
    # Its bytes are text, so it is accepted as text/plain: browsers never run it as SVG, since
    # files are served with their sniffed type, nosniff, and as attachments (see the page tests).
    assert store(SVG_WITH_SCRIPT, "diagram.txt").media_type == "text/plain"


def test_oversized_and_empty_files_are_refused_readably(app) -> None:
    with pytest.raises(ServiceError, match=r"at most 1 MB"):
        store(b"%PDF-" + b"0" * (1024 * 1024), "big.pdf", limit=1024 * 1024)
    with pytest.raises(ServiceError, match=r"at most 512 KB"):
        store(b"%PDF-" + b"0" * (512 * 1024), "big.pdf", limit=512 * 1024)
    with pytest.raises(ServiceError, match="empty"):
        store(b"", "empty.pdf")


def test_file_names_are_made_safe(app) -> None:
    assert store(PDF, "../../etc/<plan>.pdf").filename == "_plan_.pdf"
    assert store(PDF, "C:\\Users\\ann\\plan.pdf").filename == "plan.pdf"


# --- items -----------------------------------------------------------------------------------


def test_items_belong_to_their_educator(app) -> None:
    ann, bob = make_educator(), make_educator("bob@school.example.org", "Bob")
    item = add_item(ann)
    assert portfolio.get_item(ann, item.public_id) is item
    assert portfolio.items_of(ann) == [item] and portfolio.items_of(bob) == []
    with pytest.raises(NotFound):
        portfolio.get_item(bob, item.public_id)
    with pytest.raises(NotFound):
        portfolio.update_item(item, bob, ItemInput(title="Mine now"), service_env())
    with pytest.raises(NotFound):
        portfolio.set_publish(item, bob, True, service_env())
    with pytest.raises(NotFound):
        portfolio.delete_item(item, bob, service_env())
    db.session.refresh(item)
    assert item.title == "Exit tickets study" and not item.publish


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("narrative", ItemInput(title="  "), "title"),
        ("narrative", ItemInput(title="x" * 201), "title"),
        ("narrative", ItemInput(title="ok", body="x" * 50_001), "body"),
        ("link", ItemInput(title="ok", url="javascript:alert(1)"), "url"),
        ("link", ItemInput(title="ok"), "url"),
        ("file", ItemInput(title="ok"), "file"),
    ],
)
def test_invalid_items_are_refused(app, kind: str, data: ItemInput, field: str) -> None:
    with pytest.raises(ServiceError) as refused:
        portfolio.create_item(make_educator(), kind, data, service_env())
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 0


def test_publishing_is_consent_for_a_public_page(app) -> None:
    ann = make_educator()
    item = add_item(ann)
    with pytest.raises(NotFound):
        portfolio.public_item(item.public_id)
    portfolio.set_publish(item, ann, True, service_env())
    assert portfolio.public_item(item.public_id) is item
    portfolio.set_publish(item, ann, False, service_env())
    with pytest.raises(NotFound):
        portfolio.public_item(item.public_id)


def test_evidence_entries_only_for_published_items(app) -> None:
    ann = make_educator()
    public = add_item(ann, "Published", body="y" * 2500, publish=True)
    private = add_item(ann, "Private")
    entries = portfolio.evidence_for([public, private], service_env())
    assert [e.name for e in entries] == ["Published"]
    assert entries[0].url == f"https://badges.example.org/evidence/{public.public_id}"
    assert entries[0].narrative is not None and len(entries[0].narrative) == 2000
    assert "Private" not in repr(entries)


# --- deleting --------------------------------------------------------------------------------


def test_deleting_an_item_removes_its_file(app) -> None:
    ann = make_educator()
    item = add_item(ann, file=(PDF, "plan.pdf"))
    portfolio.delete_item(item, ann, service_env())
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_items_in_review_cannot_be_deleted(app, make_issuer, make_achievement) -> None:
    ann = make_educator()
    badge = portfolio_badge(make_issuer(), make_achievement)
    item = add_item(ann)
    submission = reviews.submit(ann, badge, [item.public_id], "", service_env())
    with pytest.raises(Conflict, match="withdraw the submission first"):
        portfolio.delete_item(item, ann, service_env())
    # Once withdrawn the item can go; the withdrawn submission just loses it.
    reviews.withdraw(submission, ann, service_env())
    portfolio.delete_item(item, ann, service_env())
    assert db.session.scalar(select(func.count()).select_from(SubmissionItem)) == 0


def test_evidence_of_a_credential_cannot_be_deleted(app, make_issuer, make_achievement, make_staff) -> None:  # fmt: skip
    ann = make_educator()
    badge = portfolio_badge(make_issuer(), make_achievement, rubric=())
    cited = add_item(ann, "Cited", publish=True)
    unpublished = add_item(ann, "Kept private")
    submission = reviews.submit(
        ann, badge, [cited.public_id, unpublished.public_id], "", service_env()
    )
    reviews.decide(submission, make_staff(), "approve", "", {}, service_env())
    assert [c.id for c in portfolio.credentials_citing(cited, service_env())] == [
        submission.credential_id
    ]
    assert portfolio.credentials_citing(unpublished, service_env()) == []
    with pytest.raises(Conflict, match="stays published"):
        portfolio.delete_item(cited, ann, service_env())
    # Not in the credential, but the record of what was approved.
    with pytest.raises(Conflict, match="approved submission"):
        portfolio.delete_item(unpublished, ann, service_env())
    assert db.session.scalar(select(func.count()).select_from(PortfolioItem)) == 2


def test_module_answers_are_not_deleted_from_the_portfolio(app) -> None:
    ann = make_educator()
    item = add_item(ann, kind="response")
    with pytest.raises(Conflict, match="module"):
        portfolio.delete_item(item, ann, service_env())


# --- editing ---------------------------------------------------------------------------------

EDIT = ItemInput(title="Rewritten", body="Something else now")


def test_what_a_credential_cites_or_a_reviewer_approved_is_not_edited(app, make_issuer, make_achievement, make_staff) -> None:  # fmt: skip
    ann = make_educator()
    badge = portfolio_badge(make_issuer(), make_achievement, rubric=())
    cited = add_item(ann, "Cited", publish=True)
    unpublished = add_item(ann, "Kept private")
    submission = reviews.submit(
        ann, badge, [cited.public_id, unpublished.public_id], "", service_env()
    )
    with pytest.raises(Conflict, match="waiting for review"):
        portfolio.update_item(cited, ann, EDIT, service_env())
    reviews.decide(submission, make_staff(), "approve", "", {}, service_env())
    with pytest.raises(Conflict, match="stays as it was when the credential was issued"):
        portfolio.update_item(cited, ann, EDIT, service_env())
    with pytest.raises(Conflict, match="approved submission"):
        portfolio.update_item(unpublished, ann, EDIT, service_env())
    db.session.rollback()
    assert [i.title for i in portfolio.items_of(ann)].count("Rewritten") == 0


def test_items_are_edited_when_changes_are_asked_for(app, make_issuer, make_achievement, make_staff) -> None:  # fmt: skip
    ann = make_educator()
    badge = portfolio_badge(make_issuer(), make_achievement, rubric=())
    item = add_item(ann, "Draft")
    submission = reviews.submit(ann, badge, [item.public_id], "", service_env())
    reviews.decide(submission, make_staff(), "request_changes", "More", {}, service_env())
    assert portfolio.edit_refusal(item, service_env()) is None
    assert portfolio.update_item(item, ann, EDIT, service_env()).title == "Rewritten"


def test_module_answers_are_not_edited_from_the_portfolio(app) -> None:
    ann = make_educator()
    item = add_item(ann, kind="response")
    with pytest.raises(Conflict, match="change it in the module"):
        portfolio.update_item(item, ann, EDIT, service_env())
