"""Creating an organisation: administrators only, validated input, the creator becomes owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Issuer, IssuerKey, StaffAccount
from app.services.org import issuers, staff
from tests.app.auth.test_auth import like_a_browser
from tests.app.conftest import BASE_URL, Web

ADMIN = "admin@cairn.example.org"
NEW = "/workspace/new"


@pytest.fixture
def web(client: FlaskClient) -> Web:
    return like_a_browser(client)


@pytest.fixture
def admin_web(web: Web, make_staff: Callable[..., StaffAccount]) -> Web:
    make_staff(ADMIN, name="Ann Admin", admin=True)
    web.sign_in(ADMIN)
    return web


def create(web: Web, **data: str) -> Any:
    return web.submit(NEW, data=data)


def count_issuers() -> int:
    return db.session.scalar(select(func.count()).select_from(Issuer)) or 0


def test_the_form_renders_for_an_administrator(admin_web: Web) -> None:
    page = admin_web.get(NEW)
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("name", "slug", "url", "email", "description", "proof_format"):
        assert f'<label for="{name}">' in body and f'id="{name}"' in body
    assert "<script" not in body and "style=" not in body
    assert 'href="/workspace/new"' in admin_web.get("/workspace/").get_data(as_text=True)


def test_an_administrator_creates_an_organisation_and_owns_it(admin_web: Web) -> None:
    response = create(
        admin_web,
        name="  Northside Teaching Hub ",
        slug="",
        url="https://northside.example.org",
        email="PD@Northside.example.org",
        description="Professional learning for the north side.",
        proof_format="jwt",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/workspace/northside-teaching-hub/"
    issuer = issuers.get_by_slug("northside-teaching-hub")
    assert issuer.name == "Northside Teaching Hub" and issuer.proof_format == "jwt"
    assert issuer.url == "https://northside.example.org"
    assert issuer.description == "Professional learning for the north side."
    assert staff.role_of(staff.get_by_email(ADMIN), issuer) == "owner"
    keys = db.session.scalars(select(IssuerKey.key_type).where(IssuerKey.issuer_id == issuer.id))
    assert sorted(keys) == ["ed25519", "p256"]
    overview = admin_web.get(response.headers["Location"])
    assert overview.status_code == 200
    assert "Northside Teaching Hub is ready" in overview.get_data(as_text=True)


def test_a_chosen_slug_is_used_and_optional_fields_may_be_blank(admin_web: Web) -> None:
    response = create(admin_web, name="District 7", slug="d7", url="", email="", description="")
    assert response.headers["Location"] == "/workspace/d7/"
    issuer = issuers.get_by_slug("d7")
    assert issuer.url is None and issuer.email is None and issuer.description is None
    assert issuer.proof_format == "di"


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"name": ""}, "Give the organisation a name."),
        ({"name": "X" * 201}, "Use at most 200 characters."),
        ({"name": "Hub", "slug": "Not A Slug"}, "Use 1 to 64 lower-case letters"),
        ({"name": "Hub", "slug": "-dash"}, "Use 1 to 64 lower-case letters"),
        ({"name": "Hub", "slug": "a" * 65}, "Use 1 to 64 lower-case letters"),
        ({"name": "Hub", "url": "javascript:alert(1)"}, "Enter a web address starting with"),
        ({"name": "Hub", "url": "ftp://hub.example.org"}, "Enter a web address starting with"),
        ({"name": "Hub", "email": "not an email"}, "Enter an email address like"),
        ({"name": "Hub", "proof_format": "ldp"}, "Choose Data Integrity or VC-JWT."),
        ({"name": "Hub", "description": "x" * 5001}, "Use at most 5000 characters."),
    ],
)
def test_bad_input_is_explained_beside_the_field(
    admin_web: Web, data: dict[str, str], field_message: str
) -> None:
    response = create(admin_web, **data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_message in body and 'class="field-error"' in body
    assert count_issuers() == 0


def test_a_taken_slug_is_explained(admin_web: Web, make_issuer: Callable[..., Issuer]) -> None:
    make_issuer("District 7", slug="district-7")
    response = create(admin_web, name="District 7")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "is taken" in body and 'id="slug-error"' in body
    assert 'value="District 7"' in body  # what was typed is kept
    assert count_issuers() == 1


def test_only_administrators_may_create(web: Web, make_staff: Callable[..., StaffAccount]) -> None:
    make_staff("staff@district7.example.org", name="Sam Staff")
    web.sign_in("staff@district7.example.org")
    assert web.get(NEW).status_code == 403
    token = web.csrf_token("/workspace/")
    response = web.client.post(NEW, data={"csrf_token": token, "name": "Rogue"}, base_url=BASE_URL)
    assert response.status_code == 403
    assert count_issuers() == 0
    assert 'href="/workspace/new"' not in web.get("/workspace/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(web: Web) -> None:
    response = web.get(NEW)
    assert (
        response.status_code == 302 and response.headers["Location"] == "/login?next=/workspace/new"
    )


def test_creation_needs_a_csrf_token(admin_web: Web) -> None:
    response = admin_web.client.post(NEW, data={"name": "No Token"}, base_url=BASE_URL)
    assert response.status_code == 400
    assert count_issuers() == 0


def test_names_are_shown_escaped(admin_web: Web) -> None:
    script = "<script>alert(1)</script>"
    response = create(admin_web, name=script, slug="escaped")
    assert response.status_code == 302
    for path in ("/workspace/", "/workspace/escaped/", "/workspace/escaped/members"):
        page = admin_web.get(path)
        body = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert script not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path
    again = create(admin_web, name=script, url="bad")
    assert again.status_code == 400 and script not in again.get_data(as_text=True)
