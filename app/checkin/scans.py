"""Every scan is stored, the failed ones too: what was read, by whom, where, and the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.checkin.models import Scan
from app.core.db import write_core

_INSERT_SCAN = insert(Scan).returning(Scan.id)


def record_scan(session: Session, *, operator_id: int, raw: str, device: str, method: str,
                result: str, reason: str, booking_id: int | None, at: datetime) -> int:
    """Store the scan and return its id: one insert built once (a scan is never changed)."""
    return write_core(session, _INSERT_SCAN, {
        "at": at, "raw_code": raw[:600], "operator_id": operator_id, "device": device[:120],
        "method": method, "result": result, "reason": reason[:60], "booking_id": booking_id,
    }).scalar_one()
