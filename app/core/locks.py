"""Row locks that work on both databases: read a row only once no one else can change it.

PostgreSQL: ``SELECT … FOR UPDATE`` (of that table only). SQLite has no row locks but one write
lock for the whole database: a no-op UPDATE of the row takes it (the driver opens the
transaction at the first write), so the SELECT after it sees the latest commit and no other
writer can commit until this transaction ends.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

Model = TypeVar("Model")


@lru_cache(maxsize=32)
def _statements(model: type, dialect: str, options: tuple) -> tuple[Any, Any]:
    """(the no-op UPDATE that takes SQLite's write lock or None, the SELECT), built once per
    model, database and options: the hot transitions lock a booking on every request."""
    key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    pk = bindparam("pk")
    if dialect == "sqlite":
        take = (update(model).where(key == pk).values({key.name: key})
                .execution_options(synchronize_session=False))
        query = select(model)
    else:
        take, query = None, select(model).with_for_update(of=model)
    return take, (query.where(key == pk).options(*options)
                  .execution_options(populate_existing=True))


def lock_row(session: Session, model: type[Model], pk: Any, *options) -> Model | None:
    """The row ``pk`` of ``model`` under a write lock, freshly read (None when missing).

    Pass the same ``options`` objects each time (built once) for the statements to be reused.
    """
    take, query = _statements(model, session.get_bind().dialect.name, options)
    if take is not None:
        session.execute(take, {"pk": pk})
    return session.scalar(query, {"pk": pk})
