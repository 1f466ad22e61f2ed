"""Fetching untrusted URLs safely: https only, public addresses only, bounded time and size.

A credential under verification names URLs (status lists, DID documents, controller documents),
and whoever wrote the credential chose them. So every fetch is treated as hostile: the host is
resolved once, every address it resolves to must be public (no loopback, private, link-local —
cloud metadata lives there — multicast or reserved ranges), the connection goes to that vetted
address (so a second DNS answer cannot rebind it to an internal one), redirects are re-vetted,
and the response is cut off at a size and time limit.

Webhook deliveries go out through the same rules (:class:`WebhookPoster`): an issuer chose the
URL, so it is vetted when the endpoint is saved and again before every delivery, and redirects
are not followed at all. Only hosts named in an explicit allow-list (development and tests:
``CAIRN_WEBHOOK_ALLOWED_HOSTS``) may be private addresses or plain http.

Calls to another OB 3.0 host an educator connects Cairn to (discovery, registration, tokens,
pushes, revocation) go through :class:`HostRequester` by the same rules: every request vetted,
no redirect followed, bounded answers; its allow-list is ``CAIRN_OB_HOSTS_ALLOWED``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

USER_AGENT = "Cairn-Verifier/0.1 (+https://github.com/cairn-badges)"
WEBHOOK_USER_AGENT = "Cairn-Webhooks/0.1 (+https://github.com/cairn-badges)"
HOST_USER_AGENT = "Cairn-OB-API-Client/0.1 (+https://github.com/cairn-badges)"


class FetchError(Exception):
    """A URL could not be fetched safely (refused, unreachable, too slow or too large)."""


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (and so safe to connect to)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a pre-vetted IP address, with SNI and certificate checks for the
    original host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (the address checked, not a second DNS answer)."""

    scheme: str
    host: str
    address: str
    port: int
    path: str


def _allowed(host: str, port: int, allowed_hosts: Sequence[str]) -> bool:
    """Whether ``host`` (any port) or ``host:port`` is on the allow-list."""
    host = host.lower()
    return any(entry.lower() in (host, f"{host}:{port}") for entry in allowed_hosts)


