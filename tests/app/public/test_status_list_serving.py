"""The signed status list as served: after any sequence of bits set and cleared (by the service
revocation runs, on a 131,072-entry and a 1,048,576-entry list), the list at its URL decodes to
exactly the bits set, its proof verifies, and its strong ETag changes exactly when the list
does (``304`` for a matching ``If-None-Match`` until then)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding import revocation, status_lists
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import StatusList, verify_credential
from tests.app.conftest import BASE_URL

TEST = Actor(label="test")


def served(client: FlaskClient, issuer: Issuer, tag: str | None = None) -> tuple[int, str, bytes]:
    headers = {"If-None-Match": tag} if tag else {}
    response = client.get(f"/status/{issuer.slug}/revocation", base_url=BASE_URL, headers=headers)
    return response.status_code, response.headers.get("ETag", ""), response.data


def set_bits(body: bytes) -> set[int]:
    encoded = json.loads(body)["credentialSubject"]["encodedList"]
    raw = StatusList.decode(encoded).to_bytes()
    # Bit 0 is the high bit of byte 0; only the bytes with a bit set are looked into.
    return {
        at * 8 + bit
        for at, byte in enumerate(raw)
        if byte
        for bit in range(8)
        if byte & 0x80 >> bit
    }


def lengthen(issuer: Issuer, bits: int) -> None:
    """Make the issuer's revocation list ``bits`` long (as a larger instance would have it)."""
    row = status_lists.get_list(issuer, "revocation", for_update=True)
    row.bits, row.length = bytes(bits // 8), bits
    db.session.commit()


@pytest.mark.parametrize("length", [status_lists.LIST_LENGTH, 1_048_576])
def test_the_served_list_is_exactly_the_bits_set_and_its_etag_follows_them(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    length: int,
) -> None:
    issuer = make_issuer()
    if length != status_lists.LIST_LENGTH:
        lengthen(issuer, length)
    rng = random.Random(length)  # noqa: S311 - reproducible choices, not secrets
    expected: set[int] = set()
    code, tag, body = served(client, issuer)
    assert code == 200 and set_bits(body) == expected
    # The tag is the content's: back to bits served before (signed at the same moment), back
    # to that tag; other bits, another tag.
    tags = {body: tag}
    for step in range(40):
        index = rng.choice(sorted(expected)) if expected and rng.random() < 0.3 else None
        index = rng.randrange(length) if index is None else index
        # Now and then a no-op: setting a set bit or clearing a clear one.
        value = index not in expected if step % 7 else index in expected
        changed = status_lists.set_bit(issuer, "revocation", index, value, service_env())
        db.session.commit()
        assert changed == (value != (index in expected))
        if value:
            expected.add(index)
        else:
            expected.discard(index)
        code, new_tag, new_body = served(client, issuer, tag)
        if changed:
            assert code == 200 and new_tag != tag
            assert set_bits(new_body) == expected
            assert tags.setdefault(new_body, new_tag) == new_tag
            assert list(tags.values()).count(new_tag) == 1
            tag, body = new_tag, new_body
        else:
            assert code == 304 and new_body == b""
        # The stored bits say the same as the signed document.
        assert status_lists.is_set(issuer, "revocation", index) == value
    code, again, full = served(client, issuer)
    assert (code, again, full) == (200, tag, body)
    assert len(json.loads(full)["credentialSubject"]["encodedList"]) < length // 8


def test_a_credential_revoked_in_a_long_list_verifies_as_revoked_through_the_served_list(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    local_fetch: Callable[[str], bytes],
) -> None:
    issuer = make_issuer()
    lengthen(issuer, 1_048_576)
    achievement = make_achievement(issuer)
    kept, revoked = (make_award(issuer, achievement, f"{n}@school.example.org") for n in "ab")
    # Other bits set far along the list, beyond the first 131,072.
    for index in (131_072, 500_000, 1_048_575):
        status_lists.set_bit(issuer, "revocation", index, True, service_env())
    db.session.commit()
    revocation.revoke(revoked, "Issued in error", actor=TEST, env=service_env())
    env = service_env()

    def verify(credential: IssuedCredential) -> Any:
        return verify_credential(
            credential.document,
            loader=env.loader,
            now=env.now + timedelta(seconds=1),
            fetch=local_fetch,
        )

    assert verify(kept).valid
    report = verify(revoked)
    assert not report.valid and report.has_code("revoked") and report.signature_genuine
    code, _, body = served(client, issuer)
    assert code == 200
    assert set_bits(body) == {131_072, 500_000, 1_048_575, revoked.status_index}
