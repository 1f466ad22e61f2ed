"""Issuer A's staff cannot see or change anything of issuer B: checked for every workspace route.

The routes are not listed by hand: every rule of the ``workspace`` blueprint that takes a
``slug`` is exercised, with B's real objects filling its other URL arguments, by GET and (where
the rule accepts it) POST with a valid CSRF token. A route added later is covered automatically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountSession,
    AuditEvent,
    Educator,
    Enrolment,
    IssuedCredential,
    StaffAccount,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services.awarding import bulk
from app.services.delivery import visibility
from app.services.learning import authoring, credit_rules, educators, reviews
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org import invitations, schools, staff, tokens
from app.services.org.audit import Actor
from app.services.webhooks import deliveries as webhook_deliveries
from app.services.webhooks import endpoints as webhook_endpoints
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.portfolio_helpers import (
    PDF,
    add_item,
    make_educator,
    portfolio_badge,
    sign_in_educator,
)

CSV = b"email,name\nnew.teacher@school.example.org,New Teacher\n"


def portfolio_submission(issuer: Any, make_achievement: Any) -> tuple[Any, Any]:
    """A submission (with a file item) waiting in the issuer's review queue."""
    badge = portfolio_badge(issuer, make_achievement, "B's portfolio badge")
    educator = make_educator("educator@b.example.org")
    item = add_item(educator, file=(PDF, "plan.pdf"))
    return reviews.submit(educator, badge, [item.public_id], "", service_env()), item


def partner_invited_enrolment(module: Any) -> Enrolment:
    """An educator enrolled in ``module`` with an outstanding learning partner invitation."""
    env = service_env()
    educator = make_educator("enrolled@b.example.org")
    enrolment = Enrolment(module_id=module.id, educator_id=educator.id, state="in_progress",
                          enrolled_at=env.now, enrolled_by="staff", partner_name="Pat Partner",
                          partner_email="pat@partner.example.org", partner_token_hash="0" * 64,
                          partner_invited_at=env.now, partner_expires_at=env.now + timedelta(days=30))  # fmt: skip
    db.session.add(enrolment)
    db.session.commit()
    return enrolment


def webhook_with_delivery(app: Flask, issuer: Any, credential: Any) -> tuple[Any, Any]:
    """A webhook endpoint of ``issuer`` (a local address, allowed, where nothing listens) with
    one delivery about ``credential`` in its log (tried once, refused, waiting to be retried)."""
    app.config["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1:9"
    endpoint, _ = webhook_endpoints.create(issuer, url="http://127.0.0.1:9/hooks", events=["credential.issued"],
                                           description="B's LMS", actor=Actor(label="test"), env=service_env())  # fmt: skip
    webhook_deliveries.queue(
        issuer.id, "credential.issued", lambda: {"id": credential.id}, service_env()
    )
    db.session.commit()
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    )
    assert delivery is not None
    return endpoint, delivery


def webhook_state() -> tuple[Any, ...]:
    """What a webhook route could change: endpoints (and their secrets) and deliveries."""
    endpoints = db.session.execute(select(WebhookEndpoint.url, WebhookEndpoint.enabled, WebhookEndpoint.secret,
                                          WebhookEndpoint.event_types).order_by(WebhookEndpoint.id)).all()  # fmt: skip
    sent = db.session.execute(select(WebhookDelivery.state, WebhookDelivery.next_attempt_at,
                                     WebhookDelivery.failures).order_by(WebhookDelivery.id)).all()  # fmt: skip
    return tuple(endpoints), tuple(sent)


def shared_plan(issuer: Any) -> Any:
    """A learning plan of two goals, planned with ``issuer`` by the holder of its credential
    (holder@b.example.org) and shared with it."""
    from app.services.learning import plans

    env = service_env()
    planner = make_educator("holder@b.example.org", "Hana Holder")
    plan = plans.create(planner, {"school_year": "2026-2027", "organisation": issuer.slug}, env)
    for title in ("First goal", "Second goal"):
        plans.add_goal(plan, planner, {"title": title, "description": "", "standards": [], "modules": [],
                       "achievements": [], "items": [], "evidence": "", "target_date": None}, env)  # fmt: skip
    plans.set_shared(plan, True, env)
    return plan


def sign_in(client: FlaskClient, app: Flask, account: StaffAccount) -> None:
    sign_in_directly(client, "staff", account.id)


@pytest.fixture
def two_issuers(app, make_staff, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    alice = make_staff("alice@a.example.org", name="Alice A")
    bob = make_staff("bob@b.example.org", name="Bob B")
    issuer_a = make_issuer("Issuer A", owner=alice)
    issuer_b = make_issuer("Issuer B", owner=bob)
    achievement_b = make_achievement(issuer_b, "B's badge")
    credential_b = make_award(issuer_b, achievement_b, "holder@b.example.org")
    job_b = bulk.create_job(issuer_b, achievement_b, filename="b.csv", data=CSV, actor=Actor(bob),
                            env=service_env(), max_rows=100)  # fmt: skip
    module_b = authoring.create_module(
        issuer_b, ModuleInput(title="B's module", summary="S", achievement_public_id=achievement_b.public_id),
        actor=Actor(bob), env=service_env(),
    )  # fmt: skip
    activity_b = authoring.add_activity(
        module_b, ActivityInput(title="Read"), actor=Actor(bob), env=service_env()
    )
    prompt_b = authoring.add_prompt(activity_b, "Why?", actor=Actor(bob), env=service_env())
    submission_b, item_b = portfolio_submission(issuer_b, make_achievement)
    invited = invitations.invite(issuer_b, email="invitee@b.example.org", name="Ivy Invitee",
                                 role="viewer", actor=Actor(bob), env=service_env())  # fmt: skip
    assert invited is not None
    db.session.commit()
    enrolment_b = partner_invited_enrolment(module_b)
    token_b = tokens.create(issuer_b, creator=bob, name="B's LMS", scopes=["awards:write"],
                            expires_at=None, actor=Actor(bob), env=service_env()).token  # fmt: skip
    endpoint_b, delivery_b = webhook_with_delivery(app, issuer_b, credential_b)
    rule_b = credit_rules.create(issuer_b, load_credit_rule({"name": "B's renewal", "cycle_years": 5,
                                 "cycle_start": "2025-07-01", "hours_required": 50}),
                                 actor=Actor(bob), env=service_env())  # fmt: skip
    learning_b = learning_request_of(issuer_b, make_achievement, make_award, bob)
    school_b = schools.create(issuer_b, "B's school", actor=Actor(bob), env=service_env())
    leader_b = schools.appoint(issuer_b, make_staff("head@b.example.org", name="Hal Head"), school_b,
                               actor=Actor(bob), env=service_env())  # fmt: skip
    plan_b = shared_plan(issuer_b)
    return {
        "alice": alice, "bob": bob, "a": issuer_a, "b": issuer_b,
        "values": {
            "slug": issuer_b.slug, "public_id": achievement_b.public_id, "credential_id": credential_b.id,
            "job_id": job_b.id, "staff_id": bob.id, "number": 1, "version": 1,
            "submission_id": submission_b.public_id, "item_id": item_b.public_id,
            "module_id": module_b.public_id, "activity_id": activity_b.id, "prompt_id": prompt_b.id,
            "invitation_id": invited[0].id,
            "enrolment_id": enrolment_b.id, "token_id": token_b.public_id,
            "endpoint_id": endpoint_b.public_id, "delivery_id": delivery_b.public_id,
            "rule_id": rule_b.public_id, "plan_id": plan_b.public_id,
            "request_id": learning_b.public_id, "file_id": learning_b.files[0].public_id,
            "school_id": school_b.public_id, "leader_id": leader_b.id,
            **coaching_values(issuer_b, bob),
        },
    }  # fmt: skip


def workspace_rules(app: Flask) -> list[Any]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if r.endpoint.startswith("workspace.") and "slug" in r.arguments
        ),
        key=lambda r: r.rule,
    )


def build(rule: Any, values: dict[str, Any]) -> str:
    missing = [a for a in rule.arguments if a not in values]
    assert not missing, f"add a value for {missing} of {rule.rule} to this test"
    path = rule.rule
    for argument in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + argument + ">", str(values[argument]), path)
    return path


def state(issuer_id: int) -> tuple[int, int]:
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.issuer_id == issuer_id)
    )
    credentials = db.session.scalar(
        select(func.count())
        .select_from(IssuedCredential)
        .where(IssuedCredential.issuer_id == issuer_id)
    )
    return events or 0, credentials or 0


def test_there_are_workspace_routes_to_check(app: Flask) -> None:
    assert len(workspace_rules(app)) >= 2


def test_outsiders_get_404_on_every_route_and_change_nothing(
    app: Flask, client: FlaskClient, two_issuers
) -> None:
    sign_in(client, app, two_issuers["alice"])
    page = client.get(f"/workspace/{two_issuers['a'].slug}/", base_url=BASE_URL)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "the workspace page carries a CSRF token"
    before = state(two_issuers["b"].id), webhook_state()
    checked = 0
    for rule in workspace_rules(app):
        path = build(rule, two_issuers["values"])
        if "GET" in rule.methods:
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 404, f"GET {path} -> {response.status_code}"
            assert "Issuer B" not in response.get_data(as_text=True), f"GET {path} leaks B's name"
            checked += 1
        if "POST" in rule.methods:
            response = client.post(path, data={"csrf_token": token.group(1), "reason": "x", "email": "x@y.example",
                                               "name": "X", "role": "owner"}, base_url=BASE_URL)  # fmt: skip
            assert response.status_code == 404, f"POST {path} -> {response.status_code}"
            checked += 1
    assert checked >= 2
    assert (state(two_issuers["b"].id), webhook_state()) == before


def test_anonymous_visitors_are_sent_to_sign_in(
    app: Flask, client: FlaskClient, two_issuers
) -> None:
    for rule in workspace_rules(app):
        if "GET" not in rule.methods:
            continue
        path = build(rule, two_issuers["values"])
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code == 302, f"GET {path} -> {response.status_code}"
        assert "/login" in response.headers["Location"]


def test_members_of_b_can_read_b(app: Flask, client: FlaskClient, two_issuers) -> None:
    sign_in(client, app, two_issuers["bob"])
    for rule in workspace_rules(app):
        if "GET" not in rule.methods:
            continue
        path = build(rule, two_issuers["values"])
        response = client.get(path, base_url=BASE_URL)
        # Every GET route of the workspace answers its owner with the page (or file) itself.
        assert response.status_code == 200, f"GET {path} -> {response.status_code}"


