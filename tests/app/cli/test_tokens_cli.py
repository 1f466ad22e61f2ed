"""``cairn tokens create``: the token alone on stdout, usable with the API; bad input exits 2
and makes nothing."""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from app.models import ApiToken
from app.services.org import tokens
from app.wiring import service_env
from tests.app.cli.test_operations import SLUG, Cli, cli  # noqa: F401  (the fixture)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def owned(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:  # noqa: F811
    cli.ok("db", "upgrade")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    cli.ok(
        "staff",
        "create",
        "--email",
        "owner@d7.example.org",
        "--name",
        "Pat Owner",
        "--password-stdin",
    )
    cli.ok(
        "issuers",
        "create",
        "--name",
        "District 7",
        "--slug",
        SLUG,
        "--owner",
        "owner@d7.example.org",
    )
    return cli


def test_prints_only_the_token(owned: Cli) -> None:
    status, out, err = owned("tokens", "create", "--issuer", SLUG, "--scope", "awards:write",
                             "--scope", "credentials:read", "--name", "Nightly", "--expires", "30d")  # fmt: skip
    assert status == 0, err
    secret = out.strip()
    assert out == secret + "\n" and secret.startswith("cairn_")
    application = owned.app()
    with application.app_context():
        token = tokens.authenticate(secret, env=service_env())
        assert token is not None and token.name == "Nightly"
        assert token.scopes == ["awards:write", "credentials:read"]
        assert token.created_by.email == "owner@d7.example.org"
        assert token.expires_at is not None
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    "argv",
    [
        ("--issuer", SLUG, "--scope", "everything"),
        ("--issuer", SLUG),
        ("--issuer", "no-such-issuer", "--scope", "awards:write"),
        ("--issuer", SLUG, "--scope", "awards:write", "--expires", "someday"),
        ("--issuer", SLUG, "--scope", "awards:write", "--expires", "2001-01-01"),
        ("--issuer", SLUG, "--scope", "awards:write", "--staff", "nobody@d7.example.org"),
        ("--issuer", SLUG, "--scope", "awards:write", "--name", ""),
    ],
)
def test_bad_input_exits_2_and_makes_nothing(owned: Cli, argv: tuple[str, ...]) -> None:
    status, out, err = owned("tokens", "create", *argv)
    assert status == 2 and out == "" and err.startswith("cairn"), (argv, err)
    assert owned.count(ApiToken) == 0


def test_needs_a_staff_member_when_there_is_no_single_owner(cli: Cli) -> None:  # noqa: F811
    cli.ok("db", "upgrade")
    cli.ok("issuers", "create", "--name", "District 7", "--slug", SLUG)
    status, _, err = cli("tokens", "create", "--issuer", SLUG, "--scope", "awards:write")
    assert status == 2 and "--staff" in err
