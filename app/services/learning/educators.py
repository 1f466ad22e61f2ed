"""Educators: passwordless sign-in by emailed link, several addresses each, and the credentials
that belong to them (those awarded to any of their verified addresses)."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    Educator,
    EducatorEmail,
    Image,
    IssuedCredential,
    Issuer,
    MagicLink,
)
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services._core.transaction import roll_back_refused
from app.services.delivery import downloads
from app.services.mail import emails
from app.services.org import account_sessions, audit
from app.services.org.audit import Actor

#: How long a sign-in link works (minutes); it works once.
SIGN_IN_MINUTES = 15
#: How long an address-confirmation link works (hours).
VERIFY_HOURS = 48


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def actor(educator: Educator, ip: str | None = None) -> Actor:
    """An educator as the actor of an audited change."""
    return Actor(label=f"educator:{educator.id}", ip=ip)


def find_by_email(email: str) -> Educator | None:
    """The educator who has this address (verified or not)."""
    row = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == check_email(email)))
    return row.educator if row is not None else None


def _new_slug(name: str) -> str:
    base = re.sub(
        r"[^a-z0-9]+",
        "-",
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower(),
    )
    base = base.strip("-")[:40].strip("-") or "educator"
    while True:
        slug = f"{base}-{secrets.token_hex(3)}"
        if db.session.scalar(select(Educator.id).where(Educator.profile_slug == slug)) is None:
            return slug


def create(
    email: str, name: str, env: ServiceEnv, *, verified: bool, name_confirmed: bool = False
) -> Educator:
    """An educator with one address (not committed). ``name`` may be empty (someone signing in
    for the first time): it is never made from the address, since it may end up signed into a
    credential; they are asked for it. With ``name_confirmed`` it is also the name their
    credentials carry (they typed it themselves).

    :raises Conflict: when the address already belongs to someone.
    """
    address = check_email(email)
    if find_by_email(address) is not None:
        raise Conflict(f"{address} already belongs to an educator.", "email")
    display = name.strip()[:200]
    educator = Educator(
        name=display,
        credential_name=display if name_confirmed and display else None,
        profile_slug=_new_slug(display),
        created_at=env.now,
    )
    db.session.add(educator)
    db.session.flush()
    db.session.add(
        EducatorEmail(
            educator_id=educator.id,
            email=address,
            created_at=env.now,
            verified_at=env.now if verified else None,
        )
    )
    return educator


def _add_link(
    address: str, purpose: str, educator_id: int | None, lifetime: timedelta, env: ServiceEnv
) -> str:
    """Store (not commit) a single-use link for ``purpose`` sent to ``address``; return its
    token (only the token's hash is kept)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        MagicLink(
            token_hash=_hash(token),
            email=address,
            purpose=purpose,
            educator_id=educator_id,
            created_at=env.now,
            expires_at=env.now + lifetime,
        )
    )
    return token


def request_sign_in(email: str, env: ServiceEnv, *, minutes: int = SIGN_IN_MINUTES) -> None:
    """Email a single-use sign-in link, valid for ``minutes``, to ``email`` (whether or not it
    has an account: the link creates the account on first use). Committed; delivered in the
    background."""
    address = check_email(email)
    educator = find_by_email(address)
    token = _add_link(
        address,
        "sign_in",
        educator.id if educator else None,
        timedelta(minutes=minutes),
        env,
    )
    emails.queue_template(
        "sign_in",
        env,
        to=address,
        link=f"{env.base_url}/me/sign-in/{token}",
        secret=True,
        minutes=minutes,
    )
    db.session.commit()
    emails.deliver_soon(env)


#: The one answer to a link that cannot be used, whatever the reason.
LINK_UNUSABLE = "This link has expired or has already been used. Ask for a new one."


def find_link(token: str, purpose: str, env: ServiceEnv) -> MagicLink:
    """The unused, unexpired link ``token`` names (without using it).

    :raises ServiceError: when it is unknown, used or expired.
    """
    link = db.session.scalar(
        select(MagicLink).where(MagicLink.token_hash == _hash(token), MagicLink.purpose == purpose)
    )
    if link is None or link.used_at is not None or link.expires_at < env.now:
        raise Invalid(LINK_UNUSABLE)
    return link


