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
    Enrolment,
    IssuedCredential,
    StaffAccount,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.services.awarding import bulk
from app.services.delivery import visibility
from app.services.learning import authoring, credit_rules, reviews
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org import invitations, staff, tokens
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
            "rule_id": rule_b.public_id,
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
    holder = make_educator("holder@b.example.org")
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