def vet_url(url: str, *, allow_private: bool = False, allowed_hosts: Sequence[str] = ()) -> Target:
    """Check ``url`` may be fetched and resolve its host once: https, no credentials in it, and
    every address public, unless ``allow_private`` or the host is in ``allowed_hosts`` (which
    may then also use plain http).

    :raises FetchError: saying why it is refused.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise FetchError(f"refusing to fetch {url!r}: malformed URL") from None
    if not parts.hostname or parts.username or parts.password:
        raise FetchError(f"refusing to fetch {url!r}: malformed URL")
    listed = _allowed(
        parts.hostname, port or (443 if parts.scheme == "https" else 80), allowed_hosts
    )
    if parts.scheme != "https" and not (listed and parts.scheme == "http"):
        raise FetchError(f"refusing to fetch {url!r}: only https URLs are fetched")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {parts.hostname}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve {parts.hostname}")
    if not (allow_private or listed) and not all(is_public_address(a) for a in addresses):
        raise FetchError(f"refusing to fetch {url!r}: {parts.hostname} is not a public address")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, addresses[0], port, path)


@dataclass
class SafeFetcher:
    """``fetch(url) -> bytes`` for untrusted URLs.

    :param timeout: seconds for connecting and for each read.
    :param max_bytes: responses larger than this are refused.
    :param max_redirects: redirects followed (each target vetted again).
    :param allow_private: connect to non-public addresses too. Only for tests against a local
        server; never set it from configuration a credential could influence.
    :param ssl_context: TLS settings (tests pass one trusting their own CA).
    """

    timeout: float = 5.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 3
    allow_private: bool = False
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    accept: str = "application/ld+json, application/json;q=0.9, text/plain;q=0.5"

    def __call__(self, url: str) -> bytes:
        """GET ``url`` and return the body.

        :raises FetchError: when the URL is refused or the fetch fails.
        """
        for _ in range(self.max_redirects + 1):
            status, location, body = self._get_once(url)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            if status != 200:
                raise FetchError(f"{url} answered HTTP {status}")
            return body
        raise FetchError(f"{url} redirected too many times")

    def _vet(self, url: str) -> tuple[str, str, int, str]:
        target = vet_url(url, allow_private=self.allow_private)
        return target.host, target.address, target.port, target.path

    def _read(self, response: http.client.HTTPResponse, url: str) -> bytes:
        # A per-read timeout alone lets a server drip one byte at a time for ever; the overall
        # deadline bounds the whole body.
        deadline = time.monotonic() + self.timeout * 2
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"{url} took too long to send")
            chunks.append(chunk)
        return b"".join(chunks)

    def _get_once(self, url: str) -> tuple[int, str | None, bytes]:
        host, address, port, path = self._vet(url)
        connection = _PinnedHTTPSConnection(host, address, port, self.timeout, self.ssl_context)
        try:
            connection.request(
                "GET", path, headers={"Accept": self.accept, "User-Agent": USER_AGENT}
            )
            response = connection.getresponse()
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"{url} is larger than {self.max_bytes} bytes")
            return response.status, response.getheader("Location"), self._read(response, url)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"could not fetch {url}: {exc}") from None
        finally:
            connection.close()


@dataclass(frozen=True)
class PostAnswer:
    """What a receiver answered: its status and the start of its body (for the attempt log)."""

    status: int
    excerpt: str


@dataclass
class WebhookPoster:
    """``post(url, body, headers) -> PostAnswer`` for webhook endpoints an issuer named.

    The URL is vetted (:func:`vet_url`) before each request, and the connection goes to the
    vetted address; a redirect is answered as it came (never followed), so it cannot lead to
    private space. The answer is read up to ``max_response_bytes`` within the time limit.

    :param allowed_hosts: ``host`` or ``host:port`` entries that may be private addresses and
        plain http: local receivers in development and tests, set explicitly by the operator.
    """

    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 10.0
    max_response_bytes: int = 64 * 1024
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def vet(self, url: str) -> Target:
        """:raises FetchError: when ``url`` may not receive deliveries."""
        return vet_url(url, allowed_hosts=self.allowed_hosts)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostAnswer:
        """POST ``body`` to ``url`` with ``headers``.

        :raises FetchError: when the URL is refused or the request fails (no answer).
        """
        target = self.vet(url)
        connection = _connection(target, self.timeout, self.ssl_context)
        sent = {
            "Content-Type": "application/json",
            "User-Agent": WEBHOOK_USER_AGENT,
            "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
            **headers,
        }
        deadline = time.monotonic() + self.timeout * 2
        try:
            connection.request("POST", target.path, body=body, headers=sent)
            response = connection.getresponse()
            kept = b""
            while chunk := response.read1(16 * 1024):
                if len(kept) < self.max_response_bytes:
                    kept += chunk[: self.max_response_bytes - len(kept)]
                else:
                    break  # the rest is not needed: the status is what counts
                if time.monotonic() > deadline:
                    break
            return PostAnswer(response.status, kept.decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"could not reach {url}: {exc}") from None
        finally:
            connection.close()


def _connection(
    target: Target, timeout: float, context: ssl.SSLContext
) -> http.client.HTTPConnection:
    """A connection to the vetted address (plain http only reaches an allow-listed host)."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target.host, target.address, target.port, timeout, context)
    return http.client.HTTPConnection(target.address, target.port, timeout=timeout)


@dataclass(frozen=True)
class HostAnswer:
    """What another host answered: status, headers (names in lower case) and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class HostRequester:
    """``request(method, url, body, headers) -> HostAnswer`` for the OB 3.0 hosts an educator
    connects Cairn to. The educator typed the discovery URL and the host chose every URL after
    it, so each request is vetted (:func:`vet_url`), goes to the vetted address, is never
    redirected, and its answer is refused beyond ``max_bytes`` or the time limit.

    :param allowed_hosts: ``host`` or ``host:port`` entries that may be private addresses and
        plain http (development and tests: ``CAIRN_OB_HOSTS_ALLOWED``).
    """

    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 10.0
    max_bytes: int = 2 * 1024 * 1024
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def vet(self, url: str) -> Target:
        """:raises FetchError: when ``url`` may not be called."""
        return vet_url(url, allowed_hosts=self.allowed_hosts)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HostAnswer:
        """Send one request; a redirect is returned as it came, never followed.

        :raises FetchError: when the URL is refused, there is no answer, or it is too large or
            too slow.
        """
        target = self.vet(url)
        connection = _connection(target, self.timeout, self.ssl_context)
        sent = {
            "Accept": "application/json",
            "User-Agent": HOST_USER_AGENT,
            "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
            **(headers or {}),
        }
        try:
            connection.request(method, target.path, body=body, headers=sent)
            response = connection.getresponse()
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"{url} answered more than {self.max_bytes} bytes")
            deadline = time.monotonic() + self.timeout * 2
            chunks: list[bytes] = []
            size = 0
            while chunk := response.read1(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"{url} answered more than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url} took too long to answer")
                chunks.append(chunk)
            found = {name.lower(): value for name, value in response.getheaders()}
            return HostAnswer(response.status, found, b"".join(chunks))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"could not reach {url}: {exc}") from None
        finally:
            connection.close()