def redeem(token: str, purpose: str, env: ServiceEnv) -> MagicLink:
    """Use a link once.

    :raises ServiceError: when it is unknown, used or expired.
    """
    link = find_link(token, purpose, env)
    # Mark it used in the same transaction as what it grants, and only if nobody else did:
    # two clicks at once must not both sign in. The conditional UPDATE makes the second one
    # wait for the first and then find the link used.
    claimed = db.session.execute(
        update(MagicLink)
        .where(MagicLink.id == link.id, MagicLink.used_at.is_(None))
        .values(used_at=env.now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        roll_back_refused()
        raise Invalid(LINK_UNUSABLE)
    db.session.refresh(link)
    return link


def sign_in(token: str, env: ServiceEnv, *, ip: str | None = None) -> Educator:
    """The educator a sign-in link is for (created on first use); the address is now verified.

    :raises ServiceError: for an unknown, used or expired link.
    """
    return _signed_in(redeem(token, "sign_in", env), env, ip)


def claim_sign_in(
    token: str, credential_id: str, env: ServiceEnv, *, ip: str | None = None
) -> Educator:
    """The educator a credential's claim link (from its award email) signs in: like a sign-in
    link, it proves the recipient reads that address's mail. The link works once, and only
    for the credential it came with.

    :raises ServiceError: for an unknown, used or expired link, or another credential's.
    """
    link = find_link(token, "claim", env)
    credential = db.session.get(IssuedCredential, credential_id)
    if credential is None or credential.recipient_email != link.email:
        raise Invalid(LINK_UNUSABLE)
    return _signed_in(redeem(token, "claim", env), env, ip)


def _signed_in(link: MagicLink, env: ServiceEnv, ip: str | None) -> Educator:
    """The educator a used link's address belongs to (created on first use), now verified."""
    row = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == link.email))
    if row is not None and row.verified_at is None and verified_emails(row.educator):
        # Someone added this address to their account but never confirmed it: whoever proves
        # they read its mail is not necessarily that account's owner, so they do not get into
        # it. The pending address leaves that account and starts one of its own.
        db.session.delete(row)
        db.session.flush()
        row = None
    if row is None:
        educator = create(link.email, "", env, verified=True)
    else:
        # Its own account, or one Cairn made for it (e.g. a pathway awaiting review) that
        # nobody has claimed yet.
        educator = row.educator
        if row.verified_at is None:
            row.verified_at = env.now
    educator.last_login_at = env.now
    audit.record(
        "educator.sign_in",
        actor=actor(educator, ip),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
    )
    db.session.commit()
    return educator


def add_email(educator: Educator, email: str, env: ServiceEnv) -> EducatorEmail:
    """Add an address (or send a new link for one still unconfirmed) and send a link that
    confirms it. The link only works for this educator, signed in.

    An address someone else added but never confirmed moves to this educator (the earlier
    link stops working): an unconfirmed address is nobody's yet, and must not be squatted.

    :raises Conflict: when it is already confirmed, here or on another account, or it has an
        account of its own.
    """
    address = check_email(email)
    row = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == address))
    if row is not None and row.educator_id == educator.id:
        if row.verified_at is not None:
            raise Conflict(f"{address} is already confirmed on your account.", "email")
    elif row is not None:
        if row.verified_at is not None or not verified_emails(row.educator):
            raise Conflict(
                f"{address} belongs to another Cairn account. Sign in with it to see what "
                "it holds.",
                "email",
            )
        row.educator_id = educator.id
        row.created_at = env.now
    else:
        row = EducatorEmail(educator_id=educator.id, email=address, created_at=env.now)
        db.session.add(row)
    token = _add_link(address, "verify_email", educator.id, timedelta(hours=VERIFY_HOURS), env)
    emails.queue_template(
        "verify_email",
        env,
        to=address,
        link=f"{env.base_url}/me/emails/verify/{token}",
        secret=True,
        name=educator.name,
        hours=VERIFY_HOURS,
    )
    _record_address_event("educator.email_add", educator, address, env)
    emails.deliver_soon(env)
    return row


def find_verify_link(token: str, env: ServiceEnv, *, educator: Educator | None) -> MagicLink:
    """The unused address-confirmation link ``token`` names (without using it); with
    ``educator``, only if it is that educator's.

    :raises ServiceError: for an unknown, used or expired link, or another educator's.
    """
    link = find_link(token, "verify_email", env)
    if educator is not None and link.educator_id != educator.id:
        raise Invalid(
            "This link confirms an address for another Cairn account. Sign out, then sign in "
            "to the account that added the address and open the link again."
        )
    return link


def verify_email(token: str, env: ServiceEnv, *, educator: Educator | None = None) -> EducatorEmail:
    """Confirm an address with its link; with ``educator``, only that educator's link works
    (and a link of someone else's is left unused).

    :raises ServiceError: for an unknown, used or expired link, or another educator's.
    """
    find_verify_link(token, env, educator=educator)
    link = redeem(token, "verify_email", env)
    row = db.session.scalar(select(EducatorEmail).where(EducatorEmail.email == link.email))
    if row is None or row.educator_id != link.educator_id:
        roll_back_refused()
        raise Invalid("This address is no longer on the account.")
    row.verified_at = env.now
    _record_address_event("educator.email_verify", row.educator, row.email, env)
    return row


