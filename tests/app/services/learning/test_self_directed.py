"""Self-directed learning requests: an educator records learning done elsewhere and asks an
organisation they belong to for credit; approving awards exactly one credential of the
organisation's chosen achievement with the approved hours signed as ``creditsEarned``,
declining awards none; only that organisation's staff can decide, once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Achievement,
    AuditEvent,
    EmailMessage,
    IssuedCredential,
    Issuer,
    LearningRequest,
    StaffAccount,
)
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import credit_rules, self_directed
from app.services.learning.self_directed import Upload
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from schemas.self_directed import load_learning_request
from tests.app.portfolio_helpers import PDF, make_educator, verify

ACTOR = Actor(label="test")


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff("owner@district7.example.org")


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer("District 7", slug="district7", owner=owner)


@pytest.fixture
def sdl(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    found = make_achievement(issuer, "Self-directed professional learning",
                             credits_available=1, credit_unit="clock_hours")  # fmt: skip
    self_directed.set_achievement(issuer, found.public_id, actor=ACTOR, env=service_env())
    return found


@pytest.fixture
def educator(issuer: Issuer, make_achievement: Any, make_award: Any) -> Any:
    """An educator of the organisation (they hold one of its credentials)."""
    found = make_educator("ann.lee@school.example.org")
    make_award(issuer, make_achievement(issuer, "Module badge"), "ann.lee@school.example.org")
    return found


def request_data(**changes: Any) -> dict[str, Any]:
    data = {
        "organisation": "district7", "kind": "conference", "title": "ISTE Live 2026",
        "provider": "ISTE", "started_on": "2026-06-28", "ended_on": "2026-07-01",
        "hours": "12", "description": "Sessions on **formative assessment** with AI tools.",
        "links": "Certificate | https://iste.example.org/cert/42\nhttps://notes.example.org/iste",
    }  # fmt: skip
    data.update(changes)
    return load_learning_request(data)


def submitted(educator: Any, **changes: Any) -> LearningRequest:
    env = service_env()
    found = self_directed.create(educator, request_data(**changes), env,
                                 upload=Upload(PDF, "attendance.pdf", 5 * 1024 * 1024))  # fmt: skip
    return self_directed.submit(found, educator, env)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_approving_awards_one_credential_with_the_hours_as_credits_earned(
    issuer, sdl, educator, owner, local_fetch
) -> None:
    found = submitted(educator)
    before = count(IssuedCredential)
    self_directed.decide(found, owner, "approve", hours=10.5, note="Two sessions were vendor demos.",
                         env=service_env())  # fmt: skip
    assert count(IssuedCredential) == before + 1
    db.session.refresh(found)
    assert (found.state, found.approved_hours) == ("approved", 10.5)
    credential = db.session.get(IssuedCredential, found.credential_id)
    assert credential is not None and credential.achievement_id == sdl.id
    assert credential.recipient_email == "ann.lee@school.example.org"
    document = json.loads(credential.document)
    subject = document["credentialSubject"]
    assert subject["creditsEarned"] == 10.5
    assert subject["narrative"].startswith(
        "Self-directed learning: conference “ISTE Live 2026” (ISTE), 2026-06-28 to 2026-07-01; "
        "10.5 hours approved by District 7."
    )
    evidence = {e.get("name"): e for e in document["evidence"]}
    assert evidence["Certificate"]["id"] == "https://iste.example.org/cert/42"
    assert "attendance.pdf" in evidence
    assert verify(credential, local_fetch).outcome == "valid"
    mail = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "learning_request"))
    assert mail is not None and "10.5 hours" in mail.body_text and "vendor demos" in mail.body_text
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"learning_request.submit", "learning_request.approve"} <= actions


def test_the_approved_hours_count_toward_renewal(issuer, sdl, educator, owner) -> None:
    env = service_env()
    rule = credit_rules.create(issuer, load_credit_rule({
        "name": "State renewal", "cycle_years": 5, "cycle_start": f"{env.now.year}-01-01",
        "hours_required": 50, "category-0-name": "Self-directed", "category-0-minimum": "0",
    }), actor=ACTOR, env=env)  # fmt: skip
    rule.categories = [{"name": "Self-directed", "minimum": 0, "achievements": [sdl.public_id]}]
    db.session.commit()
    self_directed.decide(submitted(educator), owner, "approve", hours=None, note="", env=env)
    progress = credit_rules.progress(educator, rule, env)
    line = next(line for line in progress.lines if line.credential.achievement_id == sdl.id)
    assert (line.hours, line.category) == (12.0, "Self-directed")


def test_declining_awards_nothing_and_says_why(issuer, sdl, educator, owner) -> None:
    found = submitted(educator)
    before = count(IssuedCredential)
    with pytest.raises(Invalid):
        self_directed.decide(found, owner, "decline", hours=None, note="  ", env=service_env())
    self_directed.decide(found, owner, "decline", hours=None,
                         note="A vendor's sales event is not professional learning.", env=service_env())  # fmt: skip
    assert count(IssuedCredential) == before
    db.session.refresh(found)
    assert found.state == "declined" and found.credential_id is None
    assert "vendor" in found.decision_note
    mail = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "learning_request"))
    assert mail is not None and "declined" in mail.body_text and "sales event" in mail.body_text


def test_a_request_is_decided_once(issuer, sdl, educator, owner) -> None:
    found = submitted(educator)
    self_directed.decide(found, owner, "approve", hours=None, note="", env=service_env())
    before = count(IssuedCredential)
    for decision in ("approve", "decline"):
        with pytest.raises(Conflict):
            self_directed.decide(found, owner, decision, hours=None, note="x", env=service_env())
    assert count(IssuedCredential) == before


def test_another_organisations_staff_cannot_see_or_decide_it(
    issuer, sdl, educator, make_staff, make_issuer
) -> None:
    other = make_issuer("Elsewhere", slug="elsewhere", owner=make_staff("x@elsewhere.example.org"))
    found = submitted(educator)
    with pytest.raises(NotFound):
        self_directed.get_for_issuer(other, found.public_id)
    assert self_directed.queue(other) == [] and self_directed.queue(issuer) == [found]


def test_drafts_are_the_educators_alone_and_only_member_organisations_take_requests(
    issuer, sdl, educator, make_issuer
) -> None:
    env = service_env()
    draft = self_directed.create(educator, request_data(), env)
    with pytest.raises(NotFound):
        self_directed.get_for_issuer(issuer, draft.public_id)
    stranger = make_educator("stranger@school.example.org")
    with pytest.raises(Invalid):
        self_directed.create(stranger, request_data(), env)
    with pytest.raises(NotFound):
        self_directed.get_for_educator(stranger, draft.public_id)
    # An organisation that names no achievement takes no requests.
    self_directed.set_achievement(issuer, None, actor=ACTOR, env=env)
    assert self_directed.organisations_for(educator) == []
    with pytest.raises(Conflict):
        self_directed.submit(draft, educator, env)


def test_withdraw_change_and_submit_again(issuer, sdl, educator, owner) -> None:
    env = service_env()
    found = submitted(educator)
    with pytest.raises(Conflict):
        self_directed.update_request(found, educator, request_data(hours="8"), env)
    self_directed.withdraw(found, educator, env)
    assert self_directed.queue(issuer) == []
    self_directed.update_request(found, educator, request_data(hours="8", links=""), env)
    self_directed.submit(found, educator, env)
    assert (found.state, found.hours, found.links) == ("submitted", 8.0, [])
    assert found.started_on == date(2026, 6, 28) and len(found.files) == 1


def test_bad_requests_are_refused(issuer, sdl, educator) -> None:
    from marshmallow import ValidationError

    for changes, field in (({"ended_on": "2026-06-01"}, "ended_on"), ({"hours": "0"}, "hours"),
                           ({"links": "javascript:alert(1)"}, "links"), ({"kind": "party"}, "kind"),
                           ({"hours": "abc"}, "hours")):  # fmt: skip
        with pytest.raises(ValidationError) as raised:
            request_data(**changes)
        assert field in raised.value.messages
    with pytest.raises(Invalid) as refused:
        self_directed.create(educator, request_data(category="Basket weaving"), service_env())
    assert refused.value.field == "category"
    with pytest.raises(Invalid) as refused:
        self_directed.create(educator, request_data(), service_env(),
                             upload=Upload(b"MZ\x90\x00" * 30, "run.exe", 1024 * 1024))  # fmt: skip
    assert refused.value.field == "file"
    db.session.rollback()
    assert count(LearningRequest) == 0


def test_the_achievement_must_be_the_organisations_and_in_hours(
    issuer, make_achievement, make_issuer
) -> None:
    env = service_env()
    ceus = make_achievement(issuer, "Data Teams", credits_available=1.5, credit_unit="ceu")
    with pytest.raises(Invalid):
        self_directed.set_achievement(issuer, ceus.public_id, actor=ACTOR, env=env)
    theirs = make_achievement(make_issuer("Other", slug="other"), "Theirs")
    with pytest.raises(Invalid):
        self_directed.set_achievement(issuer, theirs.public_id, actor=ACTOR, env=env)
    assert self_directed.setting_of(issuer) is None


def test_an_achievement_whose_credit_is_no_longer_hours_awards_nothing(
    issuer, sdl, educator, owner
) -> None:
    from app.services.org import achievements

    found = submitted(educator)
    achievements.current_version(sdl).credit_unit = "ceu"  # as if edited since it was chosen
    db.session.commit()
    before = count(IssuedCredential)
    with pytest.raises(Conflict):
        self_directed.decide(found, owner, "approve", hours=None, note="", env=service_env())
    db.session.rollback()
    assert count(IssuedCredential) == before
    assert db.session.get(LearningRequest, found.id).state == "submitted"
