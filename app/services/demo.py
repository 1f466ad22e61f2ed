"""Demo data for a first run: a district PD office with module badges, awards, one revoked."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer, StaffAccount
from app.services._core.env import ServiceEnv
from app.services._core.errors import NotFound
from app.services.awarding import issuing, revocation
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.delivery import images
from app.services.learning import authoring
from app.services.learning.authoring import ActivityInput, ModuleInput
from app.services.org import achievements, issuers, staff
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput

ISTE = "ISTE Standards for Educators"
DEMO_EMAIL = "pd.office@district7.example.org"


def _iste(standard: str, code: str) -> dict[str, str]:
    """An alignment to one of the ISTE Standards for Educators."""
    return {
        "target_name": standard,
        "target_url": f"https://iste.org/standards/educators#{standard.lower()}",
        "target_framework": ISTE,
        "target_code": code,
    }


ACHIEVEMENTS = [
    AchievementInput(
        name="Formative Assessment in Practice",
        description="Completed the four-week formative assessment module and applied it in class.",
        criteria_markdown="Complete the four module activities, submit a **reflection** on a "
        "redesigned "
        "exit ticket, and have your learning partner confirm completion.",
        learning_outcomes=(
            "Design exit tickets that surface misconceptions",
            "Adjust instruction using formative data",
        ),
        alignments=(_iste("Analyst", "2.7"),),
        achievement_type="MicroCredential",
        tags=("assessment", "module"),
        credits_available=6,
        default_validity_days=3 * 365,
    ),
    AchievementInput(
        name="Digital Citizenship Foundations",
        description="Completed the digital citizenship module for K-12 educators.",
        criteria_markdown="Complete the module checklist and share one classroom lesson on "
        "digital citizenship.",
        alignments=(_iste("Citizen", "2.3"),),
        achievement_type="Badge",
        tags=("digital citizenship", "module"),
        credits_available=3,
    ),
    AchievementInput(
        name="Instructional Coaching Cycle",
        description="Led a full instructional coaching cycle with a colleague over a semester.",
        criteria_markdown="Plan, observe and debrief three coaching cycles; submit the cycle log "
        "and the "
        "coachee's reflection as evidence.",
        alignments=(_iste("Collaborator", "2.4"),),
        achievement_type="Certificate",
        tags=("coaching",),
        credits_available=15,
    ),
]

AWARDS = [
    (0, "maria.gonzalez@lincoln-elementary.example.org", "María González"),
    (0, "james.okafor@lincoln-elementary.example.org", "James Okafor"),
    (1, "maria.gonzalez@lincoln-elementary.example.org", "María González"),
    (1, "priya.natarajan@westside-middle.example.org", "Priya Natarajan"),
    (2, "tom.becker@westside-middle.example.org", "Tom Becker"),
    (1, "alex.wong@westside-middle.example.org", "Alex Wong"),
]


#: The demo's open module: (activity title, directions, [prompts]).
MODULE_ACTIVITIES = [
    (
        "Exit tickets that surface misconceptions",
        "Read the guide, then design **three exit tickets** for next week's lessons.",
        ["Which misconception does each of your exit tickets target, and how?"],
    ),
    (
        "Try them in class",
        "Use your exit tickets in three lessons and sort the answers into *got it*, "
        "*nearly* and *not yet*.",
        ["What did the answers tell you that you did not expect?", "What did you change?"],
    ),
    (
        "Reflect with your learning partner",
        "Talk through the week with your learning partner.",
        ["What will you keep doing, and what will you do differently?"],
    ),
]


def _seed_module(issuer: Issuer, achievement: Achievement, actor: Actor, env: ServiceEnv) -> None:
    """A published open module, with three activities, leading to ``achievement``."""
    module = authoring.create_module(
        issuer,
        ModuleInput(
            title="Formative Assessment in Practice",
            summary="Four weeks of designing, using and learning from exit tickets.",
            achievement_public_id=achievement.public_id,
            learning_outcomes=(
                "Design exit tickets that surface misconceptions",
                "Adjust instruction using formative data",
            ),
        ),
        actor=actor,
        env=env,
    )
    for title, directions, prompts in MODULE_ACTIVITIES:
        activity = authoring.add_activity(
            module,
            ActivityInput(
                title=title,
                directions=directions,
                resources=(
                    {
                        "title": "Exit ticket guide",
                        "url": "https://district7.example.org/pd/exit-tickets",
                    },
                ),
            ),
            actor=actor,
            env=env,
        )
        for text in prompts:
            authoring.add_prompt(activity, text, actor=actor, env=env)
    authoring.set_published(module, True, actor=actor, env=env)


def seed(env: ServiceEnv, *, if_empty: bool = False) -> str | None:
    """Create the demo issuer, its owner account, achievements and awards.

    :returns: a note with the demo sign-in (the command line keeps it in the instance
        folder), or None when skipped because issuers exist.
    """
    if if_empty and db.session.scalar(select(Issuer.id).limit(1)) is not None:
        return None
    actor = Actor(label="demo")
    password = secrets.token_urlsafe(12)
    owner = _seed_owner(password, actor, env)
    issuer = issuers.create_issuer(
        IssuerProfileInput(
            name="District 7 Professional Learning Office",
            url="https://district7.example.org",
            email="pd@district7.example.org",
            description="Professional learning for the educators of District 7: modules, "
            "coaching and "
            "evidence-backed portfolio badges.",
        ),
        slug=None,
        owner=owner,
        actor=actor,
        env=env,
    )
    created = _seed_achievements(issuer, actor, env)
    credentials = _seed_awards(issuer, created, actor, env)
    revocation.revoke(
        credentials[-1], "Awarded in error: the module was not completed.", actor=actor, env=env
    )
    _seed_module(issuer, created[0], actor, env)
    note = (
        f"Demo issuer '{issuer.name}' created (DID {issuers.issuer_did(issuer, env)}).\n"
        f"Sign in at {env.base_url}/login as {DEMO_EMAIL} with password: {password}"
    )
    return note


def _seed_owner(password: str, actor: Actor, env: ServiceEnv) -> StaffAccount:
    """The demo's admin account, created or given the new ``password``."""
    try:
        owner = staff.get_by_email(DEMO_EMAIL)
    except NotFound:
        return staff.create_account(
            email=DEMO_EMAIL,
            name="District 7 PD Office",
            password=password,
            is_admin=True,
            actor=actor,
            env=env,
        )
    staff.set_password(owner, password, actor=actor, env=env)
    return owner


def _seed_achievements(issuer: Issuer, actor: Actor, env: ServiceEnv) -> list[Achievement]:
    """The ``ACHIEVEMENTS``, each with a generated badge image."""
    created = []
    for data in ACHIEVEMENTS:
        image = images.generate_default(data.name, now=env.now)
        created.append(
            achievements.create_achievement(
                issuer,
                AchievementInput(**{**data.__dict__, "image_id": image.id}),
                actor=actor,
                env=env,
            )
        )
    return created


def _seed_awards(
    issuer: Issuer, created: list[Achievement], actor: Actor, env: ServiceEnv
) -> list[IssuedCredential]:
    """The ``AWARDS``, each with a portfolio entry as evidence."""
    credentials = []
    for index, email, name in AWARDS:
        credentials.append(
            issuing.award(
                issuer,
                created[index],
                AwardInput(
                    email=email,
                    name=name,
                    narrative="Completed every activity; the learning partner confirmed it.",
                    evidence=(
                        EvidenceInput(
                            url="https://portfolio.district7.example.org/" + email.split("@")[0],
                            name="Portfolio entry",
                            narrative="Reflection and artefacts",
                        ),
                    ),
                ),
                actor=actor,
                env=env,
            )
        )
    return credentials
