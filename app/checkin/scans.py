"""Every scan is stored, the failed ones too: what was read, by whom, where, and the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.checkin.models import Scan


def record_scan(session: Session, *, operator_id: int, raw: str, device: str, method: str,
                result: str, reason: str, booking_id: int | None, at: datetime) -> Scan:
    scan = Scan(at=at, raw_code=raw[:600], operator_id=operator_id, device=device[:120],
                method=method, result=result, reason=reason[:60], booking_id=booking_id)
    session.add(scan)
    session.flush()
    return scan
