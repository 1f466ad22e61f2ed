"""Downloads of a credential: baked PNG and SVG (the image carries exactly the stored credential,
which verifies), the credential file, QR codes of its URL, the printable certificate and its
PDF; entity tags and caching; and none of the shareable ones for a private credential."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image as PILImage

from app.models import Achievement, IssuedCredential, Issuer
from app.qr import qr_png, qr_svg
from app.services.delivery import images, visibility
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput, set_image, update_profile
from app.wiring import service_env
from credentials import unbake, verify_credential
from tests.app.conftest import BASE_URL
from tests.app.pdfs import pdf_text
from tests.app.public.conftest import RECIPIENT

TEST = Actor(label="test")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_BADGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">'
    b'<circle id="ring" cx="100" cy="100" r="90" fill="#2f6f6a"/></svg>\n'
)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """``(type, data)`` of every chunk of a PNG, in order."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def solid_png(colour: str = "#7a4e9c", size: int = 64) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (size, size), colour).save(buffer, "PNG")
    return buffer.getvalue()


def store_image(data: bytes) -> int:
    from app.extensions import db

    image = images.store_upload(data, max_bytes=2**21, max_pixels=2**22, now=service_env().now)
    db.session.commit()
    return image.id


def fetch(client: FlaskClient, path: str, **headers: str) -> object:
    return client.get(path, base_url=BASE_URL, headers=headers)


def verify(data: bytes, local_fetch: Callable[[str], bytes]) -> object:
    env = service_env()
    return verify_credential(data, loader=env.loader, now=env.now, fetch=local_fetch)


# ---------------------------------------------------------------------------- baked images


@pytest.mark.parametrize(("path", "image_format"), [("badge.png", "png"), ("badge.svg", "svg")])
def test_baked_images_carry_exactly_the_stored_credential_and_verify(
    client: FlaskClient,
    credential: IssuedCredential,
    local_fetch: Callable[[str], bytes],
    path: str,
    image_format: str,
) -> None:
    response = fetch(client, f"/credentials/{credential.id}/{path}")
    assert response.status_code == 200
    assert response.mimetype == ("image/png" if image_format == "png" else "image/svg+xml")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="badge-{credential.id}.{image_format}"'
    )
    payload = unbake(response.data)
    assert payload is not None
    assert payload.text == credential.document
    assert payload.kind == "json" and payload.image_format == image_format
    report = verify(response.data, local_fetch)
    assert report.valid, report.as_json()
    assert report.format == f"{image_format}/json"


@pytest.mark.parametrize(("path", "image_format"), [("badge.png", "png"), ("badge.svg", "svg")])
def test_baked_images_of_a_jwt_credential(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
    path: str,
    image_format: str,
) -> None:
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer), name=RECIPIENT)
    data = fetch(client, f"/credentials/{credential.id}/{path}").data
    payload = unbake(data)
    assert payload is not None and payload.kind == "jws"
    assert payload.text == credential.document
    report = verify(data, local_fetch)
    assert report.valid, report.as_json()
    assert report.format == f"{image_format}/jwt"


