"""SVG achievement images and issuer logos (issue 8, finding 1): an SVG whose link is set by an
animation (``<animate attributeName="href" values="javascript:...">``) must never be stored,
served or baked into a badge, whichever form it comes through."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app import svg_sanitiser
from app.extensions import db
from app.models import Achievement, Image, IssuedCredential, Issuer
from app.services.delivery import downloads, images
from app.services.org import achievements
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.app.workspace import test_achievements as shared
from tests.app.workspace.test_profile import PROFILE_FORM, profile_path

ANIMATED_LINK = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<a><animate attributeName="href" values="javascript:alert(1)"/>'
    b'<rect width="100" height="100" fill="#2f6f6a"/></a></svg>'
)
SCRIPT_URL = re.compile(rb"javascript\s*:", re.IGNORECASE)


@pytest.fixture
def workspace(app, make_staff, make_issuer) -> shared.Workspace:
    return shared.Workspace(make_issuer(), make_staff)


def served_bytes(client: FlaskClient) -> list[bytes]:
    """Every stored image, as stored and as served at its public address."""
    found = []
    for image in db.session.scalars(select(Image)):
        extension = "svg" if image.media_type == "image/svg+xml" else "png"
        response = client.get(f"/images/{image.sha256}.{extension}", base_url=BASE_URL)
        found += [image.data, response.data]
    return found


def error_on(page: str, field: str) -> str:
    error = re.search(rf'<div id="{field}-error">(.*?)</div>', page, re.S)
    assert error, f"no error shown on the {field} field"
    return error.group(1)


def test_an_achievement_image_with_an_animated_script_link_is_never_stored_or_baked(
    app,
    web,
    client: FlaskClient,
    workspace,
    make_award: Callable[..., IssuedCredential],
) -> None:
    shared.sign_in(web.client, workspace["editor"])
    form = {**shared.NEW_FORM, "image": (io.BytesIO(ANIMATED_LINK), "badge.svg", "image/svg+xml")}
    response = web.submit(workspace["base"] + "/new", data=form, content_type="multipart/form-data")
    everything = served_bytes(client)
    created = db.session.scalars(select(Achievement)).all()
    for achievement in created:  # the old blocklist let the upload through: bake it
        credential = make_award(workspace["issuer"], achievement)
        everything.append(
            client.get(f"/credentials/{credential.id}/badge.svg", base_url=BASE_URL).data
        )
        version = achievements.current_version(achievement)
        assert version.image is not None
    assert not [data for data in everything if SCRIPT_URL.search(data)]
    # The upload is refused, and the form says why.
    assert response.status_code == 400 and created == []
    assert "animat" in error_on(response.get_data(as_text=True), "image")


def test_an_issuer_logo_with_an_animated_script_link_is_never_stored_or_served(
    app, web, client: FlaskClient, workspace
) -> None:
    issuer: Issuer = workspace["issuer"]
    shared.sign_in(web.client, workspace["owner"])
    form = {**PROFILE_FORM, "logo": (io.BytesIO(ANIMATED_LINK), "logo.svg")}
    response = web.submit(profile_path(workspace), data=form, content_type="multipart/form-data")
    everything = served_bytes(client)
    everything.append(client.get(f"/issuers/{issuer.slug}/profile.json", base_url=BASE_URL).data)
    assert not [data for data in everything if SCRIPT_URL.search(data)]
    assert response.status_code == 400
    assert "animat" in error_on(response.get_data(as_text=True), "logo")
    db.session.refresh(issuer)
    assert issuer.image_id is None


def test_a_rewrite_of_stored_svgs_changes_the_badge_download_etag(
    app,
    monkeypatch: pytest.MonkeyPatch,
    workspace,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    """The 0009 migration rewrites stored SVGs in place (same address): a browser holding the
    old baked badge must not be told by its ETag that it is still current."""
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    image = images.store_upload(svg, max_bytes=2**21, max_pixels=2**22, now=service_env().now)
    db.session.commit()
    credential = make_award(
        workspace["issuer"], make_achievement(workspace["issuer"], image_id=image.id)
    )
    before = downloads.etag(credential, "svg")
    monkeypatch.setattr(svg_sanitiser, "VERSION", "2")
    assert downloads.etag(credential, "svg") != before
