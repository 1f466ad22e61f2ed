"""Public profiles: the issuer's page and OB 3.0 Profile, the achievement's page and OB 3.0
Achievement (current and earlier versions), by content negotiation; unknown ones are 404."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Achievement, IssuedCredential, Issuer
from app.services.org import achievements
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput, update_profile
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.app.public.conftest import ALIGNMENT, assert_csp_clean, page

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MISSING = "00000000-0000-4000-8000-000000000000"


def get(client: FlaskClient, path: str, accept: str | None = BROWSER) -> object:
    return client.get(path, base_url=BASE_URL, headers={"Accept": accept} if accept else {})


@pytest.fixture
def described(issuer: Issuer) -> Issuer:
    return update_profile(
        issuer,
        IssuerProfileInput(
            name=issuer.name,
            url="https://district7.example.org",
            email="pd@district7.example.org",
            description="Professional learning for District 7's teachers.",
        ),
        actor=TEST,
        env=service_env(),
    )


# ---------------------------------------------------------------------------- issuers


def test_the_issuer_page(
    client: FlaskClient,
    described: Issuer,
    achievement: Achievement,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    retired = make_achievement(described, "Retired Badge")
    achievements.set_archived(retired, True, actor=TEST, env=service_env())
    make_award(described, achievement, "a@school.example.org")
    make_award(described, achievement, "b@school.example.org")

    response = get(client, f"/issuers/{described.slug}")
    shown = page(response)
    assert response.mimetype == "text/html"
    assert "<h1>District 7 Professional Learning</h1>" in response.get_data(as_text=True)
    assert "Professional learning for District 7's teachers." in shown.text
    assert "https://district7.example.org" in shown.hrefs()
    assert "mailto:pd@district7.example.org" in shown.hrefs()
    assert f"did:web:badges.example.org:issuers:{described.slug}" in shown.text
    # Achievements offered, each linked; archived ones are not offered.
    assert f"/achievements/{achievement.public_id}" in shown.hrefs()
    assert "Formative Assessment in Practice" in shown.text
    assert "awarded 2 times" in shown.text
    assert "Retired Badge" not in shown.text
    assert f"/achievements/{retired.public_id}" not in shown.hrefs()
    assert shown.meta["og:title"] == "District 7 Professional Learning"
    assert_csp_clean(response.get_data(as_text=True))


def test_an_issuer_without_achievements(client: FlaskClient, issuer: Issuer) -> None:
    assert "No achievements are offered yet." in page(get(client, f"/issuers/{issuer.slug}")).text


@pytest.mark.parametrize(
    ("accept", "query"),
    [
        ("application/ld+json", ""),
        ("application/json", ""),
        ("*/*", ""),
        (None, ""),
        (BROWSER, "?format=json"),
    ],
)
def test_the_issuer_profile_by_negotiation(
    client: FlaskClient, described: Issuer, accept: str | None, query: str
) -> None:
    response = get(client, f"/issuers/{described.slug}{query}", accept)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert "Accept" in response.headers["Vary"]
    document = response.get_json(force=True)
    assert document["type"] == ["Profile"]
    assert document["id"] == f"did:web:badges.example.org:issuers:{described.slug}"
    assert document["name"] == "District 7 Professional Learning"
    assert document["url"] == "https://district7.example.org"
    assert document["description"] == "Professional learning for District 7's teachers."
    assert "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" in document["@context"]
    # The same document as profile.json.
    assert (
        client.get(f"/issuers/{described.slug}/profile.json", base_url=BASE_URL).get_json(
            force=True
        )
        == document
    )


# ---------------------------------------------------------------------------- achievements


def test_the_achievement_page(
    client: FlaskClient, issuer: Issuer, achievement: Achievement
) -> None:
    response = get(client, f"/achievements/{achievement.public_id}")
    html = response.get_data(as_text=True)
    shown = page(response)
    assert "<h1>Formative Assessment in Practice</h1>" in html
    assert "Completed the formative assessment module." in shown.text
    assert "<strong>reflection</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert f"/issuers/{issuer.slug}" in shown.hrefs()
    assert ALIGNMENT["target_url"] in shown.hrefs()
    assert "Assessment for learning · District Teaching Standards (TS-4.2)" in shown.text
    assert "Type Badge" in shown.text and "Credit 6 hours" in shown.text
    assert "Version 1" in shown.text
    assert "a newer version exists" not in shown.text
    assert_csp_clean(html)


@pytest.mark.parametrize(
    ("accept", "query"), [("application/ld+json", ""), (None, ""), (BROWSER, "?format=json")]
)
def test_the_achievement_by_negotiation(
    client: FlaskClient, achievement: Achievement, accept: str | None, query: str
) -> None:
    response = get(client, f"/achievements/{achievement.public_id}{query}", accept)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert "Accept" in response.headers["Vary"]
    document = response.get_json(force=True)
    assert document["type"] == ["Achievement"]
    assert document["id"] == f"{BASE_URL}/achievements/{achievement.public_id}/versions/1"
    assert document["name"] == "Formative Assessment in Practice"
    assert "**reflection**" in document["criteria"]["narrative"]
    assert document["alignment"][0]["targetUrl"] == ALIGNMENT["target_url"]
    assert document["@context"][0] == "https://www.w3.org/ns/credentials/v2"


def test_earlier_versions_say_a_newer_one_exists(
    client: FlaskClient, issuer: Issuer, achievement: Achievement
) -> None:
    achievements.update_achievement(
        achievement,
        AchievementInput(
            name="Formative Assessment in Practice (2025)",
            description="Completed the revised module.",
            criteria_markdown="Complete the revised activities.",
        ),
        actor=TEST,
        env=service_env(),
    )
    base = f"/achievements/{achievement.public_id}"

    old = page(get(client, f"{base}/versions/1"))
    assert "Formative Assessment in Practice" in old.text
    assert "Completed the formative assessment module." in old.text
    assert "Version 1 (a newer version exists: see it" in old.text
    assert base in old.hrefs()

    for path in (base, f"{base}/versions/2"):
        current = page(get(client, path))
        assert "Formative Assessment in Practice (2025)" in current.text
        assert "Completed the revised module." in current.text
        assert "a newer version exists" not in current.text
        assert "Assessment for learning" not in current.text  # the new version has no alignment

    first = get(client, f"{base}/versions/1", "application/ld+json").get_json(force=True)
    assert first["id"] == f"{BASE_URL}{base}/versions/1"
    assert first["name"] == "Formative Assessment in Practice"
    latest = get(client, base, "application/ld+json").get_json(force=True)
    assert latest["id"] == f"{BASE_URL}{base}/versions/2"


def test_a_credential_names_its_achievement_version_page(
    client: FlaskClient, credential: IssuedCredential, achievement: Achievement
) -> None:
    import json

    document = json.loads(credential.document)
    url = document["credentialSubject"]["achievement"]["id"]
    assert url == f"{BASE_URL}/achievements/{achievement.public_id}/versions/1"
    assert get(client, url[len(BASE_URL) :]).status_code == 200


# ---------------------------------------------------------------------------- unknown


@pytest.mark.parametrize("accept", [BROWSER, "application/json", "application/ld+json"])
def test_unknown_profiles_are_404(
    client: FlaskClient, app: Flask, achievement: Achievement, accept: str
) -> None:
    for path in (
        "/issuers/no-such-issuer",
        f"/achievements/{MISSING}",
        f"/achievements/{MISSING}/versions/1",
        f"/achievements/{achievement.public_id}/versions/2",
        f"/achievements/{achievement.public_id}/versions/0",
    ):
        response = get(client, path, accept)
        assert response.status_code == 404, path
        if accept == "application/json":
            assert response.get_json()["error"] == "not_found", path


@pytest.mark.parametrize("accept", ["application/ld+json", "application/vc+ld+json"])
@pytest.mark.parametrize("path", ["/issuers/no-such-issuer", "/achievements/no-such-achievement"])
def test_a_json_ld_client_gets_its_404_as_json(client: FlaskClient, path: str, accept: str) -> None:
    response = get(client, path, accept)
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert response.get_json()["error"] == "not_found"  # type: ignore[attr-defined]
