"""Staff accounts: passwords (argon2), sign-in, reset and invitation tokens, roles per issuer."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from app.extensions import db
from app.models import ROLES, AccountToken, Issuer, Membership, StaffAccount
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.services.org import account_sessions, audit
from app.services.org.audit import Actor

_hasher = PasswordHasher()
#: A hash to verify against when the account does not exist, so the response time does not
#: tell an attacker which emails have accounts.
_DUMMY_HASH = _hasher.hash("not a real password, only here to spend the same time")
MIN_PASSWORD = 12
DISABLED = (
    "This account has been disabled by an instance administrator. Ask them to enable it again."
)


class AccountDisabled(ServiceError):
    """The password was right, but an administrator has disabled the account."""


def check_password_strength(password: str) -> None:
    """:raises ServiceError: for a password that is too short or too common."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Use at least {MIN_PASSWORD} characters.", "password")
    if len(password) > 1024:
        raise Invalid("That password is too long.", "password")
    if len(set(password)) < 4 or password.lower() in {
        "password1234",
        "correcthorsebattery",
        "123456789012",
    }:
        raise Invalid("That password is too easy to guess.", "password")


def get_by_email(email: str) -> StaffAccount:
    """An account by email (case-insensitive).

    :raises NotFound: when there is none.
    """
    account = db.session.scalar(
        select(StaffAccount).where(StaffAccount.email == check_email(email))
    )
    if account is None:
        raise NotFound(f"There is no staff account for {email}.")
    return account


def create_account(
    *,
    email: str,
    name: str,
    password: str | None,
    is_admin: bool = False,
    actor: Actor,
    env: ServiceEnv,
) -> StaffAccount:
    """Create an account (without a password it can only sign in after an invitation).

    :raises Conflict: when the email is taken.
    """
    address = check_email(email)
    if not name.strip():
        raise Invalid("Give a name.", "name")
    if password is not None:
        check_password_strength(password)
    if db.session.scalar(select(StaffAccount.id).where(StaffAccount.email == address)) is not None:
        raise Conflict(f"There is already an account for {address}.", "email")
    account = StaffAccount(
        email=address,
        name=name.strip(),
        password_hash=_hasher.hash(password) if password else None,
        is_admin=is_admin,
        is_active=True,
        created_at=env.now,
    )
    db.session.add(account)
    db.session.flush()
    audit.record(
        "staff.create",
        actor=actor,
        now=env.now,
        subject_type="staff",
        subject_id=account.id,
        detail={"email": address, "admin": is_admin},
    )
    db.session.commit()
    return account


def authenticate(
    email: str, password: str, *, ip: str | None, env: ServiceEnv
) -> StaffAccount | None:
    """The account for a correct email and password, else None. Every attempt is audited.

    :raises AccountDisabled: for the right password of a disabled account (only someone who
        knows the password learns that the account exists and why they cannot sign in).
    """
    try:
        address = check_email(email)
    except ServiceError:
        address = ""
    account = (
        db.session.scalar(select(StaffAccount).where(StaffAccount.email == address))
        if address
        else None
    )
    ok = False
    try:
        ok = _hasher.verify(
            account.password_hash if account and account.password_hash else _DUMMY_HASH, password
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    disabled = ok and account is not None and not account.is_active
    if account is None or not account.is_active or not account.password_hash:
        ok = False
    actor = (
        Actor(account, label=address or email[:320], ip=ip)
        if account
        else Actor(label=address or email[:320], ip=ip)
    )
    audit.record(
        "staff.sign_in" if ok else "staff.sign_in_failed",
        actor=actor,
        now=env.now,
        subject_type="staff",
        subject_id=account.id if account else None,
        detail={"reason": "disabled"} if disabled else None,
    )
    if ok and account is not None:
        account.last_login_at = env.now
        if _hasher.check_needs_rehash(account.password_hash or ""):
            account.password_hash = _hasher.hash(password)
    db.session.commit()
    if disabled:
        raise AccountDisabled(DISABLED)
    return account if ok else None


def set_password(account: StaffAccount, password: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Change a password; outstanding reset tokens stop working and every session of the
    account ends (whoever changed it signs in afresh)."""
    check_password_strength(password)
    account.password_hash = _hasher.hash(password)
    account_sessions.end_all("staff", account.id, now=env.now)
    for token in db.session.scalars(
        select(AccountToken).where(
            AccountToken.staff_id == account.id, AccountToken.used_at.is_(None)
        )
    ):
        token.used_at = env.now
    audit.record(
        "staff.password", actor=actor, now=env.now, subject_type="staff", subject_id=account.id
    )
    db.session.commit()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(account: StaffAccount, purpose: str, *, hours: float, env: ServiceEnv) -> str:
    """A single-use token (``reset`` or ``invite``); only its hash is stored. Not committed."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            staff_id=account.id,
            token_hash=_hash_token(token),
            purpose=purpose,
            created_at=env.now,
            expires_at=env.now + timedelta(hours=hours),
        )
    )
    return token


def redeem_token(token: str, purpose: str, *, env: ServiceEnv) -> tuple[StaffAccount, AccountToken]:
    """The account a valid, unused, unexpired token belongs to (the caller marks it used).

    :raises ServiceError: when the token is unknown, used or expired.
    """
    found = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == _hash_token(token), AccountToken.purpose == purpose
        )
    )
    if found is None or found.used_at is not None or found.expires_at < env.now:
        raise Invalid("This link has expired or has already been used. Ask for a new one.")
    return found.staff, found


def role_of(account: StaffAccount, issuer: Issuer) -> str | None:
    """The account's role in an issuer, or None."""
    return db.session.scalar(
        select(Membership.role).where(
            Membership.staff_id == account.id, Membership.issuer_id == issuer.id
        )
    )