def test_viewers_cannot_change_anything(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount]
) -> None:
    viewer = make_staff("viewer@b.example.org", name="Vera Viewer")
    staff.set_role(two_issuers["b"], viewer, "viewer", actor=Actor(label="test"), env=service_env())
    sign_in(client, app, viewer)
    page = client.get(f"/workspace/{two_issuers['b'].slug}/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    before = state(two_issuers["b"].id), webhook_state()
    for rule in workspace_rules(app):
        if "POST" not in rule.methods:
            continue
        path = build(rule, two_issuers["values"])
        response = client.post(
            path, data={"csrf_token": token.group(1), "reason": "x"}, base_url=BASE_URL
        )
        assert response.status_code == 403, f"POST {path} as viewer -> {response.status_code}"
    assert (state(two_issuers["b"].id), webhook_state()) == before


# --- Account routes outside the workspaces: sessions, and the administrators' staff accounts ---

#: (endpoint, method, who may use it): every route of the sessions feature, by endpoint, so a
#: route added later without a row here fails ``test_every_account_route_has_a_row``.
ACCOUNT_ROUTES = [
    ("auth.account", "GET", "staff"),
    ("auth.end_session", "POST", "staff"),
    ("auth.sign_out_everywhere", "POST", "staff"),
    ("educator.end_session", "POST", "educator"),
    ("educator.sign_out_everywhere", "POST", "educator"),
    ("workspace.admin_accounts", "GET", "admin"),
    ("workspace.admin_disable_account", "POST", "admin"),
    ("workspace.admin_enable_account", "POST", "admin"),
]
ACCOUNT_ENDPOINT = re.compile(
    r"^(auth\.account|.*\.end_session|.*sign_out_everywhere|workspace\.admin_)"
)


def account_path(app: Flask, endpoint: str, values: dict[str, int]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return build(rule, values)


def test_every_account_route_has_a_row(app: Flask) -> None:
    found = {r.endpoint for r in app.url_map.iter_rules() if ACCOUNT_ENDPOINT.match(r.endpoint)}
    assert found == {endpoint for endpoint, _, _ in ACCOUNT_ROUTES}


@pytest.fixture
def account_values(app: Flask, two_issuers: dict[str, Any]) -> dict[str, int]:
    """Real ids for the routes' arguments: a live session of Bob's (signed in elsewhere), and
    Bob's account."""
    bob = two_issuers["bob"]
    sign_in_directly(app.test_client(), "staff", bob.id)
    row = db.session.scalar(select(AccountSession).where(AccountSession.account_id == bob.id))
    assert row is not None
    return {"session_id": row.id, "staff_id": bob.id}


def test_anonymous_visitors_are_sent_to_sign_in_from_account_routes(
    app: Flask, client: FlaskClient, two_issuers, account_values
) -> None:
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get("/login", base_url=BASE_URL).get_data(as_text=True),
    )
    assert token
    for endpoint, method, who in ACCOUNT_ROUTES:
        path = account_path(app, endpoint, account_values)
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        sign_in_page = "/me/sign-in" if who == "educator" else "/login"
        assert response.status_code in (302, 303), f"{method} {path} -> {response.status_code}"
        assert sign_in_page in response.headers["Location"], f"{method} {path}"
    bob = db.session.get(StaffAccount, two_issuers["bob"].id)
    assert bob is not None and bob.is_active


def test_staff_who_are_not_administrators_get_403_and_change_nothing(
    app: Flask, client: FlaskClient, two_issuers, account_values
) -> None:
    sign_in(client, app, two_issuers["alice"])
    page = client.get("/account", base_url=BASE_URL)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for endpoint, method, who in ACCOUNT_ROUTES:
        if who != "admin":
            continue
        path = account_path(app, endpoint, account_values)
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        assert response.status_code == 403, f"{method} {path} -> {response.status_code}"
    bob = db.session.get(StaffAccount, two_issuers["bob"].id)
    assert bob is not None and bob.is_active


def test_nobody_ends_another_accounts_session(
    app: Flask, client: FlaskClient, two_issuers, account_values
) -> None:
    sign_in(client, app, two_issuers["alice"])
    sign_in_educator(client, make_educator("someone@a.example.org"))
    page = client.get("/account", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for endpoint, _, _ in ACCOUNT_ROUTES:
        if not endpoint.endswith("end_session"):
            continue
        path = account_path(app, endpoint, account_values)
        response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        assert response.status_code == 404, f"POST {path} -> {response.status_code}"
    bobs = db.session.get(AccountSession, account_values["session_id"])
    assert bobs is not None and bobs.revoked_at is None


# --- The educator side: a credential's own routes and the partner invitation ----------------------

#: Routes of ``/me`` that act on one credential of the signed-in educator, or on their enrolment.
EDUCATOR_ROUTES = (
    ("GET", "/me/credentials/{credential_id}/files/badge.png"),
    ("GET", "/me/credentials/{credential_id}/files/badge-ob2.png"),
    ("GET", "/me/credentials/{credential_id}/files/credential.json"),
    ("GET", "/me/credentials/{credential_id}/certificate"),
    ("POST", "/me/credentials/{credential_id}/manage-links/revoke"),
    ("POST", "/me/credentials/{credential_id}/manage-links/send"),
    ("GET", "/me/credentials/{credential_id}/claim"),
    ("POST", "/me/credentials/{credential_id}/claim"),
    ("GET", "/me/credentials/{credential_id}/wallet"),
    ("POST", "/me/credentials/{credential_id}/wallet"),
    ("POST", "/me/modules/{module_id}/partner/revoke"),
    ("GET", "/me/credentials/{credential_id}/wallet/openid"),
    ("POST", "/me/credentials/{credential_id}/wallet/openid"),
)


@pytest.fixture
def holder_and_stranger(app, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    issuer = make_issuer("Issuer H")
    achievement = make_achievement(issuer, "H's badge")
    holder = make_educator("holder@h.example.org")
    stranger = make_educator("stranger@h.example.org")
    credential = make_award(issuer, achievement, "holder@h.example.org")
    module = authoring.create_module(
        issuer, ModuleInput(title="H's module", summary="S", achievement_public_id=achievement.public_id),
        actor=Actor(label="test"), env=service_env(),
    )  # fmt: skip
    enrolment = partner_invited_enrolment(module)
    enrolment.educator_id = holder.id
    db.session.commit()
    return {"holder": holder, "stranger": stranger, "credential": credential, "module": module,
            "enrolment": enrolment}  # fmt: skip


def educator_paths(found: dict[str, Any]) -> list[tuple[str, str]]:
    values = {"credential_id": found["credential"].id, "module_id": found["module"].public_id}
    return [(method, path.format(**values)) for method, path in EDUCATOR_ROUTES]


def link_state() -> tuple[Any, ...]:
    from app.models import EmailMessage, ManageLink, OpenIdOffer, VcApiExchange

    links = db.session.scalars(select(ManageLink.revoked_at)).all()
    mails = db.session.scalar(select(func.count()).select_from(EmailMessage))
    revoked = db.session.scalars(select(Enrolment.partner_revoked_at)).all()
    offers = db.session.scalar(select(func.count()).select_from(OpenIdOffer))
    exchanges = db.session.scalar(select(func.count()).select_from(VcApiExchange))
    return tuple(links), mails, tuple(revoked), offers, exchanges


def test_another_educator_gets_404_on_every_educator_route(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    sign_in_educator(client, holder_and_stranger["stranger"])
    page = client.get("/me/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    before = link_state()
    for method, path in educator_paths(holder_and_stranger):
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        assert response.status_code == 404, f"{method} {path} -> {response.status_code}"
    assert link_state() == before


def test_anonymous_visitors_are_sent_to_educator_sign_in(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    before = link_state()
    for method, path in educator_paths(holder_and_stranger):
        if method != "GET":
            continue
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code in (302, 303), f"GET {path} -> {response.status_code}"
        assert "/me/sign-in" in response.headers["Location"]
    assert link_state() == before


def test_the_holder_may_use_every_educator_route(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    sign_in_educator(client, holder_and_stranger["holder"])
    page = client.get("/me/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for method, path in educator_paths(holder_and_stranger):
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 200, f"GET {path} -> {response.status_code}"
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
            # 200 only for a page made for the holder alone (a wallet offer or exchange, its QR
            # code); every other POST redirects or refuses as before.
            allowed = (200, 303, 409) if "/wallet" in path else (303, 409)
            assert response.status_code in allowed, f"POST {path} -> {response.status_code}"


# --- Routes of the issuer's view (issue 10, part 5) ---


def test_the_award_chooser_is_for_awarders_of_that_issuer_only(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount]
) -> None:
    path = f"/workspace/{two_issuers['b'].slug}/award"
    chosen = f"{path}?achievement={two_issuers['values']['public_id']}"
    sign_in(client, app, two_issuers["alice"])  # another issuer's owner
    assert client.get(path, base_url=BASE_URL).status_code == 404
    assert client.get(chosen, base_url=BASE_URL).status_code == 404
    viewer = make_staff("viewer@b.example.org", name="Vera Viewer")
    staff.set_role(two_issuers["b"], viewer, "viewer", actor=Actor(label="test"), env=service_env())
    sign_in(client, app, viewer)
    assert client.get(path, base_url=BASE_URL).status_code == 403
    assert client.get(chosen, base_url=BASE_URL).status_code == 403
    sign_in(client, app, two_issuers["bob"])
    assert client.get(chosen, base_url=BASE_URL).status_code == 302


def test_the_linkedin_counter_serves_shareable_credentials_only(
    app: Flask, client: FlaskClient, two_issuers
) -> None:
    credential_id = two_issuers["values"]["credential_id"]
    path = f"/credentials/{credential_id}/linkedin"
    # Anyone may follow a shared credential's link (it is public); it only ever leads to LinkedIn.
    response = client.get(path, base_url=BASE_URL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://www.linkedin.com/")
    found = db.session.get(IssuedCredential, credential_id)
    assert found is not None
    visibility.set_private(found, True, actor=Actor(label="test"), env=service_env())
    assert client.get(path, base_url=BASE_URL).status_code == 404


# --- Learning records (CLR 2.0): the backpack's export and the workspace's PD transcript ---------


def test_only_the_holder_exports_their_credentials_in_a_record(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    response = client.get("/me/record", base_url=BASE_URL)
    assert response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]
    held = holder_and_stranger["credential"].id
    sign_in_educator(client, holder_and_stranger["stranger"])
    page = client.get("/me/record", base_url=BASE_URL)
    assert page.status_code == 200 and held not in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    form = {"csrf_token": token.group(1), "scope": "chosen", "credential": held, "format": "json"}
    refused = client.post("/me/record", data=form, base_url=BASE_URL)
    assert refused.status_code == 400 and "Content-Disposition" not in refused.headers
    sign_in_educator(client, holder_and_stranger["holder"])
    page = client.get("/me/record", base_url=BASE_URL)
    assert page.status_code == 200 and held in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    form["csrf_token"] = token.group(1)
    allowed = client.post("/me/record", data=form, base_url=BASE_URL)
    assert allowed.status_code == 200 and "attachment" in allowed.headers["Content-Disposition"]


def test_a_transcript_holds_only_the_exporting_organisations_credentials(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount]
) -> None:
    b_credential = two_issuers["values"]["credential_id"]
    viewer = make_staff("viewer@b.example.org", name="Vera Viewer")
    staff.set_role(two_issuers["b"], viewer, "viewer", actor=Actor(label="test"), env=service_env())
    before = state(two_issuers["b"].id)
    # Alice owns A: B's credential of that person is not A's to export, chosen or not.
    sign_in(client, app, two_issuers["alice"])
    path = f"/workspace/{two_issuers['a'].slug}/records"
    page = client.get(f"{path}?email=holder@b.example.org", base_url=BASE_URL)
    assert page.status_code == 200 and "B&#39;s badge" not in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for scope in ("all", "chosen"):
        response = client.post(path, data={"csrf_token": token.group(1), "email": "holder@b.example.org",
                                           "scope": scope, "credential": b_credential}, base_url=BASE_URL)  # fmt: skip
        assert response.status_code in (400, 404), f"{scope} -> {response.status_code}"
        assert "Content-Disposition" not in response.headers
    # A viewer of B may not sign a transcript in B's name.
    sign_in(client, app, viewer)
    b_path = f"/workspace/{two_issuers['b'].slug}/records?email=holder@b.example.org"
    assert client.get(b_path, base_url=BASE_URL).status_code == 403
    assert state(two_issuers["b"].id) == before


#: The OpenID4VCI routes, by endpoint: what an anonymous visitor without any secret gets. The
#: protocol's are public (a wallet has no account: the offer's secret URI, its code and the token
#: are its only authority); the owner's pages are the holder's alone (EDUCATOR_ROUTES above, and
#: tests/app/oid4vci/test_offer_pages.py for the manage link).
OID4VCI_ROUTES = {
    "oid4vci.issuer_metadata": ("GET", "/.well-known/openid-credential-issuer", 200),
    "oid4vci.authorization_server": ("GET", "/.well-known/oauth-authorization-server", 200),
    "oid4vci.offer": ("GET", "/oid4vci/offers/" + "A" * 43, 404),
    "oid4vci.token": ("POST", "/oid4vci/token", 400),
    "oid4vci.nonce": ("POST", "/oid4vci/nonce", 200),
    "oid4vci.credential": ("POST", "/oid4vci/credential", 401),
    "oid4vci.educator_offer": ("POST", "/me/credentials/{credential_id}/wallet/openid", 400),
    "oid4vci.manage_offer": (
        "GET",
        "/credentials/{credential_id}/manage/" + "A" * 43 + "/wallet/openid",
        404,
    ),
}


def test_every_oid4vci_route_has_a_row(app: Flask) -> None:
    found = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("oid4vci.")}
    assert found == set(OID4VCI_ROUTES)


def test_oid4vci_routes_give_a_stranger_nothing(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    before = link_state()
    credential_id = holder_and_stranger["credential"].id
    for endpoint, (method, path, status) in OID4VCI_ROUTES.items():
        url = path.format(credential_id=credential_id)
        response = client.open(url, method=method, base_url=BASE_URL)
        assert response.status_code == status, (
            f"{endpoint}: {method} {url} -> {response.status_code}"
        )
    anonymous = client.get(f"/me/credentials/{credential_id}/wallet/openid", base_url=BASE_URL)
    assert anonymous.status_code in (302, 303) and "/me/sign-in" in anonymous.headers["Location"]
    assert link_state() == before


def test_the_instance_did_document_is_public(app: Flask, client: FlaskClient) -> None:
    response = client.get("/instance/did.json", base_url=BASE_URL)
    assert response.status_code == 200 and response.json["id"].endswith(":instance")


# --- Open Badges 2.0 hosted objects (issue 12) ---

#: The public OB 2.0 routes, by endpoint: who may GET them (anyone: a backpack verifying a hosted
#: badge signs in nowhere) and what a private credential answers. Nothing under /ob2/ writes.
OB2_ROUTES = {
    "public.ob2_assertion": ("/ob2/assertions/{credential_id}", 200),
    "public.ob2_badge_class": ("/ob2/badges/{public_id}/1", 200),
    "public.ob2_badge_image": ("/ob2/badges/{public_id}/1/image.png", 200),
    "public.ob2_issuer": ("/ob2/issuers/{slug}", 200),
    "public.badge_ob2_png": ("/credentials/{credential_id}/badge-ob2.png", 404),
}


def test_every_ob2_route_has_a_row(app: Flask) -> None:
    found = {r.endpoint for r in app.url_map.iter_rules() if "ob2" in r.endpoint}
    assert found == set(OB2_ROUTES)


def test_ob2_routes_are_public_reads_and_a_private_credential_keeps_its_proof_only(
    app: Flask, client: FlaskClient, two_issuers
) -> None:
    values = two_issuers["values"]
    credential = db.session.get(IssuedCredential, values["credential_id"])
    assert credential is not None
    filled = {
        endpoint: path.format(
            credential_id=credential.id, public_id=values["public_id"], slug=two_issuers["b"].slug
        )
        for endpoint, (path, _) in OB2_ROUTES.items()
    }
    before = state(two_issuers["b"].id)
    for path in filled.values():
        assert client.get(path, base_url=BASE_URL).status_code == 200, path
        assert client.post(path, base_url=BASE_URL).status_code == 405, path
    visibility.set_private(credential, True, actor=Actor(label="test"), env=service_env())
    for endpoint, (_, private_status) in OB2_ROUTES.items():
        response = client.get(filled[endpoint], base_url=BASE_URL)
        assert response.status_code == private_status, filled[endpoint]
    events, credentials = state(two_issuers["b"].id)
    assert credentials == before[1] and events == before[0] + 1  # the visibility change only


# --- Wallets (issue 13): the owner's "Add to a wallet" and the exchange a wallet posts to ---------

#: Every wallet route, by endpoint: who may use it. The backpack's page is in EDUCATOR_ROUTES.
WALLET_ROUTES = {
    "educator.credential_wallet": "the signed-in holder (EDUCATOR_ROUTES)",
    "public.manage_wallet": "whoever holds a working manage link of that credential",
    "public.vcapi_exchange": "whoever holds the exchange's secret URL (a wallet app)",
}


def test_every_wallet_route_has_a_row(app: Flask) -> None:
    rules = app.url_map.iter_rules()
    found = {r.endpoint for r in rules if "wallet" in r.endpoint or "wallet" in r.rule}
    # The OpenID offer pages (…/wallet/openid) have their rows with the oid4vci routes above.
    assert {e for e in found if not e.startswith("oid4vci.")} == set(WALLET_ROUTES)


def test_the_manage_links_wallet_page_needs_that_credentials_working_link(
    app: Flask, client: FlaskClient, holder_and_stranger, make_award
) -> None:
    credential = holder_and_stranger["credential"]
    other = make_award(
        credential.issuer, credential.achievement_version.achievement, "other@h.example.org"
    )
    token = visibility.issue_manage_link(credential, service_env()).rsplit("/", 1)[1]
    other_token = visibility.issue_manage_link(other, service_env()).rsplit("/", 1)[1]
    db.session.commit()
    page = client.get(f"/credentials/{credential.id}/manage/{token}/wallet", base_url=BASE_URL)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert csrf
    before = link_state()
    for path in (
        f"/credentials/{credential.id}/manage/{other_token}/wallet",  # another credential's link
        f"/credentials/{credential.id}/manage/{'A' * 43}/wallet",  # no such link
        f"/credentials/{other.id}/manage/{token}/wallet",
    ):
        assert client.get(path, base_url=BASE_URL).status_code == 404, path
        response = client.post(path, data={"csrf_token": csrf.group(1)}, base_url=BASE_URL)
        assert response.status_code == 404, path
    assert link_state() == before
    visibility.revoke_manage_links(credential, actor=Actor(label="test"), env=service_env())
    path = f"/credentials/{credential.id}/manage/{token}/wallet"
    assert (
        client.post(path, data={"csrf_token": csrf.group(1)}, base_url=BASE_URL).status_code == 410
    )
    assert link_state()[4] == before[4]
    # Without the CSRF token, nothing opens even with a working link.
    fresh = visibility.issue_manage_link(credential, service_env()).rsplit("/", 1)[1]
    db.session.commit()
    path = f"/credentials/{credential.id}/manage/{fresh}/wallet"
    assert client.post(path, base_url=BASE_URL).status_code == 400
    assert link_state()[4] == before[4]


def test_an_exchange_url_opens_only_its_own_exchange(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    from app.services.wallets import vcapi

    opened = vcapi.open_exchange(holder_and_stranger["credential"], actor=Actor(label="test"),
                                 env=service_env())  # fmt: skip
    token = opened.url.rsplit("/", 1)[1]
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), opened.exchange.id, "x"):
        response = client.post(f"/wallets/vcapi/exchanges/{guess}", json={}, base_url=BASE_URL)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    answer = client.post(f"/wallets/vcapi/exchanges/{token}", json={}, base_url=BASE_URL)
    assert answer.status_code == 200 and "verifiablePresentationRequest" in answer.get_json()


# --- Staged assessment: the least role each route needs, checked for every role of issuer B ---

#: (endpoint, method, least role): a stage route added later without a row here fails
#: ``test_every_stage_route_has_a_row``.
STAGE_ROUTES = [
    ("workspace.assessment_stages", "GET", "editor"),
    ("workspace.assessment_stages", "POST", "editor"),
    ("workspace.decide_stage", "POST", "awarder"),
    ("workspace.release_referral", "POST", "awarder"),
]


def test_every_stage_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in workspace_rules(app)
        if "stage" in r.endpoint or "referral" in r.endpoint
        for method in r.methods & {"GET", "POST"}
    }
    assert found == {(endpoint, method) for endpoint, method, _ in STAGE_ROUTES}


@pytest.mark.parametrize("role", ["viewer", "awarder", "editor", "owner"])
def test_stage_routes_by_role(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount], role: str
) -> None:
    from app.models import ROLES

    member = make_staff(f"{role}@b.example.org", name=f"Member {role}")
    staff.set_role(two_issuers["b"], member, role, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, member)
    page = client.get(f"/workspace/{two_issuers['b'].slug}/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for endpoint, method, least in STAGE_ROUTES:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        path = build(rule, two_issuers["values"])
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        allowed = ROLES.index(role) <= ROLES.index(least)
        if allowed:
            # Let in: the page, a redirect, or a refusal of the empty form (never a 500).
            assert response.status_code in (200, 303, 400, 409), f"{method} {path} as {role}"
        else:
            assert response.status_code == 403, f"{method} {path} as {role}"


# --- Credit rules (editors and owners) and progress toward renewal (the educator's own) ---------


def test_credit_rules_are_for_editors_and_owners_of_that_issuer(
    app: Flask, client: FlaskClient, two_issuers, make_staff
) -> None:
    awarder = make_staff("awarder@b.example.org", name="Al Awarder")
    staff.set_role(
        two_issuers["b"], awarder, "awarder", actor=Actor(label="test"), env=service_env()
    )
    sign_in(client, app, awarder)
    slug, rule_id = two_issuers["b"].slug, two_issuers["values"]["rule_id"]
    for path in (f"/workspace/{slug}/credit-rules", f"/workspace/{slug}/credit-rules/new",
                 f"/workspace/{slug}/credit-rules/{rule_id}"):  # fmt: skip
        assert client.get(path, base_url=BASE_URL).status_code == 403, path
    # A rule is found only in its own organisation's workspace.
    sign_in(client, app, two_issuers["alice"])
    a = two_issuers["a"].slug
    assert (
        client.get(f"/workspace/{a}/credit-rules/{rule_id}", base_url=BASE_URL).status_code == 404
    )


def test_progress_toward_renewal_is_the_holders_own(
    app: Flask, client: FlaskClient, holder_and_stranger
) -> None:
    response = client.get("/me/renewal", base_url=BASE_URL)
    assert response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]
    issuer = db.session.get(IssuedCredential, holder_and_stranger["credential"].id).issuer
    credit_rules.create(issuer, load_credit_rule({"name": "H renewal", "cycle_years": 5,
                        "cycle_start": "2025-07-01", "hours_required": 50}),
                        actor=Actor(label="test"), env=service_env())  # fmt: skip
    sign_in_educator(client, holder_and_stranger["stranger"])
    page = client.get("/me/renewal", base_url=BASE_URL).get_data(as_text=True)
    assert "H renewal" not in page and "H&#39;s badge" not in page and "No renewal rules" in page
    sign_in_educator(client, holder_and_stranger["holder"])
    page = client.get("/me/renewal", base_url=BASE_URL).get_data(as_text=True)
    assert "H renewal" in page


# --- Renewal statements: the educator's own, staff of the organisation (awarders and above),
# and the public page its QR code leads to ---------------------------------------------------

#: (endpoint, method, who may use it): a statement route added later without a row here fails
#: ``test_every_statement_route_has_a_row``.
STATEMENT_ROUTES = [
    ("educator.renewal_statement", "POST", "the educator (their own rules only)"),
    ("workspace.renewal_statements", "GET", "awarders of that organisation"),
    ("workspace.renewal_statements", "POST", "awarders of that organisation"),
    ("public.statement", "GET", "anyone with the link"),
    ("public.statement_json", "GET", "anyone with the link"),
    ("public.statement_file", "GET", "anyone with the link"),
]


def test_every_statement_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in app.url_map.iter_rules()
        if "statement" in r.endpoint
        for method in r.methods & {"GET", "POST"}
    }
    assert found == {(endpoint, method) for endpoint, method, _ in STATEMENT_ROUTES}


def _statement_count() -> int:
    from app.models import RenewalStatement

    return db.session.scalar(select(func.count()).select_from(RenewalStatement)) or 0


def _csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path, base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, path
    return token.group(1)


def test_a_renewal_statement_is_made_by_its_educator_or_that_organisations_staff(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount]
) -> None:
    # The fixture's shared learning plan made the holder's account already.
    holder = educators.find_by_email("holder@b.example.org") or make_educator(
        "holder@b.example.org"
    )
    stranger = make_educator("stranger@b.example.org")
    rule_id = two_issuers["values"]["rule_id"]
    today = service_env().now.date()
    period = {"from": today.replace(month=1, day=1).isoformat(), "to": today.isoformat()}
    # Anonymous: sent to sign in, nothing made.
    response = client.post("/me/renewal/statement", data={"rule": rule_id, **period},
                           base_url=BASE_URL)  # fmt: skip
    assert response.status_code in (302, 303, 400), response.status_code
    assert _statement_count() == 0
    anonymous = client.get(f"/workspace/{two_issuers['b'].slug}/statements", base_url=BASE_URL)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # Another educator: B's rules are not theirs (B awarded them nothing).
    sign_in_educator(client, stranger)
    form = {"csrf_token": _csrf(client, "/me/renewal"), "rule": rule_id, **period}
    assert client.post("/me/renewal/statement", data=form, base_url=BASE_URL).status_code == 404
    assert _statement_count() == 0
    # The holder: made, and shown where it is verified.
    sign_in_educator(client, holder)
    form["csrf_token"] = _csrf(client, "/me/renewal")
    made = client.post("/me/renewal/statement", data=form, base_url=BASE_URL)
    assert made.status_code == 303 and "/statements/" in made.headers["Location"]
    assert _statement_count() == 1
    # Staff of another organisation: 404, nothing made (the generic workspace tests cover the
    # rest); a viewer of B: 403; an awarder of B: made, and audited.
    sign_in(client, app, two_issuers["alice"])
    b_path = f"/workspace/{two_issuers['b'].slug}/statements"
    assert client.get(b_path, base_url=BASE_URL).status_code == 404
    a_path = f"/workspace/{two_issuers['a'].slug}/statements"
    staff_form = {"csrf_token": _csrf(client, a_path), "email": "holder@b.example.org", **period}
    refused = client.post(a_path, data=staff_form, base_url=BASE_URL)
    # A's own form: A has awarded the holder nothing, so there is nothing of B's to state.
    assert refused.status_code == 400 and "B&#39;s badge" not in refused.get_data(as_text=True)
    assert client.post(b_path, data=staff_form, base_url=BASE_URL).status_code == 404
    assert _statement_count() == 1
    viewer = make_staff("viewer@b.example.org", name="Vera Viewer")
    staff.set_role(two_issuers["b"], viewer, "viewer", actor=Actor(label="test"), env=service_env())
    awarder = make_staff("awarder@b.example.org", name="Al Awarder")
    staff.set_role(
        two_issuers["b"], awarder, "awarder", actor=Actor(label="test"), env=service_env()
    )
    sign_in(client, app, viewer)
    assert client.get(b_path, base_url=BASE_URL).status_code == 403
    sign_in(client, app, awarder)
    staff_form["csrf_token"] = _csrf(client, b_path)
    by_staff = client.post(b_path, data=staff_form, base_url=BASE_URL)
    assert by_staff.status_code == 303 and _statement_count() == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "renewal_statement.create")) == 1  # fmt: skip
    # Anyone with the link reads it (page, JSON, PDF); a made-up id finds nothing.
    client.get("/logout", base_url=BASE_URL)
    link = made.headers["Location"]
    fresh = app.test_client()
    assert fresh.get(link, base_url=BASE_URL).status_code == 200
    assert fresh.get(f"{link}/statement.json", base_url=BASE_URL).status_code == 200
    assert fresh.get(f"{link}/statement.pdf", base_url=BASE_URL).status_code == 200
    assert fresh.get("/statements/" + "0" * 36, base_url=BASE_URL).status_code == 404


