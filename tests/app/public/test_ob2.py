"""Open Badges 2.0 for older backpacks: Cairn's hosted Assertion, BadgeClass and Issuer pass the
rules of 1EdTech's OB 2.0 validator, revoked and suspended credentials answer 410 with
``revoked: true``, private ones stay verifiable, content negotiation and ``?v=2_0`` answer the
assertion, and the OB 2.0 baked PNG carries the assertion's URL.

The validator itself (1EdTech/openbadges-validator-core, package ``openbadges`` 1.1.2) does not
import on current Python; ``ob2_validator.py`` ports its rules (see its docstring for which
task each comes from), and the first tests run it over the validator's own fixtures
(``tests/fixtures/ob2_validator/openbadges_validator_core.json``, copied from that repository at
6fe7402373d1059bfb3a968802032b44b37455ed, with the repository test each rejected case comes
from) to show that it accepts what the validator accepts and rejects what it rejects.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image as PILImage

from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.delivery import analytics, ob2, visibility
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput, update_profile
from app.wiring import service_env
from credentials import bake_png, unbake
from tests.app.conftest import BASE_URL
from tests.app.public.conftest import EMAIL, RECIPIENT
from tests.app.public.ob2_validator import ACCEPT, Fetch, verify_hosted

TEST = Actor(label="test")
FIXTURES = json.loads(
    (
        Path(__file__).parents[2] / "fixtures" / "ob2_validator" / "openbadges_validator_core.json"
    ).read_text("utf-8")
)
OB2_PROFILE = 'application/ld+json; profile="https://w3id.org/openbadges/v2"'


def small_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "#2f6f6a").save(buffer, "PNG")
    return buffer.getvalue()


# --- the checker against the validator's own fixtures -----------------------------------------


def fixture_site(case: dict[str, Any] | None = None) -> tuple[str, Fetch]:
    """The validator's 2.0 components hosted at their ids (as test_verify_function mocks them),
    changed as ``case`` says; returns the assertion's URL and the fetch function."""
    parts = FIXTURES["components"]
    docs = {
        "assertion": copy.deepcopy(parts["2_0_basic_assertion"]),
        "badgeclass": copy.deepcopy(parts["2_0_basic_badgeclass"]),
        "issuer": copy.deepcopy(parts["2_0_basic_issuer"]),
    }
    case = case or {}
    for name, changes in case.get("patch", {}).items():
        docs[name].update(changes)
    for name, props in case.get("drop", {}).items():
        for prop in props:
            del docs[name][prop]
    statuses = {"assertion": 200, "badgeclass": 200, "issuer": 200, **case.get("status", {})}
    url = docs["assertion"]["id"]
    if "move_assertion_to" in case:
        url = docs["assertion"]["id"] = case["move_assertion_to"]
    hosted = {docs[name]["id"]: (statuses[name], docs[name]) for name in docs}
    for name, replacement in case.get("replace", {}).items():
        hosted[replacement["id"]] = (statuses[name], replacement)
    image = small_png()

    def fetch(wanted: str) -> tuple[int, str, bytes]:
        if wanted.endswith(".png"):
            return 200, "image/png", image
        if wanted not in hosted:
            raise OSError(f"nothing at {wanted}")
        status, document = hosted[wanted]
        return status, "application/ld+json", json.dumps(document).encode()

    return url, fetch


def test_the_checker_accepts_the_validators_valid_hosted_badge() -> None:
    url, fetch = fixture_site()
    result = verify_hosted(url, fetch, recipient=FIXTURES["recipient"]["matches"])
    assert result.errors == []
    assert set(result.nodes) == {
        "https://example.org/beths-robotics-badge.json",
        "https://example.org/robotics-badge.json",
        "https://example.org/organization.json",
    }


def test_the_checker_rejects_another_recipient() -> None:
    url, fetch = fixture_site()
    result = verify_hosted(url, fetch, recipient=FIXTURES["recipient"]["does_not_match"])
    assert len(result.errors) == 1 and "did not match assertion recipient hash" in result.errors[0]