def require_role(account: StaffAccount, issuer: Issuer, role: str) -> str:
    """Check an account may act with at least ``role`` in an issuer (roles are ordered
    owner > editor > awarder > viewer); return its actual role.

    :raises NotFound: for an account with no role there (so issuers stay invisible to outsiders).
    :raises Forbidden: for a role below the one required.
    """
    actual = role_of(account, issuer)
    if actual is None:
        raise NotFound("There is no such organisation.")
    if ROLES.index(actual) > ROLES.index(role):
        raise Forbidden(f"This needs the {role} role; you are {actual}.")
    return actual


def issuers_of(account: StaffAccount) -> list[tuple[Issuer, str]]:
    """The issuers an account belongs to, with its role in each, by name."""
    rows = db.session.execute(
        select(Issuer, Membership.role)
        .join(Membership, Membership.issuer_id == Issuer.id)
        .where(Membership.staff_id == account.id)
        .order_by(func.lower(Issuer.name))
    ).all()
    return [(issuer, role) for issuer, role in rows]


def members(issuer: Issuer) -> list[tuple[StaffAccount, str]]:
    """An issuer's staff and their roles."""
    rows = db.session.execute(
        select(StaffAccount, Membership.role)
        .join(Membership, Membership.staff_id == StaffAccount.id)
        .where(Membership.issuer_id == issuer.id)
        .order_by(func.lower(StaffAccount.name))
    ).all()
    return [(account, role) for account, role in rows]


def set_role(
    issuer: Issuer, account: StaffAccount, role: str | None, *, actor: Actor, env: ServiceEnv
) -> None:
    """Give an account a role in an issuer, change it, or (``None``) remove it.

    :raises ServiceError: for an unknown role.
    :raises Conflict: when it would leave the issuer without an owner.
    """
    if role is not None and role not in ROLES:
        raise Invalid(f"Unknown role {role!r}.", "role")
    membership = db.session.scalar(
        select(Membership).where(
            Membership.staff_id == account.id, Membership.issuer_id == issuer.id
        )
    )
    previous = membership.role if membership else None
    if previous == "owner" and role != "owner":
        owners = db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.issuer_id == issuer.id, Membership.role == "owner")
        )
        if (owners or 0) <= 1:
            raise Conflict("An organisation needs at least one owner.")
    if role is None:
        if membership is not None:
            db.session.delete(membership)
    elif membership is None:
        db.session.add(
            Membership(staff_id=account.id, issuer_id=issuer.id, role=role, created_at=env.now)
        )
    else:
        membership.role = role
    audit.record(
        "staff.role",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="staff",
        subject_id=account.id,
        detail={"email": account.email, "from": previous, "to": role},
    )
    db.session.commit()


def require_admin(
    account: StaffAccount, message: str = "Only instance administrators can create organisations."
) -> None:
    """:raises Forbidden: unless the account is an instance administrator."""
    if not account.is_admin:
        raise Forbidden(message)


def sign_out_everywhere(account: StaffAccount, *, actor: Actor, env: ServiceEnv) -> int:
    """End every session of an account, the one asking included; how many ended."""
    ended = account_sessions.end_all("staff", account.id, now=env.now)
    audit.record(
        "staff.sign_out_everywhere",
        actor=actor,
        now=env.now,
        subject_type="staff",
        subject_id=account.id,
        detail={"sessions": ended},
    )
    db.session.commit()
    return ended


def end_session(account: StaffAccount, session_id: int, *, env: ServiceEnv) -> None:
    """End one of the account's own sessions (e.g. a browser left signed in elsewhere).

    :raises NotFound: when the account has no live session by that id.
    """
    if not account_sessions.end_one("staff", account.id, session_id, now=env.now):
        raise NotFound("There is no such session of yours (it may have ended already).")
    db.session.commit()


def all_accounts() -> list[StaffAccount]:
    """Every staff account, by name (for instance administrators)."""
    return list(
        db.session.scalars(
            select(StaffAccount).order_by(func.lower(StaffAccount.name), StaffAccount.id)
        )
    )


def organisations_by_account() -> dict[int, list[tuple[Issuer, str]]]:
    """Every account's organisations and roles, by account id (one query for the whole list)."""
    found: dict[int, list[tuple[Issuer, str]]] = {}
    rows = db.session.execute(
        select(Membership.staff_id, Issuer, Membership.role)
        .join(Issuer, Membership.issuer_id == Issuer.id)
        .order_by(func.lower(Issuer.name))
    ).all()
    for staff_id, issuer, role in rows:
        found.setdefault(staff_id, []).append((issuer, role))
    return found


def set_active(account: StaffAccount, active: bool, *, actor: Actor, env: ServiceEnv) -> None:
    """Disable an account (it cannot sign in, and every session of it ends) or enable it again.
    Only for instance administrators, and never their own account (so one cannot lock the
    instance out by accident).

    :raises Forbidden: unless ``actor`` is an instance administrator.
    :raises ServiceError: for the administrator's own account.
    """
    if actor.staff is None or not actor.staff.is_admin:
        raise Forbidden("Only instance administrators can disable or enable accounts.")
    if account.id == actor.staff.id:
        raise Invalid("You cannot disable or enable your own account.")
    ended = 0
    if not active:
        ended = account_sessions.end_all("staff", account.id, now=env.now)
    if account.is_active != active:
        account.is_active = active
        audit.record(
            "staff.enable" if active else "staff.disable",
            actor=actor,
            now=env.now,
            subject_type="staff",
            subject_id=account.id,
            detail={"email": account.email, "sessions_ended": ended}
            if not active
            else {"email": account.email},
        )
    db.session.commit()
