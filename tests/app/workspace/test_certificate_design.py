"""The certificate design form on the profile page: owners choose template, colour, paper and
signature block; the choice reaches the certificate page and PDF (a new file, a new entity
tag); bad input and bad uploads are refused beside the field with nothing stored."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Image
from tests.app.conftest import BASE_URL
from tests.app.services.delivery.test_images import BAD_UPLOADS, SAFE_SVG, png
from tests.app.workspace import test_achievements as shared


@pytest.fixture
def workspace(app, make_staff, make_issuer) -> shared.Workspace:
    return shared.Workspace(make_issuer(), make_staff)


def design_path(workspace: shared.Workspace) -> str:
    return f"/workspace/{workspace['issuer'].slug}/certificate-design"


def profile_path(workspace: shared.Workspace) -> str:
    return f"/workspace/{workspace['issuer'].slug}/profile"


DESIGN = {
    "template": "modern",
    "colour": "plum",
    "paper": "letter",
    "signatory_name": "Dr. Maria Alvarez",
    "signatory_title": "Director of Professional Learning",
}


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_the_owner_saves_a_design_that_the_certificate_follows(
    app, web, client, workspace, make_achievement, make_award
) -> None:
    issuer = workspace["issuer"]
    credential = make_award(issuer, make_achievement(issuer), name="Ann Example")
    pdf_path = f"/credentials/{credential.id}/certificate.pdf"
    before = client.get(pdf_path, base_url=BASE_URL)
    assert "a4" in before.headers["Content-Disposition"]  # no language, no choice: A4
    assert "Accept-Language" in before.headers["Vary"]
    shared.sign_in(web.client, workspace["owner"])
    signature = png(300, 90, "#ffffff")
    form = {**DESIGN, "signature": (io.BytesIO(signature), "signature.png")}
    response = web.submit(
        profile_path(workspace), design_path(workspace), data=form,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    db.session.refresh(issuer)
    assert (issuer.certificate_template, issuer.certificate_colour, issuer.certificate_paper) == (
        "modern", "plum", "letter",
    )  # fmt: skip
    assert issuer.signature_image is not None and issuer.signature_image.data == signature
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "issuer.certificate")
    ).one()
    assert event.detail["template"] == {"from": "classic", "to": "modern"}
    page = web.get(response.location).get_data(as_text=True)
    assert "Certificate design saved" in page
    assert f'src="/images/{issuer.signature_image.sha256}.png"' in page
    # The issuer's paper is the default now, whatever the reader's language; a new design is a
    # new file. The answer still varies with the language: its dates are in the reader's.
    after = client.get(pdf_path, base_url=BASE_URL, headers={"Accept-Language": "de-DE"})
    assert "letter" in after.headers["Content-Disposition"]
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Accept-Language" in after.headers["Vary"]
    a4 = client.get(pdf_path + "?paper=a4", base_url=BASE_URL)
    assert a4.headers["ETag"] != before.headers["ETag"]  # same paper, new design
    html = client.get(f"/credentials/{credential.id}/certificate", base_url=BASE_URL)
    text = html.get_data(as_text=True)
    assert 'class="certificate template-modern colour-plum paper-letter"' in text
    assert "Dr. Maria Alvarez" in text and "Director of Professional Learning" in text
    assert f'src="/images/{issuer.signature_image.sha256}.png"' in text
    assert "Download PDF (US Letter)" in text
    assert f'href="/credentials/{credential.id}/certificate.pdf?paper=a4"' in text
    assert "style=" not in text and "<script" not in text


def test_the_readers_region_chooses_the_paper_when_the_issuer_does_not(
    app, client, workspace, make_achievement, make_award
) -> None:
    issuer = workspace["issuer"]
    credential = make_award(issuer, make_achievement(issuer))
    path = f"/credentials/{credential.id}/certificate"
    us = client.get(path + ".pdf", base_url=BASE_URL, headers={"Accept-Language": "en-US,en"})
    assert 'filename="certificate-' in us.headers["Content-Disposition"]
    assert "-letter.pdf" in us.headers["Content-Disposition"]
    page = client.get(path, base_url=BASE_URL, headers={"Accept-Language": "en-US,en"})
    assert "Download PDF (US Letter)" in page.get_data(as_text=True)
    page = client.get(path, base_url=BASE_URL, headers={"Accept-Language": "fr-FR"})
    assert "Download PDF (A4)" in page.get_data(as_text=True)


def test_a_title_without_a_name_and_unknown_choices_are_refused(app, web, workspace) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    for changes, field in (
        ({"signatory_name": "", "signatory_title": "Director"}, "signatory_name"),
        ({"template": "baroque"}, "template"),
        ({"colour": "#ff00ff"}, "colour"),
        ({"paper": "legal"}, "paper"),
        ({"signatory_name": "x" * 201}, "signatory_name"),
    ):
        response = web.submit(profile_path(workspace), design_path(workspace),
                              data={**DESIGN, **changes})  # fmt: skip
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert f'id="{field}-error"' in page, (changes, page[:3000])
        assert "Nothing was saved." in page
    db.session.refresh(issuer)
    assert issuer.certificate_template == "classic" and issuer.signatory_name is None
    assert (
        count(AuditEvent) == 0
        or not db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "issuer.certificate")
        ).all()
    )


BAD_SIGNATURES = {
    **{name: BAD_UPLOADS[name] for name in ("script element", "event handler")},
    "not an image": (b"GIF89a not a png", "Upload a PNG or an SVG image."),
    "damaged png": (png()[:60], "damaged"),
}


@pytest.mark.parametrize("kind", list(BAD_SIGNATURES))
def test_a_bad_signature_upload_is_refused_and_nothing_is_stored(
    app, web, workspace, kind: str
) -> None:
    data, message = BAD_SIGNATURES[kind]
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    form = {**DESIGN, "signature": (io.BytesIO(data), "signature.png")}
    response = web.submit(profile_path(workspace), design_path(workspace), data=form,
                          content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 400
    error = re.search(
        r'<div id="signature-error">(.*?)</div>', response.get_data(as_text=True), re.S
    )
    assert error and message.replace("<", "&lt;").replace(">", "&gt;") in error.group(1)
    db.session.refresh(issuer)
    assert issuer.signature_image_id is None and issuer.certificate_template == "classic"
    assert count(Image) == 0


def test_an_svg_signature_is_kept_and_can_be_removed(app, web, workspace) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    form = {**DESIGN, "signature": (io.BytesIO(SAFE_SVG), "signature.svg")}
    assert web.submit(profile_path(workspace), design_path(workspace), data=form,
                      content_type="multipart/form-data").status_code == 303  # fmt: skip
    db.session.refresh(issuer)
    assert issuer.signature_image is not None
    assert issuer.signature_image.media_type == "image/svg+xml"
    # Uploading and removing at once is refused; removing alone clears it.
    form = {**DESIGN, "remove_signature": "1", "signature": (io.BytesIO(png()), "s.png")}
    response = web.submit(profile_path(workspace), design_path(workspace), data=form,
                          content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 400
    assert web.submit(profile_path(workspace), design_path(workspace),
                      data={**DESIGN, "remove_signature": "1"}).status_code == 303  # fmt: skip
    db.session.refresh(issuer)
    assert issuer.signature_image_id is None


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_may_change_it(app, web, workspace, who: str, status: int) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace[who])
    token = web.csrf_token("/workspace/")
    response = web.client.post(design_path(workspace), data={**DESIGN, "csrf_token": token},
                               base_url=BASE_URL)  # fmt: skip
    assert response.status_code == status
    db.session.refresh(issuer)
    assert issuer.certificate_template == "classic"


def test_the_form_needs_its_csrf_token(app, web, workspace) -> None:
    shared.sign_in(web.client, workspace["owner"])
    response = web.client.post(design_path(workspace), data=DESIGN, base_url=BASE_URL)
    assert response.status_code == 400
    db.session.refresh(workspace["issuer"])
    assert workspace["issuer"].certificate_template == "classic"
