"""Domain events: handlers run in order, once each; the application connects each domain's
reaction; an award announces itself when stored and when committed, and a handler that refuses
stops the award before anything is committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import EmailMessage, IssuedCredential
from app.services._core import events
from app.services._core.errors import Invalid
from app.services.awarding import status_lists
from app.services.delivery import notices
from app.services.learning import completion, pathways
from app.services.webhooks import reactions


@dataclass(frozen=True)
class Happened:
    what: str


def test_handlers_run_in_the_order_subscribed_and_once_however_often_subscribed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "_handlers", type(events._handlers)(list))
    seen: list[str] = []

    def first(event: Happened) -> None:
        seen.append("first " + event.what)

    def second(event: Happened) -> None:
        seen.append("second " + event.what)

    events.subscribe(Happened, first)
    events.subscribe(Happened, second)
    events.subscribe(Happened, first)
    events.publish(Happened("x"))
    events.publish(object())  # nobody listens: nothing happens
    assert seen == ["first x", "second x"]
    assert events.subscribers(Happened) == [first, second]


def test_a_handlers_exception_reaches_the_publisher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_handlers", type(events._handlers)(list))

    def refuse(event: Happened) -> None:
        raise Invalid("no")

    events.subscribe(Happened, refuse)
    with pytest.raises(Invalid):
        events.publish(Happened("x"))


def test_the_application_connects_each_domains_reaction(app: Flask) -> None:
    assert events.subscribers(events.IssuerCreated) == [status_lists.on_issuer_created]
    assert events.subscribers(events.CredentialStored) == [
        notices.on_credential_stored,
        reactions.on_credential_stored,
    ]
    assert events.subscribers(events.CredentialsAwarded) == [pathways.on_credentials_awarded]
    assert events.subscribers(events.SubmissionDecided) == [completion.on_submission_decided]
    assert events.subscribers(events.CredentialClaimed) == [reactions.on_credential_claimed]
    assert events.subscribers(events.CredentialRevoked) == [reactions.on_credential_revoked]
    assert events.subscribers(events.CredentialSuspended) == [reactions.on_credential_suspended]
    assert events.subscribers(events.CredentialUnsuspended) == [reactions.on_credential_unsuspended]
    assert events.subscribers(events.JobFinished) == [reactions.on_job_finished]


def test_an_award_is_announced_before_and_after_its_commit(
    app: Flask, make_issuer: Any, make_achievement: Any, make_award: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    seen: list[tuple[str, bool]] = []

    def stored(event: events.CredentialStored) -> None:
        seen.append(("stored", event.notify_recipient))

    def awarded(event: events.CredentialsAwarded) -> None:
        seen.append(("awarded", event.follow_pathways))

    monkeypatch.setitem(events._handlers, events.CredentialStored, [stored])
    monkeypatch.setitem(events._handlers, events.CredentialsAwarded, [awarded])
    make_award(issuer, achievement, "ann@school.example.org")
    assert seen == [("stored", True), ("awarded", True)]


def test_a_refusing_handler_leaves_no_credential_behind(
    app: Flask, make_issuer: Any, make_achievement: Any, make_award: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    issuer = make_issuer()
    achievement = make_achievement(issuer)

    def refuse(event: events.CredentialStored) -> None:
        raise Invalid("The recipient may not receive this badge.")

    monkeypatch.setitem(events._handlers, events.CredentialStored, [refuse])
    with pytest.raises(Invalid):
        make_award(issuer, achievement, "ann@school.example.org")
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 0
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 0