# --- Learning plans (issue 15): the educator's own plan, the organisation's staff, the showcase ---

#: Every learning-plan route, by endpoint: who may use it. ``educator``: the plan's own educator
#: (anyone else 404); a role: staff of the plan's organisation with at least that role (less:
#: 403; another organisation's staff: 404); ``anyone``: the public showcase.
PLAN_ROUTES = {
    ("educator.plans", "GET"): "educator",
    ("educator.plans", "POST"): "educator",
    ("educator.plan", "GET"): "educator",
    ("educator.plan_vision", "GET"): "educator",
    ("educator.plan_vision", "POST"): "educator",
    ("educator.new_plan_goal", "GET"): "educator",
    ("educator.new_plan_goal", "POST"): "educator",
    ("educator.plan_goal", "GET"): "educator",
    ("educator.plan_goal", "POST"): "educator",
    ("educator.delete_plan_goal", "POST"): "educator",
    ("educator.add_plan_reflection", "POST"): "educator",
    ("educator.plan_reflection_sharing", "POST"): "educator",
    ("educator.delete_plan_reflection", "POST"): "educator",
    ("educator.share_plan", "POST"): "educator",
    ("educator.plan_showcase", "GET"): "educator",
    ("educator.plan_showcase", "POST"): "educator",
    ("educator.plan_pdf", "GET"): "educator",
    ("educator.plan_completion", "POST"): "educator",
    ("educator.delete_plan", "POST"): "educator",
    ("workspace.plans", "GET"): "viewer",
    ("workspace.plan", "GET"): "viewer",
    ("workspace.plan_comment", "POST"): "awarder",
    ("workspace.approve_plan", "POST"): "awarder",
    ("workspace.decline_plan", "POST"): "awarder",
    ("workspace.plan_settings", "GET"): "editor",
    ("workspace.plan_settings", "POST"): "editor",
    ("public.showcase", "GET"): "anyone",
}
# Learning plans' endpoints (coaching plans have rows of their own below).
PLAN_ENDPOINT = re.compile(
    r"^(educator\.(?!.*coaching)(.*plan.*)|workspace\.(?!.*coaching)(.*plan.*)|public\.showcase)$"
)


