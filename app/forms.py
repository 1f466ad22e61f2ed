"""The one way a view answers a refused request: invalid input and conflicts are shown on the
page (beside the input at fault, or as a flashed message), with the request's writes rolled
back; a missing, forbidden or gone thing goes on to the error handler, which shows an error page.

    with refusal() as refused:
        credential = issuing.award(...)
    if refused:
        errors = refused.errors(FIELDS)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from flask import flash

from app.services._core.errors import Conflict, Invalid, ServiceError
from app.services._core.transaction import roll_back_refused

#: What a page shows itself; not found, forbidden and gone are error pages.
SHOWN: tuple[type[ServiceError], ...] = (Invalid, Conflict)
#: Where the errors of a form as a whole are kept.
WHOLE_FORM = "_schema"


class Refusal:
    """What a :func:`refusal` block caught: false when the block went through."""

    def __init__(self) -> None:
        self.error: ServiceError | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        """The refusal's message ('' when nothing was refused)."""
        return self.error.message if self.error is not None else ""

    @property
    def status(self) -> int:
        """The HTTP status the refusal answers with (200 when nothing was refused)."""
        return self.error.status if self.error is not None else 200

    def field(self, fields: Mapping[str, str] | None = None, default: str = WHOLE_FORM) -> str:
        """The input the refusal is about: the service's field, renamed through ``fields`` when
        given (a field it does not name belongs to ``default``)."""
        named = self.error.field if self.error is not None else None
        if fields is None:
            return named or default
        return fields.get(named or "", default)

    def errors(self, fields: Mapping[str, str] | None = None) -> dict[str, str]:
        """``{input name: message}`` for the form to show (empty when nothing was refused)."""
        return {self.field(fields): self.message} if self else {}

    def messages(self, fields: Mapping[str, str] | None = None) -> dict[str, list[str]]:
        """``{input name: [message]}``, for forms that list every message of an input."""
        return {name: [message] for name, message in self.errors(fields).items()}

    def flash(self, done: str | None = None) -> None:
        """Flash the refusal as an error, or ``done`` when the block went through."""
        if self.error is not None:
            flash(self.error.message, "error")
        elif done is not None:
            flash(done)


@contextmanager
def refusal(*shown: type[ServiceError]) -> Iterator[Refusal]:
    """Run a block that asks services for something; a refusal of a kind in ``shown`` (default
    :data:`SHOWN`) is caught into the yielded :class:`Refusal`, after the transaction is rolled
    back so nothing of the refused request is stored. Any other service error propagates."""
    outcome = Refusal()
    try:
        yield outcome
    except ServiceError as error:
        if not isinstance(error, shown or SHOWN):
            raise
        roll_back_refused()
        outcome.error = error
