"""Email addresses as every domain accepts them: normalised, and refused when they are not one."""

from __future__ import annotations

import re

from app.services._core.errors import Invalid
from credentials import normalise_email

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(email: str) -> str:
    """A normalised recipient email.

    :raises ServiceError: when it is not an email address.
    """
    normalised = normalise_email(email)
    if not EMAIL.match(normalised) or len(normalised) > 320:
        raise Invalid(f"{email!r} is not an email address.", "email")
    return normalised
