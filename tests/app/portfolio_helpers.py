"""Builders shared by the portfolio, review and pathway tests: educators, sample evidence files,
a portfolio achievement with a rubric, and helpers to read a stored credential."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from app.extensions import db
from app.models import Achievement, Educator, IssuedCredential, Issuer, PortfolioItem
from app.services.learning import educators, portfolio
from app.services.learning.portfolio import ItemInput
from app.services.org import achievements
from app.services.org.achievements import AwardRulesInput
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import verify_credential
from tests.app.conftest import sign_in_directly

ACTOR = Actor(label="test")
RUBRIC: tuple[dict[str, Any], ...] = (
    {
        "id": "evidence-of-impact",
        "name": "Evidence of impact",
        "description": "How clearly the work shows an effect on students.",
        "levels": [
            {"id": "emerging", "name": "Emerging", "description": "Some signs", "points": "1"},
            {"id": "proficient", "name": "Proficient", "description": "Clear", "points": "2"},
            {"id": "exemplary", "name": "Exemplary", "description": "Compelling", "points": "3"},
        ],
    },
    {
        "id": "reflection",
        "name": "Reflection",
        "levels": [
            {"id": "developing", "name": "Developing"},
            {"id": "secure", "name": "Secure"},
        ],
    },
)

#: Small files whose bytes are what their names say.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00\x01" * 64
SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
)


def make_educator(email: str = "ann.lee@school.example.org", name: str = "Ann Lee") -> Educator:
    """An educator with one confirmed address (committed)."""
    educator = educators.create(email, name, service_env(), verified=True, name_confirmed=True)
    db.session.commit()
    return educator


def sign_in_educator(client: FlaskClient, educator: Educator) -> None:
    """Sign in by writing the session, as the sign-in link does once it has checked."""
    sign_in_directly(client, "educator", educator.id)


def portfolio_badge(
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    name: str = "Action Research Project",
    *,
    rubric: tuple[dict[str, Any], ...] = RUBRIC,
) -> Achievement:
    """An achievement taking portfolio submissions, scored with ``rubric``."""
    found = make_achievement(issuer, name, criteria_markdown="Submit an action-research project.")
    achievements.update_award_rules(
        found,
        AwardRulesInput(rubric=rubric, accepts_submissions=True),
        actor=ACTOR,
        env=service_env(),
    )
    return found


def add_item(
    educator: Educator,
    title: str = "Exit tickets study",
    *,
    body: str = "Over six weeks I used **exit tickets**.",
    publish: bool = False,
    kind: str = "narrative",
    url: str | None = None,
    file: tuple[bytes, str] | None = None,
) -> PortfolioItem:
    """A portfolio item (a file item when ``file`` is ``(bytes, name)``)."""
    env = service_env()
    stored = None
    if file is not None:
        stored = portfolio.store_file(file[0], file[1], max_bytes=5 * 1024 * 1024, now=env.now)
        kind = "file"
    item = portfolio.create_item(
        educator, kind, ItemInput(title=title, body=body, url=url), env, file=stored
    )
    if publish:
        portfolio.set_publish(item, educator, True, env)
    return item


def document(credential: IssuedCredential) -> dict[str, Any]:
    """A stored Data Integrity credential as JSON."""
    parsed: dict[str, Any] = json.loads(credential.document)
    return parsed


def verify(credential: IssuedCredential, fetch: Callable[[str], bytes]) -> Any:
    """Cairn's verifier on a stored credential, resolving the app's own URLs locally."""
    env = service_env()
    return verify_credential(
        credential.document, loader=env.loader, now=env.now + timedelta(seconds=1), fetch=fetch
    )
