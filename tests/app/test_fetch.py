"""The hostile-URL fetcher: address vetting, https only, size, time and redirect limits.

The behaviour tests run a real HTTPS server on 127.0.0.1 with a throwaway certificate; the
fetcher is told to allow that private address (only tests ever do) and to trust that certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.fetch import FetchError, SafeFetcher, is_public_address


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
    ],
)
def test_address_vetting(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/list",
        "ftp://example.org/list",
        "https://user:pw@example.org/list",
        "https:///nohost",
        "https://localhost/list",
        "https://127.0.0.1/list",
        "https://[::1]/list",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(FetchError):
        SafeFetcher(timeout=2)(url)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for localhost, and a client trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        routes = {
            "/ok": (200, {}, b'{"ok": true}'),
            "/missing": (404, {}, b"nope"),
            "/big": (200, {}, b"x" * 5000),
            "/liar": (200, {"Content-Length": "999999999"}, b""),
            "/to-http": (302, {"Location": "http://127.0.0.1/ok"}, b""),
            "/to-ok": (302, {"Location": "/ok"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
        }
        if self.path == "/drip":
            self.send_response(200)
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
            return
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = tls[0].wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fetch(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> SafeFetcher:
    return SafeFetcher(timeout=1.0, max_bytes=1024, allow_private=True, ssl_context=tls[1])


def test_fetches_and_follows_relative_redirects(fetch: SafeFetcher, server: str) -> None:
    assert fetch(server + "/ok") == b'{"ok": true}'
    assert fetch(server + "/to-ok") == b'{"ok": true}'


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "HTTP 404"),
        ("/big", "larger than"),
        ("/liar", "larger than"),
        ("/to-http", "only https"),
        ("/loop", "too many"),
        ("/drip", "too long"),
    ],
)
def test_limits(fetch: SafeFetcher, server: str, path: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        fetch(server + path)


def test_private_addresses_refused_by_default(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], server: str
) -> None:
    with pytest.raises(FetchError, match="not a public address"):
        SafeFetcher(ssl_context=tls[1])(server + "/ok")


def test_untrusted_certificates_are_refused(server: str) -> None:
    with pytest.raises(FetchError):
        SafeFetcher(timeout=1.0, allow_private=True)(server + "/ok")
