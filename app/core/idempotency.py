"""Idempotency-Key: a retried request gets the first answer instead of doing the work twice.

The record is written first, in the same transaction as the work, so a concurrent duplicate
waits on the unique key and then replays the committed answer. Failed requests leave nothing,
so they can be retried.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
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


def begin(session: Session, user_id: int, scope: str, key: str, payload: Any):
    """Return ``(record, replay)``: ``replay`` is a stored record to answer with, or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise AppError("validation_error", status=422, details={
            "fields": {"Idempotency-Key": [f"1 to {MAX_KEY_LENGTH} characters."]}})
    digest = request_hash(payload)
    existing = _find(session, user_id, scope, key)
    if existing is None:
        record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=digest)
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return record, None
        except IntegrityError:
            # the same key is being used right now; its transaction has committed meanwhile
            existing = _find(session, user_id, scope, key)
            if existing is None:
                raise
    if existing.request_hash != digest:
        raise AppError("idempotency_key_reused", status=422,
                       message="this Idempotency-Key was used for a different request")
    return existing, existing


def finish(record: IdempotencyRecord, status_code: int, body: dict) -> None:
    record.status_code = status_code
    record.body = body
