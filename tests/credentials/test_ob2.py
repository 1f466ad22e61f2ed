"""``credentials.ob2``: OB 2.0 hosted objects made from an OB 3.0 credential's payload, and
``bake_ob2_png``. Cairn's served documents are checked against the OB 2.0 validator's rules in
``tests/app/public/test_ob2.py``; these are the library's own edges."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from credentials import (
    BakingError,
    Ob2Urls,
    badge_class,
    bake_ob2_png,
    issuer_profile,
    ob2_assertion,
    revoked_assertion,
    unbake,
)

URLS = Ob2Urls(
    assertion="https://badges.example.org/ob2/assertions/a1",
    badge="https://badges.example.org/ob2/badges/b1/1",
    issuer="https://badges.example.org/ob2/issuers/i1",
)
EMAIL_ID = {
    "type": "IdentityObject",
    "identityHash": "sha256$" + "ab" * 32,
    "identityType": "emailAddress",
    "hashed": True,
    "salt": "pepper",
}


def payload(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "validFrom": "2026-01-02T03:04:05Z",
        "credentialSubject": {
            "identifier": [
                {"identityType": "name", "identityHash": "Ann", "hashed": False},
                EMAIL_ID,
            ]
        },
    }
    document.update(changes)
    return document


def test_the_assertion_keeps_the_hashed_email_and_dates() -> None:
    found = ob2_assertion(
        payload(awardedDate="2026-01-01T00:00:00Z", validUntil="2027-01-01T00:00:00Z"), URLS
    )
    assert found["recipient"] == {
        "type": "email",
        "hashed": True,
        "identity": EMAIL_ID["identityHash"],
        "salt": "pepper",
    }
    assert found["issuedOn"] == "2026-01-01T00:00:00Z"  # the award date wins over validFrom
    assert found["expires"] == "2027-01-01T00:00:00Z"
    assert found["verification"] == {"type": "hosted"}
    assert (found["id"], found["badge"]) == (URLS.assertion, URLS.badge)
    assert "Ann" not in str(found)


def test_an_assertion_needs_a_hashed_email_recipient_and_a_date() -> None:
    with pytest.raises(ValueError, match="hashed email"):
        ob2_assertion(
            payload(credentialSubject={"identifier": [{**EMAIL_ID, "hashed": False}]}), URLS
        )
    with pytest.raises(ValueError, match="issue date"):
        ob2_assertion(payload(validFrom=None), URLS)


def test_evidence_without_anything_to_show_is_left_out() -> None:
    found = ob2_assertion(
        payload(evidence=[{"type": ["Evidence"]}, {"id": "https://e.example/1"}]), URLS
    )
    assert found["evidence"] == [{"type": "Evidence", "id": "https://e.example/1"}]


def test_the_badge_class_drops_alignments_ob2_cannot_hold() -> None:
    found = badge_class(
        {
            "name": "N",
            "description": "D",
            "criteria": {"narrative": "Do it"},
            "alignment": [
                {"targetName": "No URL"},
                {"targetName": "T", "targetUrl": "https://s.example/t", "targetDescription": "x"},
            ],
            "tag": ["a", ""],
        },
        url=URLS.badge,
        issuer_url=URLS.issuer,
        image_url=URLS.badge + "/image.png",
        criteria_url=None,
    )
    assert found["alignment"] == [
        {"targetName": "T", "targetUrl": "https://s.example/t", "description": "x"}
    ]
    assert found["criteria"] == {"narrative": "Do it"}
    assert found["tags"] == ["a"]


def test_the_issuer_profile_and_the_revoked_form() -> None:
    found = issuer_profile(
        url=URLS.issuer, name="I", homepage="https://i.example", email="a@i.example"
    )
    assert "description" not in found and "image" not in found
    assert revoked_assertion(URLS.assertion, "Issued in error") == {
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": URLS.assertion,
        "revoked": True,
        "revocationReason": "Issued in error",
    }


def test_bake_ob2_png_round_trips_and_refuses_what_is_not_a_url() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    baked = bake_ob2_png(buffer.getvalue(), URLS.assertion)
    found = unbake(baked)
    assert found is not None and (found.ob_version, found.kind, found.text) == (
        "2.0",
        "url",
        URLS.assertion,
    )
    with pytest.raises(BakingError):
        bake_ob2_png(b"not a png", URLS.assertion)
    with pytest.raises(BakingError):
        bake_ob2_png(buffer.getvalue(), '{"id": "x"}')
