"""Public evidence pages: only for items their owner published; the narrative sanitised; the
educator's name only with their public profile on; the credentials the item is evidence for
(public, unrevoked ones); files served with their sniffed type, nosniff, a safe filename, a
strict CSP, and as attachments unless they are images, PDF or video."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from flask.testing import FlaskClient
from werkzeug.http import parse_options_header

from app.extensions import db
from app.models import IssuedCredential
from app.services.awarding import revocation
from app.services.learning import reviews
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.app.portfolio_helpers import (
    ACTOR,
    PDF,
    PNG,
    SVG_WITH_SCRIPT,
    add_item,
    make_educator,
    portfolio_badge,
)
from tests.app.public.conftest import assert_csp_clean, page


def get(client: FlaskClient, path: str) -> object:
    return client.get(path, base_url=BASE_URL)


def test_unpublished_or_unknown_evidence_is_404(client: FlaskClient) -> None:
    ann = make_educator()
    item = add_item(ann, "Exit tickets study", file=(PNG, "photo.png"))
    assert get(client, f"/evidence/{item.public_id}").status_code == 404
    assert get(client, f"/evidence/{item.public_id}/file").status_code == 404
    assert get(client, "/evidence/not-an-item").status_code == 404
    item.publish = True
    db.session.commit()
    assert get(client, f"/evidence/{item.public_id}").status_code == 200
    assert get(client, f"/evidence/{item.public_id}/file").status_code == 200


def test_the_page_shows_the_item_safely(client: FlaskClient) -> None:
    ann = make_educator()
    item = add_item(
        ann, "Exit <b>tickets</b>", kind="link", url="https://video.example.org/v/1", publish=True,
        body="I *tried* it.\n\n<script>alert(1)</script><img src=x onerror=alert(2)>",
    )  # fmt: skip
    response = get(client, f"/evidence/{item.public_id}")
    html = response.get_data(as_text=True)
    assert_csp_clean(html)
    shown = page(response)
    assert "Exit <b>tickets</b>" in shown.text  # escaped, shown as typed
    assert "<em>tried</em>" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html  # shown as text only
    assert "https://video.example.org/v/1" in shown.hrefs()
    assert shown.meta.get("robots") == "noindex"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_name_shows_only_with_a_public_profile(client: FlaskClient) -> None:
    ann = make_educator(name="Ann Lée")
    item = add_item(ann, "Exit tickets study", publish=True)
    assert "Ann Lée" not in page(get(client, f"/evidence/{item.public_id}")).text
    ann.profile_public = True
    db.session.commit()
    shown = page(get(client, f"/evidence/{item.public_id}"))
    assert "shared by Ann Lée" in shown.text
    assert f"/people/{ann.profile_slug}" in shown.hrefs()


def test_the_credentials_it_is_evidence_for(client: FlaskClient, issuer, make_achievement, make_staff) -> None:  # fmt: skip
    ann = make_educator()
    item = add_item(ann, "Action research report", publish=True)
    badge = portfolio_badge(issuer, make_achievement, rubric=())
    submission = reviews.submit(ann, badge, [item.public_id], "", service_env())
    reviews.decide(submission, make_staff(), "approve", "", {}, service_env())
    shown = page(get(client, f"/evidence/{item.public_id}"))
    assert re.search(
        r"Evidence for Action Research Project ?, awarded by District 7 Professional Learning",
        shown.text,
    )
    assert f"/credentials/{submission.credential_id}" in shown.hrefs()
    # A credential its holder made private is not revealed here, nor one revoked.
    found = db.session.get(IssuedCredential, submission.credential_id)
    assert found is not None
    found.is_private = True
    db.session.commit()
    assert "Evidence for" not in page(get(client, f"/evidence/{item.public_id}")).text
    found.is_private = False
    db.session.commit()
    revocation.revoke(found, "Awarded in error", actor=ACTOR, env=service_env())
    assert "Evidence for" not in page(get(client, f"/evidence/{item.public_id}")).text


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<doc/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "media_type", "disposition", "sandboxed"),
    [
        ("photo.png", PNG, "image/png", "inline", True),
        ("lesson plan.pdf", PDF, "application/pdf", "inline", False),
        ("report.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "attachment", True),
        # SVG is not accepted as SVG; its bytes renamed .txt are plain text, downloaded, never run.
        ("diagram.txt", SVG_WITH_SCRIPT, "text/plain; charset=utf-8", "attachment", True),
    ],
)  # fmt: skip
def test_files_are_served_safely(
    client: FlaskClient, name: str, data: bytes, media_type: str, disposition: str, sandboxed: bool
) -> None:
    item = add_item(make_educator(), "Evidence", file=(data, name), publish=True)
    response = get(client, f"/evidence/{item.public_id}/file")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Type"] == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert (kind, options) == (disposition, {"filename": name})
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert ("sandbox" in csp) is sandboxed
    assert "script-src" not in csp  # nothing may run
    page_html = get(client, f"/evidence/{item.public_id}").get_data(as_text=True)
    assert f"/evidence/{item.public_id}/file" in page_html


def test_an_unsafe_file_name_is_never_echoed(client: FlaskClient) -> None:
    item = add_item(make_educator(), "Plan", file=(PDF, '../"plan"\r\nX-Evil: 1.pdf'), publish=True)
    response = get(client, f"/evidence/{item.public_id}/file")
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and '"plan"' not in disposition
    assert "X-Evil" not in response.headers
    assert parse_options_header(disposition)[1]["filename"].endswith(".pdf")


def test_images_are_shown_on_the_page(client: FlaskClient) -> None:
    item = add_item(make_educator(), "Anchor chart", file=(PNG, "chart.png"), publish=True)
    shown = page(get(client, f"/evidence/{item.public_id}"))
    assert {
        "src": f"/evidence/{item.public_id}/file",
        "alt": "Anchor chart",
    }.items() <= shown.images[-1].items()