def test_every_plan_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in app.url_map.iter_rules()
        if PLAN_ENDPOINT.match(r.endpoint)
        for method in r.methods & {"GET", "POST"}
    }
    assert found == set(PLAN_ROUTES) | {(e, m) for e, m, _, _ in LEADER_PLAN_ROUTES
                                        if PLAN_ENDPOINT.match(e)}  # fmt: skip


@pytest.fixture
def plan_world(app: Flask, two_issuers: dict[str, Any]) -> dict[str, Any]:
    """B's shared plan (in ``two_issuers``) with a private and a shared reflection, a goal, and
    a published showcase showing the shared one only; the URL values of every plan route."""
    from app.models import LearningPlan
    from app.services.learning import plans

    env = service_env()
    plan = db.session.scalar(
        select(LearningPlan).where(LearningPlan.public_id == two_issuers["values"]["plan_id"])
    )
    assert plan is not None
    private = plans.add_reflection(plan, {"body": "PRIVATE-DOUBTS", "written_on": env.now.date(),
                                   "goal": None, "shared": False}, env)  # fmt: skip
    shared = plans.add_reflection(plan, {"body": "SHARED-INSIGHT", "written_on": env.now.date(),
                                  "goal": None, "shared": True}, env)  # fmt: skip
    plans.update_vision(plan, {"vision": "A vision", "research_question": ""}, env)
    planner = db.session.get(Educator, plan.educator_id)
    plans.save_showcase(plan, planner, {"intro": "", "items": [], "credentials": [],
                        "reflections": [shared.id]}, env)  # fmt: skip
    slug = plans.publish_showcase(plan, planner, env)
    values = {
        "plan_id": plan.public_id, "goal_id": plan.goals[0].id, "reflection_id": private.id,
        "slug": slug,
    }  # fmt: skip
    return {"plan": plan, "planner": planner, "private": private, "shared": shared,
            "showcase_slug": slug, "values": values}  # fmt: skip


def plan_state() -> tuple[Any, ...]:
    """What a plan route could change."""
    from app.models import LearningPlan, PlanComment, PlanGoal, PlanReflection

    rows = db.session.execute(select(LearningPlan.vision, LearningPlan.shared_at, LearningPlan.completion_state,
                                     LearningPlan.showcase_published_at).order_by(LearningPlan.id)).all()  # fmt: skip
    goals = db.session.execute(select(PlanGoal.title).order_by(PlanGoal.id)).all()
    reflections = db.session.execute(
        select(PlanReflection.body, PlanReflection.shared).order_by(PlanReflection.id)
    ).all()
    comments = db.session.scalar(select(func.count()).select_from(PlanComment))
    return tuple(rows), tuple(goals), tuple(reflections), comments


def plan_path(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return build(rule, values)


def csrf_of(client: FlaskClient, path: str) -> str:
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get(path, base_url=BASE_URL).get_data(as_text=True),
    )
    assert token, path
    return token.group(1)


def test_another_educator_gets_404_on_every_plan_route(
    app: Flask, client: FlaskClient, plan_world
) -> None:
    stranger = make_educator("stranger@b.example.org", "Stan Stranger")
    sign_in_educator(client, stranger)
    token = csrf_of(client, "/me/plans")
    before = plan_state()
    for (endpoint, method), who in PLAN_ROUTES.items():
        if who != "educator" or endpoint == "educator.plans":
            continue
        path = plan_path(app, endpoint, plan_world["values"])
        response = client.open(path, method=method, data={"csrf_token": token, "confirmed": "1", "shared": "1",
                               "body": "x", "written_on": "2026-12-01", "title": "x", "vision": "x",
                               "action": "publish"}, base_url=BASE_URL)  # fmt: skip
        assert response.status_code == 404, f"{method} {path} -> {response.status_code}"
        assert "PRIVATE-DOUBTS" not in response.get_data(as_text=True)
    # Their own list shows none of it.
    page = client.get("/me/plans", base_url=BASE_URL).get_data(as_text=True)
    assert plan_world["plan"].public_id not in page
    assert plan_state() == before


def test_anonymous_visitors_and_staff_are_sent_to_educator_sign_in(app: Flask, client: FlaskClient, two_issuers,
                                                                   plan_world) -> None:  # fmt: skip
    before = plan_state()
    for signed_in in (False, True):
        if signed_in:  # B's owner is staff, not the educator: the educator side does not know them
            sign_in(client, app, two_issuers["bob"])
        for (endpoint, method), who in PLAN_ROUTES.items():
            if who != "educator" or method != "GET":
                continue
            path = plan_path(app, endpoint, plan_world["values"])
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code in (302, 303), f"GET {path} -> {response.status_code}"
            assert "/me/sign-in" in response.headers["Location"]
    assert plan_state() == before


def test_the_educator_may_use_every_plan_route(app: Flask, client: FlaskClient, plan_world) -> None:
    sign_in_educator(client, plan_world["planner"])
    token = csrf_of(client, "/me/plans")
    for (endpoint, method), who in PLAN_ROUTES.items():
        if who != "educator" or endpoint in ("educator.delete_plan", "educator.delete_plan_goal",
                                             "educator.delete_plan_reflection"):  # fmt: skip
            continue
        path = plan_path(app, endpoint, plan_world["values"])
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 200, f"GET {path} -> {response.status_code}"
        else:
            response = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
            # A redirect, or the form again with what is missing (never a 500).
            assert response.status_code in (200, 303, 400, 409), (
                f"POST {path} -> {response.status_code}"
            )
    pdf = client.get(plan_path(app, "educator.plan_pdf", plan_world["values"]), base_url=BASE_URL)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # Deleting asks first, then deletes (the reflection, then the goal, then the plan).
    for endpoint in (
        "educator.delete_plan_reflection",
        "educator.delete_plan_goal",
        "educator.delete_plan",
    ):
        path = plan_path(app, endpoint, plan_world["values"])
        asked = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
        assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
        done = client.post(path, data={"csrf_token": token, "confirmed": "1"}, base_url=BASE_URL)
        assert done.status_code == 303, endpoint
    from app.models import LearningPlan

    assert db.session.scalar(select(func.count()).select_from(LearningPlan)) == 0


