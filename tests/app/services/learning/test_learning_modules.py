"""Learning modules: building them (publishing rules, ordering, what may be deleted once answered),
enrolling (self and cohort CSV), answers and evidence, the learning partner's checklist, and
completion, which awards the badge with published evidence only or queues it for review."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import (
    Achievement,
    Activity,
    AuditEvent,
    Educator,
    EducatorEmail,
    EmailMessage,
    Enrolment,
    IssuedCredential,
    Issuer,
    MagicLink,
    Module,
    StaffAccount,
    Submission,
)
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.learning import (
    answers,
    authoring,
    cohorts,
    completion,
    educators,
    enrolments,
    partners,
    portfolio,
    progress,
    reviews,
)
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.learning.portfolio import ItemInput
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL
from tests.app.mail_helpers import body_of, delivered, latest_delivered

ACTOR = Actor(label="test")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def educator(email: str = "ann.lee@school.example.org", name: str = "Ann Lee") -> Any:
    found = educators.create(email, name, service_env(), verified=True, name_confirmed=True)
    db.session.commit()
    return found


def build(
    issuer: Issuer, achievement: Achievement, *, prompts: tuple[int, ...] = (2, 1), **rules: Any
) -> Module:
    """A published module with one activity per entry of ``prompts`` (that many prompts each)."""
    env = service_env()
    module = authoring.create_module(
        issuer,
        ModuleInput(
            title="Formative Assessment in Practice",
            summary="Four weeks of exit tickets.",
            achievement_public_id=achievement.public_id,
            learning_outcomes=("Design exit tickets",),
            **rules,
        ),
        actor=ACTOR,
        env=env,
    )
    for number, how_many in enumerate(prompts, start=1):
        activity = authoring.add_activity(
            module, ActivityInput(title=f"Activity {number}"), actor=ACTOR, env=env
        )
        for p in range(how_many):
            authoring.add_prompt(activity, f"Prompt {number}.{p + 1}?", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    return module


def answer_all(enrolment: Enrolment, who: Any, text: str = "I tried it.") -> None:
    for activity in enrolment.module.activities:
        answers.save_answers(
            enrolment, who, activity, {p.id: text for p in activity.prompts}, service_env()
        )


def partner_token() -> str:
    """The token of the latest partner invitation, as delivered (none is stored)."""
    found = delivered(kind="partner_invite")
    assert found
    match = re.search(r"/partner/([A-Za-z0-9_-]+)", body_of(found[-1]))
    assert match
    return match.group(1)


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(issuer)


# --- building -------------------------------------------------------------------------------


def test_a_module_needs_a_prompt_before_it_is_published(issuer, badge) -> None:
    env = service_env()
    module = authoring.create_module(
        issuer,
        ModuleInput(title="M", summary="S", achievement_public_id=badge.public_id),
        actor=ACTOR,
        env=env,
    )
    assert not module.published
    with pytest.raises(Conflict, match="at least one activity with a reflection prompt"):
        authoring.set_published(module, True, actor=ACTOR, env=env)
    activity = authoring.add_activity(module, ActivityInput(title="Read"), actor=ACTOR, env=env)
    authoring.add_prompt(activity, "What stood out?", actor=ACTOR, env=env)
    authoring.set_published(module, True, actor=ACTOR, env=env)
    assert module.published


def test_only_the_issuers_unarchived_achievements_can_be_chosen(
    issuer, badge, make_issuer, make_achievement
) -> None:
    other = make_achievement(make_issuer("Other", slug="other"), "Theirs")
    for public_id in (other.public_id, "nonsense"):
        with pytest.raises(ServiceError, match="Choose an achievement from the list"):
            authoring.create_module(
                issuer,
                ModuleInput(title="M", summary="S", achievement_public_id=public_id),
                actor=ACTOR,
                env=service_env(),
            )
    from app.services.org import achievements

    achievements.set_archived(badge, True, actor=ACTOR, env=service_env())
    with pytest.raises(ServiceError, match="archived"):
        authoring.create_module(
            issuer,
            ModuleInput(title="M", summary="S", achievement_public_id=badge.public_id),
            actor=ACTOR,
            env=service_env(),
        )
    assert count(Module) == 0


def test_activities_and_prompts_reorder_and_renumber(issuer, badge) -> None:
    module = build(issuer, badge, prompts=(1, 1, 1))
    env = service_env()
    first, second, third = module.activities
    authoring.move_activity(third, "up", actor=ACTOR, env=env)
    assert [a.title for a in module.activities] == ["Activity 1", "Activity 3", "Activity 2"]
    authoring.move_activity(first, "up", actor=ACTOR, env=env)  # already first: nothing moves
    assert [a.position for a in module.activities] == [1, 2, 3]
    extra = authoring.add_prompt(first, "And then?", actor=ACTOR, env=env)
    authoring.move_prompt(extra, "up", actor=ACTOR, env=env)
    assert [p.text for p in first.prompts] == ["And then?", "Prompt 1.1?"]
    authoring.delete_activity(second, actor=ACTOR, env=env)
    assert [(a.position, a.title) for a in module.activities] == [
        (1, "Activity 1"),
        (2, "Activity 3"),
    ]


def test_answered_prompts_can_be_edited_but_not_deleted(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    activity = module.activities[0]
    answered, unanswered = activity.prompts
    answers.save_answers(enrolment, ann, activity, {answered.id: "Yes."}, service_env())
    env = service_env()
    with pytest.raises(Conflict, match="cannot be deleted; you can still edit"):
        authoring.delete_prompt(answered, actor=ACTOR, env=env)
    with pytest.raises(Conflict, match="cannot be deleted"):
        authoring.delete_activity(activity, actor=ACTOR, env=env)
    authoring.update_prompt(answered, "What changed, and why?", actor=ACTOR, env=env)
    authoring.delete_prompt(unanswered, actor=ACTOR, env=env)
    assert [p.text for p in activity.prompts] == ["What changed, and why?"]
    assert answers.answers(enrolment) == {answered.id: "Yes."}


def test_the_last_prompt_of_a_published_module_stays(issuer, badge) -> None:
    module = build(issuer, badge, prompts=(1,))
    (activity,) = module.activities
    with pytest.raises(Conflict, match="needs a prompt"):
        authoring.delete_prompt(activity.prompts[0], actor=ACTOR, env=service_env())
    with pytest.raises(Conflict, match="needs a prompt"):
        authoring.delete_activity(activity, actor=ACTOR, env=service_env())
    assert authoring.prompt_count(module) == 1


# --- enrolling and working ------------------------------------------------------------------


def test_educators_enrol_in_published_open_modules_only(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    first = enrolments.enrol(ann, module, service_env())
    assert enrolments.enrol(ann, module, service_env()).id == first.id  # twice is harmless
    cohort = build(issuer, badge, enrolment_mode="cohort")
    with pytest.raises(Conflict, match="organisers enrol"):
        enrolments.enrol(ann, cohort, service_env())
    with pytest.raises(NotFound):
        enrolments.module_for(ann, cohort.public_id)  # not in the catalogue either
    authoring.set_published(module, False, actor=ACTOR, env=service_env())
    assert enrolments.module_for(ann, module.public_id)[1] is not None  # enrolled: still theirs
    bob = educator("bob@school.example.org", "Bob")
    with pytest.raises(NotFound):
        enrolments.enrol(bob, module, service_env())
    assert [e.module.id for e in enrolments.catalogue(bob)] == []
    assert [e.module.id for e in enrolments.catalogue(ann)] == [module.id]


def test_answers_save_clear_and_count_towards_progress(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    first, second = module.activities
    a, b = first.prompts
    answers.save_answers(enrolment, ann, first, {a.id: "  Exit tickets. ", b.id: ""}, service_env())
    done = progress.progress(enrolment)
    assert (done.answered, done.total, done.percent, done.all_answered) == (1, 3, 33, False)
    assert answers.answers(enrolment)[a.id] == "Exit tickets."
    assert answers.save_answers(enrolment, ann, first, {a.id: "Exit tickets."}, service_env()) == 0
    answers.save_answers(enrolment, ann, first, {a.id: ""}, service_env())
    assert progress.progress(enrolment).answered == 0
    with pytest.raises(NotFound):  # a prompt of another activity
        answers.save_answers(enrolment, ann, first, {second.prompts[0].id: "x"}, service_env())
    bob = educator("bob@school.example.org", "Bob")
    with pytest.raises(NotFound):
        answers.save_answers(enrolment, bob, first, {a.id: "mine now"}, service_env())
    assert answers.answers(enrolment)[a.id] == ""


def test_a_first_answer_saved_twice_at_once_is_saved_once(app, issuer, badge) -> None:
    # Typing and then pressing Save posts the answer twice at once (the autosave on leaving the
    # field, and the form). The second request finds no answer yet, but the first has stored
    # it by the time the second inserts: that is an update, not a server error.
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    activity = module.activities[0]
    prompt = activity.prompts[0]
    ids = (enrolment.id, ann.id, activity.id, prompt.id)
    done: list[bool] = []
    saved: list[int] = []

    def other_request() -> None:
        with app.app_context():
            theirs = db.session.get(Enrolment, ids[0])
            who = db.session.get(Educator, ids[1])
            found = db.session.get(Activity, ids[2])
            saved.append(
                answers.save_answers(theirs, who, found, {ids[3]: "Exit tickets."}, service_env())
            )
            db.session.remove()

    def between_check_and_insert(conn, cursor, statement, parameters, context, many) -> None:
        # Right after this request looked for the prompt's answer (and found none).
        if (
            not done
            and statement.lstrip().startswith("SELECT")
            and "response.prompt_id =" in statement
        ):
            done.append(True)
            worker = threading.Thread(target=other_request)
            worker.start()
            worker.join(timeout=30)

    event.listen(db.engine, "after_cursor_execute", between_check_and_insert)
    try:
        changed = answers.save_answers(enrolment, ann, activity, {prompt.id: "Exit tickets!"},
                                       service_env())  # fmt: skip
    finally:
        event.remove(db.engine, "after_cursor_execute", between_check_and_insert)
    assert done and saved == [1] and changed == 1
    assert answers.answers(enrolment)[prompt.id] == "Exit tickets!"
    items = [i for i in portfolio.items_of(ann) if i.kind == "response"]
    assert [i.body for i in items] == ["Exit tickets!"]


def test_evidence_is_checked_stored_and_attached(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    env = service_env()
    pdf = answers.attach_evidence(enrolment, ann, "file", ItemInput(title=""), env,
                                  upload=(PDF, "plan.pdf"), max_bytes=1024)  # fmt: skip
    assert (pdf.kind, pdf.title, pdf.file.media_type) == ("file", "plan.pdf", "application/pdf")
    with pytest.raises(ServiceError, match="not accepted"):
        answers.attach_evidence(enrolment, ann, "file", ItemInput(title="x"), env,
                                upload=(b"MZ\x90\x00" * 10, "run.exe"), max_bytes=1024)  # fmt: skip
    with pytest.raises(ServiceError, match="at most"):
        answers.attach_evidence(enrolment, ann, "file", ItemInput(title="x"), env,
                                upload=(PDF * 100, "big.pdf"), max_bytes=1024)  # fmt: skip
    with pytest.raises(ServiceError, match="https://"):
        answers.attach_evidence(enrolment, ann, "link", ItemInput(title="x", url="javascript:alert(1)"),
                                env, max_bytes=1024)  # fmt: skip
    link = answers.attach_evidence(
        enrolment, ann, "link", ItemInput(title="Slides", url="https://example.org/s"), env,
        max_bytes=1024,
    )  # fmt: skip
    assert [i.public_id for i in answers.attachments(enrolment)] == [pdf.public_id, link.public_id]
    answers.detach_evidence(enrolment, ann, pdf.public_id, env)
    assert answers.attachments(enrolment) == [link]
    assert pdf in portfolio.items_of(ann)  # still in the portfolio


# --- learning partner -----------------------------------------------------------------------


def test_the_partner_confirms_a_complete_checklist_once(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    with pytest.raises(ServiceError, match="Invite someone else"):
        partners.invite_partner(enrolment, ann, "Me", "ANN.LEE@school.example.org", service_env())
    partners.invite_partner(enrolment, ann, "Sam Coach", "sam@school.example.org", service_env())
    first = partner_token()
    partners.invite_partner(enrolment, ann, "Sam Coach", "sam@school.example.org", service_env())
    token = partner_token()
    with pytest.raises(NotFound):
        partners.partner_view(first, service_env())  # replaced
    with pytest.raises(Conflict, match="has not completed every activity yet"):
        partners.confirm_partner(token, service_env())
    assert enrolment.partner_confirmed_at is None
    answer_all(enrolment, ann)
    view = partners.confirm_partner(token, service_env())
    assert view.enrolment.partner_confirmed_at is not None
    told = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "partner_confirmed"))
    assert [m.to_address for m in told] == ["ann.lee@school.example.org"]
    with pytest.raises(Conflict, match="already confirmed"):
        partners.confirm_partner(token, service_env())
    with pytest.raises(Conflict, match="already confirmed"):
        partners.invite_partner(enrolment, ann, "Other", "other@school.example.org", service_env())
    with pytest.raises(NotFound):
        partners.partner_view("x" * 43, service_env())


def test_the_partner_is_thanked_once_after_confirming(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    with pytest.raises(Conflict, match="once they have confirmed"):
        partners.thank_partner(enrolment, ann, "Thanks!", service_env())
    partners.invite_partner(enrolment, ann, "Sam Coach", "sam@school.example.org", service_env())
    answer_all(enrolment, ann)
    partners.confirm_partner(partner_token(), service_env())
    with pytest.raises(ServiceError, match="Write a short note"):
        partners.thank_partner(enrolment, ann, "   ", service_env())
    partners.thank_partner(enrolment, ann, "Thank you for <b>the</b> chats.", service_env())
    assert enrolment.partner_note == "Thank you for <b>the</b> chats."
    message = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "partner_thanks")
    ).one()
    assert message.to_address == "sam@school.example.org"
    assert "Thank you for <b>the</b> chats." in message.body_text
    assert "&lt;b&gt;the&lt;/b&gt;" in (message.body_html or "")  # escaped in HTML
    with pytest.raises(Conflict, match="already thanked"):
        partners.thank_partner(enrolment, ann, "Again", service_env())


# --- completion -----------------------------------------------------------------------------


def test_completion_is_refused_until_the_rules_are_met(issuer, badge) -> None:
    module = build(issuer, badge)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    with pytest.raises(ServiceError) as refused:
        completion.complete(enrolment, ann, [], service_env())
    assert (
        "Answer every reflection prompt; still to do: Activity 1; Activity 2."
        in refused.value.message
    )
    assert "Invite a learning partner" in refused.value.message
    answer_all(enrolment, ann)
    partners.invite_partner(enrolment, ann, "Sam", "sam@school.example.org", service_env())
    with pytest.raises(ServiceError, match="has not confirmed your checklist yet"):
        completion.complete(enrolment, ann, [], service_env())
    assert (count(IssuedCredential), enrolment.state) == (0, "in_progress")
    assert not any(i.publish for i in answers.module_items(enrolment))


def test_completion_awards_the_badge_citing_only_the_chosen_items(
    issuer, badge, local_fetch
) -> None:
    module = build(issuer, badge, requires_partner=False)
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann, "Exit tickets every day.")
    notes = answers.attach_evidence(enrolment, ann, "narrative", ItemInput(title="Private notes", body="Not for anyone."),
                                    service_env(), max_bytes=1024)  # fmt: skip
    responses = [i for i in answers.module_items(enrolment) if i.kind == "response"]
    with pytest.raises(ServiceError, match="this module's items only"):
        completion.complete(enrolment, ann, ["not-an-item"], service_env())
    completion.complete(enrolment, ann, [i.public_id for i in responses], service_env())
    assert enrolment.state == "awarded" and enrolment.completed_at is not None
    credential = db.session.get(IssuedCredential, enrolment.credential_id)
    assert credential is not None and credential.recipient_email == "ann.lee@school.example.org"
    document = json.loads(credential.document)
    evidence = document["evidence"]
    assert [e.get("id") for e in evidence[:-1]] == [
        f"{BASE_URL}/evidence/{i.public_id}" for i in responses
    ]
    assert evidence[-1]["narrative"].startswith(
        "Completed the module “Formative Assessment in Practice” from District 7 Professional Learning: "
        "2 activities, 3 reflection prompts answered."
    )
    assert "Not for anyone" not in credential.document and not notes.publish
    assert all(i.publish for i in responses)
    with pytest.raises(Conflict, match="complete"):
        completion.complete(enrolment, ann, [], service_env())
    assert count(IssuedCredential) == 1
    from credentials import verify_credential

    env = service_env()
    report = verify_credential(
        credential.document, loader=env.loader, now=env.now, fetch=local_fetch
    )
    assert report.valid, report.as_json()["checks"]


def test_what_a_module_credential_cites_is_kept_as_it_was(issuer, badge) -> None:
    # An automatic award has no review submission: the credential still cites the module's
    # published items, so they are listed as its evidence and can no longer be changed.
    module = build(issuer, badge, requires_partner=False)
    ann = educator()
    env = service_env()
    enrolment = enrolments.enrol(ann, module, env)
    answer_all(enrolment, ann)
    cited = answers.attach_evidence(enrolment, ann, "narrative", ItemInput(title="Tally", body="12 of 25."),
                                    env, max_bytes=1024)  # fmt: skip
    private = answers.attach_evidence(enrolment, ann, "narrative", ItemInput(title="Notes", body="Mine."),
                                      env, max_bytes=1024)  # fmt: skip
    response = next(i for i in answers.module_items(enrolment) if i.kind == "response")
    assert portfolio.credentials_citing(cited, env) == []
    completion.complete(enrolment, ann, [cited.public_id, response.public_id], service_env())
    env = service_env()
    for item in (cited, response):
        assert [c.id for c in portfolio.credentials_citing(item, env)] == [enrolment.credential_id]
    assert portfolio.credentials_citing(private, env) == []
    assert "credential links to this item" in (portfolio.edit_refusal(cited, env) or "")
    with pytest.raises(Conflict, match="credential links to this item"):
        portfolio.update_item(cited, ann, ItemInput(title="Tally", body="25 of 25."), env)
    assert portfolio.edit_refusal(private, env) is None


def test_review_mode_queues_a_submission_and_approval_awards_the_enrolment(
    issuer, badge, make_staff: Callable[..., StaffAccount]
) -> None:
    module = build(issuer, badge, requires_partner=False, award_mode="review")
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann)
    items = answers.module_items(enrolment)
    completion.complete(enrolment, ann, [items[0].public_id], service_env())
    assert enrolment.state == "in_review" and count(IssuedCredential) == 0
    submission = db.session.get(Submission, enrolment.submission_id)
    assert submission is not None
    assert (submission.origin, submission.state) == ("module", "submitted")
    assert {row.item_id for row in submission.items} == {i.id for i in items}
    assert submission in reviews.queue(issuer)
    with pytest.raises(Conflict, match="with a reviewer"):
        answers.save_answers(enrolment, ann, module.activities[0], {module.activities[0].prompts[0].id: "x"},
                             service_env())  # fmt: skip
    reviewer = make_staff("rae@district7.example.org", name="Rae")
    reviews.decide(submission, reviewer, "request_changes", "Say more.", {}, service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "returned"
    completion.complete(enrolment, ann, [], service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "in_review" and enrolment.submission_id == submission.id
    reviews.decide(submission, reviewer, "approve", "", {}, service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "awarded"
    assert enrolment.credential_id == submission.credential_id is not None
    document = db.session.get(IssuedCredential, enrolment.credential_id).document
    assert f"/evidence/{items[0].public_id}" in document
    assert f"/evidence/{items[1].public_id}" not in document  # not chosen, not published


def test_withdrawing_a_module_submission_gives_the_work_back(issuer, badge) -> None:
    module = build(issuer, badge, requires_partner=False, award_mode="review")
    ann = educator()
    enrolment = enrolments.enrol(ann, module, service_env())
    answer_all(enrolment, ann)
    completion.complete(enrolment, ann, [], service_env())
    first = db.session.get(Submission, enrolment.submission_id)
    assert first is not None and enrolment.state == "in_review"
    reviews.withdraw(first, ann, service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "in_progress"
    assert first not in reviews.queue(issuer)
    # Editable again, and completing it again queues a fresh submission.
    activity = module.activities[0]
    answers.save_answers(enrolment, ann, activity, {activity.prompts[0].id: "Better"},
                         service_env())  # fmt: skip
    completion.complete(enrolment, ann, [], service_env())
    db.session.refresh(enrolment)
    assert enrolment.state == "in_review" and enrolment.submission_id != first.id
    assert [s.public_id for s in reviews.queue(issuer)] != [first.public_id]
    assert len(reviews.queue(issuer)) == 1


# --- cohorts --------------------------------------------------------------------------------


COHORT = (
    b"email,name\n"
    b"ann.lee@school.example.org,Ann Lee\n"
    b"new.teacher@school.example.org,New Teacher\n"
    b"NEW.teacher@school.example.org,Twice\n"
    b"not-an-email,Nobody\n"
    b"enrolled@school.example.org,Already\n"
)


def test_a_cohort_file_is_previewed_then_enrolled_and_invited(issuer, badge) -> None:
    module = build(issuer, badge, enrolment_mode="cohort")
    educator()
    already = educator("enrolled@school.example.org", "Already")
    db.session.add(Enrolment(module_id=module.id, educator_id=already.id, state="in_progress",
                             enrolled_at=service_env().now, enrolled_by="staff"))  # fmt: skip
    db.session.commit()
    before = (count(Enrolment), count(EmailMessage), count(EducatorEmail))
    rows = cohorts.cohort_preview(module, COHORT)
    assert [(r.row_number, r.verdict) for r in rows] == [
        (2, "existing"), (3, "new"), (4, "duplicate"), (5, "invalid"), (6, "enrolled"),
    ]  # fmt: skip
    assert (count(Enrolment), count(EmailMessage), count(EducatorEmail)) == before
    cohorts.enrol_cohort(module, COHORT, actor=ACTOR, env=service_env())
    assert count(Enrolment) == 3
    audited = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "module.cohort_enrol")
    ).one()
    assert audited.detail["enrolled"] == 2 and audited.detail["created"] == 1
    assert {k: v for k, v in audited.detail.items() if k.startswith("rows_")} == {
        "rows_new": 1, "rows_existing": 1, "rows_duplicate": 1, "rows_invalid": 1,
        "rows_enrolled": 1,
    }  # fmt: skip
    new = educators.find_by_email("new.teacher@school.example.org")
    assert new is not None and new.name == "New Teacher"
    assert new.emails[0].verified_at is None  # confirmed when they first sign in
    invites = list(
        db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "module_invite"))
    )
    assert sorted(m.to_address for m in invites) == [
        "ann.lee@school.example.org", "new.teacher@school.example.org",
    ]  # fmt: skip
    token = re.search(
        r"/me/sign-in/([A-Za-z0-9_-]+)", latest_delivered(invites[0].to_address, "module_invite")
    )
    assert token
    assert count(MagicLink) == 2
    signed_in = educators.sign_in(token.group(1), service_env())
    assert signed_in.id in {e.educator_id for e in db.session.scalars(select(Enrolment))}
    # Uploading the same file again enrols nobody twice.
    again = cohorts.enrol_cohort(module, COHORT, actor=ACTOR, env=service_env())
    assert [r.verdict for r in again].count("enrolled") == 3 and count(Enrolment) == 3


def test_a_cohort_needs_a_published_module_and_a_readable_file(issuer, badge) -> None:
    module = build(issuer, badge)
    with pytest.raises(ServiceError, match="'email' column"):
        cohorts.cohort_preview(module, b"name\nAnn\n")
    authoring.set_published(module, False, actor=ACTOR, env=service_env())
    events = count(AuditEvent)
    with pytest.raises(Conflict, match="Publish the module"):
        cohorts.enrol_cohort(module, COHORT, actor=ACTOR, env=service_env())
    assert (count(Enrolment), count(AuditEvent)) == (0, events)


def test_the_demo_has_a_published_open_module(app, tmp_path) -> None:
    from app.services import demo

    app.instance_path = str(tmp_path)  # the demo writes its sign-in note there
    demo.seed(service_env())
    (module,) = db.session.scalars(select(Module))
    assert module.published and module.enrolment_mode == "open"
    assert [len(a.prompts) for a in module.activities] == [1, 2, 1]
    ann = educator()
    assert [e.module.id for e in enrolments.catalogue(ann)] == [module.id]
