"""Group commit of single awards: awards that arrive while another of the same achievement is
being issued go through one transaction together; each is answered with its own credential or
refusal, audited as its own, and a batch that fails as a whole costs nobody their award."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, AuditEvent, IssuedCredential, Issuer
from app.services._core.errors import Invalid, ServiceError
from app.services.awarding import grouping, issuing, status_lists
from app.services.awarding.issuing import AwardInput
from app.services.org import audit
from app.services.org.audit import Actor
from app.wiring import service_env

N = 6


def award_concurrently(
    app: Flask,
    issuer_id: int,
    achievement_id: int,
    monkeypatch: pytest.MonkeyPatch,
    *,
    emails: list[str],
    read: Callable[[IssuedCredential], Any] = lambda credential: credential.recipient_email,
) -> tuple[dict[str, Any], list[int]]:
    """Award ``emails`` from one thread each, the first one held in its status allocation until
    all the others have queued behind it; what each thread got (``read`` of its credential, in
    its own session, or its refusal), and the size of each ``issue_many`` call."""
    sizes: list[int] = []
    real_issue_many = issuing.issue_many
    real_allocate = status_lists.allocate
    first = threading.Event()

    def counting_issue_many(*args: Any, **kwargs: Any) -> Any:
        sizes.append(len(args[2]))
        return real_issue_many(*args, **kwargs)

    def held_allocate(*args: Any, **kwargs: Any) -> Any:
        if not first.is_set():
            first.set()
            while sum(len(q) for q in grouping._queues.values()) < len(emails) - 1:
                threading.Event().wait(0.01)
        return real_allocate(*args, **kwargs)

    monkeypatch.setattr(issuing, "issue_many", counting_issue_many)
    monkeypatch.setattr(status_lists, "allocate", held_allocate)
    got: dict[str, Any] = {}

    def one(email: str) -> None:
        with app.app_context():
            issuer = db.session.get(Issuer, issuer_id)
            achievement = db.session.get(Achievement, achievement_id)
            assert issuer is not None and achievement is not None
            try:
                credential = issuing.award(issuer, achievement, AwardInput(email=email),
                                           actor=Actor(label="lms"), env=service_env())  # fmt: skip
                got[email] = read(credential)
            except ServiceError as refused:
                got[email] = refused

    threads = [threading.Thread(target=one, args=(emails[0],))]
    threads[0].start()
    first.wait(10)
    threads += [threading.Thread(target=one, args=(email,)) for email in emails[1:]]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(30)
    return got, sizes


@pytest.fixture
def badge(app: Flask, make_issuer: Callable[..., Issuer], make_achievement: Callable[..., Achievement]) -> tuple[int, int]:  # fmt: skip
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    db.session.commit()
    return issuer.id, achievement.id


def emails(n: int = N) -> list[str]:
    return [f"teacher{i}@school.example.org" for i in range(n)]


def test_awards_arriving_meanwhile_are_issued_together_each_its_own(
    app: Flask, badge: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    got, sizes = award_concurrently(app, *badge, monkeypatch, emails=emails())
    assert got == {email: email for email in emails()}
    assert sizes == [1, N - 1]  # the first alone, the rest in one batch
    stored = db.session.scalars(select(IssuedCredential)).all()
    assert sorted(c.recipient_email for c in stored) == sorted(emails())
    assert len({c.status_index for c in stored}) == N
    actions = db.session.scalars(
        select(AuditEvent.actor).where(AuditEvent.action == "credential.issue")
    ).all()
    assert actions == ["lms"] * N
    assert audit.verify_chain(badge[0]).intact


def test_each_award_is_answered_as_stored_without_reading_it_back(
    app: Flask, badge: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader hands each member the columns it stored: a member runs no query at all from
    queuing to reading its credential and the achievement version the API's answer names, and
    what it reads is what the database holds."""
    from sqlalchemy import event, inspect

    queried: list[int] = []
    quiet: list[str] = []
    real_award_in_batch = grouping.award_in_batch

    def note(*args: Any) -> None:
        queried.append(threading.get_ident())

    def award_in_batch(key: Any, data: AwardInput, *args: Any, **kwargs: Any) -> Any:
        before = queried.count(threading.get_ident())
        credential = real_award_in_batch(key, data, *args, **kwargs)
        read(credential)
        if queried.count(threading.get_ident()) == before:
            quiet.append(data.email)
        return credential

    def read(credential: IssuedCredential) -> tuple[dict[str, Any], int, int]:
        columns = {
            a.key: getattr(credential, a.key) for a in inspect(IssuedCredential).column_attrs
        }
        version = credential.achievement_version
        return columns, version.version, version.achievement_id

    monkeypatch.setattr(grouping, "award_in_batch", award_in_batch)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        got, sizes = award_concurrently(app, *badge, monkeypatch, emails=emails(), read=read)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert sizes == [1, N - 1]
    # Every member of the batch; not the two leaders (the first award, the batch's), which
    # issue.
    assert len(quiet) == N - 2
    db.session.expire_all()
    for email, (columns, version, achievement_id) in got.items():
        stored = db.session.get(IssuedCredential, columns["id"])
        assert stored is not None and stored.recipient_email == email
        assert columns == {
            a.key: getattr(stored, a.key) for a in inspect(IssuedCredential).column_attrs
        }
        assert (version, achievement_id) == (stored.achievement_version.version, badge[1])


def test_a_refused_award_in_a_batch_is_refused_alone(
    app: Flask, badge: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is built for each award before signing (the credential itself is built where it
    # is signed, from these).
    real_build = issuing.Issuance.build_arguments
    bad = emails()[3]

    def build(self: issuing.Issuance, award: AwardInput, *args: Any) -> Any:
        if award.email == bad:
            raise Invalid("This one cannot be built.")
        return real_build(self, award, *args)

    monkeypatch.setattr(issuing.Issuance, "build_arguments", build)
    got, sizes = award_concurrently(app, *badge, monkeypatch, emails=emails())
    assert sizes == [1, N - 1]
    assert isinstance(got.pop(bad), Invalid)
    assert got == {email: email for email in emails() if email != bad}
    count = db.session.scalar(select(func.count()).select_from(IssuedCredential))
    assert count == N - 1


def test_a_batch_that_fails_as_a_whole_costs_nobody_their_award(
    app: Flask, badge: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_store_all = issuing._store_all

    def failing_store_all(issuance: Any, items: list[Any], **kwargs: Any) -> Any:
        if len(items) > 1:
            raise RuntimeError("the database went away mid-batch")
        return real_store_all(issuance, items, **kwargs)

    monkeypatch.setattr(issuing, "_store_all", failing_store_all)
    got, sizes = award_concurrently(app, *badge, monkeypatch, emails=emails())
    assert got == {email: email for email in emails()}
    # The first alone, the failed batch, then each of its members alone.
    assert sizes == [1, N - 1, *([1] * (N - 1))]
    count = db.session.scalar(select(func.count()).select_from(IssuedCredential))
    assert count == N
    assert audit.verify_chain(badge[0]).intact


def test_an_award_with_changes_of_its_own_in_the_session_is_never_batched(
    app: Flask, badge: tuple[int, int]
) -> None:
    issuer = db.session.get(Issuer, badge[0])
    assert issuer is not None
    issuer.description = "Changed, not committed"
    assert not grouping.session_is_clean()
    db.session.rollback()
    assert grouping.session_is_clean()
