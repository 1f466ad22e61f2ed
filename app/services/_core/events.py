"""Domain events: what one domain announces and others react to, so that no domain imports the
ones above it. A new issuer is announced to the status lists; issuing announces an award, and
email and pathways subscribe; a review decision reaches the learning modules the same way.

Handlers run synchronously, in the order they were subscribed, inside the publisher's unit of
work: an event published before the commit lets handlers add rows to the same transaction (the
award email), one published after it lets them start work of their own (pathway awards). Who
subscribes to what is written in one place, :mod:`app.services.subscriptions`, registered when
the application is built.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.models import AchievementVersion, BulkJob, IssuedCredential, Issuer, Submission
    from app.services._core.env import ServiceEnv


@dataclass(frozen=True)
class IssuerCreated:
    """An issuer and its keys were added, not yet committed: handlers add what every issuer
    needs from the start (its status lists)."""

    issuer: Issuer
    env: ServiceEnv


@dataclass(frozen=True)
class CredentialStored:
    """A credential was signed and added to the session, not yet committed: handlers add what
    belongs in the same transaction (the award email, when ``notify_recipient``)."""

    credential: IssuedCredential
    issuer: Issuer
    version: AchievementVersion
    notify_recipient: bool
    env: ServiceEnv


@dataclass(frozen=True)
class CredentialsAwarded:
    """Credentials were committed: handlers react with work of their own (pathways award what
    these complete). ``follow_pathways`` is false for an award a pathway made itself, which
    follows its own chain."""

    credentials: tuple[IssuedCredential, ...]
    env: ServiceEnv
    follow_pathways: bool = True


@dataclass(frozen=True)
class CredentialClaimed:
    """An educator accepted a credential into their backpack, not yet committed."""

    credential: IssuedCredential
    env: ServiceEnv


@dataclass(frozen=True)
class CredentialRevoked:
    """A credential was revoked (or replaced, which revokes it), not yet committed."""

    credential: IssuedCredential
    env: ServiceEnv


@dataclass(frozen=True)
class CredentialSuspended:
    """A credential was suspended, not yet committed."""

    credential: IssuedCredential
    env: ServiceEnv


@dataclass(frozen=True)
class CredentialUnsuspended:
    """A credential's suspension was lifted, not yet committed."""

    credential: IssuedCredential
    env: ServiceEnv


@dataclass(frozen=True)
class JobFinished:
    """A bulk job ended (``job.state`` is ``done`` or ``failed``), not yet committed."""

    job: BulkJob
    env: ServiceEnv


@dataclass(frozen=True)
class SubmissionDecided:
    """A review submission was decided by a reviewer or withdrawn by its educator (its
    ``state`` says which), not yet committed: handlers bring along what the submission stands
    for (the module enrolment it came from) in the same transaction."""

    submission: Submission
    env: ServiceEnv


E = TypeVar("E")
_handlers: dict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call ``handler`` with every event of ``event_type`` (once, however often subscribed)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def publish(event: object) -> None:
    """Hand ``event`` to each of its handlers in turn; a handler's exception reaches the
    publisher, whose unit of work then rolls back."""
    for handler in list(_handlers[type(event)]):
        handler(event)


def subscribers(event_type: type[Any]) -> list[Callable[[Any], None]]:
    """The handlers of ``event_type``, in order (for tests and the architecture document)."""
    return list(_handlers[event_type])