@pytest.mark.parametrize("role", ["viewer", "awarder", "editor", "owner"])
def test_plan_workspace_routes_by_role(app: Flask, client: FlaskClient, two_issuers, plan_world,
                                       make_staff: Callable[..., StaffAccount], role: str) -> None:  # fmt: skip
    from app.models import ROLES

    member = make_staff(f"{role}@b.example.org", name=f"Member {role}")
    staff.set_role(two_issuers["b"], member, role, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, member)
    token = csrf_of(client, f"/workspace/{two_issuers['b'].slug}/")
    values = {**two_issuers["values"], **plan_world["values"], "slug": two_issuers["b"].slug}
    for (endpoint, method), least in PLAN_ROUTES.items():
        if not endpoint.startswith("workspace."):
            continue
        path = plan_path(app, endpoint, values)
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
        if ROLES.index(role) <= ROLES.index(least):
            # Let in: the page, a redirect, or a refusal of the empty form (never a 500).
            assert response.status_code in (200, 303, 400, 409), f"{method} {path} as {role}"
        else:
            assert response.status_code == 403, f"{method} {path} as {role}"
        if response.status_code == 200 and endpoint == "workspace.plan":
            page = response.get_data(as_text=True)
            # Staff see the shared reflection and never the private one.
            assert "SHARED-INSIGHT" in page and "PRIVATE-DOUBTS" not in page


def test_plan_workspace_routes_refuse_other_organisations_and_anonymous(app: Flask, client: FlaskClient, two_issuers,
                                                                        plan_world) -> None:  # fmt: skip
    values = {**two_issuers["values"], **plan_world["values"], "slug": two_issuers["b"].slug}
    before = plan_state()
    for (endpoint, method), _ in PLAN_ROUTES.items():
        if endpoint.startswith("workspace.") and method == "GET":
            response = client.get(plan_path(app, endpoint, values), base_url=BASE_URL)
            assert response.status_code == 302 and "/login" in response.headers["Location"]
    sign_in(client, app, two_issuers["alice"])
    token = csrf_of(client, f"/workspace/{two_issuers['a'].slug}/")
    for (endpoint, method), _ in PLAN_ROUTES.items():
        if not endpoint.startswith("workspace."):
            continue
        # B's plan, in B's workspace and in A's own (where it is not shared): 404 both.
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        # A's own plan pages are A's; B's plan named in A's workspace is not shared with A.
        slugs = [two_issuers["b"].slug] + (
            [two_issuers["a"].slug] if "plan_id" in rule.arguments else []
        )
        for slug in slugs:
            path = plan_path(app, endpoint, {**values, "slug": slug})
            response = client.open(path, method=method, data={"csrf_token": token, "body": "x", "reason": "x"},
                                   base_url=BASE_URL)  # fmt: skip
            assert response.status_code == 404, f"{method} {path} -> {response.status_code}"
            assert "SHARED-INSIGHT" not in response.get_data(as_text=True)
    assert plan_state() == before


def test_a_plan_not_shared_is_invisible_to_its_organisation(app: Flask, client: FlaskClient, two_issuers,
                                                            plan_world) -> None:  # fmt: skip
    from app.services.learning import plans

    plans.set_shared(plan_world["plan"], False, service_env())
    sign_in(client, app, two_issuers["bob"])
    slug = two_issuers["b"].slug
    path = f"/workspace/{slug}/plans/{plan_world['plan'].public_id}"
    assert client.get(path, base_url=BASE_URL).status_code == 404
    token = csrf_of(client, f"/workspace/{slug}/")
    before = plan_state()
    assert (
        client.post(
            f"{path}/comments", data={"csrf_token": token, "body": "Hi"}, base_url=BASE_URL
        ).status_code
        == 404
    )
    assert plan_state() == before
    listing = client.get(f"/workspace/{slug}/plans", base_url=BASE_URL).get_data(as_text=True)
    assert "Hana Holder" not in listing


def test_the_showcase_is_public_and_shows_only_what_was_selected(
    app: Flask, client: FlaskClient, plan_world
) -> None:
    from app.services.learning import plans

    path = f"/showcase/{plan_world['showcase_slug']}"
    response = client.get(path, base_url=BASE_URL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SHARED-INSIGHT" in page and "PRIVATE-DOUBTS" not in page
    assert (
        'property="og:title"' in page
        and 'property="og:image"' in page
        and 'property="og:description"' in page
    )
    assert client.post(path, base_url=BASE_URL).status_code == 405
    # A guessed address, and the plan's own id, answer 404.
    assert (
        client.get(f"/showcase/{plan_world['plan'].public_id}", base_url=BASE_URL).status_code
        == 404
    )
    plans.unpublish_showcase(plan_world["plan"], service_env())
    assert client.get(path, base_url=BASE_URL).status_code == 404


# --- Coaching (issue 15): plans, sessions, reports, settings; the educator's coaching pages ----


def coaching_values(issuer: Any, coach: StaffAccount) -> dict[str, Any]:
    """A coaching plan of ``issuer`` coached by ``coach`` for the holder of its credential,
    with one logged session: the URL values of the coaching routes."""
    from app.services.learning import coaching, coaching_sessions
    from app.services.learning.coaching import PlanInput
    from app.services.learning.coaching_sessions import SessionInput

    env = service_env()
    focus = coaching.types_for(issuer, env)[0]
    plan = coaching.create_plan(issuer, PlanInput(team_name="B's team", coach=str(coach.id),
                                coaching_type=str(focus.id), face_to_face="2",
                                educators=("holder@b.example.org",)), actor=Actor(coach), env=env)  # fmt: skip
    participant = plan.participants[0]
    session = coaching_sessions.log_session(plan, coach, SessionInput(
        held_on=env.now.date().isoformat(), mode="virtual", participants=(str(participant.id),)),
        actor=Actor(coach), env=env)  # fmt: skip
    return {"coaching_plan_id": plan.public_id, "session_id": session.public_id, "type_id": focus.id,
            "participant_id": participant.id}  # fmt: skip


#: (endpoint, method, who is let in) for every coaching route. Staff: ``owner`` (an editor of
#: the organisation, named nowhere on the plan), ``coach``, ``school_leader`` (leads the plan's
#: school, named on it: full reports), ``district_leader`` (leads the whole organisation, named
#: on it: summaries), ``other_leader`` (leads another school). Educators: ``ann`` (on the plan),
#: ``sue`` (not). ``stranger`` is staff of another organisation; ``anonymous`` nobody.
STAFF_OF_D = {"owner", "coach", "school_leader", "district_leader", "other_leader"}
EDUCATORS = {"ann", "sue"}
COACHING_ROUTES = [
    ("workspace.coaching_plans", "GET", STAFF_OF_D),
    ("workspace.coaching_settings", "GET", {"owner"}),
    ("workspace.add_coaching_type", "POST", {"owner"}),
    ("workspace.edit_coaching_type", "POST", {"owner"}),
    ("workspace.set_recognition_rule", "POST", {"owner"}),
    ("workspace.remove_recognition_rule", "POST", {"owner"}),
    ("workspace.new_coaching_plan", "GET", {"owner"}),
    ("workspace.new_coaching_plan", "POST", {"owner"}),
    ("workspace.coaching_plan", "GET", {"owner", "coach", "school_leader", "district_leader"}),
    ("workspace.edit_coaching_plan", "GET", {"owner"}),
    ("workspace.edit_coaching_plan", "POST", {"owner"}),
    ("workspace.log_coaching_session", "GET", {"coach"}),
    ("workspace.log_coaching_session", "POST", {"coach"}),
    ("workspace.edit_coaching_session", "GET", {"coach"}),
    ("workspace.edit_coaching_session", "POST", {"coach"}),
    ("workspace.coaching_report", "GET", {"coach", "school_leader", "district_leader"}),
    ("workspace.confirm_coaching_evidence", "POST", {"coach"}),
    ("educator.coaching_page", "GET", EDUCATORS),
    ("educator.answer_coaching_session", "POST", {"ann"}),
    ("educator.coaching_evidence", "POST", {"ann"}),
    ("educator.partnerships", "GET", EDUCATORS),
]
COACHING_ACTORS = sorted(STAFF_OF_D | EDUCATORS | {"stranger", "anonymous"})


def coaching_rules(app: Flask) -> set[tuple[str, str]]:
    return {
        (r.endpoint, method)
        for r in app.url_map.iter_rules()
        if any(word in r.endpoint for word in ("coaching", "recognition", "partnerships"))
        for method in r.methods & {"GET", "POST"}
    }


def test_every_coaching_route_has_a_row(app: Flask) -> None:
    assert coaching_rules(app) == {(endpoint, method) for endpoint, method, _ in COACHING_ROUTES}


@pytest.fixture
def coaching_district(app, make_staff, make_issuer, make_achievement) -> dict[str, Any]:
    from tests.app.coaching_helpers import district, log

    d = district(make_staff, make_issuer, make_achievement)
    session = log(d)
    stranger = make_staff("stranger@elsewhere.example.org", name="Stan Stranger")
    elsewhere = make_issuer("Elsewhere", owner=stranger)
    participant = d.plan.participants[0]
    values = {"slug": d.issuer.slug, "coaching_plan_id": d.plan.public_id, "session_id": session.public_id,
              "participant_id": participant.id, "public_id": d.cycle_badge.public_id,
              "type_id": coaching_type_id(d.issuer)}  # fmt: skip
    people = {"owner": d.owner, "coach": d.coach, "school_leader": d.school_leader,
              "district_leader": d.district_leader, "other_leader": d.other_leader,
              "ann": d.ann, "sue": d.outsider, "stranger": stranger}  # fmt: skip
    return {"d": d, "values": values, "people": people, "elsewhere": elsewhere}


def coaching_type_id(issuer: Any) -> int:
    from app.services.learning import coaching

    return coaching.types_for(issuer, service_env())[0].id


def coaching_state(issuer_id: int) -> tuple[Any, ...]:
    from app.models import CoachingAttendance, CoachingParticipant, CoachingPlan, CoachingSession

    plans = db.session.execute(select(CoachingPlan.updated_at).order_by(CoachingPlan.id)).all()
    sessions = db.session.execute(select(CoachingSession.updated_at)).all()
    answers = db.session.execute(select(CoachingAttendance.state)).all()
    evidence = db.session.execute(select(CoachingParticipant.evidence_added_at,
                                         CoachingParticipant.evidence_confirmed_at)).all()  # fmt: skip
    return state(issuer_id), tuple(plans), tuple(sessions), tuple(answers), tuple(evidence)


@pytest.mark.parametrize("who", COACHING_ACTORS)
def test_coaching_routes_by_who_is_asking(app: Flask, client: FlaskClient, coaching_district,
                                          who: str) -> None:  # fmt: skip
    found = coaching_district
    d = found["d"]
    token = None
    if who in EDUCATORS:
        sign_in_educator(client, found["people"][who])
        page = client.get("/me/", base_url=BASE_URL)
    elif who != "anonymous":
        sign_in(client, app, found["people"][who])
        slug = found["elsewhere"].slug if who == "stranger" else d.issuer.slug
        page = client.get(f"/workspace/{slug}/", base_url=BASE_URL)
    if who != "anonymous":
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert match
        token = match.group(1)
    for endpoint, method, allowed in COACHING_ROUTES:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        path = build(rule, found["values"])
        before = coaching_state(d.issuer.id)
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token or ""}, base_url=BASE_URL)
        code = response.status_code
        where = f"{method} {path} as {who}"
        if who in allowed:
            # Let in: the page, a redirect, or a refusal of the empty form (never a 500).
            assert code in (200, 302, 303, 400, 409), f"{where} -> {code}"
            continue
        if endpoint.startswith("educator.") and who not in EDUCATORS and code != 400:
            # Staff and visitors are not signed in as an educator: sent to that sign-in.
            assert code in (302, 303) and "/me/sign-in" in response.headers["Location"], where
        elif who == "anonymous":
            # Sent to sign in (a GET), or refused for the missing CSRF token (a POST).
            assert code in (302, 303, 400), f"{where} -> {code}"
            if code != 400:
                sign_in_page = "/me/sign-in" if endpoint.startswith("educator.") else "/login"
                assert sign_in_page in response.headers["Location"], where
        elif who == "stranger":
            # Another organisation's workspace: 404, as if it did not exist.
            assert code == 404 and "District 7" not in response.get_data(as_text=True), where
        elif who in EDUCATORS:
            if endpoint.startswith("workspace."):
                assert code == 302 and "/login" in response.headers["Location"], where
            else:
                assert code == 404, f"{where} -> {code}"  # not their session or plan
        else:
            assert code == 403, f"{where} -> {code}"
        assert coaching_state(d.issuer.id) == before, f"{where} changed something"