def remove_email(educator: Educator, email_id: int, env: ServiceEnv) -> None:
    """Remove one of an educator's addresses (never the last verified one).

    :raises NotFound: when it is not theirs.
    :raises Conflict: when it is the last verified address.
    """
    row = _own_address(educator, email_id)
    verified = [e for e in educator.emails if e.verified_at is not None]
    if row.verified_at is not None and len(verified) <= 1:
        raise Conflict("Keep at least one confirmed address to sign in with.")
    if educator.primary_email == row.email:
        educator.primary_email = None
    db.session.delete(row)
    _record_address_event("educator.email_remove", educator, row.email, env)


def _own_address(educator: Educator, email_id: int) -> EducatorEmail:
    """One of the educator's addresses, by id.

    :raises NotFound: when it is someone else's or does not exist.
    """
    row = db.session.get(EducatorEmail, email_id)
    if row is None or row.educator_id != educator.id:
        raise NotFound("There is no such address.")
    return row


def _record_address_event(event: str, educator: Educator, address: str, env: ServiceEnv) -> None:
    """Audit a change the educator made to one of their addresses, and commit it."""
    audit.record(
        event,
        actor=actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"email": address},
    )
    db.session.commit()


def verified_emails(educator: Educator) -> list[str]:
    """The educator's confirmed addresses, the primary one first."""
    addresses = [e.email for e in educator.emails if e.verified_at is not None]
    if educator.primary_email in addresses:
        addresses.remove(educator.primary_email)
        addresses.insert(0, educator.primary_email)
    return addresses


def primary_email(educator: Educator) -> str | None:
    """Where the educator's mail goes: the address they chose, while it is confirmed, else
    their first confirmed one."""
    addresses = verified_emails(educator)
    return addresses[0] if addresses else None


def set_primary(educator: Educator, email_id: int, env: ServiceEnv) -> None:
    """Make one of the educator's confirmed addresses the one their mail goes to.

    :raises NotFound: when it is not theirs.
    :raises Conflict: when it is not confirmed yet.
    """
    row = _own_address(educator, email_id)
    if row.verified_at is None:
        raise Conflict("Confirm the address before making it your primary one.")
    if educator.primary_email == row.email:
        return
    educator.primary_email = row.email
    _record_address_event("educator.email_primary", educator, row.email, env)


def update_account(
    educator: Educator, *, name: str, bio: str | None, profile_public: bool, env: ServiceEnv
) -> None:
    """Change the educator's name, short bio and whether their public profile page exists."""
    changes = {
        key: value
        for key, value in (("name", name), ("bio", bio), ("profile_public", profile_public))
        if getattr(educator, key) != value
    }
    if not changes:
        return
    educator.name = name
    educator.bio = bio
    educator.profile_public = profile_public
    audit.record(
        "educator.update",
        actor=actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={k: v for k, v in changes.items() if k == "profile_public"},
    )
    db.session.commit()


def sign_out_everywhere(educator: Educator, env: ServiceEnv, *, ip: str | None = None) -> int:
    """End every session of the educator, the one asking included; how many ended."""
    ended = account_sessions.end_all("educator", educator.id, now=env.now)
    audit.record(
        "educator.sign_out_everywhere",
        actor=actor(educator, ip),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"sessions": ended},
    )
    db.session.commit()
    return ended


def end_session(educator: Educator, session_id: int, env: ServiceEnv) -> None:
    """End one of the educator's own sessions.

    :raises NotFound: when the educator has no live session by that id.
    """
    if not account_sessions.end_one("educator", educator.id, session_id, now=env.now):
        raise NotFound("There is no such session of yours (it may have ended already).")
    db.session.commit()


def credentials_of(educator: Educator) -> list[IssuedCredential]:
    """Credentials of this instance awarded to any of the educator's confirmed addresses,
    newest first."""
    addresses = verified_emails(educator)
    if not addresses:
        return []
    return list(
        db.session.scalars(
            select(IssuedCredential)
            .where(IssuedCredential.recipient_email.in_(addresses))
            .order_by(IssuedCredential.issued_at.desc())
        )
    )


def owns(educator: Educator, credential: IssuedCredential) -> bool:
    """Whether the credential was awarded to one of the educator's confirmed addresses."""
    return credential.recipient_email in verified_emails(educator)