@pytest.mark.parametrize("case", FIXTURES["rejected"], ids=lambda case: case["name"])
def test_the_checker_rejects_what_the_validator_rejects(case: dict[str, Any]) -> None:
    url, fetch = fixture_site(case)
    result = verify_hosted(url, fetch)
    assert not result.valid
    assert any(case["error"] in error for error in result.errors), result.errors


# --- Cairn's hosted objects ---------------------------------------------------------------------


def app_fetch(client: FlaskClient) -> Fetch:
    """Cairn's own URLs through the test client, with the validator's Accept header."""

    def fetch(url: str) -> tuple[int, str, bytes]:
        if not url.startswith(BASE_URL + "/"):
            raise OSError(f"not a local URL: {url}")
        response = client.get(url[len(BASE_URL) :], base_url=BASE_URL, headers={"Accept": ACCEPT})
        return response.status_code, response.content_type, response.data

    return fetch


def assertion_url(credential: IssuedCredential) -> str:
    return f"{BASE_URL}/ob2/assertions/{credential.id}"


def get(client: FlaskClient, path: str, **headers: str) -> Any:
    return client.get(path, base_url=BASE_URL, headers=headers)


def test_a_credential_is_a_valid_hosted_ob2_badge(
    client: FlaskClient, credential: IssuedCredential, achievement: Achievement
) -> None:
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL)
    assert result.errors == []
    assertion = result.nodes[assertion_url(credential)]
    # The same salted hash as the OB 3.0 credential: one earner, named the same way.
    ob3 = json.loads(credential.document)["credentialSubject"]["identifier"][0]
    assert assertion["recipient"] == {
        "type": "email",
        "hashed": True,
        "salt": ob3["salt"],
        "identity": ob3["identityHash"],
    }
    assert EMAIL not in json.dumps(result.nodes) and RECIPIENT not in json.dumps(result.nodes)
    badge_url = f"{BASE_URL}/ob2/badges/{achievement.public_id}/1"
    assert assertion["badge"] == badge_url
    badge = result.nodes[badge_url]
    assert badge["name"] == "Formative Assessment in Practice"
    assert badge["criteria"]["id"] == f"{BASE_URL}/achievements/{achievement.public_id}/versions/1"
    # Compacted JSON-LD: a list of one is the one object.
    assert badge["alignment"]["targetCode"] == "TS-4.2"
    issuer = result.nodes[badge["issuer"]]
    assert issuer["email"] == "pd@district7.example.org"
    assert issuer["url"] == "https://district7.example.org"
    assert assertion["evidence"]["id"] == "https://portfolio.example.org/ann"
    assert assertion["narrative"] == "Ran *exit tickets* for a term."


def test_the_checker_would_catch_another_recipient_on_cairns_assertion(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient="x@example.org")
    assert not result.valid


def test_a_vc_jwt_credential_has_a_valid_hosted_ob2_badge(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer("JWT Academy", slug="jwt-academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer), EMAIL)
    assert credential.proof_format == "jwt"
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL)
    assert result.errors == []


def test_an_issuer_without_homepage_or_email_still_validates(
    client: FlaskClient, issuer: Issuer, credential: IssuedCredential
) -> None:
    update_profile(
        issuer,
        IssuerProfileInput(name=issuer.name, url=None, email=None),
        actor=TEST,
        env=service_env(),
    )
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL)
    assert result.errors == []
    profile = result.nodes[f"{BASE_URL}/ob2/issuers/{issuer.slug}"]
    assert profile["url"] == f"{BASE_URL}/issuers/{issuer.slug}"
    assert profile["email"] == "badges@localhost"  # MAIL_FROM, as app/config.py sets it here


def test_without_mail_from_the_instance_address_is_no_reply_at_its_host(app: Flask) -> None:
    env = service_env()
    bare = dataclasses.replace(env, settings=dataclasses.replace(env.settings, mail_from=None))
    assert ob2.instance_address(bare) == "no-reply@badges.example.org"
    named = dataclasses.replace(
        env, settings=dataclasses.replace(env.settings, mail_from="PD Office <pd@example.org>")
    )
    assert ob2.instance_address(named) == "pd@example.org"


def test_an_expired_credential_is_reported_expired(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, achievement, valid_until=datetime(2031, 3, 15, tzinfo=UTC))
    fetch = app_fetch(client)
    assert verify_hosted(assertion_url(credential), fetch).valid
    later = verify_hosted(assertion_url(credential), fetch, now=datetime(2031, 3, 16, tzinfo=UTC))
    assert any("expired on 2031-03-15" in error for error in later.errors)


