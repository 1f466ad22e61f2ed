"""The OB 3.0 API's OAuth 2.0 authorization server, built from Authlib's parts: dynamic client
registration (RFC 7591, open: no initial access token), the authorization code grant with PKCE
S256 required of every client, refresh tokens that rotate, revocation (RFC 7009), and the
bearer-token check of the resource endpoints. Storage goes through
``app/services/learning/connections.py``; nothing here stores a secret in clear."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskJsonRequest
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.resource_protector import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator, InvalidTokenError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, request

from app.models import Educator, OAuthAuthorizationCode, OAuthClient, OAuthToken
from app.models.oauth import CLIENT_AUTH_METHOD
from app.services._core.errors import Invalid
from app.services.learning import connections
from app.wiring import service_env


class RequiredS256(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, confidential ones too, and only S256 (the spec's; ``plain``
    would hand the verifier to whoever reads the authorize URL)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012  (Authlib's class attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: OAuthAuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(
        self, authorization_code: OAuthAuthorizationCode
    ) -> str:
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """Codes are stored hashed, expire in ten minutes and work once."""

    TOKEN_ENDPOINT_AUTH_METHODS = [CLIENT_AUTH_METHOD]  # noqa: RUF012

    def save_authorization_code(self, code: str, oauth_request: Any) -> OAuthAuthorizationCode:
        data = oauth_request.payload.data
        return connections.save_code(
            code,
            client=oauth_request.client,
            educator=oauth_request.user,
            redirect_uri=oauth_request.payload.redirect_uri,
            scope=oauth_request.payload.scope or "",
            code_challenge=str(data.get("code_challenge")),
            code_challenge_method=str(data.get("code_challenge_method")),
            env=service_env(),
        )

    def query_authorization_code(
        self, code: str, client: OAuthClient
    ) -> OAuthAuthorizationCode | None:
        return connections.find_code(code, client, service_env())

    def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
        connections.spend_code(authorization_code, service_env())

    def authenticate_user(self, authorization_code: OAuthAuthorizationCode) -> Educator:
        return authorization_code.educator


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """A refresh spends the old pair and issues a new access and refresh token (rotation)."""

    TOKEN_ENDPOINT_AUTH_METHODS = [CLIENT_AUTH_METHOD]  # noqa: RUF012
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken | None:
        return connections.find_refresh_token(refresh_token, service_env())

    def authenticate_user(self, refresh_token: OAuthToken) -> Educator:
        return refresh_token.educator

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        connections.revoke(refresh_token, service_env())


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009: either token revokes the pair; a token another client holds is ignored."""

    CLIENT_AUTH_METHODS = [CLIENT_AUTH_METHOD]  # noqa: RUF012

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        env = service_env()
        if token_type_hint == "refresh_token":  # noqa: S105  (a hint's name, not a secret)
            return connections.find_refresh_token(token_string, env)
        found = connections.find_access_token(token_string)
        if found is None and token_type_hint != "access_token":  # noqa: S105
            found = connections.find_refresh_token(token_string, env)
        return found

    def revoke_token(self, token: OAuthToken, oauth_request: Any) -> None:
        connections.revoke(token, service_env())


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    """RFC 7591 without an initial access token (the spec's), metadata checked by
    ``connections.check_metadata``."""

    def authenticate_token(self, oauth_request: Any) -> bool:
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": [*connections.SCOPES, connections.OFFLINE_ACCESS],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": [CLIENT_AUTH_METHOD],
        }

    def generate_client_id(self, oauth_request: Any) -> str:
        return connections.new_secret()[:32]

    def generate_client_secret(self, oauth_request: Any) -> str:
        return connections.new_secret()

    def extract_client_metadata(self, oauth_request: Any) -> dict[str, Any]:
        # Checked before Authlib reads it too: its claim checks assume the JSON types are right
        # (a number where a URI belongs would be an AttributeError, a 500).
        try:
            connections.check_metadata(oauth_request.payload.data)
            metadata: dict[str, Any] = super().extract_client_metadata(oauth_request)
            return connections.check_metadata(metadata)
        except Invalid as error:
            raise InvalidClientMetadataError(error.message) from error
        except (AttributeError, TypeError, ValueError) as error:
            raise InvalidClientMetadataError(
                "The metadata has a value of the wrong type."
            ) from error

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], oauth_request: Any
    ) -> OAuthClient:
        return connections.register(
            client_info["client_id"], client_info["client_secret"], client_metadata, service_env()
        )


class Validator(BearerTokenValidator):  # type: ignore[misc]
    """A bearer token is a live access token with the scope the endpoint needs."""

    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        return connections.find_access_token(token_string)

    def validate_token(self, token: OAuthToken | None, scopes: Any, oauth_request: Any) -> None:
        # By Cairn's clock (the one tests can move), not only the wall clock Authlib asks.
        if token is not None and token.access_expires_at() <= service_env().now:
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)
        super().validate_token(token, scopes, oauth_request)


def _query_client(client_id: str) -> OAuthClient | None:
    return connections.find_client(client_id)


def _save_token(token: dict[str, Any], oauth_request: Any) -> None:
    connections.save_token(
        token, client=oauth_request.client, educator=oauth_request.user, env=service_env()
    )


def _expires_in(client: OAuthClient, grant_type: str) -> int:
    return connections.ACCESS_TOKEN_SECONDS


def _new_token(**_: Any) -> str:
    return connections.new_secret()


server = AuthorizationServer()
protector = ResourceProtector()


def init_app(app: Flask) -> None:
    """Set up the authorization server and the bearer-token check for ``app``."""
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_token_generator(
        "default", BearerTokenGenerator(_new_token, _new_token, _expires_in)
    )
    server.register_grant(AuthorizationCodeGrant, [RequiredS256(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Registration)
    protector.register_token_validator(Validator())


def bearer_token(scope: str) -> OAuthToken:
    """The request's bearer token, live and holding ``scope``.

    :raises OAuth2Error: ``invalid_token`` (401, also for none), ``insufficient_scope`` (403).
    """
    token: OAuthToken = protector.validate_request([scope], FlaskJsonRequest(request))
    return token


__all__ = ["OAuth2Error", "bearer_token", "init_app", "server"]
