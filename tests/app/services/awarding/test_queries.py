"""A credential's status, defined once (``IssuedCredential.status_at`` and its SQL twin
``status_sql``), and the reads built on it: the workspace search and the report's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CREDENTIAL_STATUSES, STATUS_LABELS, AuditEvent, IssuedCredential
from app.services.awarding import queries as credential_queries
from app.services.awarding import revocation
from app.services.org.audit import Actor
from app.wiring import service_env

ACTOR = Actor(label="test")
NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
EXPIRIES = {
    "never": None,
    "past": NOW - timedelta(days=1),
    "a moment ago": NOW - timedelta(microseconds=1),
    "right now": NOW,  # still valid at that very moment, as the verifier has it
    "future": NOW + timedelta(days=1),
}
CASES = list(product((False, True), (False, True), EXPIRIES))


def expected(revoked: bool, suspended: bool, expiry: str) -> str:
    """The definition, spelled out: revoked beats suspended beats expired."""
    if revoked:
        return "revoked"
    if suspended:
        return "suspended"
    return "expired" if expiry in ("past", "a moment ago") else "valid"


@pytest.fixture
def credential(make_issuer: Any, make_achievement: Any, make_award: Any) -> IssuedCredential:
    issuer = make_issuer()
    return make_award(issuer, make_achievement(issuer), "a@school.example.org")  # type: ignore[no-any-return]


@pytest.mark.parametrize(("revoked", "suspended", "expiry"), CASES)
def test_the_method_and_the_sql_expression_agree(
    credential: IssuedCredential, revoked: bool, suspended: bool, expiry: str
) -> None:
    credential.revoked_at = NOW - timedelta(hours=1) if revoked else None
    credential.suspended_at = NOW - timedelta(hours=2) if suspended else None
    credential.valid_until = EXPIRIES[expiry]
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(IssuedCredential, credential.id)
    assert stored is not None
    want = expected(revoked, suspended, expiry)
    assert stored.status_at(NOW) == want
    in_sql = db.session.scalar(
        select(IssuedCredential.status_sql(NOW)).where(IssuedCredential.id == credential.id)
    )
    assert in_sql == want
    # The filter finds it under its own status and under no other.
    for status in CREDENTIAL_STATUSES:
        query = credential_queries.with_status(select(IssuedCredential.id), status, NOW)
        assert list(db.session.scalars(query)) == ([credential.id] if status == want else [])


def test_one_word_for_each_status() -> None:
    assert set(STATUS_LABELS) == set(CREDENTIAL_STATUSES)
    assert STATUS_LABELS == {
        "valid": "Valid",
        "revoked": "Revoked",
        "suspended": "Suspended",
        "expired": "Expired",
    }


def test_counts(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "a@school.example.org")
    revoked = make_award(issuer, achievement, "b@school.example.org")
    suspended = make_award(issuer, achievement, "c@school.example.org")
    revocation.revoke(revoked, "Awarded in error", actor=ACTOR, env=service_env())
    revocation.suspend(suspended, "Under review", actor=ACTOR, env=service_env())
    counts = credential_queries.counts(achievement, service_env().now)
    assert counts == {"issued": 3, "revoked": 1, "suspended": 1, "expired": 0, "valid": 1}
    (row,) = credential_queries.report(issuer, service_env().now)
    assert row["issued"] == 3 and row["achievement"] is achievement


def test_counts_of_an_achievement_never_awarded(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    assert credential_queries.counts(achievement, service_env().now) == dict.fromkeys(
        credential_queries.COUNTS, 0
    )
    (row,) = credential_queries.report(issuer, service_env().now)
    assert {name: row[name] for name in credential_queries.COUNTS} == dict.fromkeys(
        credential_queries.COUNTS, 0
    )


# Paging by cursor (the workspace list's Older and Newer links): the pages it reads, walked
# both ways, are exactly the list the offset paging gives, in the same order, with ties in
# ``issued_at`` broken by id; and the count can stop early and say so.


@pytest.fixture
def many(make_issuer: Any, make_achievement: Any, make_award: Any) -> tuple[Any, list[str]]:
    """An issuer with 23 credentials: two achievements, revoked and suspended ones, and
    groups sharing one ``issued_at`` (as a bulk chunk's do)."""
    issuer = make_issuer()
    first, second = make_achievement(issuer), make_achievement(issuer)
    made = [
        make_award(issuer, second if i % 3 == 0 else first, f"p{i:02d}@school{i % 2}.example.org")
        for i in range(23)
    ]
    for i, credential in enumerate(made):
        # Several share a moment; the rest are a minute apart, not in creation order.
        credential.issued_at = NOW - timedelta(minutes=(i * 7) % 11)
        if i % 5 == 0:
            credential.revoked_at = NOW
        if i % 4 == 1:
            credential.suspended_at = NOW
    db.session.commit()
    return issuer, [c.id for c in made]


SEARCHES = [
    credential_queries.Search(),
    credential_queries.Search(text="SCHOOL1"),
    credential_queries.Search(status="revoked"),
    credential_queries.Search(status="suspended"),
    credential_queries.Search(status="valid"),
    credential_queries.Search(text="p1"),
    credential_queries.Search(text="nobody"),
]


def _offset_pages(issuer: Any, wanted: Any, size: int) -> list[str]:
    found: list[str] = []
    page = 1
    while True:
        result = credential_queries.search(issuer, wanted, NOW, page=page, page_size=size)
        found += [c.id for c in result.credentials]
        if not result.older:
            return found
        page += 1
        assert page <= 100, "the pages never end"


def test_cursor_pages_walk_the_same_list_as_offset_pages_both_ways(
    many: tuple[Any, list[str]],
) -> None:
    # One issuer for every case: awarding is the slow part.
    for wanted, size in product(SEARCHES, (1, 3, 4, 50)):
        _walk_both_ways(many[0], wanted, size)


def _walk_both_ways(issuer: Any, wanted: Any, size: int) -> None:
    expected = _offset_pages(issuer, wanted, size)
    # The order is the list's: newest first, then by id (descending too).
    rows = {c.id: c for c in db.session.scalars(select(IssuedCredential))}
    assert expected == sorted(expected, key=lambda i: (rows[i].issued_at, i), reverse=True)
    pages: list[list[str]] = []
    result = credential_queries.search(issuer, wanted, NOW, page=1, page_size=size)
    pages.append([c.id for c in result.credentials])
    assert not result.newer
    while result.older:
        cursor = credential_queries.Cursor.of(result.credentials[-1])
        # Through its URL form, as the Older link carries it.
        cursor = credential_queries.Cursor.decode(cursor.encode())
        result = credential_queries.search(
            issuer, wanted, NOW, page=2, page_size=size, after=cursor
        )
        assert result.newer
        pages.append([c.id for c in result.credentials])
    assert [i for page in pages for i in page] == expected
    # And back again with the Newer links, page for page.
    back = [pages[-1]]
    while len(back) < len(pages):
        cursor = credential_queries.Cursor.of(
            db.session.get(IssuedCredential, back[-1][0])  # type: ignore[arg-type]
        )
        result = credential_queries.search(
            issuer, wanted, NOW, page=2, page_size=size, before=cursor
        )
        back.append([c.id for c in result.credentials])
        assert result.older and result.newer == (len(back) < len(pages))
    assert back[::-1] == pages


def test_the_count_stops_where_it_is_told_and_says_so(many: tuple[Any, list[str]]) -> None:
    issuer, ids = many
    wanted = credential_queries.Search()
    exact = credential_queries.search(issuer, wanted, NOW, page=1, page_size=5)
    assert (exact.total, exact.capped, exact.pages) == (len(ids), False, 5)
    for up_to, total, capped in ((10, 10, True), (22, 22, True), (23, 23, False), (99, 23, False)):
        found = credential_queries.search(
            issuer, wanted, NOW, page=1, page_size=5, count_up_to=up_to
        )
        assert (found.total, found.capped) == (total, capped), up_to
        assert [c.id for c in found.credentials] == [c.id for c in exact.credentials]


def test_every_page_holds_exactly_the_matches_in_the_list_order(
    many: tuple[Any, list[str]],
) -> None:
    # A page's ids are selected first (from the list's index) and its rows read by key after:
    # every page, walked by offset, holds exactly what the definition (``status_at``) picks,
    # in the list's order, for every status including expired (expiries varied here) and an
    # exact recipient.
    issuer, ids = many
    rows = [db.session.get(IssuedCredential, i) for i in ids]
    expiries = list(EXPIRIES.values())
    for i, row in enumerate(rows):
        row.valid_until = expiries[i % len(expiries)]  # type: ignore[union-attr]
    db.session.commit()
    newest_first = sorted(rows, key=lambda c: (c.issued_at, c.id), reverse=True)  # type: ignore[union-attr]
    cases = [(credential_queries.Search(status=s), s, None) for s in CREDENTIAL_STATUSES]
    cases.append(
        (
            credential_queries.Search(recipient_email="p07@school1.example.org"),
            None,
            "p07@school1.example.org",
        )
    )
    for (wanted, status, email), size in product(cases, (1, 4, 50)):
        want = [
            c.id  # type: ignore[union-attr]
            for c in newest_first
            if (status is None or c.status_at(NOW) == status)  # type: ignore[union-attr]
            and (email is None or c.recipient_email == email)  # type: ignore[union-attr]
        ]
        assert want, (status, email)
        assert _offset_pages(issuer, wanted, size) == want, (status, email, size)
        found = credential_queries.search(issuer, wanted, NOW, page=1, page_size=size, offset=1)
        assert [c.id for c in found.credentials] == want[1 : 1 + size], (status, email, size)
        assert found.total == len(want)


@pytest.mark.parametrize(
    "text", ["", "1_abc", "12_" + "x" * 36, "99999999999999999999_" + "0" * 36, "5_" + "a" * 35]
)
def test_a_cursor_that_is_not_one_is_ignored(text: str) -> None:
    assert credential_queries.Cursor.decode(text) is None


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    cursor = credential_queries.Cursor(
        datetime(2031, 6, 1, 12, 0, 0, 123456, tzinfo=UTC), "0f6b9f8e-1d2c-4c4e-9a0b-7c1d2e3f4a5b"
    )
    assert credential_queries.Cursor.decode(cursor.encode()) == cursor


# ``updated_since`` is read as two branches (issued since; older ones the audit log names since,
# those already issued since taken out first) and a whole address by the exact index: every
# page holds exactly what the straightforward definition picks, in the list's order.


def _audit(issuer_id: int, subject_type: str, subject_id: str, at: datetime) -> None:
    db.session.add(
        AuditEvent(issuer_id=issuer_id, actor="test", action="credential.test",
                   subject_type=subject_type, subject_id=subject_id, created_at=at, detail={})
    )  # fmt: skip


def test_updated_since_pages_hold_exactly_the_changed_credentials(
    many: tuple[Any, list[str]], make_issuer: Any
) -> None:
    issuer, ids = many
    other = make_issuer("Another Organisation")
    rows = [db.session.get(IssuedCredential, i) for i in ids]
    # Events at varied times (some before the credential's issued_at, some after; the log is
    # append-only, so added rather than the awards' own moved), then events that must not
    # count: another issuer's, about another kind of subject.
    for n, row in enumerate(rows):
        assert row is not None
        if n % 2 == 0:
            at = NOW - timedelta(minutes=(n * 5) % 13) + timedelta(seconds=n)
            _audit(issuer.id, "credential", row.id, at)
        if n % 3 == 0:
            _audit(issuer.id, "credential", row.id, NOW + timedelta(minutes=n % 4))
        if n % 4 == 2:
            _audit(other.id, "credential", row.id, NOW + timedelta(minutes=30))
            _audit(issuer.id, "achievement", row.id, NOW + timedelta(minutes=30))
    db.session.commit()
    events = list(db.session.scalars(select(AuditEvent)))
    newest_first = sorted(rows, key=lambda c: (c.issued_at, c.id), reverse=True)  # type: ignore[union-attr]

    def changed(credential: IssuedCredential, since: datetime) -> bool:
        return credential.issued_at >= since or any(
            e.issuer_id == issuer.id and e.subject_type == "credential"
            and e.subject_id == credential.id and e.created_at >= since
            for e in events
        )  # fmt: skip

    sinces = [NOW - timedelta(minutes=m) for m in (20, 6, 3, 0)]
    sinces += [NOW + timedelta(minutes=1), NOW + timedelta(minutes=5)]
    for since, status in product(sinces, (None, "revoked", "valid")):
        wanted = credential_queries.Search(updated_since=since, status=status)
        want = [
            c.id  # type: ignore[union-attr]
            for c in newest_first
            if changed(c, since) and (status is None or c.status_at(NOW) == status)  # type: ignore[arg-type, union-attr]
        ]
        for size in (1, 3, 50):
            assert _offset_pages(issuer, wanted, size) == want, (since, status, size)
            if want:
                _walk_both_ways(issuer, wanted, size)
        for start in range(len(want) + 2):
            found = credential_queries.search(
                issuer, wanted, NOW, page=1, page_size=4, offset=start
            )
            assert [c.id for c in found.credentials] == want[start : start + 4], (since, start)
            assert found.total == len(want)
            assert found.older == (start + 4 < len(want))
        for up_to in (0, 2, 5):
            found = credential_queries.search(
                issuer, wanted, NOW, page=1, page_size=4, count_up_to=up_to
            )
            assert (found.total, found.capped) == (min(len(want), up_to), len(want) > up_to)
    # Some since-times must split the list between the two branches.
    assert any(
        changed(c, s) and c.issued_at < s  # type: ignore[union-attr]
        for c in rows
        for s in sinces
    )


def test_a_whole_address_finds_that_recipient_and_part_of_one_still_searches(
    make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    issuer, elsewhere = make_issuer(), make_issuer("Another Organisation")
    achievement = make_achievement(issuer)
    made = [
        make_award(issuer, achievement, "ann@school.example.org", name="Ann Lee"),
        make_award(issuer, achievement, "joann@school.example.org", name="Jo Ann"),
        make_award(issuer, achievement, "ann@school.example.org.uk"),
        make_award(issuer, achievement, "azed@x.example.org"),
    ]
    make_award(elsewhere, make_achievement(elsewhere), "zed@x.example.org")
    rows = sorted(made, key=lambda c: (c.issued_at, c.id), reverse=True)

    def definition(term: str) -> list[str]:
        """A whole address that a credential of the issuer has: those; else part of one."""
        exact = [c.id for c in rows if c.recipient_email == term.lower()]
        if exact and "@" in term and " " not in term:
            return exact
        return [
            c.id
            for c in rows
            if term.lower() in c.recipient_email or term.lower() in (c.recipient_name or "").lower()
        ]

    cases = {
        "ann@school.example.org": 1,  # not joann@… nor ann@….uk: the exact index
        "ANN@School.Example.org": 1,
        "nn@school.example.org": 3,  # no credential has it: part of three
        "ann@school.example": 3,  # typed incompletely: part of three
        "zed@x.example.org": 1,  # another issuer's recipient: part of azed@…
        "ann": 3,
        "ann@": 3,
        "jo ann": 1,
    }
    for term, number in cases.items():
        want = definition(term)
        assert len(want) == number, term
        for size in (1, 50):
            assert _offset_pages(issuer, credential_queries.Search(text=term), size) == want
        found = credential_queries.search(
            issuer, credential_queries.Search(text=term), NOW, page=1, page_size=50
        )
        assert found.total == number, term
