"""Rows a transaction has added as new ORM objects, written with one Core ``INSERT`` per table
instead of the ORM's unit of work: a bulk chunk's emails, links and audit events (hundreds of
each) cost the unit of work far more per object than the insert itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import RelationshipDirection

from app.extensions import db


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