def test_the_png_badge_is_the_achievement_png_plus_one_itxt_chunk(
    client: FlaskClient,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    original = solid_png()
    achievement = make_achievement(issuer, "Coaching Cycles", image_id=store_image(original))
    credential = make_award(issuer, achievement)
    baked = fetch(client, f"/credentials/{credential.id}/badge.png").data

    before, after = png_chunks(original), png_chunks(baked)
    added = [chunk for chunk in after if chunk not in before]
    assert len(added) == 1
    kind, data = added[0]
    assert kind == b"iTXt" and data.startswith(b"openbadgecredential\0")
    assert [c for c in after if c not in added] == before
    assert after[-1][0] == b"IEND"
    # The pixels are untouched.
    assert (
        PILImage.open(io.BytesIO(baked)).tobytes() == PILImage.open(io.BytesIO(original)).tobytes()
    )


def test_without_an_image_the_generated_badge_is_baked(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    baked = fetch(client, f"/credentials/{credential.id}/badge.png").data
    generated = images.default_badge_png("Formative Assessment in Practice")
    assert [c for c in png_chunks(baked) if c[0] != b"iTXt"] == png_chunks(generated)


def test_an_svg_achievement_image_gives_a_baked_copy_of_that_svg(
    client: FlaskClient,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
) -> None:
    achievement = make_achievement(issuer, "Vector Badge", image_id=store_image(SVG_BADGE))
    credential = make_award(issuer, achievement)
    response = fetch(client, f"/credentials/{credential.id}/badge.svg")
    baked = response.data
    assert b'<circle id="ring" cx="100" cy="100" r="90" fill="#2f6f6a"/>' in baked
    assert baked.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    assert b"data:image/png" not in baked  # the SVG itself, not a wrapped raster
    payload = unbake(baked)
    assert payload is not None and payload.text == credential.document
    assert verify(baked, local_fetch).valid
    # Opened on its own, the SVG may run nothing.
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]


def test_an_svg_achievement_image_gives_a_png_drawn_from_that_svg(
    client: FlaskClient,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
) -> None:
    achievement = make_achievement(issuer, "Vector Badge", image_id=store_image(SVG_BADGE))
    credential = make_award(issuer, achievement)
    response = fetch(client, f"/credentials/{credential.id}/badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    baked = response.data
    # The SVG's own teal circle, drawn at 512 pixels, not the generated hexagon.
    picture = PILImage.open(io.BytesIO(baked)).convert("RGBA")
    assert picture.size == (512, 512)
    assert picture.getpixel((256, 256)) == (0x2F, 0x6F, 0x6A, 255)
    assert picture.getpixel((4, 4))[3] == 0
    generated = images.default_badge_png("Vector Badge")
    assert [c for c in png_chunks(baked) if c[0] != b"iTXt"] != png_chunks(generated)
    # One iTXt chunk holds exactly the stored credential, and the baked PNG verifies.
    texts = [data for kind, data in png_chunks(baked) if kind == b"iTXt"]
    assert len(texts) == 1 and texts[0].startswith(b"openbadgecredential\0")
    payload = unbake(baked)
    assert payload is not None and payload.image_format == "png"
    assert payload.text == credential.document
    report = verify(baked, local_fetch)
    assert report.valid, report.as_json()
    assert report.format == "png/json"
    # Both baked images of one credential.
    svg = fetch(client, f"/credentials/{credential.id}/badge.svg").data
    assert unbake(svg).text == unbake(baked).text  # type: ignore[union-attr]


def test_a_png_achievement_image_gives_an_svg_wrapping_it(
    client: FlaskClient,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    import base64

    original = solid_png()
    achievement = make_achievement(issuer, "Coaching Cycles", image_id=store_image(original))
    credential = make_award(issuer, achievement)
    baked = fetch(client, f"/credentials/{credential.id}/badge.svg").data
    assert base64.b64encode(original) in baked
    assert b'width="64" height="64"' in baked
    assert unbake(baked).text == credential.document  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- credential file


def test_the_credential_file_is_the_stored_bytes(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = fetch(client, f"/credentials/{credential.id}/credential.json")
    assert response.status_code == 200
    assert response.data == credential.document.encode("utf-8")
    assert response.mimetype == "application/ld+json"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="credential-{credential.id}.json"'
    )


def test_the_credential_file_of_a_jwt_credential(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer))
    response = fetch(client, f"/credentials/{credential.id}/credential.json")
    assert response.data == credential.document.encode("ascii")
    assert response.mimetype == "application/vc+jwt"
    assert f'filename="credential-{credential.id}.jwt"' in response.headers["Content-Disposition"]


# ---------------------------------------------------------------------------- QR codes


def test_qr_codes_encode_the_credential_url(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    url = f"{BASE_URL}/credentials/{credential.id}"
    png = fetch(client, f"/credentials/{credential.id}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(PNG_SIGNATURE)
    # No QR decoder is installed: the same URL must give the same code, a different one must not.
    assert png.data == qr_png(url)
    assert png.data != qr_png(url + "x")
    assert "Content-Disposition" not in png.headers  # shown inline on the page

    svg = fetch(client, f"/credentials/{credential.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data == qr_svg(url)
    assert b"<svg" in svg.data and b"<path" in svg.data
    assert b"<image" not in svg.data


# ---------------------------------------------------------------------------- certificate


def test_the_certificate_page_is_laid_out_for_printing(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = fetch(client, f"/credentials/{credential.id}/certificate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<link rel="stylesheet" href="/static/certificate.css">' in html
    assert RECIPIENT in html and "Formative Assessment in Practice" in html
    assert f"/credentials/{credential.id}/qr.svg" in html
    assert f'href="/credentials/{credential.id}/certificate.pdf"' in html
    assert f'href="/credentials/{credential.id}/certificate.pdf?paper=letter"' in html
    assert "<script" not in html and "style=" not in html
    stylesheet = fetch(client, "/static/certificate.css")
    css = stylesheet.get_data(as_text=True)
    stylesheet.close()  # a static file is streamed from an open file
    assert "@media print" in css and "@page" in css and "landscape" in css


def pdf_info(data: bytes, key: str) -> str:
    """A document information entry (``/Title`` …), literal or UTF-16 hex."""
    match = re.search(rb"/" + key.encode() + rb"\s*(\((?:[^()\\]|\\.)*\)|<[0-9a-fA-F]*>)", data)
    assert match, key
    value = match.group(1)
    if value.startswith(b"<"):
        raw = bytes.fromhex(value[1:-1].decode())
        return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1")
    return value[1:-1].decode("latin-1")


def media_box(data: bytes) -> tuple[float, float]:
    match = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert match
    x0, y0, x1, y1 = (float(n) for n in match.groups())
    return x1 - x0, y1 - y0


def test_the_certificate_pdf_in_a4_and_letter(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    a4 = fetch(client, f"/credentials/{credential.id}/certificate.pdf")
    letter = fetch(client, f"/credentials/{credential.id}/certificate.pdf?paper=letter")
    for response, size in ((a4, "a4"), (letter, "letter")):
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF-")
        assert response.data.rstrip().endswith(b"%%EOF")
        assert (
            f'filename="certificate-{credential.id}-{size}.pdf"'
            in response.headers["Content-Disposition"]
        )
    # Landscape A4 is 842 x 595 points, landscape Letter 792 x 612.
    assert media_box(a4.data) == pytest.approx((841.89, 595.28), abs=0.5)
    assert media_box(letter.data) == pytest.approx((792, 612), abs=0.5)
    assert (
        pdf_info(a4.data, "Title")
        == f"Formative Assessment in Practice: certificate for {RECIPIENT}"
    )
    assert pdf_info(a4.data, "Author") == "District 7 Professional Learning"
    text = pdf_text(a4.data)
    for shown in (RECIPIENT, "Formative Assessment in Practice", "District 7 Professional Learning",
                  f"Verify at {BASE_URL}/credentials/{credential.id}"):  # fmt: skip
        assert shown in text, (shown, text)
    # The QR code is embedded as an image.
    assert b"/Subtype /Image" in a4.data
    # The same credential gives the same bytes (no "now" inside).
    assert fetch(client, f"/credentials/{credential.id}/certificate.pdf").data == a4.data


def test_the_certificate_pdf_without_a_recipient_name(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, achievement, name="Hidden Name", show_name=False)
    data = fetch(client, f"/credentials/{credential.id}/certificate.pdf").data
    assert "Hidden Name" not in pdf_text(data)
    assert "the holder of this credential" in pdf_text(data)
    assert pdf_info(data, "Title") == "Formative Assessment in Practice: certificate"


def test_the_certificate_pdf_shows_the_issuer_logo_and_a_new_logo_changes_its_etag(
    client: FlaskClient, issuer: Issuer, credential: IssuedCredential
) -> None:
    from app.extensions import db

    path = f"/credentials/{credential.id}/certificate.pdf"
    before = fetch(client, path)
    env = service_env()
    image = images.store_upload(
        solid_png("#b5542f"), max_bytes=2**21, max_pixels=2**22, now=env.now
    )
    set_image(issuer, image, actor=TEST, env=env)
    db.session.commit()
    after = fetch(client, path, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.data.count(b"/Subtype /Image") == before.data.count(b"/Subtype /Image") + 1
    # The signed issuer name is what the certificate shows, even after a rename.
    update_profile(issuer, IssuerProfileInput(name="Renamed District"), actor=TEST, env=env)
    assert "District 7 Professional Learning" in pdf_text(fetch(client, path).data)


# ---------------------------------------------------------------------------- caching


DOWNLOADS = (
    "badge.png",
    "badge.svg",
    "credential.json",
    "qr.png",
    "qr.svg",
    "certificate.pdf",
    "certificate.pdf?paper=letter",
)


@pytest.mark.parametrize("name", DOWNLOADS)
def test_downloads_have_an_etag_and_answer_conditional_requests_with_304(
    client: FlaskClient, credential: IssuedCredential, name: str
) -> None:
    path = f"/credentials/{credential.id}/{name}"
    first = fetch(client, path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = fetch(client, path, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = fetch(client, path, **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_the_pdf_is_not_made_again_for_a_matching_etag(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.delivery import certificates

    path = f"/credentials/{credential.id}/certificate.pdf"
    etag = fetch(client, path).headers["ETag"]

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the PDF was rendered for a matching ETag")

    monkeypatch.setattr(certificates, "certificate_pdf", refuse)
    assert fetch(client, path, **{"If-None-Match": etag}).status_code == 304


def test_a4_and_letter_have_different_etags(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    a4 = fetch(client, f"/credentials/{credential.id}/certificate.pdf")
    letter = fetch(client, f"/credentials/{credential.id}/certificate.pdf?paper=letter")
    assert a4.headers["ETag"] != letter.headers["ETag"]


# ---------------------------------------------------------------------------- privacy


@pytest.mark.parametrize(
    "name",
    [
        "badge.png",
        "badge.svg",
        "badge-ob2.png",
        "qr.png",
        "qr.svg",
        "certificate",
        "certificate.pdf",
    ],
)
def test_a_private_credential_has_no_shareable_downloads(
    client: FlaskClient, credential: IssuedCredential, name: str
) -> None:
    path = f"/credentials/{credential.id}/{name}"
    etag = fetch(client, path).headers.get("ETag")
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    response = fetch(client, path)
    assert response.status_code == 404
    assert RECIPIENT not in response.get_data(as_text=True)
    # Not even to a cache revalidating what it kept from before.
    if etag:
        assert fetch(client, path, **{"If-None-Match": etag}).status_code == 404


def test_a_private_credential_file_is_still_served(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    response = fetch(client, f"/credentials/{credential.id}/credential.json")
    assert response.status_code == 200 and response.data == credential.document.encode()


@pytest.mark.parametrize("name", [*DOWNLOADS, "certificate"])
def test_downloads_of_an_unknown_credential_are_404(
    client: FlaskClient, app: Flask, name: str
) -> None:
    assert (
        fetch(client, f"/credentials/00000000-0000-4000-8000-000000000000/{name}").status_code
        == 404
    )


def test_the_expiry_date_is_on_the_certificate(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, achievement, valid_until=datetime(2031, 3, 15, tzinfo=UTC))
    assert "valid until March 15, 2031" in pdf_text(
        fetch(client, f"/credentials/{credential.id}/certificate.pdf").data
    )
    html = fetch(client, f"/credentials/{credential.id}/certificate").get_data(as_text=True)
    assert 'valid until <time datetime="2031-03-15">March 15, 2031</time>' in html


def test_the_certificate_writes_dates_as_its_page_does_in_the_readers_locale(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    credential = make_award(issuer, achievement, valid_until=datetime(2031, 3, 15, tzinfo=UTC))
    path = f"/credentials/{credential.id}/certificate"
    british = fetch(client, f"{path}.pdf", **{"Accept-Language": "en-GB"})
    american = fetch(client, f"{path}.pdf", **{"Accept-Language": "en-US"})
    assert "valid until 15 March 2031" in pdf_text(british.data)
    assert "valid until March 15, 2031" in pdf_text(american.data)
    # One file per language: a cache must not hand the British file to an American reader.
    assert british.headers["ETag"] != american.headers["ETag"]
    assert "Accept-Language" in british.vary
    page = fetch(client, path, **{"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<time datetime="2031-03-15">15 March 2031</time>' in page