# --- URLs and content negotiation -------------------------------------------------------------


def test_the_credential_url_answers_the_assertion_when_asked_for_ob2(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    hosted = get(client, f"/ob2/assertions/{credential.id}")
    assert hosted.status_code == 200 and hosted.mimetype == "application/ld+json"
    assert hosted.headers["Access-Control-Allow-Origin"] == "*"
    assert hosted.json["@context"] == "https://w3id.org/openbadges/v2"
    assert hosted.json["id"] == assertion_url(credential)
    by_query = get(client, f"/credentials/{credential.id}?v=2_0")
    by_profile = get(client, f"/credentials/{credential.id}", Accept=OB2_PROFILE)
    assert by_query.data == hosted.data and by_profile.data == hosted.data
    # Without either, machines still get the signed OB 3.0 credential, people the page.
    plain = get(client, f"/credentials/{credential.id}", Accept="application/ld+json")
    assert plain.data == credential.document.encode()
    page = get(client, f"/credentials/{credential.id}", Accept="text/html")
    assert page.mimetype == "text/html"
    # A cache holding it asks again and gets a 304 while nothing changed.
    again = get(
        client, f"/ob2/assertions/{credential.id}", **{"If-None-Match": hosted.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_the_checker_follows_a_negotiated_url_to_the_assertions_own_id(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    # As graph.jsonld_compact_data does: the node fetched declares another id, so it is fetched
    # again from there, and that is the node validated.
    negotiated = f"{BASE_URL}/credentials/{credential.id}?v=2_0"
    result = verify_hosted(negotiated, app_fetch(client), recipient=EMAIL)
    assert result.errors == []
    assert negotiated not in result.nodes and assertion_url(credential) in result.nodes


def test_unknown_ob2_objects_are_json_404s(client: FlaskClient, issuer: Issuer) -> None:
    for path in (
        "/ob2/assertions/00000000-0000-4000-8000-000000000000",
        "/credentials/00000000-0000-4000-8000-000000000000?v=2_0",
        "/ob2/badges/00000000-0000-4000-8000-000000000000/1",
        "/ob2/badges/00000000-0000-4000-8000-000000000000/1/image.png",
        "/ob2/issuers/nobody-here",
    ):
        response = get(client, path)
        assert response.status_code == 404 and response.json["error"] == "not_found", path


def test_a_badge_class_of_a_version_that_does_not_exist_is_404(
    client: FlaskClient, achievement: Achievement
) -> None:
    assert get(client, f"/ob2/badges/{achievement.public_id}/1").status_code == 200
    assert get(client, f"/ob2/badges/{achievement.public_id}/2").status_code == 404


def test_the_badge_class_image_is_a_png(client: FlaskClient, achievement: Achievement) -> None:
    response = get(client, f"/ob2/badges/{achievement.public_id}/1/image.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert PILImage.open(io.BytesIO(response.data)).format == "PNG"


# --- revoked, suspended, private ----------------------------------------------------------------


def test_a_revoked_credential_answers_410_with_its_public_reason_only(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    revocation.revoke(
        credential,
        "Internal: HR case 4411, do not disclose",
        public="Issued in error",
        actor=TEST,
        env=service_env(),
    )
    response = get(client, f"/ob2/assertions/{credential.id}")
    assert response.status_code == 410
    assert response.json == {
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": assertion_url(credential),
        "revoked": True,
        "revocationReason": "Issued in error",
    }
    assert b"HR case" not in response.data
    assert get(client, f"/credentials/{credential.id}?v=2_0").status_code == 410
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL)
    assert result.revoked and not result.valid


def test_a_revoked_credential_without_public_reason_says_revoked(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    revocation.revoke(credential, "internal only", actor=TEST, env=service_env())
    response = get(client, f"/ob2/assertions/{credential.id}")
    assert response.status_code == 410
    assert response.json["revocationReason"] == ob2.DEFAULT_REVOCATION_REASON


def test_a_suspended_credential_answers_revoked_until_the_suspension_is_lifted(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    revocation.suspend(
        credential,
        "Internal: checking attendance records",
        public="Under review by the issuer",
        actor=TEST,
        env=service_env(),
    )
    response = get(client, f"/ob2/assertions/{credential.id}")
    assert response.status_code == 410 and response.json["revoked"] is True
    assert response.json["revocationReason"].startswith(ob2.SUSPENDED_REASON)
    assert "Under review by the issuer" in response.json["revocationReason"]
    assert b"attendance" not in response.data
    assert not verify_hosted(assertion_url(credential), app_fetch(client)).valid
    revocation.unsuspend(credential, "records fine", actor=TEST, env=service_env())
    assert verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL).valid


def test_a_private_credential_stays_verifiable_by_whoever_holds_its_badge(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    result = verify_hosted(assertion_url(credential), app_fetch(client), recipient=EMAIL)
    assert result.errors == []
    # Its shareable OB 2.0 image is refused like its other public downloads ...
    assert get(client, f"/credentials/{credential.id}/badge-ob2.png").status_code == 404
    # ... and the holder still has it through the manage link.
    manage = visibility.issue_manage_link(credential, service_env()).removeprefix(BASE_URL)
    managed = get(client, f"{manage}/badge-ob2.png")
    assert managed.status_code == 200
    assert unbake(managed.data).text == assertion_url(credential)  # type: ignore[union-attr]


# --- the OB 2.0 baked PNG -----------------------------------------------------------------------


def text_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Every text chunk's type and keyword, walked independently of Cairn's baking code."""
    found, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind in (b"iTXt", b"tEXt", b"zTXt"):
            found.append((kind, data))
        pos += 12 + length
    return found


def test_the_ob2_baked_png_holds_the_assertion_url_and_verifies(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = get(client, f"/credentials/{credential.id}/badge-ob2.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert f"badge-{credential.id}-ob2.png" in response.headers["Content-Disposition"]
    chunks = text_chunks(response.data)
    assert chunks == [(b"iTXt", b"openbadges\0\0\0\0\0" + assertion_url(credential).encode())]
    baked = unbake(response.data)
    assert baked is not None and (baked.ob_version, baked.kind) == ("2.0", "url")
    result = verify_hosted(baked.text, app_fetch(client), recipient=EMAIL)
    assert result.errors == []
    assert analytics.for_credential(credential.id)["download"] == 1
    again = get(
        client,
        f"/credentials/{credential.id}/badge-ob2.png",
        **{"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    assert analytics.for_credential(credential.id)["download"] == 1


def test_the_holder_is_offered_the_ob2_badge(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    manage = visibility.issue_manage_link(credential, service_env()).removeprefix(BASE_URL)
    page = get(client, manage).get_data(as_text=True)
    assert f"{manage}/badge-ob2.png" in page
    assert "older backpacks (Open Badges 2.0" in page


def test_ob2_baking_replaces_any_badge_already_in_the_image(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    from credentials import bake_ob2_png

    ob3 = bake_png(small_png(), credential.document)
    baked = bake_ob2_png(ob3, assertion_url(credential))
    assert [kind for kind, _ in text_chunks(baked)] == [b"iTXt"]
    assert unbake(baked).text == assertion_url(credential)  # type: ignore[union-attr]
    rebaked = bake_ob2_png(baked, assertion_url(credential) + "x")
    assert len(text_chunks(rebaked)) == 1


@pytest.mark.parametrize("bad", ["", "not a url", "ftp://example.org/a", " https://a.example/x"])
def test_ob2_baking_needs_an_http_url(bad: str) -> None:
    from credentials import BakingError, bake_ob2_png

    with pytest.raises(BakingError):
        bake_ob2_png(small_png(), bad)


def test_a_suspension_without_public_reason_answers_only_what_ob2_asks(
    credential: IssuedCredential,
) -> None:
    # The 410 body carries no dates or internal notes: only id, revoked and the public reason.
    revocation.suspend(credential, "internal", actor=TEST, env=service_env())
    hosted = ob2.hosted_assertion(credential.id, service_env())
    assert set(hosted.document) == {"@context", "type", "id", "revoked", "revocationReason"}
    assert hosted.document["revocationReason"] == ob2.SUSPENDED_REASON
