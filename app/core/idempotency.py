"""Idempotency-Key: a retried request gets the first answer instead of doing the work twice.

The answer is recorded at the end of the work, in its transaction, by one insert that does
nothing when the key is already there. A retry of a request that succeeded runs into its own
first result (the slot is taken, or the key's record exists) and replays the stored answer; a
concurrent duplicate waits on the unique key (or on the slot) until the first commits, then
replays it. Failed requests leave nothing, so they can be retried.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.clock import now
from app.core.db import Base
from app.core.errors import AppError

MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _find(session: Session, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key))


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise AppError("validation_error", status=422, details={
            "fields": {"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} characters."]}})


def stored_answer(session: Session, user_id: int, scope: str, key: str,
                  payload: Any) -> tuple[int, dict] | None:
    """(status, body) recorded for this key, or None; ``422 idempotency_key_reused`` when the
    key answered a different request."""
    existing = _find(session, user_id, scope, key)
    if existing is None or not existing.status_code:
        return None
    if existing.request_hash != request_hash(payload):
        raise AppError("idempotency_key_reused", status=422,
                       message="this Idempotency-Key was used for a different request")
    return existing.status_code, existing.body


def record_answer(session: Session, user_id: int, scope: str, key: str, payload: Any,
                  status_code: int, body: dict) -> bool:
    """Store the answer with the work, in one statement. False when another request with this
    key has committed first: roll back and give its answer (``stored_answer``)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(IdempotencyRecord).values(
        user_id=user_id, scope=scope, key=key, request_hash=request_hash(payload),
        status_code=status_code, body=body, created_at=now(),
    ).on_conflict_do_nothing(index_elements=["user_id", "scope", "key"]).returning(
        IdempotencyRecord.id)
    return session.execute(statement).first() is not None
