"""A scripted OB 3.0 API client for the tests: the steps 1EdTech's certification takes against a
host (discover, register, authorize with PKCE through the educator's consent, exchange the
code, call the resources, refresh, revoke), driven through Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.app.conftest import BASE_URL

SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
ALL_SCOPES = [
    f"{SCOPE}credential.readonly",
    f"{SCOPE}credential.upsert",
    f"{SCOPE}profile.readonly",
    f"{SCOPE}profile.update",
]
REDIRECT_URI = "https://wallet.example.net/callback"
SCHEMAS = Path(__file__).parents[2] / "fixtures" / "ob_api"


def schema_check(name: str, instance: Any) -> None:
    """Validate ``instance`` against one of 1EdTech's schemas (tests/fixtures/ob_api/)."""
    schema = json.loads((SCHEMAS / f"ob_v3p0_{name}_schema.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(instance)


def openapi_check(document: dict[str, Any], path: str, method: str, response: TestResponse) -> None:
    """Validate a JSON answer against the schema the OpenAPI document (1EdTech's, as discovery
    serves it) gives for that operation and status (or its ``default``)."""
    if response.mimetype != "application/json":
        return
    operation = document["paths"][path][method.lower()]["responses"]
    answer = operation.get(str(response.status_code)) or operation["default"]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    # Draft 7 ignores the keywords beside a root "$ref", so the document resolves its own refs.
    jsonschema.Draft7Validator({**document, "$ref": ref}).validate(response.get_json())


def imsx(response: TestResponse, status: int) -> dict[str, Any]:
    """The Imsx_StatusInfo of a refusal, checked against the schema."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body: dict[str, Any] = response.get_json()
    schema_check("imsx_statusinfo", body)
    assert body["imsx_codeMajor"] == "failure"
    return body


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication (client_secret_basic)."""
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@dataclass
class Wallet:
    """A wallet registering with Cairn and acting for the signed-in educator."""

    http: FlaskClient
    discovery: dict[str, Any] = field(default_factory=dict)
    client_id: str = ""
    client_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""

    def path(self, url: str) -> str:
        assert url.startswith(BASE_URL), url
        return url[len(BASE_URL) :]

    def discover(self) -> dict[str, Any]:
        response = self.http.get("/ims/ob/v3p0/discovery", base_url=BASE_URL)
        assert response.status_code == 200
        self.discovery = response.get_json()
        return self.discovery

    @property
    def flow(self) -> dict[str, Any]:
        flow: dict[str, Any] = self.discovery["components"]["securitySchemes"]["OAuth2ACG"][
            "flows"
        ]["authorizationCode"]
        return flow

    def register(self, scopes: list[str] = ALL_SCOPES, **metadata: Any) -> TestResponse:
        body = {
            "client_name": "Example Wallet",
            "client_uri": "https://wallet.example.net/",
            "logo_uri": "https://wallet.example.net/logo.png",
            "tos_uri": "https://wallet.example.net/terms",
            "policy_uri": "https://wallet.example.net/privacy",
            "software_id": "example-wallet",
            "software_version": "1.0",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": " ".join(scopes),
            **metadata,
        }
        url = self.discovery["components"]["securitySchemes"]["OAuth2ACG"][
            "x-imssf-registrationUrl"
        ]
        response = self.http.post(self.path(url), json=body, base_url=BASE_URL)
        if response.status_code == 201:
            self.client_id = response.get_json()["client_id"]
            self.client_secret = response.get_json()["client_secret"]
        return response

    def authorize_url(self, challenge: str | None, **overrides: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": " ".join(ALL_SCOPES),
            "state": "s-123",
            "code_challenge_method": "S256",
            **overrides,
        }
        if challenge is not None:
            query["code_challenge"] = challenge
        return f"{self.path(self.flow['authorizationUrl'])}?{urlencode(query)}"

    def consent(self, url: str, decision: str = "allow") -> TestResponse:
        """Open the consent page as the signed-in educator and answer it."""
        page = self.http.get(url, base_url=BASE_URL)
        assert page.status_code == 200, page.get_data(as_text=True)[:500]
        html = page.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        action = re.search(r'<form method="post" action="([^"]+)" class="actions"', html)
        assert token and action
        return self.http.post(
            action.group(1).replace("&amp;", "&"),
            data={"csrf_token": token.group(1), "decision": decision},
            base_url=BASE_URL,
        )

    def code_from(self, answer: TestResponse) -> str:
        assert answer.status_code == 302, (answer.headers, answer.get_data(as_text=True)[:300])
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI)
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["s-123"]
        return query["code"][0]

    def token(self, form: dict[str, str], secret: str | None = None) -> TestResponse:
        response = self.http.post(
            self.path(self.flow["tokenUrl"]),
            data=form,
            headers=basic(self.client_id, secret or self.client_secret),
            base_url=BASE_URL,
        )
        if response.status_code == 200:
            self.access_token = response.get_json()["access_token"]
            self.refresh_token = response.get_json().get("refresh_token", "")
        return response

    def exchange(self, code: str, verifier: str | None) -> TestResponse:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        if verifier is not None:
            form["code_verifier"] = verifier
        return self.token(form)

    def connect(self) -> None:
        """Discover, register, consent and exchange: a wallet with tokens."""
        self.discover()
        assert self.register().status_code == 201
        verifier, challenge = pkce_pair()
        code = self.code_from(self.consent(self.authorize_url(challenge)))
        assert self.exchange(code, verifier).status_code == 200

    def api(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        """Call a resource; every JSON answer is checked against the OpenAPI document."""
        headers = {"Authorization": f"Bearer {self.access_token}", **kwargs.pop("headers", {})}
        response = self.http.open(
            f"/ims/ob/v3p0{path}", method=method, headers=headers, base_url=BASE_URL, **kwargs
        )
        if not self.discovery:
            self.discover()
        operation = path.split("?")[0]
        if method.lower() in self.discovery["paths"].get(operation, {}):
            openapi_check(self.discovery, operation, method, response)
        return response
