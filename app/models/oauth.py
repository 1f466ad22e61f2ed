"""The OB 3.0 API's OAuth 2.0 records: registered clients (wallets and hosts), authorization
codes and tokens. Secrets, codes and tokens are stored only as their SHA-256; each class
answers the questions Authlib asks of it (its mixins)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.educator import Educator
from app.models.types import UTCDateTime

#: The one way a client authenticates at the token and revocation endpoints (the spec's).
CLIENT_AUTH_METHOD = "client_secret_basic"


def secret_hash(secret: str) -> str:
    """What is stored of a client secret, code or token: its SHA-256 (they are 256 random bits,
    so no salt or slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuthClient(Base, ClientMixin):  # type: ignore[misc]
    """An application registered through dynamic client registration (RFC 7591). ``metadata_``
    is the registered metadata (name, logo, redirect URIs, scope...), as validated."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    client_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def client_name(self) -> str:
        """The name it registered with."""
        return str(self.client_metadata.get("client_name") or self.client_id)

    @property
    def redirect_uris(self) -> list[str]:
        """The redirect URIs it registered."""
        return [str(uri) for uri in self.client_metadata.get("redirect_uris", [])]

    @property
    def scope(self) -> str:
        """The scopes it registered for, space-separated."""
        return str(self.client_metadata.get("scope", ""))

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Never a default: the spec makes redirect_uri required in every authorize request.
        return None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return str(list_to_scope([s for s in scope_to_list(scope) if s in allowed]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(secret_hash(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == CLIENT_AUTH_METHOD

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class OAuthAuthorizationCode(Base, AuthorizationCodeMixin):  # type: ignore[misc]
    """A code the educator's consent gave a client: single use (``used_at``), ten minutes,
    bound to the redirect URI and the PKCE S256 challenge."""

    __tablename__ = "oauth_authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(1000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OAuthClient] = relationship()
    educator: Mapped[Educator] = relationship()

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class OAuthToken(Base, TokenMixin):  # type: ignore[misc]
    """An access token and its refresh token for one client and educator. A refresh spends
    the pair (``revoked_at``) and makes a new one; revoking either revokes both."""

    __tablename__ = "oauth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_client.id"), index=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_in: Mapped[int] = mapped_column(Integer)
    #: How long the refresh token lasts from ``issued_at`` (seconds).
    refresh_expires_in: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OAuthClient] = relationship()
    educator: Mapped[Educator] = relationship()

    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def access_expires_at(self) -> datetime:
        """When the access token stops working."""
        return self.issued_at + timedelta(seconds=self.expires_in)

    def refresh_expires_at(self) -> datetime:
        """When the refresh token stops working."""
        return self.issued_at + timedelta(seconds=self.refresh_expires_in)

    def is_expired(self) -> bool:
        # Authlib asks without a clock; the wall clock is the one bearer tokens live by.
        return self.access_expires_at() <= datetime.now(UTC)

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self) -> Educator:
        return self.educator

    def get_client(self) -> OAuthClient:
        return self.client
