"""The Verify page: every way of giving a credential (baked PNG/SVG, JSON or JWT file, pasted
JSON or JWT, a link), every check listed with its mark, the verdicts people read (Valid,
Revoked, Not valid, Status unknown), the recipient check, and clear refusals for empty,
oversized, unreadable or unsafe input."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.forgeries import forged_credential
from tests.app.public.conftest import EMAIL, checks_listed, page

TEST = Actor(label="test")
SKIPPED = "\N{EN DASH}"
#: What the page says a credential was read from, in plain words, per verifier format.
READ_FROM = {
    "png/json": "Read from a PNG badge image with the credential baked in",
    "svg/json": "Read from an SVG badge image with the credential baked in",
    "png/jwt": "Read from a PNG badge image with a VC-JWT credential baked in",
    "json": "Read from a credential file (JSON)",
    "jwt": "Read from a credential in VC-JWT form",
}
MARKS = {"✔", "✖", "⚠", SKIPPED}


def submit(web: Web, **data: Any) -> Any:
    return web.submit("/verify", data=data, content_type="multipart/form-data")


def upload(web: Web, data: bytes, filename: str, **fields: Any) -> Any:
    return submit(web, file=(io.BytesIO(data), filename), **fields)


def banner(html: str) -> str:
    start = html.index('<strong class="status-word" id="result-heading">') + len(
        '<strong class="status-word" id="result-heading">'
    )
    return html[start : html.index("</strong>", start)]


def assert_every_check_listed(html: str) -> dict[str, str]:
    listed = checks_listed(html)
    for check in ("parse", "context", "type", "schema", "terms", "proof", "issuer_key", "valid_from",
                  "valid_until", "status", "recipient"):  # fmt: skip
        assert check in listed, (check, listed)
    assert set(listed.values()) <= MARKS
    return listed


def badge(web: Web, credential: IssuedCredential, name: str) -> bytes:
    data: bytes = web.get(f"/credentials/{credential.id}/{name}").data
    return data


# ---------------------------------------------------------------------------- the form


def test_the_form_labels_every_field(web: Web) -> None:
    response = web.get("/verify")
    shown = page(response)
    assert shown.unlabelled_inputs() == []
    names = {i.get("name") for i in shown.inputs}
    assert {"file", "text", "url", "recipient", "csrf_token"} <= names
    assert shown.inline_scripts == 0 and shown.style_attributes == 0


@pytest.mark.parametrize("path", ["/", "/verify", "/me/sign-in"])
def test_every_page_links_to_the_verify_page(web: Web, path: str) -> None:
    response = web.get(path, follow_redirects=True)
    assert "/verify" in page(response).hrefs()


def test_the_form_needs_its_csrf_token(client: FlaskClient, credential: IssuedCredential) -> None:
    response = client.post("/verify", data={"text": credential.document}, base_url=BASE_URL)
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    ("download", "filename", "image_format"),
    [
        ("badge.png", "badge.png", "png/json"),
        ("badge.svg", "badge.svg", "svg/json"),
        ("credential.json", "credential.json", "json"),
    ],
)
def test_an_uploaded_file_is_verified(
    web: Web, credential: IssuedCredential, download: str, filename: str, image_format: str
) -> None:
    response = upload(web, badge(web, credential, download), filename)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert banner(html) == "Valid"
    listed = assert_every_check_listed(html)
    assert {listed[c] for c in ("parse", "proof", "issuer_key", "status", "schema")} == {"✔"}
    assert listed["recipient"] == SKIPPED  # no recipient given
    text = page(response).text
    assert READ_FROM[image_format] in text and f"Format {image_format}" not in text
    assert "Formative Assessment in Practice" in text
    assert "District 7 Professional Learning" in text


@pytest.mark.parametrize(
    ("download", "image_format"), [("badge.png", "png/jwt"), ("credential.json", "jwt")]
)
def test_a_jwt_credential_is_verified(
    web: Web,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    download: str,
    image_format: str,
) -> None:
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer))
    filename = "badge.png" if download == "badge.png" else "credential.jwt"
    response = upload(web, badge(web, credential, download), filename)
    html = response.get_data(as_text=True)
    assert banner(html) == "Valid", html
    listed = assert_every_check_listed(html)
    assert listed["jwt_claims"] == "✔"
    assert READ_FROM[image_format] in page(response).text


def test_pasted_json_and_jwt(
    web: Web,
    credential: IssuedCredential,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    pasted = submit(web, text=credential.document)
    assert banner(pasted.get_data(as_text=True)) == "Valid"
    assert READ_FROM["json"] in page(pasted).text

    issuer = make_issuer("JWT Academy", proof_format="jwt")
    token = make_award(issuer, make_achievement(issuer)).document
    pasted_jwt = submit(web, text=f"\n  {token}  \n")
    assert banner(pasted_jwt.get_data(as_text=True)) == "Valid"
    assert READ_FROM["jwt"] in page(pasted_jwt).text


def test_a_link_to_this_instances_credential(web: Web, credential: IssuedCredential) -> None:
    url = f"{BASE_URL}/credentials/{credential.id}"
    response = submit(web, url=url)
    assert banner(response.get_data(as_text=True)) == "Valid"
    # The credential page's "Verify it step by step" link does the same with a GET.
    linked = web.get(f"/verify?url={url}")
    assert banner(linked.get_data(as_text=True)) == "Valid"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/credentials/x",
        "https://127.0.0.1/credentials/x",
        "https://10.0.0.1/credentials/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/credentials/x",
        "ftp://example.org/credential.json",
    ],
)
def test_a_link_to_a_private_address_is_refused_without_fetching(
    web: Web, app: Any, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def no_connections(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    response = submit(web, url=url)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    assert "Could not fetch that link" in html or "https://" in html
    assert "status-word" not in html


# ---------------------------------------------------------------------------- verdicts


def test_a_revoked_credential_says_revoked(web: Web, credential: IssuedCredential) -> None:
    png = badge(web, credential, "badge.png")
    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env())
    response = upload(web, png, "badge.png")
    html = response.get_data(as_text=True)
    assert banner(html) == "Revoked"
    listed = checks_listed(html)
    assert listed["status"] == "✖" and listed["proof"] == "✔"
    assert "The issuer has revoked this credential." in html


def test_a_suspended_credential_says_suspended(web: Web, credential: IssuedCredential) -> None:
    # The credential names only the revocation list; Cairn's own record carries the suspension.
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    html = submit(web, text=credential.document).get_data(as_text=True)
    assert banner(html) == "Suspended"
    assert checks_listed(html)["status"] == "✖"
    assert "The issuer has suspended this credential." in html


def test_an_unsuspended_credential_is_valid_again(web: Web, credential: IssuedCredential) -> None:
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    revocation.unsuspend(credential, "Cleared", actor=TEST, env=service_env())
    assert banner(submit(web, text=credential.document).get_data(as_text=True)) == "Valid"


def test_the_api_reports_a_suspension(web: Web, credential: IssuedCredential) -> None:
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    body = web.client.post(
        "/api/verify", json=json.loads(credential.document), base_url=BASE_URL
    ).get_json()
    assert body["valid"] is False
    assert body["summary"]["kind"] == "suspended"
    status = next(c for c in body["checks"] if c["id"] == "status")
    assert status == {
        "id": "status",
        "status": "fail",
        "message": "The issuer has suspended this credential.",
        "code": "suspended",
    }


def test_a_tampered_credential_is_not_valid_and_names_the_proof(
    web: Web, credential: IssuedCredential
) -> None:
    document = json.loads(credential.document)
    document["credentialSubject"]["achievement"]["name"] = "Superintendent of Everything"
    response = upload(web, json.dumps(document).encode(), "credential.json")
    html = response.get_data(as_text=True)
    assert banner(html) == "Not valid"
    listed = assert_every_check_listed(html)
    assert listed["proof"] == "✖"
    assert "<strong>proof</strong>: No valid proof" in html


def test_an_unreachable_status_list_is_status_unknown_never_not_revoked(
    web: Web, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.awarding import status_lists

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OSError("connection timed out")

    # This instance's own lists are read from the database: make that read fail.
    monkeypatch.setattr(status_lists, "get_list", unreachable)
    html = submit(web, text=credential.document).get_data(as_text=True)
    assert banner(html) == "Status unknown"
    assert checks_listed(html)["status"] == "✖"
    assert "cannot be confirmed as not revoked" in html
    assert "Not revoked" not in html


def test_a_status_list_elsewhere_that_cannot_be_fetched_is_status_unknown(
    web: Web, app: Any, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.verification import verifier as verification

    calls: list[str] = []

    def raising(url: str) -> bytes:
        calls.append(url)
        raise OSError("unreachable")

    # Treat the status list as another instance's: it goes to the (failing) fetcher.
    real = verification.LocalFirstFetcher._is_local
    monkeypatch.setattr(
        verification.LocalFirstFetcher,
        "_is_local",
        lambda self, url: "/status/" not in url and real(self, url),
    )
    app.extensions["cairn.wiring"].fetcher = raising
    html = submit(web, text=credential.document).get_data(as_text=True)
    assert calls and all("/status/" in url for url in calls)
    assert banner(html) == "Status unknown"
    assert "Not revoked" not in html


def test_the_recipient_check(web: Web, credential: IssuedCredential) -> None:
    right = submit(web, text=credential.document, recipient=EMAIL.upper())
    html = right.get_data(as_text=True)
    assert banner(html) == "Valid"
    assert checks_listed(html)["recipient"] == "✔"

    wrong = submit(web, text=credential.document, recipient="someone.else@school.example.org")
    html = wrong.get_data(as_text=True)
    assert checks_listed(html)["recipient"] == "✖"
    assert banner(html) == "Not valid"
    assert "was not awarded to someone.else@school.example.org" in html


# ---------------------------------------------------------------------------- refusals


def test_an_empty_submission_is_400_with_a_message(web: Web) -> None:
    response = submit(web)
    assert response.status_code == 400
    assert "Choose a file, paste a credential, or give a link." in response.get_data(as_text=True)


def test_an_oversized_upload_is_413(web: Web) -> None:
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024)
    # Encoded in memory: the test client would spool a body this large to a file it never closes.
    boundary, body = encode_multipart(
        {"csrf_token": web.csrf_token("/verify"), "file": FileStorage(io.BytesIO(huge), "huge.png")}
    )
    response = web.client.post(
        "/verify",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        base_url=BASE_URL,
    )
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"this is not a credential", "notes.txt"),
        (b"\x89PNG\r\n\x1a\ngarbage", "broken.png"),
        (b'{"@context": [', "broken.json"),
        (b"\xff\xfe\x00garbage", "blob.bin"),
    ],
)
def test_garbage_is_refused_with_the_parse_check(web: Web, data: bytes, filename: str) -> None:
    response = upload(web, data, filename)
    assert response.status_code in (400, 422)
    html = response.get_data(as_text=True)
    assert checks_listed(html)["parse"] == "✖"
    assert banner(html) == "Not valid"


def test_pasted_garbage_is_refused_with_the_parse_check(web: Web) -> None:
    response = submit(web, text="definitely not a badge")
    assert response.status_code == 400
    assert checks_listed(response.get_data(as_text=True))["parse"] == "✖"


def test_the_page_escapes_what_was_submitted(web: Web, credential: IssuedCredential) -> None:
    document = json.loads(credential.document)
    document["credentialSubject"]["achievement"]["name"] = "<script>alert(1)</script>"
    html = submit(web, text=json.dumps(document)).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ---------------------------------------------------------------------------- forgeries (issue 8)


def test_a_forgery_shows_the_amber_state_and_its_claims(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.fetch import FetchError
    from app.public import verify as verify_views

    def fetch(url: str) -> bytes:
        raise FetchError(f"{url} did not answer")

    monkeypatch.setattr(verify_views, "fetcher", lambda: fetch)
    env = service_env()
    forged = forged_credential("t@school.example.org", now=env.now, loader=env.loader)
    response = submit(web, text=json.dumps(forged))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert banner(html) == "Issuer not confirmed"
    assert "status-banner-unconfirmed" in html and "status-banner-valid" not in html
    assert "nothing confirms that" in html
    text = page(response).text
    # What it says is presented as claims, with no badge image lending it the real look.
    assert "What it claims" in text and "Claims to be issued by District PD Office" in text
    assert "verified-badge-image" not in html


def test_a_valid_credential_shows_its_image_issuer_and_the_recipient_match(
    web: Web, credential: IssuedCredential
) -> None:
    png = badge(web, credential, "badge.png")
    response = upload(web, png, "badge.png", recipient=EMAIL)
    html = response.get_data(as_text=True)
    assert banner(html) == "Valid"
    assert 'class="verified-badge-image"' in html
    text = page(response).text
    assert "Issued by District 7 Professional Learning" in text
    issued = credential.issued_at  # the claimed date in words, as the credential page says it
    assert f"Issued {issued:%b} {issued.day}, {issued.year}" in text
    assert "Matches" in text and 'data-recipient="pass"' in html
    assert "What it claims" not in text
    # Another recipient: the credential is not valid for that person, so its claims are shown.
    other = upload(web, png, "badge.png", recipient="someone.else@example.org")
    assert banner(other.get_data(as_text=True)) == "Not valid"
    assert "The credential was not awarded to someone.else@example.org" in page(other).text
    assert 'data-recipient="fail"' in other.get_data(as_text=True)


@pytest.mark.parametrize(
    ("claimed", "shown"),
    [("2026-03-15T09:00:00Z", "Claims issue date Mar 15, 2026"), ("2026-13-45T99", "2026-13-45")],
)
def test_claimed_dates_in_words_and_an_unreadable_one_as_written(
    web: Web, credential: IssuedCredential, claimed: str, shown: str
) -> None:
    document = json.loads(credential.document)
    document["validFrom"] = claimed  # the proof no longer matches: its claims are listed
    response = submit(web, text=json.dumps(document))
    assert response.status_code == 200
    assert banner(response.get_data(as_text=True)) == "Not valid"
    assert shown in page(response).text
