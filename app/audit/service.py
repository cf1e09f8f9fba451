from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.clock import now


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    obj_type: str,
    obj_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now(),
        actor_id=actor_id,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
