"""The public profile page ``/people/<slug>``: only credentials the educator chose to show that
are public and in good standing, each linking to its page; switched off, it does not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.models import Achievement, Educator, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.learning import educators, imports
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import Web
from tests.app.educator.educator_helpers import make_educator, sign_in_as, token_from_mail

ANN = "ann.lee@school.example.org"
OLD = "a.lee@previous-district.example.org"
HTML = {"Accept": "text/html"}


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def award(
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> Callable[..., IssuedCredential]:
    def make(name: str, email: str = ANN) -> IssuedCredential:
        return make_award(issuer, make_achievement(issuer, name), email)

    return make


@pytest.fixture
def ann() -> Educator:
    educator = make_educator(ANN)
    educators.update_account(
        educator,
        name="Ann Lee",
        bio="Teaches <b>Year 4</b>",
        profile_public=True,
        env=service_env(),
    )
    return educator


def body(response: Any) -> str:
    text: str = response.get_data(as_text=True)
    return text


def show(web: Web, credential: IssuedCredential, visibility: str = "public") -> None:
    path = f"/me/credentials/{credential.id}"
    response = web.submit(
        path, f"{path}/settings", {"visibility": visibility, "show_on_profile": "1"}
    )
    assert response.status_code == 303


def test_the_profile_lists_what_the_educator_chose_to_show(
    web: Web, ann: Educator, award: Callable[..., IssuedCredential]
) -> None:
    shown = award("Formative Assessment in Practice")
    not_chosen = award("Digital Citizenship")
    sign_in_as(web, ann)
    show(web, shown)
    page = body(web.get(f"/people/{ann.profile_slug}"))
    assert "<h1>Ann Lee</h1>" in page and "Teaches &lt;b&gt;Year 4&lt;/b&gt;" in page
    assert f'href="/credentials/{shown.id}"' in page
    assert "Formative Assessment in Practice" in page
    assert not_chosen.id not in page and "Digital Citizenship" not in page
    assert ANN not in page  # addresses are never shown
    assert web.get(f"/credentials/{shown.id}", headers=HTML).status_code == 200


def test_a_private_credential_vanishes_from_the_profile(
    web: Web, ann: Educator, award: Callable[..., IssuedCredential]
) -> None:
    credential = award("Formative Assessment in Practice")
    sign_in_as(web, ann)
    show(web, credential)
    assert credential.id in body(web.get(f"/people/{ann.profile_slug}"))
    show(web, credential, "private")
    page = body(web.get(f"/people/{ann.profile_slug}"))
    assert credential.id not in page and "Formative Assessment in Practice" not in page
    assert "This credential is private" in body(
        web.get(f"/credentials/{credential.id}", headers=HTML)
    )


def test_a_revoked_credential_is_not_listed(
    web: Web, ann: Educator, award: Callable[..., IssuedCredential]
) -> None:
    credential = award("Formative Assessment in Practice")
    sign_in_as(web, ann)
    show(web, credential)
    revocation.revoke(credential, "Awarded in error", actor=Actor(label="test"), env=service_env())
    assert credential.id not in body(web.get(f"/people/{ann.profile_slug}"))


def test_a_profile_switched_off_does_not_exist(
    web: Web, ann: Educator, award: Callable[..., IssuedCredential]
) -> None:
    credential = award("Formative Assessment in Practice")
    sign_in_as(web, ann)
    show(web, credential)
    assert web.get(f"/people/{ann.profile_slug}").status_code == 200
    web.submit("/me/account", data={"name": "Ann Lee"})  # the box unticked
    off = web.get(f"/people/{ann.profile_slug}")
    unknown = web.get("/people/nobody-at-all")
    assert off.status_code == unknown.status_code == 404
    assert "Ann Lee" not in body(off) and credential.id not in body(off)


def test_an_imported_credential_of_the_educator_can_be_shown(
    web: Web, ann: Educator, award: Callable[..., IssuedCredential]
) -> None:
    earlier = award("Classroom Coaching", OLD)
    imported = imports.import_credential(ann, earlier.document, env=service_env(), fallback=None)
    educators.add_email(ann, OLD, service_env())
    educators.verify_email(token_from_mail(OLD, "verify_email"), service_env(), educator=ann)
    sign_in_as(web, ann)
    path = f"/me/imported/{imported.public_id}"
    web.submit(path, f"{path}/verify")
    assert web.submit(path, f"{path}/settings", {"show_on_profile": "1"}).status_code == 303
    page = body(web.get(f"/people/{ann.profile_slug}"))
    assert "Classroom Coaching" in page and "imported from another issuer" in page
    assert f'href="https://badges.example.org/credentials/{earlier.id}"' in page


def test_an_expired_credential_is_listed_as_expired(
    web: Web,
    ann: Educator,
    award: Callable[..., IssuedCredential],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from app.wiring import utcnow, wiring

    credential = award("Formative Assessment in Practice")
    sign_in_as(web, ann)
    show(web, credential)
    assert "Expired" not in body(web.get(f"/people/{ann.profile_slug}"))
    credential.valid_until = utcnow() + timedelta(days=1)
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(wiring(), "clock", lambda: later)
    page = body(web.get(f"/people/{ann.profile_slug}"))
    # Still part of the educator's record, but never passed off as current.
    assert credential.id in page
    until = credential.valid_until
    assert f"Expired {until:%b} {until.day}, {until.year}" in page
