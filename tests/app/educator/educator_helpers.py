"""Helpers for the educator-side tests: educators, signing a browser in (through the real
emailed link, or directly), reading links out of the mail Cairn queued, and baked badges."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Educator, EmailMessage, IssuedCredential
from app.services.delivery import downloads
from app.services.learning import educators
from app.wiring import service_env
from credentials import bake_png
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.mail_helpers import link_in_delivered

SIGN_IN_LINK = re.compile(re.escape(BASE_URL) + r"/me/sign-in/([A-Za-z0-9_\-]+)")
VERIFY_LINK = re.compile(re.escape(BASE_URL) + r"/me/emails/verify/([A-Za-z0-9_\-]+)")


def make_educator(email: str, name: str = "Ann Lee") -> Educator:
    """An educator with one confirmed address (committed)."""
    educator = educators.create(email, name, service_env(), verified=True, name_confirmed=True)
    db.session.commit()
    return educator


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def latest_mail(address: str, kind: str) -> EmailMessage:
    message = db.session.scalars(
        select(EmailMessage)
        .where(EmailMessage.to_address == address, EmailMessage.kind == kind)
        .order_by(EmailMessage.id.desc())
    ).first()
    assert message is not None, f"no {kind} mail to {address}"
    return message


def token_from_mail(address: str, kind: str = "sign_in") -> str:
    """The token of the latest link of ``kind`` delivered to ``address`` (the stored message
    keeps no usable link, so it is read from the mail as delivered)."""
    pattern = SIGN_IN_LINK if kind == "sign_in" else VERIFY_LINK
    return link_in_delivered(pattern, address, kind).group(1)


def request_link(web: Web, email: str, **extra: str) -> Any:
    return web.submit("/me/sign-in", data={"email": email, **extra})


def sign_in_by_link(web: Web, email: str) -> Any:
    """Ask for a link, open it and press its button, as an educator would."""
    assert request_link(web, email).status_code == 303
    path = f"/me/sign-in/{token_from_mail(email)}"
    return web.submit(path)


def sign_in_as(web: Web, educator: Educator) -> None:
    """Sign a browser in as ``educator`` directly (for tests about something else)."""
    sign_in_directly(web.client, "educator", educator.id)


def signed_in_educator(web: Web) -> Any:
    with web.client.session_transaction(base_url=BASE_URL) as session:
        return session.get("educator_id")


def baked_png(credential: IssuedCredential) -> bytes:
    """The credential's badge image, baked as its public download is."""
    return downloads.badge_png(credential)


def tampered_png(credential: IssuedCredential) -> bytes:
    """The badge with the baked credential's achievement renamed (its proof no longer holds).
    Baking again replaces the credential chunk and leaves the image bytes alone."""
    document = json.loads(credential.document)
    document["credentialSubject"]["achievement"]["name"] = "Something I never earned"
    return bake_png(downloads.badge_png(credential), json.dumps(document))
