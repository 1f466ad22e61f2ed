"""Rows written with one Core ``INSERT`` per table instead of the ORM's unit of work: a bulk
chunk's emails, links and audit events (hundreds of each) cost the unit of work, and even the
ORM objects' constructors, far more per row than the insert itself. On PostgreSQL, everything
collected (every table's rows, and the updates kept with them) goes in one statement."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, ColumnDefault, Table, TextClause, bindparam, insert, inspect, text
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper, RelationshipDirection, make_transient_to_detached

from app.extensions import db

#: Where :func:`add` keeps rows while :func:`collected` is open (in the session's ``info``),
#: and :func:`update` the updates written with them.
_COLLECTED = "plain_rows.collected"
_UPDATES = "plain_rows.updates"


@contextmanager
def collected() -> Iterator[None]:
    """While open, rows given to :func:`add` are kept as plain dicts, not made ORM objects; they
    are inserted (see :func:`write`) when it closes, or earlier by :func:`write`. Nothing may
    read them back before that. An exception inside drops them (the transaction is rolled back
    anyway)."""
    session = db.session
    if _COLLECTED in session.info:  # already collecting: the outer one writes
        yield
        return
    session.info[_COLLECTED] = {}
    session.info[_UPDATES] = {}
    try:
        yield
        write()
    finally:
        session.info.pop(_COLLECTED, None)
        session.info.pop(_UPDATES, None)


def collecting() -> bool:
    """Whether :func:`collected` is open (rows given to :func:`add` are kept as dicts)."""
    return _COLLECTED in db.session.info


def add(cls: type, row: dict[str, Any]) -> None:
    """Add a new row of ``cls`` (its column attributes' values; columns left out get their
    defaults): kept for one ``INSERT`` while :func:`collected` is open, otherwise added to the
    session as ``cls(**row)``, the ORM object it always was."""
    rows: dict[type, list[dict[str, Any]]] | None = db.session.info.get(_COLLECTED)
    if rows is None:
        db.session.add(cls(**row))
    else:
        rows.setdefault(cls, []).append(row)


def update(cls: type, key: str, rows: list[dict[str, Any]]) -> None:
    """Update rows of ``cls``'s table, each found by its ``key`` column and given the other
    columns of its dict: with the collected rows while :func:`collected` is open (on
    PostgreSQL, in the same statement), otherwise at once. Nothing may read them before."""
    updates: dict[tuple[type, str], list[dict[str, Any]]] | None = db.session.info.get(_UPDATES)
    if updates is None:
        _update_now(cls, key, rows)
    else:
        updates.setdefault((cls, key), []).extend(rows)


def _update_now(cls: type, key: str, rows: list[dict[str, Any]]) -> None:
    table = _table(cls)
    for row in rows:
        values = {name: value for name, value in row.items() if name != key}
        db.session.execute(sql_update(table).where(table.c[key] == row[key]).values(values))


def as_loaded(cls: type, values: dict[str, Any]) -> Any:
    """An object of ``cls`` holding ``values`` (its row's columns) as a query's loader fills
    one: its dict set, no attribute events (the instrumented constructor's events cost more
    than an INSERT), detached, ready to be added to a session as persistent."""
    mapper: Mapper[Any] = inspect(cls)
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    return obj


def attached(cls: type, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert ``rows`` of ``cls`` (every column given) and return them as persistent objects
    of the session, as if loaded: what ``add_all`` and a flush give, without the unit of
    work. Reading them back needs no query; they expire at the commit like any other."""
    insert_rows(cls, rows)
    objects = [as_loaded(cls, row) for row in rows]
    db.session.add_all(objects)
    return objects


def write() -> None:
    """Insert the rows :func:`add` has kept so far and make the updates :func:`update` kept:
    on PostgreSQL in one statement, else a statement per table and set of keys."""
    session = db.session
    rows: dict[type, list[dict[str, Any]]] = session.info.get(_COLLECTED) or {}
    updates: dict[tuple[type, str], list[dict[str, Any]]] = session.info.get(_UPDATES) or {}
    if not rows and not updates:
        return
    if not _write_in_one(rows, updates):
        for cls, kept in list(rows.items()):
            insert_rows(cls, kept)
        for (cls, key), changes in list(updates.items()):
            _update_now(cls, key, changes)
    rows.clear()
    updates.clear()


def _table(cls: type) -> Table:
    mapper: Mapper[Any] = inspect(cls)
    return cast(Table, mapper.local_table)


def _runs(cls: type, rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``rows`` keyed by column name, in runs of rows with the same keys (in order)."""
    names = _column_names(cls)
    run: list[dict[str, Any]] = []
    keys: Any = None
    for row in rows:
        if row.keys() != keys and run:
            yield run
            run = []
        keys = row.keys()
        run.append(row if names is None else {names[k]: v for k, v in row.items()})
    if run:
        yield run


def _write_in_one(
    rows: dict[type, list[dict[str, Any]]], updates: dict[tuple[type, str], list[dict[str, Any]]]
) -> bool:
    """PostgreSQL: every insert and update kept, as one statement of data-modifying ``WITH``
    parts (an award batch's manage and claim links, emails and webhook deliveries; then its
    audit events and the audit chain's new head: each part a round trip and a parse avoided).
    Its foreign keys are checked at its end, so the parts' order does not matter. False, with
    nothing written, on SQLite, for a single part, or when a value would not arrive exactly as
    JSON (the caller then writes them a statement each)."""
    connection = db.session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        return False
    shape: list[tuple[str, Table, tuple[str, ...]]] = []
    documents: list[str] = []
    for cls, kept in rows.items():
        table = _table(cls)
        for run in _runs(cls, kept):
            document = _as_json(table, run, dialect, lone=True)
            if document is None:
                return False
            shape.append(("insert", table, tuple(run[0])))
            documents.append(document)
    for (cls, key), changes in updates.items():
        table = _table(cls)
        document = _as_json(table, changes, dialect, lone=True)
        if document is None or any(row.keys() != changes[0].keys() for row in changes):
            return False
        shape.append(("update:" + key, table, tuple(changes[0])))
        documents.append(document)
    if len(shape) < 2:
        return False
    db.session.flush()  # what the ORM's insert would autoflush first (the rows they refer to)
    statement = _combined(tuple(shape), dialect)
    connection.execute(statement, {f"rows_{n}": doc for n, doc in enumerate(documents)})
    return True


def insert_rows(cls: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` of ``cls`` (keyed by its column attributes) with a Core ``INSERT`` of
    its table, on the session's connection: what the ORM's bulk insert writes, without its
    per-row work. Rows of different keys are inserted in their order, a statement per run of
    rows with the same keys (as the ORM groups them)."""
    if not rows:
        return
    table = _table(cls)
    statement = insert(table)
    db.session.flush()  # what the ORM's insert would autoflush first (the rows they refer to)
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    for run in _runs(cls, rows):
        document = _as_json(table, run, connection.dialect) if postgresql else None
        if document is None:
            connection.execute(statement, run)
        else:
            insert_json = _json_insert(table, tuple(run[0]), connection.dialect)
            connection.execute(insert_json, {"rows": document})


# PostgreSQL: several rows in one statement whose text does not depend on how many there are,
# ``INSERT INTO t (...) SELECT ... FROM json_to_recordset(:rows)``, the rows one JSON parameter.
# psycopg's executemany sent each row as a statement of its own (parsed, planned and run, and
# the credential tally's statement trigger fired, once per row), and a multi-row VALUES
# statement is parsed by psycopg anew each time (its text, a few thousand parameters, too long
# for its cache). Rows with a value JSON cannot carry exactly take the executemany path.

_json_inserts: dict[tuple[Table, tuple[str, ...]], TextClause] = {}
_combined_statements: dict[tuple[tuple[str, Table, tuple[str, ...]], ...], TextClause] = {}


def _json_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> TextClause:
    """The statement inserting rows with ``columns`` from one JSON array of objects; columns
    not given get their scalar defaults (:func:`_as_json` checked there are no others)."""
    key = (table, columns)
    statement = _json_inserts.get(key)
    if statement is None:
        sql, defaults = _json_insert_sql(table, columns, dialect, "")
        statement = text(sql).bindparams(*defaults)
        _json_inserts[key] = statement
    return statement


def _record(table: Table, columns: tuple[str, ...], dialect: Dialect, suffix: str) -> str:
    """``json_to_recordset`` of the parameter ``rows<suffix>`` as ``given``, typed as the
    table's own columns."""
    quote = dialect.identifier_preparer.quote
    record = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    return f"json_to_recordset(CAST(:rows{suffix} AS json)) AS given({record})"


def _json_insert_sql(
    table: Table, columns: tuple[str, ...], dialect: Dialect, suffix: str
) -> tuple[str, list[Any]]:
    """:func:`_json_insert`'s text (its parameters named with ``suffix``) and the bound
    defaults of the columns not given."""
    quote = dialect.identifier_preparer.quote
    given = set(columns)
    defaults = [c for c in table.columns if c.name not in given and c.default is not None]
    targets = [quote(c) for c in columns] + [quote(c.name) for c in defaults]
    values = [f"given.{quote(c)}" for c in columns] + [
        f":default{suffix}_{n}" for n in range(len(defaults))
    ]
    # Names and types from the table's own definition; the values are all parameters.
    into = f"INSERT INTO {quote(table.name)} ({', '.join(targets)})"
    sql = f"{into} SELECT {', '.join(values)} FROM {_record(table, columns, dialect, suffix)}"  # noqa: S608
    bound = [
        bindparam(f"default{suffix}_{n}", cast(ColumnDefault, c.default).arg, type_=c.type)
        for n, c in enumerate(defaults)
    ]
    return sql, bound


def _combined(
    shape: tuple[tuple[str, Table, tuple[str, ...]], ...], dialect: Dialect
) -> TextClause:
    """One statement for the parts of ``shape``: ``WITH part_0 AS (INSERT …), … SELECT 1``,
    part ``n`` reading the JSON parameter ``rows_n``. An ``update:<key>`` part sets each row
    found by its key column to the other columns given."""
    statement = _combined_statements.get(shape)
    if statement is None:
        quote = dialect.identifier_preparer.quote
        parts: list[str] = []
        bound: list[Any] = []
        for n, (kind, table, columns) in enumerate(shape):
            suffix = f"_{n}"
            if kind == "insert":
                sql, defaults = _json_insert_sql(table, columns, dialect, suffix)
                bound += defaults
            else:
                key = kind.removeprefix("update:")
                name = quote(table.name)
                assignments = ", ".join(
                    f"{quote(c)} = given.{quote(c)}" for c in columns if c != key
                )
                source = _record(table, columns, dialect, suffix)
                sql = (
                    f"UPDATE {name} SET {assignments} FROM {source}"  # noqa: S608
                    f" WHERE {name}.{quote(key)} = given.{quote(key)}"
                )
            parts.append(f"part{suffix} AS ({sql})")
        statement = text(f"WITH {', '.join(parts)} SELECT 1").bindparams(*bound)
        _combined_statements[shape] = statement
    return statement


def _as_json(
    table: Table, rows: list[dict[str, Any]], dialect: Dialect, *, lone: bool = False
) -> str | None:
    """``rows`` (of the same keys) as the JSON text :func:`_json_insert` reads, each value as the
    driver would have sent it (the column type's own conversion first); None when one row is
    not worth it (a lone row, unless ``lone``) or a value would not arrive exactly: anything but
    text, numbers, booleans, NULL, naive date-times (as ISO 8601 text) and JSON columns' objects
    and arrays, a column left out that has a default computed in Python."""
    if len(rows) < (1 if lone else 2):
        return None
    columns = table.columns
    given = rows[0].keys()
    if any(c.name not in given and c.default is not None and not c.default.is_scalar
           for c in columns):  # fmt: skip
        return None
    convert: dict[str, Any] = {}
    documents: set[str] = set()
    for name in given:
        column_type = columns[name].type
        if isinstance(column_type, JSON):
            documents.add(name)
        else:
            convert[name] = column_type._cached_bind_processor(dialect)
    out = []
    for row in rows:
        values: dict[str, Any] = {}
        for name, value in row.items():
            if name in documents:
                # SQLAlchemy writes None as JSON ``null``, json_to_recordset as SQL NULL.
                if not isinstance(value, dict | list):
                    return None
            else:
                process = convert[name]
                if process is not None:
                    value = process(value)
                if isinstance(value, datetime):
                    if value.tzinfo is not None:  # PostgreSQL would drop the offset
                        return None
                    value = value.isoformat()
                elif isinstance(value, date):
                    value = value.isoformat()
                elif isinstance(value, float):
                    if not math.isfinite(value):
                        return None
                elif value is not None and not isinstance(value, str | int):
                    return None
            values[name] = value
        out.append(values)
    return json.dumps(out)


_names: dict[type, dict[str, str] | None] = {}


def _column_names(cls: type) -> dict[str, str] | None:
    """``cls``'s column names by attribute, or None when every attribute is named as its
    column (the rows can go to the table as they are)."""
    if cls not in _names:
        mapper: Mapper[Any] = inspect(cls)
        pairs = {prop.key: prop.columns[0].name for prop in mapper.column_attrs}
        _names[cls] = None if all(k == v for k, v in pairs.items()) else pairs
    return _names[cls]


def insert_new(classes: tuple[type, ...]) -> None:
    """Insert the session's new objects of ``classes`` (in the order they were added) with
    their set attributes, and take them out of the session: the same rows a flush writes
    (columns never set get their defaults), without the per-object bookkeeping.

    An object is left to the ORM when it refers to another object not yet in the database (its
    key is not known yet); nothing may read the objects taken afterwards (they are detached,
    without their database ids).
    """
    session = db.session
    taken: dict[type, list[dict[str, Any]]] = {}
    objects = sorted(
        (obj for obj in session.new if isinstance(obj, classes)),
        key=lambda obj: inspect(obj).insert_order,
    )
    for obj in objects:
        row = _row(obj)
        if row is not None:
            taken.setdefault(type(obj), []).append(row)
            session.expunge(obj)
    for cls, rows in taken.items():
        session.execute(insert(cls), rows)


def _row(obj: object) -> dict[str, Any] | None:
    """The column values an INSERT of ``obj`` writes, or None if one of them is not known."""
    state = inspect(obj)
    mapper = state.mapper
    values = state.dict
    row = {prop.key: values[prop.key] for prop in mapper.column_attrs if prop.key in values}
    for relation in mapper.relationships:
        if relation.key not in values:
            continue
        if relation.direction is not RelationshipDirection.MANYTOONE:
            return None
        target = values[relation.key]
        target_state = inspect(target) if target is not None else None
        if target_state is not None and target_state.key is None:
            return None  # not in the database yet: its key comes with the flush
        for local, remote in relation.local_remote_pairs:
            key = mapper.get_property_by_column(local).key
            row[key] = (
                None
                if target_state is None
                else getattr(target, target_state.mapper.get_property_by_column(remote).key)
            )
    return row