def test_what_each_reader_sees_of_a_session(app: Flask, client: FlaskClient,
                                            coaching_district) -> None:  # fmt: skip
    from tests.app.coaching_helpers import PRIVATE_NOTE

    found = coaching_district
    values, people = found["values"], found["people"]
    report = ("/workspace/{slug}/coaching/plans/{coaching_plan_id}/sessions/{session_id}/report"
              .format(**values))  # fmt: skip
    plan = "/workspace/{slug}/coaching/plans/{coaching_plan_id}".format(**values)
    notes = "Modelled think-alouds"
    for who, shows_notes in (("school_leader", True), ("district_leader", False), ("coach", True)):
        sign_in(client, app, people[who])
        page = client.get(report, base_url=BASE_URL).get_data(as_text=True)
        assert PRIVATE_NOTE not in page, who
        assert (notes in page) is shows_notes, who
        assert "twice this week" in page, who
    # The plan page: the private notes for the coach alone.
    for who in ("owner", "school_leader", "district_leader"):
        sign_in(client, app, people[who])
        assert PRIVATE_NOTE not in client.get(plan, base_url=BASE_URL).get_data(as_text=True), who
    sign_in(client, app, people["coach"])
    assert PRIVATE_NOTE in client.get(plan, base_url=BASE_URL).get_data(as_text=True)
    # The educators: Ann sees her session (never the private notes), Sue nothing of it.
    sign_in_educator(client, people["ann"])
    mine = client.get("/me/coaching", base_url=BASE_URL).get_data(as_text=True)
    assert "Guided reading" in mine and PRIVATE_NOTE not in mine
    sign_in_educator(client, people["sue"])
    theirs = client.get("/me/coaching", base_url=BASE_URL).get_data(as_text=True)
    assert "Guided reading" not in theirs and "No coaching yet" in theirs


def test_a_district_leader_not_named_on_the_plan_reads_no_report(
    app: Flask, client: FlaskClient, coaching_district, make_staff
) -> None:
    from app.services.org import schools

    d = coaching_district["d"]
    unnamed = make_staff("deputy@d7.example.org", name="Dee Deputy")
    staff.set_role(d.issuer, unnamed, "viewer", actor=Actor(label="test"), env=service_env())
    schools.appoint(d.issuer, unnamed, None, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, unnamed)
    values = coaching_district["values"]
    for path in ("/workspace/{slug}/coaching/plans/{coaching_plan_id}",
                 "/workspace/{slug}/coaching/plans/{coaching_plan_id}/sessions/{session_id}/report"):  # fmt: skip
        assert client.get(path.format(**values), base_url=BASE_URL).status_code == 403, path


# --- Self-directed learning (requests for credit; awarders decide, editors set the achievement)
# --- and the hours report (viewers and up) ------------------------------------------------------

#: (endpoint, method, the least role) of every staff route of these features.
LEARNING_STAFF_ROUTES = [
    ("workspace.learning_request", "GET", "awarder"),
    ("workspace.decide_learning_request", "POST", "awarder"),
    ("workspace.learning_request_file", "GET", "awarder"),
    ("workspace.self_directed_setting", "GET", "editor"),
    ("workspace.self_directed_setting", "POST", "editor"),
    ("workspace.hours_report", "GET", "viewer"),
    ("workspace.hours_report_csv", "GET", "viewer"),
]
#: (endpoint, method) of every educator route of self-directed learning; ``own`` routes act on
#: one request (another educator gets 404), the others are every educator's own lists and forms.
LEARNING_EDUCATOR_ROUTES = [
    ("educator.learning_requests", "GET", False),
    ("educator.new_learning_request", "GET", False),
    ("educator.new_learning_request", "POST", False),
    ("educator.learning_request", "GET", True),
    ("educator.learning_request", "POST", True),
    ("educator.learning_file", "GET", True),
    # In this order for the learner: withdrawn, a file removed, then the request deleted.
    ("educator.withdraw_learning_request", "POST", True),
    ("educator.remove_learning_file", "POST", True),
    ("educator.delete_learning_request", "POST", True),
]
LEARNING_ENDPOINT = re.compile(r"(learning_request|learning_file|self_directed|hours_report)")


def learning_request_of(issuer: Any, make_achievement: Any, make_award: Any, owner: Any) -> Any:
    """A request for credit (with an evidence file) from an educator of ``issuer``, waiting in
    its review queue; the issuer awards such credit as an achievement of its own."""
    from app.services.learning import self_directed
    from app.services.learning.self_directed import Upload
    from schemas.self_directed import load_learning_request

    env = service_env()
    chosen = make_achievement(issuer, f"{issuer.name} self-directed learning")
    self_directed.set_achievement(issuer, chosen.public_id, actor=Actor(owner), env=env)
    email = f"learner@{issuer.slug}.example.org"
    educator = make_educator(email)
    make_award(issuer, chosen, email)
    data = load_learning_request({"organisation": issuer.slug, "kind": "webinar", "title": "Webinar",
                                  "started_on": "2026-03-01", "hours": "2"})  # fmt: skip
    found = self_directed.create(educator, data, env, upload=Upload(PDF, "notes.pdf", 10**6))
    return self_directed.submit(found, educator, env)


def test_every_learning_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in app.url_map.iter_rules()
        if LEARNING_ENDPOINT.search(r.endpoint)
        for method in r.methods & {"GET", "POST"}
    }
    rows = {(e, m) for e, m, _ in LEARNING_STAFF_ROUTES} | {
        (e, m) for e, m, _ in LEARNING_EDUCATOR_ROUTES
    }
    assert found == rows


def _token(client: FlaskClient, path: str) -> str:
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get(path, base_url=BASE_URL).get_data(as_text=True),
    )
    assert token, path
    return token.group(1)


def _staff_paths(app: Flask, values: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (method, build(next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint), values),
         least)
        for endpoint, method, least in LEARNING_STAFF_ROUTES
    ]  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "awarder", "editor", "owner"])
def test_learning_staff_routes_by_role(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount], role: str
) -> None:
    from app.models import ROLES

    member = make_staff(f"{role}@b.example.org", name=f"Member {role}")
    staff.set_role(two_issuers["b"], member, role, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, member)
    token = _token(client, f"/workspace/{two_issuers['b'].slug}/")
    for method, path, least in _staff_paths(app, two_issuers["values"]):
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
        if ROLES.index(role) <= ROLES.index(least):
            # The page or file, a redirect, or a refusal of the empty form (never a 500).
            expected = (200,) if method == "GET" else (303, 400)
            assert response.status_code in expected, f"{method} {path} as {role}"
        else:
            assert response.status_code == 403, f"{method} {path} as {role}"


def test_learning_staff_routes_give_outsiders_educators_and_anonymous_nothing(
    app: Flask, client: FlaskClient, two_issuers
) -> None:
    from app.models import LearningRequest

    paths = _staff_paths(app, two_issuers["values"])
    for method, path, _ in paths:  # anonymous: sent to the staff sign-in
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
    # The educator who made the request (and any other) is no staff member: sign-in again.
    educator = db.session.scalar(
        select(LearningRequest).where(
            LearningRequest.public_id == two_issuers["values"]["request_id"]
        )
    )
    assert educator is not None
    from app.models import Educator

    sign_in_educator(client, db.session.get(Educator, educator.educator_id))
    for method, path, _ in paths:
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 302 and "/login" in response.headers["Location"], path
    # Staff of another organisation: 404 everywhere, and nothing decided.
    sign_in(client, app, two_issuers["alice"])
    token = _token(client, f"/workspace/{two_issuers['a'].slug}/")
    for method, path, _ in paths:
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token, "decision": "approve"},
                                   base_url=BASE_URL)  # fmt: skip
        assert response.status_code == 404, f"{method} {path}"
    db.session.expire_all()
    assert db.session.get(LearningRequest, educator.id).state == "submitted"
    # A's own request page for B's request id is 404 too (found only in its organisation).
    a_path = f"/workspace/{two_issuers['a'].slug}/learning-requests/{two_issuers['values']['request_id']}"
    assert client.get(a_path, base_url=BASE_URL).status_code == 404


@pytest.fixture
def learner_and_other(app, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    issuer = make_issuer("Issuer L", slug="issuer-l")
    found = learning_request_of(issuer, make_achievement, make_award, None)
    other = make_educator("other@l.example.org")
    make_award(issuer, make_achievement(issuer, "L's badge"), "other@l.example.org")
    from app.models import Educator

    return {"request": found, "learner": db.session.get(Educator, found.educator_id),
            "other": other, "issuer": issuer}  # fmt: skip


def _educator_paths(app: Flask, found: Any) -> list[tuple[str, str, bool]]:
    values = {"public_id": found.public_id, "file_id": found.files[0].public_id}
    return [
        (method, build(next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint), values),
         own)
        for endpoint, method, own in LEARNING_EDUCATOR_ROUTES
    ]  # fmt: skip


def test_learning_educator_routes_are_the_learners_own(
    app: Flask, client: FlaskClient, learner_and_other
) -> None:
    from app.models import LearningRequest

    paths = _educator_paths(app, learner_and_other["request"])
    for method, path, _ in paths:  # anonymous
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code in (302, 303), path
            assert "/me/sign-in" in response.headers["Location"], path
    sign_in_educator(client, learner_and_other["other"])
    token = _token(client, "/me/")
    for method, path, own in paths:
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
        if own:
            assert response.status_code == 404, f"{method} {path} as another educator"
        else:
            assert response.status_code in (200, 400), f"{method} {path} as another educator"
    found = db.session.get(LearningRequest, learner_and_other["request"].id)
    assert found is not None and found.state == "submitted" and len(found.files) == 1
    sign_in_educator(client, learner_and_other["learner"])
    token = _token(client, "/me/")
    for method, path, _ in paths:
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert response.status_code == 200, f"GET {path} as the learner"
        else:
            response = client.post(path, data={"csrf_token": token}, base_url=BASE_URL)
            assert response.status_code in (303, 400, 409), f"POST {path} as the learner"


def test_staff_signed_in_are_not_educators_on_learning_routes(
    app: Flask, client: FlaskClient, learner_and_other, make_staff
) -> None:
    sign_in(client, app, make_staff("someone@l.example.org"))
    for method, path, _ in _educator_paths(app, learner_and_other["request"]):
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
            assert (
                response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]
            )


# --- Assessor pools (issue 14): pool pages, queues and the leads' figures ----------------------

