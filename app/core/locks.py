"""Row locks that work on both databases: read a row only once no one else can change it.

PostgreSQL: ``SELECT … FOR UPDATE`` (of that table only). SQLite has no row locks but one write
lock for the whole database: a no-op UPDATE of the row takes it (the driver opens the
transaction at the first write), so the SELECT after it sees the latest commit and no other
writer can commit until this transaction ends.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

Model = TypeVar("Model")


def lock_row(session: Session, model: type[Model], pk: Any, *options) -> Model | None:
    """The row ``pk`` of ``model`` under a write lock, freshly read (None when missing)."""
    key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(key == pk).values({key.name: key})
                        .execution_options(synchronize_session=False))
        query = select(model)
    else:
        query = select(model).with_for_update(of=model)
    return session.scalar(query.where(key == pk).options(*options)
                          .execution_options(populate_existing=True))
