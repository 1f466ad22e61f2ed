"""Errors services raise: invalid input (with its field), not found, forbidden, gone, conflict.
Edges turn them into a 4xx page or JSON body, or exit status 2."""

from __future__ import annotations

from typing import TypeVar


class ServiceError(Exception):
    """Root: a request that cannot be carried out; the message is shown to the user. Raise one
    of the subclasses; catch this one."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ServiceError):
    """The input is wrong: ``field`` names the form field or JSON member at fault, when one is."""

    status = 400


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404


class Forbidden(ServiceError):
    """The caller's role does not allow this."""

    status = 403


class Gone(ServiceError):
    """The thing existed but is no longer available (e.g. an expired or withdrawn link)."""

    status = 410


class Conflict(ServiceError):
    """The request conflicts with the current state (e.g. revoking a revoked credential)."""

    status = 409


T = TypeVar("T")


def required(value: T | None, message: str) -> T:
    """``value``, or :class:`NotFound` when it is missing (e.g. a row a foreign key names)."""
    if value is None:
        raise NotFound(message)
    return value