def get_credential(educator: Educator, credential_id: str) -> IssuedCredential:
    """One of the educator's credentials.

    :raises NotFound: when it does not exist or is not theirs (the two look the same).
    """
    found = db.session.get(IssuedCredential, credential_id)
    if found is None or not owns(educator, found):
        raise NotFound("There is no such credential in your backpack.")
    return found


def set_show_on_profile(
    educator: Educator, credential: IssuedCredential, show: bool, env: ServiceEnv
) -> bool:
    """List one of the educator's credentials on their public profile page, or stop listing
    it. Returns whether anything changed.

    :raises NotFound: when the credential is not theirs.
    """
    if not owns(educator, credential):
        raise NotFound("There is no such credential in your backpack.")
    if bool(credential.show_on_profile) == show:
        return False
    credential.show_on_profile = show
    db.session.commit()
    return True


@dataclass(frozen=True)
class BackpackEntry:
    """One credential of this instance as the backpack and the profile list it."""

    credential: IssuedCredential
    name: str
    issuer_name: str
    issuer_slug: str
    image_sha256: str | None
    image_extension: str | None
    #: The credit it carries as signed (what was earned, else what its achievement makes
    #: available), and its unit (none: hours, unit not stated).
    credits: float | None = None
    credit_unit: str | None = None


def _entries(where: list[Any]) -> list[BackpackEntry]:
    # One query for the list, with only the image's hash (not its bytes).
    rows = db.session.execute(
        select(
            IssuedCredential,
            AchievementVersion.name,
            Issuer.name,
            Issuer.slug,
            Image.sha256,
            Image.media_type,
        )
        .join(AchievementVersion, AchievementVersion.id == IssuedCredential.achievement_version_id)
        .join(Issuer, Issuer.id == IssuedCredential.issuer_id)
        .outerjoin(Image, Image.id == AchievementVersion.image_id)
        .where(*where)
        .order_by(IssuedCredential.issued_at.desc(), IssuedCredential.id)
    ).all()
    entries = []
    for credential, name, issuer_name, issuer_slug, sha, media_type in rows:
        # Read from the signed document, so the card says what the credential says.
        credits, unit = downloads.credit_of(credential)
        entries.append(
            BackpackEntry(
                credential=credential,
                name=name,
                issuer_name=issuer_name,
                issuer_slug=issuer_slug,
                image_sha256=sha,
                image_extension=("svg" if media_type == "image/svg+xml" else "png")
                if sha
                else None,
                credits=credits,
                credit_unit=unit,
            )
        )
    return entries


def backpack(educator: Educator) -> list[BackpackEntry]:
    """The educator's credentials of this instance (awarded to any confirmed address), newest
    first."""
    addresses = verified_emails(educator)
    if not addresses:
        return []
    return _entries([IssuedCredential.recipient_email.in_(addresses)])


def public_profile(slug: str) -> tuple[Educator, list[BackpackEntry]]:
    """An educator whose profile page is on, and the credentials it lists: those they chose
    to show that are public, not revoked and not suspended.

    :raises NotFound: when there is no such educator or their profile is off (alike).
    """
    educator = db.session.scalar(select(Educator).where(Educator.profile_slug == slug))
    if educator is None or not educator.profile_public:
        raise NotFound("There is no such profile.")
    addresses = verified_emails(educator)
    if not addresses:
        return educator, []
    shown = _entries(
        [
            IssuedCredential.recipient_email.in_(addresses),
            IssuedCredential.show_on_profile.is_(True),
            IssuedCredential.is_private.is_(False),
            IssuedCredential.revoked_at.is_(None),
            IssuedCredential.suspended_at.is_(None),
        ]
    )
    return educator, shown


def holds_count() -> int:
    """How many educators there are (for reports)."""
    return db.session.scalar(select(func.count()).select_from(Educator)) or 0


def holds_current(educator: Educator, achievement: Achievement, now: datetime) -> bool:
    """Whether the educator holds an unrevoked, unexpired credential for the achievement (at
    any of their confirmed addresses)."""
    addresses = verified_emails(educator)
    if not addresses:
        return False
    found = db.session.scalar(
        select(func.count())
        .select_from(IssuedCredential)
        .where(
            IssuedCredential.achievement_id == achievement.id,
            IssuedCredential.recipient_email.in_(addresses),
            IssuedCredential.revoked_at.is_(None),
            (IssuedCredential.valid_until.is_(None)) | (IssuedCredential.valid_until > now),
        )
    )
    return bool(found)


def recipient_email(educator: Educator) -> str:
    """The address a reviewed award goes to: the educator's first confirmed one."""
    addresses = verified_emails(educator) or [e.email for e in educator.emails]
    if not addresses:
        raise Conflict("The educator has no email address to award the credential to.")
    return addresses[0]
