"""The one way a view answers a refused request: invalid input (a schema's ``ValidationError``
or a service's :class:`Invalid`) and conflicts are shown on the page, beside the input at fault
or as a flashed message, with the request's writes rolled back; a missing, forbidden or gone
thing goes on to the error handler (app/errors.py), which shows an error page.

    with refusal() as refused:
        credential = issuing.award(issuer, achievement, load(request.form), ...)
    if refused:
        return page(errors=refused.errors(FIELDS), status=400)

An irreversible action asks first: a view that gets its form without ``confirmed()`` answers
with ``confirm_page(Confirmation(...))``, which posts the same fields again, confirmed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import flash, render_template, request
from marshmallow import ValidationError

from app.services._core.errors import Conflict, Invalid, ServiceError
from app.services._core.transaction import roll_back_refused
from schemas.errors import flat_errors

#: What a page shows itself; not found, forbidden and gone are error pages.
SHOWN: tuple[type[ServiceError], ...] = (Invalid, Conflict)
#: Where the errors of a form as a whole are kept.
WHOLE_FORM = "_schema"


class Refusal:
    """What a :func:`refusal` block caught: false when the block went through."""

    def __init__(self) -> None:
        self.error: ServiceError | None = None
        self.invalid: ValidationError | None = None

    def __bool__(self) -> bool:
        return self.error is not None or self.invalid is not None

    @property
    def status(self) -> int:
        """The HTTP status the refusal answers with (200 when nothing was refused)."""
        if self.error is not None:
            return self.error.status
        return 400 if self.invalid is not None else 200

    @property
    def field(self) -> str | None:
        """The field a service's complaint names, if any (None for a schema's errors)."""
        return self.error.field if self.error is not None else None

    @property
    def message(self) -> str:
        """The refusal's (first) message; '' when nothing was refused."""
        return next(iter(self.errors().values()), "")

    def errors(
        self, fields: Mapping[str, str] | None = None, default: str = WHOLE_FORM
    ) -> dict[str, str]:
        """``{input name: message}`` for the form to show (empty when nothing was refused).

        A schema's errors are named by its fields (the first message of each); a service's
        one complaint by its field, renamed through ``fields`` when given. A complaint about no
        field, or one ``fields`` does not name, is about ``default`` (the form as a whole).
        """
        if self.invalid is not None:
            return flat_errors(self.invalid, depth=1, first=True)
        if self.error is None:
            return {}
        named = self.error.field
        field = (named or default) if fields is None else fields.get(named or "", default)
        return {field: self.error.message}

    def messages(
        self, fields: Mapping[str, str] | None = None, default: str = WHOLE_FORM
    ) -> dict[str, list[str]]:
        """``{input name: [message]}``, for forms that list every message of an input."""
        return {name: [message] for name, message in self.errors(fields, default).items()}

    def flash(self, done: str | None = None) -> None:
        """Flash the refusal as an error, or ``done`` when the block went through."""
        if self:
            flash(self.message, "error")
        elif done is not None:
            flash(done)


@contextmanager
def refusal(*shown: type[ServiceError]) -> Iterator[Refusal]:
    """Run a block that validates input and asks services for something. A ``ValidationError``,
    or a service error of a kind in ``shown`` (default :data:`SHOWN`), is caught into the
    yielded :class:`Refusal` after the transaction is rolled back, so nothing of the refused
    request is stored. Any other service error goes on to the error handler.

    A secret link's page passes ``ServiceError``: whatever is wrong, it says the link cannot
    be used (and tells a stranger nothing more)."""
    outcome = Refusal()
    try:
        yield outcome
    except ValidationError as invalid:
        roll_back_refused()
        outcome.invalid = invalid
    except ServiceError as error:
        if not isinstance(error, shown or SHOWN):
            raise
        roll_back_refused()
        outcome.error = error


#: The form field a confirm step adds; an irreversible action without it only asks.
CONFIRMED = "confirmed"


def confirmed() -> bool:
    """Whether the posted form is the answer to a confirm step (see :func:`confirm_page`)."""
    return request.form.get(CONFIRMED) == "1"


@dataclass(frozen=True)
class Confirmation:
    """A confirm step for an irreversible action, asked before it is done: what it is, what
    cannot be undone, and the form that does it (posting ``fields`` again, confirmed)."""

    title: str
    undone: str
    action: str
    button: str
    cancel: str
    facts: Sequence[tuple[str, str]] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    #: The words before ``undone``, in bold: what kind of step this is.
    warning: str = "This cannot be undone."
    layout: str = "base.html"
    section: str = ""


def confirm_page(confirmation: Confirmation) -> str:
    """The page that asks: it works without JavaScript (a form that posts again, with
    ``confirmed=1`` and the fields already given), and says what cannot be undone."""
    return render_template("confirm.html", confirm=confirmation, confirmed_field=CONFIRMED)
