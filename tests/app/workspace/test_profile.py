"""The profile & keys screen: profile edits reach the public Profile and new credentials (not
old ones), logo uploads are validated, and key rotation keeps old credentials verifiable."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Image, IssuerKey
from app.services.delivery import images
from app.services.org import issuers
from app.wiring import service_env
from credentials import jwk_thumbprint, verify_credential
from tests.app.conftest import BASE_URL
from tests.app.services.delivery.test_images import BAD_UPLOADS, SAFE_SVG, png
from tests.app.workspace import test_achievements as shared


@pytest.fixture
def workspace(app, make_staff, make_issuer) -> shared.Workspace:
    return shared.Workspace(make_issuer(), make_staff)


def profile_path(workspace: shared.Workspace) -> str:
    return f"/workspace/{workspace['issuer'].slug}/profile"


def rotate_path(workspace: shared.Workspace) -> str:
    return f"/workspace/{workspace['issuer'].slug}/keys/rotate"


def verify(document: str, fetch: Callable[[str], bytes]) -> Any:
    env = service_env()
    return verify_credential(
        document, loader=env.loader, now=env.now + timedelta(seconds=1), fetch=fetch
    )


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


PROFILE_FORM = {
    "name": "District 7 Teaching & Learning",
    "url": "https://learning.district7.example.org",
    "email": "learning@district7.example.org",
    "description": "Professional learning for District 7 educators.",
    "proof_format": "di",
}


def test_page_shows_the_did_documents_and_keys(app, web, workspace) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    page = web.get(profile_path(workspace)).get_data(as_text=True)
    assert f"did:web:badges.example.org:issuers:{issuer.slug}" in page
    for link in (
        f"/issuers/{issuer.slug}/did.json",
        f"/issuers/{issuer.slug}/jwks.json",
        f"/issuers/{issuer.slug}/profile.json",
        f"/status/{issuer.slug}/revocation",
        f"/status/{issuer.slug}/suspension",
    ):
        assert f'href="{link}"' in page
    ed25519 = issuers.active_key(issuer, "ed25519")
    p256 = issuers.active_key(issuer, "p256")
    assert ed25519.kid in page and ed25519.public_key_multibase in page
    assert p256.kid in page and jwk_thumbprint(p256.public_jwk) in page
    assert "stays published" in page
    assert page.count(f'action="{rotate_path(workspace)}"') == 2
    assert 'value="ed25519"' in page and 'value="p256"' in page
    assert 'value="District 7 Professional Learning"' in page


@pytest.mark.parametrize(("who", "status"), [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_may_see_or_change_it(app, web, workspace, who: str, status: int) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace[who])
    assert web.get(profile_path(workspace)).status_code == status
    token = web.csrf_token("/workspace/")
    keys = count(IssuerKey)
    for path, data in (
        (profile_path(workspace), {**PROFILE_FORM, "name": "Hijacked"}),
        (rotate_path(workspace), {"key_type": "ed25519", "confirmed": "1"}),
    ):
        response = web.client.post(path, data={**data, "csrf_token": token}, base_url=BASE_URL)
        assert response.status_code == status
    db.session.refresh(issuer)
    assert issuer.name == "District 7 Professional Learning" and count(IssuerKey) == keys


def test_editing_the_profile_updates_the_public_profile(
    app, web, client, workspace, make_achievement, make_award
) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    response = web.submit(profile_path(workspace), data=PROFILE_FORM)
    assert response.status_code == 303
    served = client.get(f"/issuers/{issuer.slug}/profile.json", base_url=BASE_URL).json
    assert served["name"] == "District 7 Teaching & Learning"
    assert served["url"] == "https://learning.district7.example.org"
    assert served["email"] == "learning@district7.example.org"
    assert served["description"] == "Professional learning for District 7 educators."
    credential = make_award(issuer, make_achievement(issuer))
    assert json.loads(credential.document)["issuer"]["name"] == "District 7 Teaching & Learning"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "issuer.update")).one()
    assert event.detail["name"] == {
        "from": "District 7 Professional Learning",
        "to": "District 7 Teaching & Learning",
    }
    assert "Profile saved." in web.get(response.location).get_data(as_text=True)


def test_saving_an_unchanged_profile_records_nothing(app, web, workspace) -> None:
    shared.sign_in(web.client, workspace["owner"])
    page = web.get(profile_path(workspace)).get_data(as_text=True)
    values = shared.form_values(page, profile_path(workspace))
    assert web.submit(profile_path(workspace), data=values).status_code == 303
    assert count(AuditEvent, AuditEvent.action.in_(("issuer.update", "issuer.image"))) == 0


def test_optional_fields_can_be_cleared(app, web, client, workspace) -> None:
    shared.sign_in(web.client, workspace["owner"])
    data = {**PROFILE_FORM, "url": "", "email": "  ", "description": ""}
    assert web.submit(profile_path(workspace), data=data).status_code == 303
    issuer = workspace["issuer"]
    assert (issuer.url, issuer.email, issuer.description) == (None, None, None)
    served = client.get(f"/issuers/{issuer.slug}/profile.json", base_url=BASE_URL).json
    assert "url" not in served and "email" not in served


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "   "}, "name", "The organisation needs a name."),
        ({"name": "x" * 201}, "name", "At most 200 characters."),
        ({"url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"url": "district7.example.org"}, "url", "http:// or https://"),
        ({"email": "not an email"}, "email", "Enter an email address"),
        ({"description": "x" * 5001}, "description", "At most 5,000 characters."),
        ({"proof_format": "rsa"}, "proof_format", "Choose Data Integrity or VC-JWT"),
    ],
)
def test_bad_profile_input_changes_nothing(
    app, web, workspace, changes: dict[str, str], field: str, message: str
) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    response = web.submit(profile_path(workspace), data={**PROFILE_FORM, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<div id="{field}-error">(.*?)</div>', page, re.S)
    assert error and message in error.group(1)
    assert "Nothing was saved." in page
    db.session.refresh(issuer)
    assert (issuer.name, issuer.url, issuer.proof_format) == (
        "District 7 Professional Learning",
        "https://district7.example.org",
        "di",
    )
    assert count(AuditEvent, AuditEvent.action == "issuer.update") == 0


@pytest.mark.parametrize(("data", "message"), BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_logos_are_refused_and_nothing_changes(
    app, web, workspace, data: bytes, message: str
) -> None:
    issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    form = {**PROFILE_FORM, "logo": (io.BytesIO(data), "logo.svg")}
    response = web.submit(profile_path(workspace), data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    error = re.search(r'<div id="logo-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert error and message.replace("<", "&lt;").replace(">", "&gt;") in error.group(1)
    db.session.refresh(issuer)
    assert issuer.name == "District 7 Professional Learning" and issuer.image_id is None
    assert count(Image) == 0


def test_logo_reaches_new_credentials_but_not_earlier_ones(
    app, web, client, workspace, make_achievement, make_award, local_fetch
) -> None:
    issuer = workspace["issuer"]
    achievement = make_achievement(issuer)
    before = make_award(issuer, achievement, "a@school.example.org")
    before_document = before.document
    assert "image" not in json.loads(before_document)["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    logo = png(120, 120, "#7a4e9c")
    form = {**PROFILE_FORM, "logo": (io.BytesIO(logo), "logo.png")}
    response = web.submit(profile_path(workspace), data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    image = db.session.scalars(select(Image)).one()
    assert issuer.image_id == image.id and image.data == logo
    url = f"{BASE_URL}/images/{image.sha256}.png"
    after = make_award(issuer, achievement, "b@school.example.org")
    assert json.loads(after.document)["issuer"]["image"]["id"] == url
    assert (
        client.get(f"/issuers/{issuer.slug}/profile.json", base_url=BASE_URL).json["image"]["id"]
        == url
    )
    db.session.expire_all()
    assert before.document == before_document  # signed once, never rewritten
    assert verify(before.document, local_fetch).valid
    assert verify(after.document, local_fetch).valid
    page = web.get(profile_path(workspace)).get_data(as_text=True)
    assert f'src="/images/{image.sha256}.png"' in page

    # Uploading and removing at once is refused; removing alone clears the logo.
    form = {**PROFILE_FORM, "remove_logo": "1", "logo": (io.BytesIO(SAFE_SVG), "l.svg")}
    response = web.submit(profile_path(workspace), data=form, content_type="multipart/form-data")
    assert response.status_code == 400 and count(Image) == 1
    assert (
        web.submit(profile_path(workspace), data={**PROFILE_FORM, "remove_logo": "1"}).status_code
        == 303
    )
    assert issuer.image_id is None
    assert (
        "image"
        not in json.loads(make_award(issuer, achievement, "c@school.example.org").document)[
            "issuer"
        ]
    )


def test_proof_format_applies_to_new_credentials(
    app, web, workspace, make_achievement, make_award, local_fetch
) -> None:
    issuer = workspace["issuer"]
    achievement = make_achievement(issuer)
    shared.sign_in(web.client, workspace["owner"])
    page = web.get(profile_path(workspace)).get_data(as_text=True)
    assert 'id="proof_format-di" name="proof_format" value="di" checked' in page
    assert (
        web.submit(
            profile_path(workspace), data={**PROFILE_FORM, "proof_format": "jwt"}
        ).status_code
        == 303
    )
    credential = make_award(issuer, achievement)
    assert credential.proof_format == "jwt" and credential.document.count(".") == 2
    report = verify(credential.document, local_fetch)
    assert report.format == "jwt" and report.valid


def test_key_rotation_through_the_page(
    app, web, client, workspace, make_achievement, make_award, local_fetch
) -> None:
    issuer = workspace["issuer"]
    achievement = make_achievement(issuer)
    before = make_award(issuer, achievement, "a@school.example.org")
    old = issuers.active_key(issuer, "ed25519")
    shared.sign_in(web.client, workspace["owner"])
    # The form first asks, naming the key that retires and saying it cannot be undone.
    asked = web.submit(profile_path(workspace), rotate_path(workspace), {"key_type": "ed25519"})
    question = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "This cannot be undone." in question
    assert "Make a new Ed25519" in question and old.kid in question
    assert 'name="confirmed" value="1"' in question and 'value="ed25519"' in question
    assert issuers.active_key(issuer, "ed25519").kid == old.kid
    assert count(AuditEvent, AuditEvent.action == "key.rotate") == 0
    response = web.submit(
        profile_path(workspace), rotate_path(workspace), {"key_type": "ed25519", "confirmed": "1"}
    )
    assert response.status_code == 303
    new = issuers.active_key(issuer, "ed25519")
    assert new.kid != old.kid and old.retired_at is not None
    after = make_award(issuer, achievement, "b@school.example.org")
    assert json.loads(after.document)["proof"][0]["verificationMethod"].endswith("#" + new.kid)
    assert json.loads(before.document)["proof"][0]["verificationMethod"].endswith("#" + old.kid)

    did = client.get(f"/issuers/{issuer.slug}/did.json", base_url=BASE_URL).json
    methods = [m["id"].rsplit("#", 1)[1] for m in did["verificationMethod"]]
    assert old.kid in methods and new.kid in methods and len(did["assertionMethod"]) == 3
    assert verify(before.document, local_fetch).valid
    assert verify(after.document, local_fetch).valid

    page = web.get(response.location).get_data(as_text=True)
    assert f"New Ed25519 (Data Integrity, eddsa-rdfc-2022) key {new.kid}" in page
    assert "stays published" in page
    table = page[page.index("<tbody>") :]
    row = table[table.index(old.kid) :].split("</tr>", 1)[0]
    assert "UTC" in row.split("<td>")[4] and "Signing" not in row  # retired, shown with its date
    assert "Signing" in table[table.index(new.kid) :].split("</tr>", 1)[0]


def test_rotating_the_jwt_key_keeps_jwt_credentials_verifiable(
    app, web, client, workspace, make_issuer, make_achievement, make_award, local_fetch
) -> None:
    issuer = workspace["issuer"]
    issuer.proof_format = "jwt"
    db.session.commit()
    achievement = make_achievement(issuer)
    before = make_award(issuer, achievement, "a@school.example.org")
    shared.sign_in(web.client, workspace["owner"])
    response = web.submit(
        profile_path(workspace), rotate_path(workspace), {"key_type": "p256", "confirmed": "1"}
    )
    assert response.status_code == 303
    after = make_award(issuer, achievement, "b@school.example.org")
    jwks = client.get(f"/issuers/{issuer.slug}/jwks.json", base_url=BASE_URL).json
    assert len(jwks["keys"]) == 2
    assert verify(before.document, local_fetch).valid
    assert verify(after.document, local_fetch).valid


def test_bad_rotation_requests_change_nothing(app, web, workspace) -> None:
    shared.sign_in(web.client, workspace["owner"])
    keys = count(IssuerKey)
    response = web.submit(
        profile_path(workspace), rotate_path(workspace), {"key_type": "rsa", "confirmed": "1"}
    )
    assert response.status_code == 400
    assert "Choose the Ed25519 or the P-256 key." in response.get_data(as_text=True)
    response = web.submit(profile_path(workspace), rotate_path(workspace), {})
    assert response.status_code == 400
    # Without the page's CSRF token a rotation is refused.
    response = web.client.post(
        rotate_path(workspace), data={"key_type": "ed25519", "confirmed": "1"}, base_url=BASE_URL
    )
    assert response.status_code == 400
    assert count(IssuerKey) == keys and count(AuditEvent, AuditEvent.action == "key.rotate") == 0


def test_an_oversized_logo_upload_gets_a_readable_413(app, web, workspace) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024
    shared.sign_in(web.client, workspace["owner"])
    token = web.csrf_token(profile_path(workspace))
    response = web.client.post(
        profile_path(workspace),
        data={**PROFILE_FORM, "csrf_token": token, "logo": (io.BytesIO(b"\0" * 50_000), "l.png")},
        content_type="multipart/form-data",
        base_url=BASE_URL,
    )
    assert response.status_code == 413
    assert "Upload too large" in response.get_data(as_text=True)
    assert workspace["issuer"].name == "District 7 Professional Learning"


def test_every_input_has_a_label_and_nothing_is_inline(app, web, workspace) -> None:
    issuer = workspace["issuer"]
    issuer.image = images_for_test()
    db.session.commit()
    shared.sign_in(web.client, workspace["owner"])
    page = web.get(profile_path(workspace)).get_data(as_text=True)
    assert "<script" not in page and "style=" not in page
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    inputs = re.findall(
        r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', page
    )
    assert inputs and set(inputs) <= labelled
    assert "remove_logo" in inputs


def images_for_test() -> Image:
    return images.store_upload(png(), max_bytes=1 << 20, max_pixels=1 << 20, now=service_env().now)


def test_the_schema_offers_what_the_app_accepts() -> None:
    # schemas may not import the app, so the choices are written twice; they must agree.
    from app.models.issuer import PROOF_FORMATS
    from schemas import profile as schema

    assert schema.PROOF_FORMATS == PROOF_FORMATS
    assert schema.KEY_TYPES == issuers.KEY_TYPES
