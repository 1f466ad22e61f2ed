"""No usable secret at rest: queued mail keeps its links encrypted, manage links become random
tokens stored as hashes (with an expiry and revocation), partner invitations expire and can be
withdrawn; links already stored in mail bodies are removed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00.000000

Data: every secret link in a stored body (sign-in, address confirmation, staff invitation,
password reset, partner and manage links) of a message that was sent, or given up on, becomes
"[link removed]". A message still waiting keeps its working links, encrypted as the application
now stores them (a marker in the body, the link in ``email_message.secret``); its old-style
manage link, which stops working with this revision, becomes the page where the recipient asks
for a new one. Partner invitations still outstanding expire ``PARTNER_LINK_DAYS`` after they
were sent. Nothing can bring a removed link back; the downgrade drops the new columns, and
the encrypted links of mail still waiting with them.
"""

import base64
import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REMOVED = "[link removed]"
MAX_ATTEMPTS = 5  # app.services.mail.emails.MAX_ATTEMPTS when this revision was written
_ORIGIN = r"https?://[^\s\"'<>/]+"
#: Links that grant something to whoever holds them (the token is the rest of the path).
SECRET_LINK = re.compile(
    _ORIGIN + r"/(?:me/sign-in|me/emails/verify|invite|password/reset|partner)/[A-Za-z0-9_\-]+"
)
#: The manage links earlier versions mailed: a signature of the credential id.
OLD_MANAGE_LINK = re.compile(
    "(" + _ORIGIN + r"/credentials/[0-9a-fA-F\-]{36}/manage)/[A-Za-z0-9_.\-]+"
)


# A copy of how app.services.mail.emails seals the links of a queued message (format "v1:"), so this
# revision keeps working whatever that module becomes.
def _seal(links: dict[str, str], to: str, secret_key: str) -> str:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cairn/email-secret-links/v1"
    ).derive(secret_key.encode("utf-8"))
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(
        nonce, json.dumps(links).encode("utf-8"), b"cairn email to " + to.encode("utf-8")
    )
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _redact_stored_mail(connection: sa.Connection) -> None:
    mail = sa.table(
        "email_message",
        sa.column("id", sa.Integer),
        sa.column("to_address", sa.String),
        sa.column("body_text", sa.Text),
        sa.column("body_html", sa.Text),
        sa.column("sent_at", UTCDateTime),
        sa.column("attempts", sa.Integer),
        sa.column("secret", sa.Text),
    )
    secret_key = str(current_app.config["SECRET_KEY"])
    rows = connection.execute(
        sa.select(
            mail.c.id,
            mail.c.to_address,
            mail.c.body_text,
            mail.c.body_html,
            mail.c.sent_at,
            mail.c.attempts,
        )
    ).all()
    for row in rows:
        text, html = row.body_text or "", row.body_html
        waiting = row.sent_at is None and (row.attempts or 0) < MAX_ATTEMPTS
        values: dict[str, object] = {}
        if waiting:
            markers: dict[str, str] = {}
            for link in dict.fromkeys(SECRET_LINK.findall(text + "\n" + (html or ""))):
                marker = f"[secret link {secrets.token_hex(16)}]"
                markers[marker] = link
                text = text.replace(link, marker)
                html = html.replace(link, marker) if html else html
            if markers:
                values["secret"] = _seal(markers, row.to_address, secret_key)
            # The old manage link no longer works: the page it leads to offers a new one.
            new_text = OLD_MANAGE_LINK.sub(r"\1", text)
            new_html = OLD_MANAGE_LINK.sub(r"\1", html) if html else html
        else:
            new_text = OLD_MANAGE_LINK.sub(REMOVED, SECRET_LINK.sub(REMOVED, text))
            new_html = (
                OLD_MANAGE_LINK.sub(REMOVED, SECRET_LINK.sub(REMOVED, html)) if html else html
            )
        if new_text != row.body_text or new_html != row.body_html or values:
            connection.execute(
                sa.update(mail)
                .where(mail.c.id == row.id)
                .values(body_text=new_text, body_html=new_html, **values)
            )


def _expire_partner_invitations(connection: sa.Connection) -> None:
    enrolment = sa.table(
        "enrolment",
        sa.column("id", sa.Integer),
        sa.column("partner_token_hash", sa.String),
        sa.column("partner_invited_at", UTCDateTime),
        sa.column("partner_confirmed_at", UTCDateTime),
        sa.column("partner_expires_at", UTCDateTime),
    )
    days = int(current_app.config.get("PARTNER_LINK_DAYS") or 30)
    rows = connection.execute(
        sa.select(enrolment.c.id, enrolment.c.partner_invited_at).where(
            enrolment.c.partner_token_hash.is_not(None),
            enrolment.c.partner_confirmed_at.is_(None),
        )
    ).all()
    for row in rows:
        invited = row.partner_invited_at or datetime.now(UTC)
        connection.execute(
            sa.update(enrolment)
            .where(enrolment.c.id == row.id)
            .values(partner_expires_at=invited + timedelta(days=days))
        )


def upgrade():
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sa.Text(), nullable=True))
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("partner_revoked_at", UTCDateTime(), nullable=True))
    op.create_table(
        "manage_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["issued_credential.id"],
            name=op.f("fk_manage_link_credential_id_issued_credential"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manage_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_manage_link_token_hash")),
    )
    with op.batch_alter_table("manage_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manage_link_credential_id"), ["credential_id"], unique=False
        )
    connection = op.get_bind()
    _redact_stored_mail(connection)
    _expire_partner_invitations(connection)


def downgrade():
    # Mail still waiting loses its encrypted links (the old schema has nowhere to keep them).
    mail = sa.table(
        "email_message",
        sa.column("id", sa.Integer),
        sa.column("body_text", sa.Text),
        sa.column("body_html", sa.Text),
    )
    marker = re.compile(r"\[secret link [0-9a-f]{32}\]")
    connection = op.get_bind()
    for row in connection.execute(sa.select(mail.c.id, mail.c.body_text, mail.c.body_html)):
        text = marker.sub(REMOVED, row.body_text or "")
        html = marker.sub(REMOVED, row.body_html) if row.body_html else row.body_html
        if text != row.body_text or html != row.body_html:
            connection.execute(
                sa.update(mail).where(mail.c.id == row.id).values(body_text=text, body_html=html)
            )
    with op.batch_alter_table("manage_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manage_link_credential_id"))
    op.drop_table("manage_link")
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("partner_revoked_at")
        batch_op.drop_column("partner_expires_at")
    with op.batch_alter_table("email_message", schema=None) as batch_op:
        batch_op.drop_column("secret")
