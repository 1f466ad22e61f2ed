"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1): content, TLS, login,
failures and retries, and never sending a message twice."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage as Mime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage
from app.services.mail import emails
from app.services.org import issuers
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import reconfigure_mail, service_env

BASE_URL = "https://badges.example.org"
MAIL_FROM = "Cairn <badges@district-badges.example.org>"
USERNAME, PASSWORD = "cairn", "smtp password for tests"


def configure_mail(app: Flask, **settings: Any) -> None:
    """Change the app's mail settings, and so its mail transport (chosen when it started)."""
    app.config.update(settings)
    reconfigure_mail(app)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """An aiosmtpd handler that keeps what it receives (optionally refusing some recipients,
    or taking its time, to let concurrent deliveries overlap)."""

    def __init__(self, *, delay: float = 0.0, refuse: tuple[str, ...] = ()) -> None:
        self.envelopes: list[Envelope] = []
        self.delay = delay
        self.refuse = refuse
        self.connections = 0
        self.logins: list[str] = []

    async def handle_EHLO(
        self,
        server: SmtpServer,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        if not session.ssl:  # STARTTLS makes the client say EHLO again on the same connection
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self,
        server: SmtpServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 2.0.0 Accepted"

    def authenticate(
        self,
        server: SmtpServer,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    def messages(self) -> list[Mime]:
        parsed = []
        for envelope in self.envelopes:
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            mime = message_from_bytes(content, policy=policy.default)
            assert isinstance(mime, Mime)
            parsed.append(mime)
        return parsed


@dataclass
class Server:
    port: int
    inbox: Inbox

    def use(self, app: Flask, **settings: Any) -> None:
        """Point the app's mail settings at this server."""
        defaults = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT": 5,
        }
        configure_mail(app, **{**defaults, **settings})


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A test CA and a server certificate it signed, for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cairn test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Tls(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def smtp() -> Iterator[Callable[..., Server]]:
    """Start SMTP servers on 127.0.0.1 (``smtp(port=..., inbox=..., **aiosmtpd options)``);
    every one is stopped after the test."""
    controllers: list[Controller] = []

    def start(*, port: int | None = None, inbox: Inbox | None = None, **options: Any) -> Server:
        inbox = inbox or Inbox()
        if options.get("auth_required"):
            options.setdefault("authenticator", inbox.authenticate)
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=port or free_port(),
            server_hostname="smtp.test.example",
            **options,
        )
        controller.start()
        controllers.append(controller)
        return Server(controller.port, inbox)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def mail(app: Flask, tmp_path: Path) -> Flask:
    """The app with a realistic sender (and development mail kept out of the repository)."""
    configure_mail(app, MAIL_FROM=MAIL_FROM, OUTBOX_DIR=str(tmp_path / "outbox"))
    return app


@pytest.fixture
def no_auto_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue mail without delivering it, as when the background job has not run yet."""
    monkeypatch.setattr(emails, "deliver_soon", lambda env: None)


def all_messages() -> list[EmailMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


def test_award_email_has_text_html_and_the_right_headers(
    mail: Flask,
    smtp: Callable[..., Server],
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    server = smtp()
    server.use(mail)
    issuer = make_issuer("District 7 PD")
    achievement = make_achievement(issuer, "<b>x</b>")
    credential = make_award(issuer, achievement, "ann@school.example.org", name='Ann "<script>')

    (envelope,) = server.inbox.envelopes
    assert envelope.mail_from == "badges@district-badges.example.org"
    assert envelope.rcpt_tos == ["ann@school.example.org"]
    (message,) = server.inbox.messages()
    assert message["Subject"] == "You have earned “<b>x</b>” from District 7 PD"
    assert message["From"].addresses[0].display_name == "District 7 PD via Cairn"
    assert message["From"].addresses[0].addr_spec == "badges@district-badges.example.org"
    assert message["Reply-To"].addresses[0].addr_spec == "pd@district7.example.org"
    assert message["To"] == "ann@school.example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@district-badges.example.org>")
    assert "cairn.local" not in message["Message-ID"]
    assert message["Date"] is not None
    assert message.get_content_type() == "multipart/alternative"

    link = f"{BASE_URL}/credentials/{credential.id}"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert link in plain
    assert 'Hello Ann "<script>,' in plain and "“<b>x</b>”" in plain
    markup = html.get_content()
    assert f'href="{link}"' in markup
    assert "<script" not in markup and "<b>x</b>" not in markup
    assert "&lt;b&gt;x&lt;/b&gt;" in markup
    assert "Ann &#34;&lt;script&gt;" in markup

    (stored,) = all_messages()
    assert stored.sent_at is not None and stored.attempts == 1 and stored.last_error is None


def test_from_name_is_quoted_and_a_long_subject_is_shortened(
    mail: Flask, smtp: Callable[..., Server], make_achievement: Any, make_award: Any
) -> None:
    server = smtp()
    server.use(mail)
    name = 'Smith, Jones & "Partners" ' + "L" * 150
    issuer = issuers.create_issuer(
        IssuerProfileInput(name=name, url="https://sj.example.org", email=None),
        slug="smith-jones",
        owner=None,
        actor=Actor(label="test"),
        env=service_env(),
    )
    make_award(issuer, make_achievement(issuer, "A" * 190))
    (message,) = server.inbox.messages()
    # Long names are shortened: Python's header folding would split a long quoted name into
    # two addresses.
    (sender,) = message["From"].addresses
    assert sender.addr_spec == "badges@district-badges.example.org"
    assert sender.display_name.startswith('Smith, Jones & "Partners" LLL')
    assert sender.display_name.endswith("L... via Cairn")
    assert message["Reply-To"] is None  # the issuer has no contact address
    assert len(message["Subject"]) == emails.SUBJECT_LIMIT
    assert message["Subject"].endswith("…")


@dataclass(frozen=True)
class Security:
    """One case of SMTP security: how the server is started, what Cairn is told, and whether
    the award email goes out (``error``: None) or fails with ``error`` in its last error."""

    server: Callable[[Tls], dict[str, Any]]
    settings: Callable[[Tls], dict[str, Any]]
    error: str | None
    logins: tuple[str, ...] = ()


LOGIN = {"SMTP_USERNAME": USERNAME, "SMTP_PASSWORD": PASSWORD}


def trusting(tls: Tls, security: str, **settings: Any) -> dict[str, Any]:
    return {"SMTP_SECURITY": security, "SMTP_CA_FILE": str(tls.ca_file), **settings}


SECURITY_CASES = [
    pytest.param(
        Security(
            server=lambda tls: {
                "tls_context": tls.server_context(),
                "require_starttls": True,
                "auth_required": True,
            },
            settings=lambda tls: trusting(tls, "starttls", **LOGIN),
            error=None,
            logins=(USERNAME,),
        ),
        id="starttls with login",
    ),
    pytest.param(
        Security(
            # aiosmtpd only counts STARTTLS as TLS when deciding whether to offer AUTH, so this
            # server is told not to insist (it warns about that); the connection is TLS from
            # the first byte.
            server=lambda tls: {
                "ssl_context": tls.server_context(),
                "auth_required": True,
                "auth_require_tls": False,
            },
            settings=lambda tls: trusting(tls, "ssl", **LOGIN),
            error=None,
            logins=(USERNAME,),
        ),
        id="implicit TLS",
        marks=pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
    ),
    pytest.param(
        Security(
            server=lambda tls: {"tls_context": tls.server_context(), "require_starttls": True},
            # No SMTP_CA_FILE: the test CA is unknown.
            settings=lambda tls: {"SMTP_SECURITY": "starttls"},
            error="CERTIFICATE_VERIFY_FAILED",
        ),
        id="an untrusted certificate is refused",
    ),
    pytest.param(
        Security(
            server=lambda tls: {
                "tls_context": tls.server_context(),
                "require_starttls": True,
                "auth_required": True,
            },
            settings=lambda tls: trusting(
                tls, "starttls", SMTP_USERNAME=USERNAME, SMTP_PASSWORD="wrong"
            ),
            error="SMTPAuthenticationError",
        ),
        id="a wrong password is recorded",
    ),
    pytest.param(
        Security(
            # The server offers STARTTLS but Cairn is told not to use it: the server only
            # offers AUTH over TLS, so the login fails before any password leaves.
            server=lambda tls: {"tls_context": tls.server_context(), "auth_required": True},
            settings=lambda tls: {"SMTP_SECURITY": "none", **LOGIN},
            error="SMTPNotSupportedError",
        ),
        id="a password is never sent without TLS",
    ),
    pytest.param(
        Security(
            server=lambda tls: {},
            settings=lambda tls: {"SMTP_SECURITY": "starttls"},
            error="STARTTLS",
        ),
        id="STARTTLS is never skipped when the server lacks it",
    ),
    pytest.param(
        Security(
            server=lambda tls: {},
            settings=lambda tls: {"SMTP_SECURITY": "tls"},
            error="SMTP_SECURITY",
        ),
        id="an unknown security mode does not fall back to plain text",
    ),
]


@pytest.mark.parametrize("case", SECURITY_CASES)
def test_smtp_security(
    case: Security,
    mail: Flask,
    smtp: Callable[..., Server],
    tls: Tls,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    server = smtp(**case.server(tls))
    server.use(mail, **case.settings(tls))
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    assert server.inbox.logins == list(case.logins)
    (stored,) = all_messages()
    # A TLS or login failure happens before any message is handed over: it costs no attempt.
    assert stored.attempts == (1 if case.error is None else 0)
    if case.error is None:
        assert len(server.inbox.envelopes) == 1
        assert stored.sent_at is not None
    else:
        assert server.inbox.envelopes == []
        assert stored.sent_at is None
        assert stored.last_error is not None and case.error in stored.last_error


def test_server_down_keeps_the_message_for_a_later_run(
    mail: Flask,
    smtp: Callable[..., Server],
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    port = free_port()  # nothing listens here yet
    configure_mail(mail, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none")
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    (stored,) = all_messages()
    # The server could not be reached: the error is kept, and no attempt is spent.
    assert stored.sent_at is None and stored.attempts == 0
    assert stored.last_error is not None and "ConnectionRefusedError" in stored.last_error
    assert emails.status(stored) == "retrying"
    assert emails.pending_count() == 1
    first_id = stored.id

    server = smtp(port=port)
    assert emails.deliver_pending(service_env()) == 1
    assert emails.deliver_pending(service_env()) == 0
    (stored,) = all_messages()
    assert stored.id == first_id and stored.sent_at is not None
    assert stored.attempts == 1 and stored.last_error is None
    assert len(server.inbox.envelopes) == 1
    assert emails.pending_count() == 0


def test_delivery_stops_retrying_a_refused_message_after_max_attempts(
    mail: Flask,
    smtp: Callable[..., Server],
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    refusing = smtp(inbox=Inbox(refuse=("teacher@school.example.org",)))
    refusing.use(mail)
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))  # the first attempt
    for _ in range(emails.MAX_ATTEMPTS + 2):
        assert emails.deliver_pending(service_env()) == 0
    (stored,) = all_messages()
    assert stored.attempts == emails.MAX_ATTEMPTS and stored.sent_at is None
    assert emails.status(stored) == "failed"
    assert emails.pending_count() == 0

    server = smtp()
    server.use(mail)
    assert emails.deliver_pending(service_env()) == 0
    assert server.inbox.envelopes == []


def test_a_long_outage_spends_no_attempt(
    mail: Flask,
    smtp: Callable[..., Server],
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    port = free_port()  # nothing listens: every maintenance round finds the server down
    configure_mail(mail, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none")
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    for _ in range(emails.MAX_ATTEMPTS * 3):
        assert emails.deliver_pending(service_env()) == 0
    (stored,) = all_messages()
    assert stored.attempts == 0 and stored.sent_at is None
    assert emails.status(stored) == "retrying" and emails.pending_count() == 1

    server = smtp(port=port)
    assert emails.deliver_pending(service_env()) == 1
    assert len(server.inbox.envelopes) == 1


def test_an_outage_costs_no_attempt_of_any_message(
    mail: Flask,
    smtp: Callable[..., Server],
    no_auto_delivery: None,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    port = free_port()
    configure_mail(mail, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none")
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    for number in range(3):
        make_award(issuer, achievement, f"t{number}@school.example.org")
    assert emails.deliver_pending(service_env()) == 0
    assert [m.attempts for m in all_messages()] == [0, 0, 0]

    server = smtp(port=port)
    assert emails.deliver_pending(service_env()) == 3
    assert len(server.inbox.envelopes) == 3
    assert server.inbox.connections == 1  # one connection for the whole batch


def test_a_refused_recipient_does_not_hold_up_the_others(
    mail: Flask,
    smtp: Callable[..., Server],
    no_auto_delivery: None,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    server = smtp(inbox=Inbox(refuse=("gone@school.example.org",)))
    server.use(mail)
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    for email in ("a@school.example.org", "gone@school.example.org", "c@school.example.org"):
        make_award(issuer, achievement, email)
    assert emails.deliver_pending(service_env()) == 2
    assert [e.rcpt_tos for e in server.inbox.envelopes] == [
        ["a@school.example.org"],
        ["c@school.example.org"],
    ]
    refused = next(m for m in all_messages() if m.to_address == "gone@school.example.org")
    assert refused.sent_at is None and refused.attempts == 1
    assert refused.last_error is not None and "SMTPRecipientsRefused" in refused.last_error
    assert emails.status(refused) == "retrying"


def test_two_runs_in_a_row_send_once(
    mail: Flask,
    smtp: Callable[..., Server],
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    server = smtp()
    server.use(mail)
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))  # delivered by the award itself (inline job)
    assert emails.deliver_pending(service_env()) == 0
    assert emails.deliver_pending(service_env()) == 0
    assert len(server.inbox.envelopes) == 1


def test_concurrent_runs_send_every_message_exactly_once(
    mail: Flask,
    smtp: Callable[..., Server],
    no_auto_delivery: None,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    # Each run has its own database connection, as separate worker processes would; the slow
    # server makes their runs overlap.
    server = smtp(inbox=Inbox(delay=0.05))
    server.use(mail)
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    for number in range(8):
        make_award(issuer, achievement, f"t{number}@school.example.org")

    def run() -> int:
        with mail.app_context():
            try:
                return emails.deliver_pending(service_env())
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = [future.result() for future in [pool.submit(run) for _ in range(3)]]

    assert sum(results) == 8
    received = sorted(e.rcpt_tos[0] for e in server.inbox.envelopes)
    assert received == sorted(f"t{number}@school.example.org" for number in range(8))
    ids = [m["Message-ID"] for m in server.inbox.messages()]
    assert len(set(ids)) == 8
    assert all(m.sent_at is not None and m.attempts == 1 for m in all_messages())


def test_development_mail_goes_to_the_outbox_folder(
    mail: Flask, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    (path,) = (Path(mail.config["OUTBOX_DIR"])).glob("*.eml")
    mime = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mime["To"] == "teacher@school.example.org"
    assert mime["Auto-Submitted"] == "auto-generated"
    (stored,) = all_messages()
    assert stored.sent_at is not None


def test_production_without_smtp_keeps_mail_queued(
    mail: Flask, make_issuer: Any, make_achievement: Any, make_award: Any
) -> None:
    configure_mail(mail, ENV="production")  # as if check_config had let it through
    issuer = make_issuer()
    make_award(issuer, make_achievement(issuer))
    (stored,) = all_messages()
    assert stored.sent_at is None and stored.last_error == "no SMTP server is configured"
    assert not Path(mail.config["OUTBOX_DIR"]).exists()


def test_an_unusable_mail_from_is_reported_once_per_run(
    mail: Flask,
    no_auto_delivery: None,
    make_issuer: Any,
    make_achievement: Any,
    make_award: Any,
) -> None:
    mail.config["MAIL_FROM"] = "Cairn"
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "a@school.example.org")
    make_award(issuer, achievement, "b@school.example.org")
    assert emails.deliver_pending(service_env()) == 0
    first, second = all_messages()
    assert first.attempts == 1 and first.last_error is not None
    assert "MAIL_FROM" in first.last_error
    assert second.attempts == 0