#: (endpoint, method, least role) for the workspace's assessor routes.
ASSESSOR_ROUTES = [
    ("workspace.assessor_pool", "GET", "editor"),
    ("workspace.assessor_pool_settings", "POST", "editor"),
    ("workspace.assessor_pool_add", "POST", "editor"),
    ("workspace.assessor_pool_invite", "POST", "editor"),
    ("workspace.assessor_pool_member", "POST", "editor"),
    ("workspace.assessor_calibration_add", "POST", "editor"),
    ("workspace.assessor_calibration_remove", "POST", "editor"),
    ("workspace.assessing_queue", "GET", "awarder"),
    ("workspace.assessment_report", "GET", "awarder"),
    ("workspace.assessment_report_csv", "GET", "awarder"),
]


def test_every_assessor_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in workspace_rules(app)
        if "assess" in r.endpoint and "stage" not in r.endpoint
        for method in r.methods & {"GET", "POST"}
    }
    assert found == {(endpoint, method) for endpoint, method, _ in ASSESSOR_ROUTES}


@pytest.mark.parametrize("role", ["viewer", "awarder", "editor", "owner"])
def test_assessor_routes_by_role(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount], role: str
) -> None:
    from app.models import ROLES

    member = make_staff(f"{role}@b.example.org", name=f"Member {role}")
    staff.set_role(two_issuers["b"], member, role, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, member)
    page = client.get(f"/workspace/{two_issuers['b'].slug}/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    before = state(two_issuers["b"].id)
    for endpoint, method, least in ASSESSOR_ROUTES:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        path = build(rule, two_issuers["values"])
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        if ROLES.index(role) <= ROLES.index(least):
            # Let in: the page, or the empty form refused and flashed on the way back.
            assert response.status_code in (200, 303), f"{method} {path} as {role}"
        else:
            assert response.status_code == 403, f"{method} {path} as {role}"
    if role in ("viewer", "awarder"):
        assert state(two_issuers["b"].id) == before


def test_the_peer_queue_is_for_its_educator_and_a_submission_only_for_its_assessor(
    app: Flask, client: FlaskClient, make_issuer, make_achievement, make_award, make_staff
) -> None:
    from app.services.learning import assessors, stages
    from app.services.learning.stages import PlanInput
    from tests.app.portfolio_helpers import ACTOR, add_item, portfolio_badge

    issuer = make_issuer("Issuer P")
    badge = portfolio_badge(issuer, make_achievement)
    stages.set_plan(badge, PlanInput(enabled=True, completeness=False, approval=True),
                    actor=ACTOR, env=service_env())  # fmt: skip
    peer = make_educator("peer@p.example.org", name="Pia Peer")
    make_award(issuer, badge, "peer@p.example.org")
    member = assessors.invite_peer(badge, peer, actor=ACTOR, env=service_env())
    assessors.accept(member, peer, service_env())
    ann = make_educator("ann@p.example.org", name="Ann")
    item = add_item(ann, file=(PDF, "plan.pdf"))
    submission = reviews.submit(ann, badge, [item.public_id], "", service_env())
    other = make_educator("other@p.example.org", name="Otto")
    file_path = f"/me/assessing/{submission.public_id}/items/{item.public_id}/file"
    paths = ["/me/assessing", f"/me/assessing/{submission.public_id}", file_path]
    # Anonymous: sent to sign in.
    for path in paths:
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code in (302, 303) and "/me/sign-in" in response.headers["Location"]
    # The submitter and another educator: their own (empty) queue, 404 for the submission.
    for who in (ann, other):
        sign_in_educator(client, who)
        assert client.get(paths[0], base_url=BASE_URL).status_code == 200
        assert client.get(paths[1], base_url=BASE_URL).status_code == 404
        assert client.get(file_path, base_url=BASE_URL).status_code == 404
        page = client.get("/me/", base_url=BASE_URL).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        posted = client.post(paths[1], data={"csrf_token": token.group(1), "stage": "assessment",
                             "decision": "rate"}, base_url=BASE_URL)  # fmt: skip
        assert posted.status_code == 404
        accepted = client.post("/me/assessing/accept", data={"csrf_token": token.group(1),
                               "member_id": member.id}, base_url=BASE_URL)  # fmt: skip
        assert accepted.status_code == 303
    assert db.session.get(type(member), member.id).state == "active"
    # The peer assessor it was given to: the page.
    sign_in_educator(client, peer)
    assert client.get(paths[1], base_url=BASE_URL).status_code == 200
    assert client.get(file_path, base_url=BASE_URL).status_code == 200


# --- Schools and leaders (issue 15): the schools page by role, and every leaders' route --------

#: (endpoint, method, least role) of the schools page: owners manage, editors read.
SCHOOL_ROUTES = [
    ("workspace.schools_page", "GET", "editor"),
    ("workspace.add_school", "POST", "owner"),
    ("workspace.school_page", "GET", "editor"),
    ("workspace.rename_school", "POST", "owner"),
    ("workspace.remove_school", "POST", "owner"),
    ("workspace.set_roster", "POST", "owner"),
    ("workspace.roster_csv", "GET", "editor"),
    ("workspace.appoint_leader", "POST", "owner"),
    ("workspace.dismiss_leader", "POST", "owner"),
    ("workspace.revoke_leader_invitation", "POST", "owner"),
]


def test_every_school_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in workspace_rules(app)
        if "school" in r.endpoint or "leader" in r.endpoint or "roster" in r.endpoint
        for method in r.methods & {"GET", "POST"}
    }
    assert found == {(endpoint, method) for endpoint, method, _ in SCHOOL_ROUTES}


