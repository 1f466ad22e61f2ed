"""The backpack at ``/me/``: credentials of every confirmed address, per-credential visibility and
profile choice, downloads, imports with their verification, and nothing of anyone else's."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, AuditEvent, ImportedCredential, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.learning import authoring, educators, imports
from app.services.org.audit import SYSTEM
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.educator.educator_helpers import (
    baked_png,
    count,
    make_educator,
    sign_in_as,
    tampered_png,
    token_from_mail,
)

ANN = "ann.lee@school.example.org"
ANN_HOME = "ann@home.example.net"
BOB = "bob@school.example.org"
ELSEWHERE = "a.lee@previous-district.example.org"
HTML = {"Accept": "text/html"}


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def achievement(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


@pytest.fixture
def award(
    issuer: Issuer, achievement: Achievement, make_award: Callable[..., IssuedCredential]
) -> Callable[[str], IssuedCredential]:
    return lambda email: make_award(issuer, achievement, email)


def body(response: Any) -> str:
    text: str = response.get_data(as_text=True)
    return text


def upload(web: Web, data: bytes, filename: str) -> Any:
    return web.submit(
        "/me/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_the_backpack_needs_a_signed_in_educator(web: Web) -> None:
    response = web.get("/me/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/me/sign-in")


def test_the_backpack_lists_credentials_of_confirmed_addresses_only(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    ann = make_educator(ANN)
    first = award(ANN)
    second = award(ANN_HOME)
    unconfirmed = award("ann.unconfirmed@example.net")
    educators.add_email(ann, ANN_HOME, service_env())
    educators.verify_email(token_from_mail(ANN_HOME, "verify_email"), service_env(), educator=ann)
    educators.add_email(ann, "ann.unconfirmed@example.net", service_env())
    sign_in_as(web, ann)
    page = body(web.get("/me/"))
    assert f"/me/credentials/{first.id}" in page and f"/me/credentials/{second.id}" in page
    assert f"/me/credentials/{unconfirmed.id}" not in page
    assert web.get(f"/me/credentials/{second.id}").status_code == 200
    assert web.get(f"/me/credentials/{unconfirmed.id}").status_code == 404


def test_every_card_shows_a_badge_even_without_an_achievement_image(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    ann = make_educator(ANN)
    public = award(ANN)
    private = award(ANN)
    private.is_private = True
    db.session.commit()
    sign_in_as(web, ann)
    page = body(web.get("/me/"))
    # The generated badge the downloads carry: the public one, or the backpack's own for a
    # private credential (which only its holder can open).
    public_badge = f"/credentials/{public.id}/badge.png"
    private_badge = f"/me/credentials/{private.id}/files/badge.png"
    assert f'class="badge-image" src="{public_badge}"' in page
    assert f'class="badge-image" src="{private_badge}"' in page
    for url in (public_badge, private_badge):
        image = web.get(url)
        assert image.status_code == 200 and image.mimetype == "image/png"


def test_the_educator_nav_shows_what_exists(web: Web, app: Flask) -> None:
    sign_in_as(web, make_educator(ANN))
    page = body(web.get("/me/"))
    assert 'aria-label="Your learning"' in page
    assert 'href="/me/" aria-current="page">Backpack' in page
    assert 'href="/me/account"' in page
    # Modules and Portfolio appear once their views are registered, and never break the page.
    assert ("educator.modules" in app.view_functions) == (">Modules</a>" in page)
    assert ("educator.portfolio" in app.view_functions) == (">Portfolio</a>" in page)


def test_a_credential_page_offers_downloads_and_sharing(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ANN)
    sign_in_as(web, make_educator(ANN))
    response = web.get(f"/me/credentials/{credential.id}")
    # A page, not text: werkzeug's own Response defaults to text/plain, which browsers show as
    # source code (the pages are served with nosniff).
    assert response.mimetype == "text/html"
    page = body(response)
    for suffix in ("badge.png", "badge.svg", "credential.json", "qr.png", "qr.svg", "certificate"):
        assert f'href="/credentials/{credential.id}/{suffix}"' in page
    # "Add to LinkedIn" goes through the click counter, which sends the visitor on to LinkedIn.
    assert f'href="/credentials/{credential.id}/linkedin"' in page
    assert f"{BASE_URL}/credentials/{credential.id}" in page
    onward = web.get(f"/credentials/{credential.id}/linkedin")
    assert onward.status_code == 302
    assert onward.headers["Location"].startswith("https://www.linkedin.com/profile/add?")


@pytest.mark.parametrize("action", ["revoke", "suspend"])
def test_a_revoked_or_suspended_credential_is_not_offered_for_linkedin(
    web: Web, award: Callable[[str], IssuedCredential], action: str
) -> None:
    credential = award(ANN)
    getattr(revocation, action)(credential, "Awarded in error", actor=SYSTEM, env=service_env())
    sign_in_as(web, make_educator(ANN))
    page = body(web.get(f"/me/credentials/{credential.id}"))
    assert "Add to LinkedIn" not in page and f"/credentials/{credential.id}/linkedin" not in page
    assert web.get(f"/credentials/{credential.id}/linkedin").status_code == 404


def test_making_a_credential_private_uses_the_visibility_service(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ANN)
    ann = make_educator(ANN)
    sign_in_as(web, ann)
    path = f"/me/credentials/{credential.id}"
    response = web.submit(
        path, f"{path}/settings", {"visibility": "private", "show_on_profile": "1"}
    )
    assert response.status_code == 303
    db.session.refresh(credential)
    assert credential.is_private and credential.show_on_profile
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "credential.visibility")
    )
    assert event is not None and event.actor == f"educator:{ann.id}"
    public_page = web.get(f"/credentials/{credential.id}", headers=HTML)
    assert "This credential is private" in body(public_page)
    # Its downloads still work for its holder, through the backpack's own links (signed in;
    # no manage link is needed, and none could be made: only their hashes are kept).
    page = body(web.get(path))
    assert f'href="/credentials/{credential.id}/badge.png"' not in page
    own = {
        h for h in page.split('"') if h.startswith(f"{path}/files/") or h == f"{path}/certificate"
    }
    assert len(own) >= 6 and all(web.get(h).status_code == 200 for h in own)
    assert f"/credentials/{credential.id}/manage/" not in page

    web.submit(path, f"{path}/settings", {"visibility": "public"})
    db.session.refresh(credential)
    assert not credential.is_private and not credential.show_on_profile


def test_bad_settings_are_explained_and_change_nothing(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ANN)
    sign_in_as(web, make_educator(ANN))
    path = f"/me/credentials/{credential.id}"
    response = web.submit(path, f"{path}/settings", {"visibility": "everyone"})
    assert response.status_code == 400 and "Choose public or private." in body(response)
    db.session.refresh(credential)
    assert not credential.is_private


def test_one_educator_cannot_reach_anothers_credentials_or_imports(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    ann = make_educator(ANN)
    anns = award(ANN)
    imported = imports.import_credential(
        ann, award(ELSEWHERE).document, env=service_env(), fallback=None
    )
    sign_in_as(web, make_educator(BOB, "Bob"))
    assert anns.id not in body(web.get("/me/"))
    assert imported.public_id not in body(web.get("/me/"))
    assert web.get(f"/me/credentials/{anns.id}").status_code == 404
    settings = web.submit(
        "/me/",
        f"/me/credentials/{anns.id}/settings",
        {"visibility": "private", "show_on_profile": "1"},
    )
    assert settings.status_code == 404
    db.session.refresh(anns)
    assert not anns.is_private and not anns.show_on_profile
    base = f"/me/imported/{imported.public_id}"
    assert web.get(base).status_code == 404
    assert web.get(f"{base}/credential").status_code == 404
    for action in ("verify", "settings", "delete"):
        assert web.submit("/me/", f"{base}/{action}", {"show_on_profile": "1"}).status_code == 404
    assert count(ImportedCredential) == 1


# --- Imports --------------------------------------------------------------------------------


def test_importing_a_valid_baked_png(web: Web, award: Callable[[str], IssuedCredential]) -> None:
    credential = award(ELSEWHERE)
    sign_in_as(web, make_educator(ANN))
    response = upload(web, baked_png(credential), "badge.png")
    assert response.status_code == 303
    imported = db.session.scalar(select(ImportedCredential))
    assert imported is not None and imported.valid
    assert response.headers["Location"] == f"/me/imported/{imported.public_id}"
    page = body(web.get(response.headers["Location"]))
    assert '<strong class="status-word">Valid</strong>' in page
    assert 'data-check="proof"><span class="check-mark" aria-hidden="true">✔' in page
    # Genuine, but awarded to another address than Ann's: said plainly, never "it is valid".
    assert "it is valid" not in page
    assert "it was not awarded to any of your confirmed addresses" in page
    backpack = body(web.get("/me/"))
    assert imported.public_id in backpack and "Valid, not awarded to you" in backpack
    download = web.get(f"/me/imported/{imported.public_id}/credential")
    assert download.status_code == 200 and download.get_data(as_text=True) == credential.document


def test_importing_a_tampered_png_shows_the_failing_check(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ELSEWHERE)
    sign_in_as(web, make_educator(ANN))
    response = upload(web, tampered_png(credential), "badge.png")
    assert response.status_code == 303
    page = body(web.get(response.headers["Location"]))
    assert '<strong class="status-word">Not valid</strong>' in page
    assert 'data-check="proof"><span class="check-mark" aria-hidden="true">✖' in page
    assert "did not pass verification" in page


def test_pasting_a_credential_imports_it(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ELSEWHERE)
    sign_in_as(web, make_educator(ANN))
    assert web.submit("/me/import", data={"text": credential.document}).status_code == 303
    assert count(ImportedCredential) == 1


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"file": (io.BytesIO(b"MZ\x90\x00 an executable"), "badge.png")}, 400, "not"),
        ({"file": (io.BytesIO(b'{"hello": "world"}'), "badge.json")}, 400, "not an Open Badges"),
        ({"file": (io.BytesIO(b""), "empty.png")}, 400, "The file is empty."),
        ({"text": "   "}, 400, "Choose a badge image or credential file"),
        ({}, 400, "Choose a badge image or credential file"),
    ],
)
def test_junk_gets_a_clear_refusal_and_stores_nothing(
    web: Web, data: dict[str, Any], status: int, message: str
) -> None:
    sign_in_as(web, make_educator(ANN))
    response = web.submit("/me/import", data=data, content_type="multipart/form-data")
    assert response.status_code == status and message in body(response)
    assert 'role="alert"' in body(response)
    assert count(ImportedCredential) == 0


def test_importing_twice_is_a_conflict(web: Web, award: Callable[[str], IssuedCredential]) -> None:
    credential = award(ELSEWHERE)
    sign_in_as(web, make_educator(ANN))
    upload(web, baked_png(credential), "badge.png")
    again = upload(web, baked_png(credential), "badge.png")
    assert again.status_code == 409 and "already imported" in body(again)
    assert count(ImportedCredential) == 1


def test_reverify_and_remove_an_import(web: Web, award: Callable[[str], IssuedCredential]) -> None:
    credential = award(ELSEWHERE)
    sign_in_as(web, make_educator(ANN))
    location = upload(web, baked_png(credential), "badge.png").headers["Location"]
    response = web.submit(location, f"{location}/verify")
    assert response.status_code == 303
    again = body(web.get(location))
    assert "Verified again just now: the credential is genuine, but it was not awarded" in again
    # Not awarded to one of Ann's addresses: it cannot go on her profile.
    refused = web.submit(location, f"{location}/settings", {"show_on_profile": "1"})
    assert refused.status_code == 409 and "confirmed addresses" in body(refused)
    imported = db.session.scalar(select(ImportedCredential))
    assert imported is not None and not imported.show_on_profile
    # Removing it asks first, saying it cannot be undone; nothing is removed until confirmed.
    asked = web.submit(location, f"{location}/delete")
    assert asked.status_code == 200 and "This cannot be undone." in body(asked)
    assert "Remove this credential from your backpack?" in body(asked)
    assert count(ImportedCredential) == 1
    confirmed = web.submit(location, f"{location}/delete", {"confirmed": "1"})
    assert confirmed.headers["Location"] == "/me/"
    assert count(ImportedCredential) == 0


def test_an_empty_backpack_points_to_open_modules(
    web: Web, issuer: Issuer, achievement: Achievement
) -> None:
    sign_in_as(web, make_educator(ANN))
    # No module yet: the empty backpack still says how credentials arrive, and where modules are.
    page = body(web.get("/me/"))
    assert "No credentials yet." in page
    assert 'class="button" href="/me/modules">Browse modules</a>' in page
    module = authoring.create_module(
        issuer,
        authoring.ModuleInput(
            title="Exit tickets that change tomorrow",
            summary="Four weeks of exit tickets.",
            achievement_public_id=achievement.public_id,
        ),
        actor=SYSTEM,
        env=service_env(),
    )
    module.published = True
    db.session.commit()
    page = body(web.get("/me/"))
    assert f'href="/me/modules/{module.public_id}">Exit tickets that change tomorrow</a>' in page
    assert "See all modules" in page


def test_a_credential_has_one_main_action_and_its_files_in_one_download_menu(
    web: Web, award: Callable[[str], IssuedCredential]
) -> None:
    credential = award(ANN)
    sign_in_as(web, make_educator(ANN))
    page = body(web.get(f"/me/credentials/{credential.id}"))
    actions = page[page.index('id="share-heading"') : page.index('id="settings-heading"')]
    # One filled button (the main action); the rest are secondary or inside the menu.
    assert actions.count('class="button"') == 1 and "Add to LinkedIn" in actions
    menu = actions[actions.index('<details class="dropdown">') : actions.index("</details>")]
    for suffix in ("badge.png", "badge.svg", "credential.json", "qr.png", "qr.svg", "certificate"):
        assert f'href="/credentials/{credential.id}/{suffix}"' in menu
    assert '<summary class="button secondary">Download</summary>' in menu
    assert 'data-copy="share-link"' in actions and "js/share.js" in page
    # Who can see it is part of the same card.
    settings = page[page.index('id="settings-heading"') :]
    assert settings.index('name="visibility"') < settings.index("</section>")
