"""Learning plans: organisations an educator may plan with, the framework from the
organisation's alignments, progress per goal computed from real enrolments, answers and
credentials, reflections' privacy, the showcase (only what was selected), comments, the PDF,
and the plan-completion badge awarded through the awarding service on approval."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, EmailMessage, Enrolment, IssuedCredential, LearningPlan
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.awarding import revocation
from app.services.delivery import visibility
from app.services.learning import authoring, enrolments, plan_export, plan_reviews, plans, portfolio
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.plans import load_goal, load_reflection, load_showcase, load_vision
from tests.app.pdfs import pdf_text
from tests.app.portfolio_helpers import add_item, make_educator

ISTE = {"target_name": "2.5 Designer", "target_framework": "ISTE Standards for Educators",
        "target_url": "https://iste.org/standards/educators#designer", "target_type": "CFItem"}  # fmt: skip
LEARNING_DESIGNS = {"target_name": "Learning Designs", "target_framework": "Learning Forward",
                    "target_url": "https://learningforward.org/standards/learning-designs/"}  # fmt: skip
ACTOR = Actor(label="test")


@pytest.fixture
def world(app, make_staff, make_issuer, make_achievement) -> dict[str, Any]:
    """An organisation with two aligned badges, a completion badge and an open module of two
    prompts; an educator enrolled in it; another organisation the educator has nothing to do
    with."""
    owner = make_staff("owner@d7.example.org", name="Olive Owner")
    issuer = make_issuer("District 7", owner=owner)
    designer = make_achievement(issuer, "Digital Lesson Designer", alignments=(ISTE,))
    designs = make_achievement(
        issuer, "Learning Designs Practitioner", alignments=(LEARNING_DESIGNS, ISTE)
    )
    completion = make_achievement(issuer, "Learning Plan Completed")
    env = service_env()
    module = authoring.create_module(issuer, ModuleInput(title="Designing digital lessons", summary="S",
                                     achievement_public_id=designer.public_id), actor=ACTOR, env=env)  # fmt: skip
    activity = authoring.add_activity(
        module, ActivityInput(title="Plan a lesson"), actor=ACTOR, env=env
    )
    first = authoring.add_prompt(activity, "What will students make?", actor=ACTOR, env=env)
    authoring.add_prompt(activity, "How will you know they learned?", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    educator = make_educator("ann.lee@school.example.org", "Ann Lee")
    enrolment = enrolments.enrol(educator, module, env)
    other = make_issuer("Elsewhere Academy")
    return {"owner": owner, "issuer": issuer, "designer": designer, "designs": designs,
            "completion": completion, "module": module, "prompt": first, "educator": educator,
            "enrolment": enrolment, "other": other}  # fmt: skip


def make_plan(world: dict[str, Any]) -> LearningPlan:
    env = service_env()
    educator = world["educator"]
    plan = plans.create(
        educator, {"school_year": "2026-2027", "organisation": world["issuer"].slug}, env
    )
    plans.update_vision(plan, load_vision({"vision": "Every lesson designed for making, not watching.",
                                           "research_question": "Does making raise recall?"}), env)  # fmt: skip
    keys = {s.name: s.key for s in plans.framework(world["issuer"])}
    plans.add_goal(plan, educator, load_goal({
        "title": "Design lessons where students make", "standards": [keys["2.5 Designer"]],
        "modules": [world["module"].public_id], "achievements": [world["designer"].public_id],
        "evidence": "Three lesson plans and student work", "target_date": "2027-03-31",
    }), env)  # fmt: skip
    plans.add_goal(plan, educator, load_goal({
        "title": "Plan with colleagues", "standards": [keys["Learning Designs"]],
        "achievements": [world["designs"].public_id],
    }), env)  # fmt: skip
    return plan


def test_an_educator_plans_only_with_organisations_they_learn_with(world) -> None:
    educator = world["educator"]
    assert [i.slug for i in plans.organisations_for(educator)] == [world["issuer"].slug]
    with pytest.raises(Invalid) as refused:
        plans.create(educator, {"school_year": "2026-2027", "organisation": world["other"].slug},
                     service_env())  # fmt: skip
    assert refused.value.field == "organisation"
    assert db.session.scalar(select(LearningPlan)) is None
    stranger = make_educator("sam@school.example.org", "Sam Stranger")
    assert plans.organisations_for(stranger) == []


def test_one_plan_per_school_year(world) -> None:
    make_plan(world)
    with pytest.raises(Conflict):
        plans.create(world["educator"], {"school_year": "2026-2027",
                     "organisation": world["issuer"].slug}, service_env())  # fmt: skip
    assert plans.school_year_of(date(2026, 12, 5)) == "2026-2027"
    assert plans.school_year_of(date(2027, 6, 30)) == "2026-2027"


def test_the_framework_is_the_distinct_alignments_of_the_organisations_achievements(world) -> None:
    found = plans.framework(world["issuer"])
    assert [(s.name, s.framework) for s in found] == [
        ("2.5 Designer", "ISTE Standards for Educators"), ("Learning Designs", "Learning Forward"),
    ]  # fmt: skip
    assert found[0].url == ISTE["target_url"]
    assert plans.framework(world["other"]) == []


def test_a_goal_refuses_what_the_organisation_does_not_offer(world, make_achievement) -> None:
    plan = make_plan(world)
    foreign = make_achievement(
        world["other"],
        "Elsewhere badge",
        alignments=({"target_name": "X", "target_url": "https://x.example.org/x"},),
    )
    for field, value in (("standards", "0" * 16), ("achievements", foreign.public_id),
                         ("modules", "no-such-module"), ("items", "not-mine")):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            plans.add_goal(
                plan, world["educator"], load_goal({"title": "X", field: [value]}), service_env()
            )
        assert refused.value.field == field
    assert len(plan.goals) == 2
    for title in ("Third", "Fourth"):
        plans.add_goal(plan, world["educator"], load_goal({"title": title}), service_env())
    with pytest.raises(Conflict):
        plans.add_goal(plan, world["educator"], load_goal({"title": "Fifth"}), service_env())


def test_progress_comes_from_enrolments_answers_and_credentials(world, make_award) -> None:
    env = service_env()
    plan = make_plan(world)
    educator = world["educator"]
    first, second = plans.progress(plan, educator, env)
    assert first.modules[0].state == "in_progress" and first.modules[0].percent == 0
    assert first.percent == 0 and not first.complete and second.percent == 0
    # One of the module's two prompts answered: the module is half done.
    portfolio.save_response(world["enrolment"], world["prompt"], educator, "Podcasts.", env)
    first, _ = plans.progress(plan, educator, env)
    assert first.modules[0].percent == 50 and first.percent == 25
    # The badge is earned: it counts whole.
    credential = make_award(world["issuer"], world["designer"], "ann.lee@school.example.org")
    first, second = plans.progress(plan, educator, env)
    assert first.badges[0].credential.id == credential.id and first.percent == 75
    # The module's badge awarded: the goal is complete.
    enrolment = db.session.get(Enrolment, world["enrolment"].id)
    enrolment.state = "awarded"
    db.session.commit()
    first, second = plans.progress(plan, educator, env)
    assert first.complete and first.percent == 100 and not plans.is_complete([first, second])
    held = make_award(world["issuer"], world["designs"], "ann.lee@school.example.org")
    assert plans.is_complete(plans.progress(plan, educator, env))
    # A revoked credential no longer counts.
    revocation.revoke(held, "Issued in error", actor=ACTOR, env=env)
    _, second = plans.progress(plan, educator, env)
    assert not second.complete and second.percent == 0
    # Someone else's credentials never count toward this educator's plan.
    other = make_educator("bo@school.example.org", "Bo")
    assert all(not b.done for g in plans.progress(plan, other, env) for b in g.badges)


def test_reflections_are_private_unless_shared(world) -> None:
    env = service_env()
    plan = make_plan(world)
    private = plans.add_reflection(
        plan, load_reflection({"body": "My private doubts", "written_on": "2026-11-02"}), env
    )
    shared = plans.add_reflection(plan, load_reflection({"body": "What worked", "written_on": "2026-11-09",
                                  "shared": "1", "goal": str(plan.goals[0].id)}), env)  # fmt: skip
    assert plans.shared_reflections(plan) == [shared]
    plans.set_reflection_shared(private, True, env)
    assert set(plans.shared_reflections(plan)) == {private, shared}
    with pytest.raises(Invalid):
        plans.add_reflection(
            plan, load_reflection({"body": "x", "written_on": "2026-11-09", "goal": "999999"}), env
        )


def test_the_showcase_shows_only_what_was_selected(world, make_award) -> None:
    env = service_env()
    plan = make_plan(world)
    educator = world["educator"]
    shown_item = add_item(educator, "Lesson plan: podcasts")
    hidden_item = add_item(educator, "Seating chart with names")
    shown = make_award(world["issuer"], world["designer"], "ann.lee@school.example.org")
    hidden = make_award(world["issuer"], world["designs"], "ann.lee@school.example.org")
    on = plans.add_reflection(
        plan, load_reflection({"body": "Students loved it", "written_on": "2027-05-01"}), env
    )
    plans.add_reflection(
        plan, load_reflection({"body": "A private worry", "written_on": "2027-05-02"}), env
    )
    plans.save_showcase(plan, educator, load_showcase({"intro": "My year", "items": [shown_item.public_id],
                        "credentials": [shown.id], "reflections": [on.id]}), env)  # fmt: skip
    with pytest.raises(NotFound):
        plans.public_showcase("nobody", env)
    slug = plans.publish_showcase(plan, educator, env)
    assert slug.startswith("ann-lee-2026-2027-") and len(slug) == len("ann-lee-2026-2027-") + 12
    found = plans.public_showcase(slug, env)
    assert [i.title for i in found.items] == [shown_item.title]
    assert [e.credential.id for e in found.credentials] == [shown.id]
    assert [r.body for r in found.reflections] == ["Students loved it"]
    assert hidden_item.title not in [i.title for i in found.items] and hidden.id not in str(found)
    # A credential made private leaves the showcase at once.
    visibility.set_private(shown, True, actor=ACTOR, env=env)
    assert plans.public_showcase(slug, env).credentials == []
    # Another educator's item or credential cannot be selected.
    stranger = make_educator("sam@school.example.org", "Sam")
    theirs = add_item(stranger, "Not Ann's")
    with pytest.raises(Invalid):
        plans.save_showcase(plan, educator, load_showcase({"items": [theirs.public_id]}), env)
    plans.unpublish_showcase(plan, env)
    with pytest.raises(NotFound):
        plans.public_showcase(slug, env)


def test_a_plan_of_fewer_than_two_goals_is_not_shared_or_published(world) -> None:
    env = service_env()
    plan = plans.create(
        world["educator"], {"school_year": "2027-2028", "organisation": world["issuer"].slug}, env
    )
    with pytest.raises(Conflict):
        plans.set_shared(plan, True, env)
    with pytest.raises(Conflict):
        plans.publish_showcase(plan, world["educator"], env)


def test_staff_comments_need_a_shared_plan_and_are_audited(world) -> None:
    env = service_env()
    plan = make_plan(world)
    with pytest.raises(NotFound):
        plan_reviews.get_for_issuer(world["issuer"], plan.public_id)
    with pytest.raises(NotFound):
        plan_reviews.add_comment(plan, world["owner"], {"body": "Hi"}, env)
    plans.set_shared(plan, True, env)
    assert plan_reviews.get_for_issuer(world["issuer"], plan.public_id) is plan
    with pytest.raises(NotFound):
        plan_reviews.get_for_issuer(world["other"], plan.public_id)
    comment = plan_reviews.add_comment(plan, world["owner"], {"body": "Lovely vision."}, env)
    assert comment.author.email == "owner@d7.example.org" and plan.comments == [comment]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.comment"))
    assert event is not None and event.actor_id == world["owner"].id
    mail = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "plan_feedback"))
    assert mail is not None and mail.to_address == "ann.lee@school.example.org"
    assert "Lovely vision." in mail.body_text and f"/me/plans/{plan.public_id}" in mail.body_text


def test_the_pdf_holds_the_plan(world) -> None:
    env = service_env()
    plan = make_plan(world)
    plans.add_reflection(
        plan, load_reflection({"body": "Week one went well", "written_on": "2026-09-10"}), env
    )
    data = plan_export.plan_pdf(plan, world["educator"], env)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in ("Individual learning plan 2026\N{EN DASH}2027", "Ann Lee", "District 7",
                     "Every lesson designed for making", "Does making raise recall?",
                     "Goal 1: Design lessons where students make", "2.5 Designer",
                     "Designing digital lessons", "Digital Lesson Designer: not yet earned",
                     "Week one went well"):  # fmt: skip
        assert expected in text, expected


def test_completion_is_requested_approved_and_awarded_with_the_plan_as_evidence(
    world, make_award
) -> None:
    env = service_env()
    plan = make_plan(world)
    educator = world["educator"]
    with pytest.raises(Conflict, match="does not award"):
        plan_reviews.request_completion(plan, educator, env)
    plan_reviews.set_completion_achievement(
        world["issuer"], world["completion"].public_id, actor=ACTOR, env=env
    )
    with pytest.raises(Conflict, match="Share"):
        plan_reviews.request_completion(plan, educator, env)
    plans.set_shared(plan, True, env)
    with pytest.raises(Conflict, match="Complete every goal"):
        plan_reviews.request_completion(plan, educator, env)
    make_award(world["issuer"], world["designer"], "ann.lee@school.example.org")
    make_award(world["issuer"], world["designs"], "ann.lee@school.example.org")
    db.session.get(Enrolment, world["enrolment"].id).state = "awarded"
    db.session.commit()
    plans.publish_showcase(plan, educator, env)
    plan_reviews.request_completion(plan, educator, env)
    assert plan.completion_state == "requested"
    with pytest.raises(Conflict):
        plans.update_vision(plan, {"vision": "Changed", "research_question": ""}, env)
    plan_reviews.approve(plan, world["owner"], env)
    assert (
        plan.completion_state == "approved" and plan.completion_decided_by_id == world["owner"].id
    )
    credential = db.session.get(IssuedCredential, plan.completion_credential_id)
    assert credential is not None and credential.achievement_id == world["completion"].id
    assert (
        credential.recipient_email == "ann.lee@school.example.org"
        and credential.claimed_at is not None
    )
    evidence = json.loads(credential.document)["evidence"][0]
    assert evidence["id"] == plans.showcase_url(plan, env)
    assert "Design lessons where students make" in evidence["narrative"]
    with pytest.raises(Conflict):
        plan_reviews.approve(plan, world["owner"], env)
    with pytest.raises(Conflict):
        plans.delete(plan)


def test_a_declined_request_carries_its_reason_and_awards_nothing(world, make_award) -> None:
    env = service_env()
    plan = make_plan(world)
    plan_reviews.set_completion_achievement(
        world["issuer"], world["completion"].public_id, actor=ACTOR, env=env
    )
    plans.set_shared(plan, True, env)
    make_award(world["issuer"], world["designer"], "ann.lee@school.example.org")
    make_award(world["issuer"], world["designs"], "ann.lee@school.example.org")
    db.session.get(Enrolment, world["enrolment"].id).state = "awarded"
    db.session.commit()
    plan_reviews.request_completion(plan, world["educator"], env)
    plan_reviews.decline(plan, world["owner"], {"reason": "Add evidence for goal 2."}, env)
    assert (
        plan.completion_state == "declined" and plan.completion_reason == "Add evidence for goal 2."
    )
    held = db.session.scalars(select(IssuedCredential.achievement_id)).all()
    assert world["completion"].id not in held
    # They may change the plan and ask again.
    plans.update_vision(plan, {"vision": "Sharper vision", "research_question": ""}, env)
    plan_reviews.request_completion(plan, world["educator"], env)
    assert plan.completion_state == "requested"


def test_the_completion_achievement_is_the_organisations_own(world, make_achievement) -> None:
    foreign = make_achievement(world["other"], "Not D7's")
    with pytest.raises(Invalid):
        plan_reviews.set_completion_achievement(
            world["issuer"], foreign.public_id, actor=ACTOR, env=service_env()
        )
    assert plan_reviews.completion_achievement(world["issuer"]) is None
    plan_reviews.set_completion_achievement(world["issuer"], world["completion"].public_id, actor=ACTOR,
                                            env=service_env())  # fmt: skip
    assert plan_reviews.completion_achievement(world["issuer"]).id == world["completion"].id
    # A goal never aims at the badge that recognises the plan itself.
    plan = make_plan(world)
    offered = [a.id for a, _ in plans.choices(plan, world["educator"]).achievements]
    assert world["completion"].id not in offered and world["designer"].id in offered
    with pytest.raises(Invalid):
        plans.add_goal(plan, world["educator"], load_goal({"title": "X", "achievements": [world["completion"].public_id]}),
                       service_env())  # fmt: skip
    plan_reviews.set_completion_achievement(world["issuer"], None, actor=ACTOR, env=service_env())
    assert plan_reviews.completion_achievement(world["issuer"]) is None