@pytest.mark.parametrize("role", ["viewer", "awarder", "editor", "owner"])
def test_school_routes_by_role(
    app: Flask, client: FlaskClient, two_issuers, make_staff: Callable[..., StaffAccount], role: str
) -> None:
    from app.models import ROLES

    member = make_staff(f"{role}@b.example.org", name=f"Member {role}")
    staff.set_role(two_issuers["b"], member, role, actor=Actor(label="test"), env=service_env())
    sign_in(client, app, member)
    page = client.get(f"/workspace/{two_issuers['b'].slug}/", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    for endpoint, method, least in SCHOOL_ROUTES:
        if method == "POST" and role == "owner":
            continue  # the owner's writes are exercised in tests/app/workspace/test_schools.py
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        path = build(rule, two_issuers["values"])
        if method == "GET":
            response = client.get(path, base_url=BASE_URL)
        else:
            response = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
        if ROLES.index(role) <= ROLES.index(least):
            assert response.status_code == 200, f"{method} {path} as {role}"
        else:
            assert response.status_code == 403, f"{method} {path} as {role}"


#: Every leaders' route (blueprint ``lead``) with who may use it: ``district`` (the whole
#: organisation's leaders), ``hill`` (Hill's leaders, and the district's), ``goals`` (district
#: leaders and owners), ``staff`` (anyone signed in as staff: their own appointments).
LEAD_ROUTES = [
    ("lead.index", "GET", "/lead/", "staff"),
    ("lead.district", "GET", "/lead/{slug}", "district"),
    ("lead.school", "GET", "/lead/{slug}/schools/{hill}", "hill"),
    ("lead.district_csv", "GET", "/lead/{slug}/panels/participation.csv", "district"),
    ("lead.school_csv", "GET", "/lead/{slug}/schools/{hill}/panels/standards.csv", "hill"),
    ("lead.goals", "GET", "/lead/{slug}/goals", "goals"),
    ("lead.new_goal", "GET", "/lead/{slug}/goals/new", "goals"),
    ("lead.new_goal", "POST", "/lead/{slug}/goals/new", "goals"),
    ("lead.edit_goal", "GET", "/lead/{slug}/goals/{goal}", "goals"),
    ("lead.edit_goal", "POST", "/lead/{slug}/goals/{goal}", "goals"),
    ("lead.delete_goal", "POST", "/lead/{slug}/goals/{goal}/delete", "goals"),
]
#: Who is let in where (the rest of the signed-in staff: 403, outsiders 404).
LETS_IN = {
    "district": {"district"},
    "hill": {"district", "hill_leader"},
    "goals": {"district", "owner"},
    "staff": {"district", "hill_leader", "vale_leader", "coach", "owner", "outsider"},
}


def test_every_lead_route_has_a_row(app: Flask) -> None:
    found = {
        (r.endpoint, method)
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("lead.")
        for method in r.methods & {"GET", "POST"}
    }
    assert found == {(endpoint, method) for endpoint, method, _, _ in LEAD_ROUTES} | {
        (e, m) for e, m, _, _ in LEADER_PLAN_ROUTES if e.startswith("lead.")
    }


@pytest.fixture
def leaders_of_b(two_issuers, make_staff) -> dict[str, Any]:
    """Issuer B with Hill and Vale, a PD goal, and one account of each kind: a district leader
    and school leaders (none of them a workspace member), a coach (an awarder of B, leading
    nothing), B's owner (leading nothing) and A's owner."""
    from app.services.learning import pd_goals

    b, bob = two_issuers["b"], two_issuers["bob"]
    actor, env = Actor(bob), service_env()
    hill = schools.create(b, "Hill", actor=actor, env=env)
    vale = schools.create(b, "Vale", actor=actor, env=env)
    people = {"owner": bob, "outsider": two_issuers["alice"]}
    for who, school in (("district", None), ("hill_leader", hill), ("vale_leader", vale)):
        people[who] = make_staff(f"{who}@b.example.org", name=who)
        schools.appoint(b, people[who], school, actor=actor, env=env)
    people["coach"] = make_staff("coach@b.example.org", name="Cora Coach")
    staff.set_role(b, people["coach"], "awarder", actor=actor, env=env)
    goal = pd_goals.create(b, {"school_year": 2026, "need": "n", "goal": "g", "standards": ["2.7"],
                               "module_ids": [], "achievement_ids": [], "measure": "percent_earned",
                               "target": 60}, actor=actor, env=env)  # fmt: skip
    values = {"slug": b.slug, "hill": hill.public_id, "goal": goal.public_id}
    return {"people": people, "values": values, "b": b}


def _lead_requests(client: FlaskClient, values: dict[str, str], token: str | None):
    for endpoint, method, path, allowed in LEAD_ROUTES:
        url = path.format(**values)
        if method == "GET":
            yield endpoint, method, url, allowed, client.get(url, base_url=BASE_URL)
        else:
            data = {"csrf_token": token} if token else {}
            yield endpoint, method, url, allowed, client.post(url, data=data, base_url=BASE_URL)


@pytest.mark.parametrize(
    "who", ["district", "hill_leader", "vale_leader", "coach", "owner", "outsider"]
)
def test_lead_routes_by_appointment(
    app: Flask, client: FlaskClient, leaders_of_b, who: str
) -> None:
    sign_in(client, app, leaders_of_b["people"][who])
    page = client.get("/account", base_url=BASE_URL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    before = state(leaders_of_b["b"].id)
    for _endpoint, method, url, allowed, response in _lead_requests(
        client, leaders_of_b["values"], token.group(1)
    ):
        status = response.status_code
        if who in LETS_IN[allowed]:
            # In: the page or file, a redirect to one's dashboard, the refused empty form (400),
            # or the confirm step of a removal (200).
            assert status in (200, 302, 400), f"{method} {url} as {who} -> {status}"
        elif who == "outsider":
            assert status == 404, f"{method} {url} as {who} -> {status}"
            assert "Issuer B" not in response.get_data(as_text=True)
        else:
            assert status == 403, f"{method} {url} as {who} -> {status}"
    assert state(leaders_of_b["b"].id) == before  # nothing written by any of them


def test_lead_routes_send_anonymous_visitors_and_educators_to_sign_in(
    app: Flask, client: FlaskClient, leaders_of_b
) -> None:
    for signed_in in (False, True):
        if signed_in:
            sign_in_educator(client, make_educator("teacher@b.example.org"))
        for _endpoint, method, url, _, response in _lead_requests(
            client, leaders_of_b["values"], None
        ):
            if method == "POST":
                assert response.status_code in (302, 400), f"{method} {url}"
                continue
            assert response.status_code == 302, f"{method} {url} -> {response.status_code}"
            assert "/login" in response.headers["Location"]


def test_a_leader_without_a_workspace_role_opens_no_workspace_page(
    app: Flask, client: FlaskClient, leaders_of_b
) -> None:
    b = leaders_of_b["b"]
    sign_in(client, app, leaders_of_b["people"]["district"])
    for path in (f"/workspace/{b.slug}/", f"/workspace/{b.slug}/schools",
                 f"/workspace/{b.slug}/credentials", f"/workspace/{b.slug}/reports"):  # fmt: skip
        assert client.get(path, base_url=BASE_URL).status_code == 404, path
    home = client.get("/workspace/", base_url=BASE_URL).get_data(as_text=True)
    assert f"/lead/{b.slug}" in home


# --- Operations (issue 16): probes and metrics, answered before sessions and rate limits -------

#: The operations endpoints: who may call them, and what they answer. The probes are public
#: (a load balancer signs in nowhere) and say nothing but ok/failed; /metrics needs the bearer
#: token CAIRN_METRICS_TOKEN, and is not there at all without one. None of them writes.
OPS_ROUTES = {
    "ops.healthz": ("/healthz", "anyone"),
    "ops.readyz": ("/readyz", "anyone"),
    "ops.metrics": ("/metrics", "metrics token"),
}


def test_every_ops_route_has_a_row(app: Flask) -> None:
    found = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("ops.")}
    assert found == set(OPS_ROUTES)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPS_ROUTES:
            assert rule.methods is not None and rule.methods - {"HEAD", "OPTIONS"} == {"GET"}


def test_ops_routes_by_caller(app: Flask, client: FlaskClient, make_staff: Any) -> None:
    token = "t" * 40
    admin = make_staff("admin@example.org", admin=True)
    for endpoint, (path, who) in OPS_ROUTES.items():
        app.config["METRICS_TOKEN"] = None
        anonymous = client.get(path, base_url=BASE_URL)
        assert "Set-Cookie" not in anonymous.headers, endpoint
        if who == "anyone":
            assert anonymous.status_code == 200, endpoint
            continue
        # Off without a token, even for an administrator's session.
        sign_in(client, app, admin)
        assert client.get(path, base_url=BASE_URL).status_code == 404
        app.config["METRICS_TOKEN"] = token
        assert client.get(path, base_url=BASE_URL).status_code == 401  # a session is not enough
        bearer = {"Authorization": f"Bearer {token}"}
        answer = client.get(path, headers=bearer, base_url=BASE_URL)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
        for method in ("post", "put", "delete"):
            refused = getattr(client, method)(path, headers=bearer, base_url=BASE_URL)
            assert refused.status_code == 405, (endpoint, method)


# --- Leaders and coaches on shared learning plans (issue 15): the leaders' plan pages, the
# --- coach's page of a coached educator's plan, and the dashboard's plan and coaching panels

#: (endpoint, method, path, who is let in). The plan is ann's (Hill, shared); the coaching plan
#: is Hill's, coached by ``coach`` with ann on it. ``other_coach`` coaches a team without ann.
LEADER_PLAN_ROUTES = [
    ("lead.plans", "GET", "/lead/{slug}/plans", {"district", "hill_leader", "vale_leader"}),
    ("lead.plan", "GET", "/lead/{slug}/plans/{plan}", {"district", "hill_leader"}),
    ("lead.plan_comment", "POST", "/lead/{slug}/plans/{plan}/comments",
     {"district", "hill_leader"}),
    ("workspace.coachee_plan", "GET",
     "/workspace/{slug}/coaching/plans/{coaching}/learning-plans/{plan}", {"coach"}),
    ("workspace.coachee_plan_comment", "POST",
     "/workspace/{slug}/coaching/plans/{coaching}/learning-plans/{plan}/comments", {"coach"}),
]  # fmt: skip
PLAN_READERS = ["district", "hill_leader", "vale_leader", "coach", "other_coach", "educator",
                "stranger", "anonymous"]  # fmt: skip


@pytest.fixture
def plans_of_leaders(make_staff, make_issuer, make_achievement, make_award) -> dict[str, Any]:
    from tests.app.leaders_helpers import add_plans, build_district

    district = build_district(make_staff, make_issuer, make_achievement, make_award)
    planning = add_plans(district, make_staff)
    actor, env = Actor(district.owner), service_env()
    people: dict[str, Any] = {"coach": planning.coach, "other_coach": planning.other_coach}
    for who, school in (("district", None), ("hill_leader", district.hill),
                        ("vale_leader", district.vale)):  # fmt: skip
        people[who] = make_staff(f"{who}@lakeside.example.org", name=who)
        schools.appoint(district.issuer, people[who], school, actor=actor, env=env)
    stranger = make_staff("stranger@elsewhere.example.org", name="Stan Stranger")
    make_issuer("Elsewhere", owner=stranger)
    people["stranger"] = stranger
    values = {"slug": district.issuer.slug, "plan": planning.ann_plan.public_id,
              "coaching": planning.hill_coaching.public_id}  # fmt: skip
    return {"district": district, "planning": planning, "people": people, "values": values}


def _comments() -> int:
    from app.models import PlanComment

    return db.session.scalar(select(func.count()).select_from(PlanComment)) or 0


@pytest.mark.parametrize("who", PLAN_READERS)
def test_leader_and_coach_plan_routes_by_who_is_asking(app: Flask, client: FlaskClient,
                                                       plans_of_leaders, who: str) -> None:  # fmt: skip
    from tests.app.leaders_helpers import SHARED_REFLECTION

    found = plans_of_leaders
    if who == "educator":
        sign_in_educator(client, found["planning"].ann)
    elif who != "anonymous":
        sign_in(client, app, found["people"][who])
    token = None
    if who not in ("educator", "anonymous"):
        token = csrf_of(client, "/account")
    for endpoint, method, path, allowed in LEADER_PLAN_ROUTES:
        url = path.format(**found["values"])
        before = _comments()
        if method == "GET":
            response = client.get(url, base_url=BASE_URL)
        else:
            response = client.post(url, data={"csrf_token": token or "", "body": "A comment"},
                                   base_url=BASE_URL)  # fmt: skip
        code, where = response.status_code, f"{method} {url} as {who}"
        if who in allowed:
            assert code == (200 if method == "GET" else 303), f"{where} -> {code}"
            assert _comments() == before + (method == "POST"), where
            if endpoint in ("lead.plan", "workspace.coachee_plan"):
                page = response.get_data(as_text=True)
                # What staff see: the shared reflection, never the private one.
                assert SHARED_REFLECTION in page and "PRIVATE-DOUBTS" not in page, where
            continue
        assert _comments() == before, f"{where} wrote a comment"
        if who in ("anonymous", "educator"):
            # Sent to the staff sign-in, or (a POST without a staff session's CSRF token) 400.
            assert code in ((302,) if method == "GET" else (302, 400)), f"{where} -> {code}"
            if code == 302:
                assert "/login" in response.headers["Location"], where
        elif who == "stranger" or (endpoint.startswith("workspace.") and who not in
                                   ("coach", "other_coach")):  # fmt: skip
            # No appointment in or role at the organisation: 404, as if it did not exist.
            assert code == 404 and "Lakeside" not in response.get_data(as_text=True), where
        elif who == "vale_leader":
            assert code == 404, f"{where} -> {code}"  # ann is not in their scope
        else:
            assert code == 403, f"{where} -> {code}"  # staff who lead nothing, another coach


def test_a_coach_reaches_only_their_educators_plans(app: Flask, client: FlaskClient,
                                                    plans_of_leaders) -> None:  # fmt: skip
    found = plans_of_leaders
    planning, slug = found["planning"], found["values"]["slug"]
    sign_in(client, app, planning.other_coach)
    # Their own team plan, with ann's plan (ann is not on it) and di's (not shared? it is: 200).
    team = f"/workspace/{slug}/coaching/plans/{planning.team_coaching.public_id}/learning-plans"
    assert client.get(f"{team}/{planning.ann_plan.public_id}", base_url=BASE_URL).status_code == 404
    assert client.get(f"{team}/{planning.di_plan.public_id}", base_url=BASE_URL).status_code == 200
    sign_in(client, app, planning.coach)
    page = client.get(f"/workspace/{slug}/coaching/plans/{planning.hill_coaching.public_id}",
                      base_url=BASE_URL).get_data(as_text=True)  # fmt: skip
    assert planning.ann_plan.public_id in page  # the coaching plan page links to ann's plan
    bo = f"/workspace/{slug}/coaching/plans/{planning.hill_coaching.public_id}/learning-plans/"
    assert client.get(bo + planning.bo_plan.public_id, base_url=BASE_URL).status_code == 404


def test_leaders_pages_and_csvs_show_no_plan_text(app: Flask, client: FlaskClient,
                                                  plans_of_leaders) -> None:  # fmt: skip
    from tests.app.leaders_helpers import PLAN_SECRETS, SHARED_REFLECTION

    found = plans_of_leaders
    d, slug = found["district"], found["values"]["slug"]
    sign_in(client, app, found["people"]["district"])
    year = f"year={d.year}"
    pages = [f"/lead/{slug}?{year}", f"/lead/{slug}/schools/{d.hill.public_id}?{year}",
             f"/lead/{slug}/panels/plan_goals.csv?{year}",
             f"/lead/{slug}/panels/coaching.csv?{year}",
             f"/lead/{slug}/schools/{d.hill.public_id}/panels/plan_goals.csv?{year}",
             f"/lead/{slug}/plans", f"/lead/{slug}/plans/{found['values']['plan']}"]  # fmt: skip
    for url in pages:
        response = client.get(url, base_url=BASE_URL)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for secret in ("PRIVATE-DOUBTS", "SESSION-NOTE", "NOT-SHARED-VISION"):
            assert secret not in text, (url, secret)
        if "/plans" not in url:  # the dashboard and its CSVs: aggregates only
            for secret in (*PLAN_SECRETS, SHARED_REFLECTION, "Ann Lee", "Di Park"):
                assert secret not in text, (url, secret)
    board = client.get(pages[0], base_url=BASE_URL).get_data(as_text=True)
    assert "Plan goals by standard" in board and "Coaching sessions delivered against plan" in board
    rows = client.get(pages[2], base_url=BASE_URL).get_data(as_text=True).splitlines()
    assert rows[0] == "Standard,Framework,Goals,Complete,% complete,Educators"
    assert rows[1:] == ["Analyst,ISTE Standards for Educators,3,2,67%,2",
                        "Designer,ISTE Standards for Educators,3,0,0%,3"]  # fmt: skip


def test_the_educator_sees_who_commented_and_in_which_role(app: Flask, client: FlaskClient,
                                                           plans_of_leaders) -> None:  # fmt: skip
    found = plans_of_leaders
    values, people = found["values"], found["people"]
    for who, url in (("hill_leader", "/lead/{slug}/plans/{plan}/comments"),
                     ("coach", "/workspace/{slug}/coaching/plans/{coaching}/learning-plans/{plan}/comments")):  # fmt: skip
        sign_in(client, app, people[who])
        token = csrf_of(client, "/account")
        answer = client.post(url.format(**values), data={"csrf_token": token, "body": f"From {who}"},
                             base_url=BASE_URL)  # fmt: skip
        assert answer.status_code == 303, who
    sign_in_educator(client, found["planning"].ann)
    page = client.get(f"/me/plans/{values['plan']}", base_url=BASE_URL).get_data(as_text=True)
    assert "hill_leader</strong> (leader)" in page and "From hill_leader" in page
    assert "Cora Coach</strong> (coach)" in page and "From coach" in page
