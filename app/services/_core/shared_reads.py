"""Reads that every batch of API awards repeats (the achievement's current version, the issuer's
signing key, its webhook subscriptions, whether it has a pathway), remembered by the process
from one transaction to the next under a version that any committed change to the rows they
come from replaces.

The version is the API lookup cache's (``app/api/lookups.py``: kept in Redis, bumped after the
commit of every change to a watched model, read once per request along with its rate-limit
count). An entry is used only while the version it was stored under is still the one its
request read before anything was looked up, so a request never uses a value older than the
changes committed before it began: what it would have read had it run a moment earlier. With
no version (no Redis, or a caller other than the API: the workspace, the CLI, jobs) every read
goes to the database, as before. Entries also expire after ``KEEP_FOR`` seconds, a bound should
a bump fail after its commit.

Why: a batch of awards is a few credentials, and these four reads were a quarter of its
statements and a tenth of an API award's CPU (bench/README.md, "api_awards.py").
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Hashable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.extensions import db
from app.services._core import plain_rows
from app.services._core.env import ReadStore, ServiceEnv, SharedReads

__all__ = ["ReadStore", "SharedReads", "attached", "columns", "remembered", "remembered_row"]

T = TypeVar("T")

#: The most entries a store keeps (then it starts again), and for how long at most.
MAX_ENTRIES = 4096
KEEP_FOR = 60.0
#: Column values that are never changed in place, so an entry's own may be shared.
_IMMUTABLE = (str, int, float, bytes, bool, datetime, date, Decimal, type(None))


def remembered(what: Hashable, env: ServiceEnv, read: Callable[[], T]) -> T:
    """``read()``, or what it gave under the same version. The value is shared by every
    thread: ``read`` must give one nobody changes in place (a tuple, a bool, the columns that
    :func:`attached` copies from)."""
    shared = env.shared_reads
    if shared is None:
        return read()
    entry = shared.store.entries.get(what)
    if entry is not None and entry[0] == shared.version and entry[2] >= time.monotonic():
        return cast(T, entry[1])
    value = read()
    with shared.store.lock:
        if len(shared.store.entries) >= MAX_ENTRIES:
            shared.store.entries.clear()
        shared.store.entries[what] = (shared.version, value, time.monotonic() + KEEP_FOR)
    return value


def columns(row: object) -> dict[str, Any]:
    """Every column attribute of a loaded row (what :func:`attached` makes it again)."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


def remembered_row(what: Hashable, model: type[T], env: ServiceEnv, read: Callable[[], T]) -> T:
    """The row ``read()`` loads, or one made from its remembered columns and put into the
    session as if loaded (no query)."""
    if env.shared_reads is None:
        return read()
    return cast(T, attached(model, remembered(what, env, lambda: columns(read()))))


def attached(model: type[Any], values: dict[str, Any], session: Session | None = None) -> Any:
    """The row of ``model`` with ``values`` in ``session`` (else the current one) as if just
    loaded, without a query: the one already there, if any, as it is; else a new object filled
    as a query's loader fills one (its dict, no attribute events: the constructor's events cost
    more than the rest of a lookup), from copies of what may change in place (a token's scopes,
    a key's JWK): the remembered values are shared by every thread."""
    session = session if session is not None else db.session()
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    present = session.identity_map.get(key)
    if present is not None:
        return present
    row = plain_rows.as_loaded(
        model,
        {
            name: value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
            for name, value in values.items()
        },
    )
    session.add(row)
    return row
