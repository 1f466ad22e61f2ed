"""Hashed recipient identities and recipient matching."""

from __future__ import annotations

import pytest

from credentials.identity import (
    identity_hash,
    identity_matches,
    identity_object,
    normalise_email,
    subject_matches,
)


def test_spec_worked_example() -> None:
    # common_credentials.lines: sha256("a@example.com" + "Kosher").
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_emails_are_trimmed_and_lower_cased_before_hashing() -> None:
    assert normalise_email("  Ann.Lee@District7.ORG \n") == "ann.lee@district7.org"
    hashed = identity_object(" Ann.Lee@District7.ORG", salt="s1")
    assert hashed["identityHash"] == identity_hash("ann.lee@district7.org", "s1")
    assert hashed == {
        "type": "IdentityObject",
        "identityHash": hashed["identityHash"],
        "identityType": "emailAddress",
        "hashed": True,
        "salt": "s1",
    }


def test_salt_is_required_and_changes_the_hash() -> None:
    with pytest.raises(ValueError, match="salt"):
        identity_object("a@example.com", salt=None)
    first = identity_object("a@example.com", salt="one")
    second = identity_object("a@example.com", salt="two")
    assert first["identityHash"] != second["identityHash"]


def test_matching_hashed_plain_and_legacy() -> None:
    hashed = identity_object("a@example.com", salt="pepper")
    assert identity_matches(hashed, "A@Example.com ", "emailAddress")
    assert not identity_matches(hashed, "b@example.com", "emailAddress")
    upper = dict(hashed, identityHash=hashed["identityHash"].upper().replace("SHA256", "sha256"))
    assert identity_matches(upper, "a@example.com", "emailAddress")
    md5 = {
        "identityType": "emailAddress",
        "hashed": True,
        "salt": "x",
        "identityHash": "md5$" + __import__("hashlib").md5(b"a@example.comx").hexdigest(),
    }
    assert identity_matches(md5, "a@example.com", "emailAddress")
    plain = identity_object("Ann Lee", identity_type="name", salt=None, hashed=False)
    assert identity_matches(plain, "Ann Lee", "name")
    assert not identity_matches(plain, "Ann Lee", "emailAddress")
    assert not identity_matches(
        {"identityType": "emailAddress", "hashed": True, "identityHash": "sha1$00"},
        "a@example.com",
        "emailAddress",
    )


def test_subject_matching() -> None:
    subject = {
        "id": "did:example:123",
        "identifier": [identity_object("a@example.com", salt="s"), {"identityType": 3}, "junk"],
    }
    assert subject_matches(subject, "did:example:123")
    assert subject_matches(subject, "A@example.com")
    assert not subject_matches(subject, "b@example.com")
    assert subject_matches({"id": "mailto:a@example.com"}, "A@EXAMPLE.com")
    assert not subject_matches({}, "a@example.com")
