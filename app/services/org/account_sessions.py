"""Server-side sign-in sessions of staff and educators: start, check, list, end, prune.

The signed session cookie carries a random token naming one ``AccountSession`` row (only the
token's SHA-256 is stored). Every request that loads the signed-in account looks the row up by
that hash, so ending a session here (sign-out, "sign out everywhere", a password change, an
administrator disabling the account) ends it for every copy of the cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from app.extensions import db
from app.models import SESSION_KINDS, AccountSession

#: ``last_seen_at`` (and with it the expiry) is written at most this often per session, so a
#: busy page does not turn every request into a database write.
TOUCH_EVERY = timedelta(minutes=1)
MAX_USER_AGENT = 120


@dataclass(frozen=True)
class Started:
    """A new session: the token for the cookie (never stored) and its row."""

    token: str
    row: AccountSession


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in SESSION_KINDS:
        raise ValueError(f"unknown session kind {kind!r}")


_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/|\bOpera\b")),
    ("Firefox", re.compile(r"\bFirefox/|\bFxiOS/")),
    ("Chrome", re.compile(r"\b(?:Headless)?Chrome/|\bCriOS/|\bChromium/")),
    ("Safari", re.compile(r"\bSafari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)


def describe_user_agent(user_agent: str | None) -> str:
    """A short, recognisable description of a browser ("Firefox on Windows"); the full header
    is not kept (it says more about the person than the sessions list needs)."""
    text = (user_agent or "")[:1000]
    browser = next((name for name, pattern in _BROWSERS if pattern.search(text)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(text)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return "An unrecognised browser"


def start(
    kind: str, account_id: int, *, user_agent: str | None, now: datetime, lifetime: timedelta
) -> Started:
    """A new session for an account (committed). Expired and ended sessions of every account
    are pruned first, so the table does not grow without a maintenance process."""
    _check_kind(kind)
    prune(now)
    token = secrets.token_urlsafe(32)
    row = AccountSession(
        token_hash=hash_token(token),
        account_kind=kind,
        account_id=account_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=describe_user_agent(user_agent)[:MAX_USER_AGENT],
    )
    db.session.add(row)
    db.session.commit()
    return Started(token, row)


def find(kind: str, token: object, *, now: datetime) -> AccountSession | None:
    """The live session a cookie's token names, or None (unknown, ended, expired, another
    kind, or not a token at all)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    row = db.session.scalar(
        select(AccountSession).where(AccountSession.token_hash == hash_token(token))
    )
    if (
        row is None
        or row.account_kind != kind
        or row.revoked_at is not None
        or row.expires_at <= now
    ):
        return None
    return row


def touch(row: AccountSession, *, now: datetime, lifetime: timedelta) -> bool:
    """Move a live session's expiry forward to ``now + lifetime``, at most once a minute (a
    write per request would be a write per page view). True when it moved."""
    if now - row.last_seen_at < TOUCH_EVERY:
        return False
    # A guarded UPDATE, so a session ended by another request meanwhile stays ended.
    db.session.execute(
        update(AccountSession)
        .where(AccountSession.id == row.id, AccountSession.revoked_at.is_(None))
        .values(last_seen_at=now, expires_at=now + lifetime)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return True


def end(token: object, *, now: datetime) -> None:
    """End the session a token names, if there is one (committed)."""
    if not isinstance(token, str) or not token:
        return
    db.session.execute(
        update(AccountSession)
        .where(AccountSession.token_hash == hash_token(token), AccountSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def end_one(kind: str, account_id: int, session_id: int, *, now: datetime) -> bool:
    """End one live session of an account (not committed); False when it has none by that id,
    so one account can never end another's sessions."""
    return bool(_end_live(kind, account_id, now, AccountSession.id == session_id))


def end_all(kind: str, account_id: int, *, now: datetime) -> int:
    """End every live session of an account (not committed: the caller commits it with the
    change that asked for it, e.g. the new password or the audit event); how many ended."""
    return _end_live(kind, account_id, now)


def _end_live(kind: str, account_id: int, now: datetime, *only: Any) -> int:
    """End the account's live sessions (those matching ``only`` too); how many ended."""
    _check_kind(kind)
    result = db.session.execute(
        update(AccountSession)
        .where(
            *only,
            AccountSession.account_kind == kind,
            AccountSession.account_id == account_id,
            AccountSession.revoked_at.is_(None),
            AccountSession.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live(kind: str, account_id: int, *, now: datetime) -> list[AccountSession]:
    """An account's live sessions, most recently used first."""
    _check_kind(kind)
    return list(
        db.session.scalars(
            select(AccountSession)
            .where(
                AccountSession.account_kind == kind,
                AccountSession.account_id == account_id,
                AccountSession.revoked_at.is_(None),
                AccountSession.expires_at > now,
            )
            .order_by(AccountSession.last_seen_at.desc(), AccountSession.id.desc())
        )
    )


def prune(now: datetime) -> int:
    """Delete expired and ended sessions (not committed); how many. Nothing reads them again:
    their tokens are refused either way."""
    result = db.session.execute(
        delete(AccountSession)
        .where(or_(AccountSession.expires_at <= now, AccountSession.revoked_at.is_not(None)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
