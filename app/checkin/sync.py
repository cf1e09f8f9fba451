"""Scans a front-desk device answered offline, decided again by the server when they arrive.

The device answered at once from its signed manifest; the server's answer is the one that
counts. Each scan goes through the same check-in as an online scan (``service.check_in``, which
locks the booking row), decided at the moment the device scanned:

- the first valid scan of a booking checks it in and redeems its voucher;
- a later scan of a booking another device (or the desk by hand) checked in first is a
  ``duplicate``; the device that checked it in is told too (``duplicates_of``);
- a booking cancelled, or marked a no-show, while the device was offline is a ``conflict`` for
  the operator to resolve, as is one whose voucher or quota changed meanwhile.

``(device_id, scan_id)`` is unique, so a resent scan returns its first answer and changes
nothing, even when two copies of it arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking.models import Booking
from app.checkin import service
from app.checkin.models import CheckIn, DeviceScan
from app.checkin.scans import record_scan
from app.core.errors import AppError

SYNC_RESULTS = ("ok", "already_checked_in", "wrong_venue", "too_early", "too_late", "invalid",
                "duplicate", "conflict")
# how long a device keeps being told about duplicates of the check-ins it made
DUPLICATES_SHOWN_FOR = timedelta(days=2)


@dataclass(frozen=True)
class DeviceScanIn:
    scan_id: str
    code: str
    scanned_at: datetime


def _stored(session: Session, device_id: str, scan_id: str) -> DeviceScan | None:
    return session.scalar(select(DeviceScan).where(DeviceScan.device_id == device_id,
                                                   DeviceScan.scan_id == scan_id))


def _result_for_device(result: str, first: CheckIn | None, device_id: str) -> str:
    if result == "cancelled":
        return "conflict"
    if result == "already_checked_in" and (first is None or first.device != device_id):
        return "duplicate"
    return result


def sync_scan(session: Session, operator: User, device_id: str, scan: DeviceScanIn,
              moment: datetime) -> DeviceScan:
    """Decide one offline scan (or return the answer it was given before); the caller commits."""
    stored = _stored(session, device_id, scan.scan_id)
    if stored is not None:
        return stored
    # decided as at the door; a device clock ahead of the server's does not move check-in later
    decided_at = min(scan.scanned_at, moment)
    try:
        with session.begin_nested():
            try:
                with session.begin_nested():
                    outcome = service.check_in(session, operator, moment=decided_at,
                                               code=scan.code, device=device_id)
                booking_id = outcome.booking.id if outcome.booking is not None else None
                result = _result_for_device(outcome.result, outcome.checkin, device_id)
                scan_row_id = outcome.scan_id
            except AppError:
                # the voucher or quota changed while the device was offline: nothing was
                # checked in; the scan is kept and the desk resolves it
                booking_id, result = None, "conflict"
                scan_row_id = record_scan(session, operator_id=operator.id, raw=scan.code,
                                          device=device_id, method="sync", result="conflict",
                                          reason="funding_changed", booking_id=None,
                                          at=decided_at)
            row = DeviceScan(device_id=device_id, scan_id=scan.scan_id, operator_id=operator.id,
                             scanned_at=scan.scanned_at, received_at=moment,
                             raw_code=scan.code[:600], result=result, booking_id=booking_id,
                             scan_row_id=scan_row_id)
            session.add(row)
            session.flush()
    except IntegrityError:
        # the same scan arrived twice at once: the copy that committed first holds the answer
        stored = _stored(session, device_id, scan.scan_id)
        if stored is None:
            raise
        return stored
    return row


def duplicates_of(session: Session, device_id: str, moment: datetime) -> list[DeviceScan]:
    """Scans by other devices of bookings this device checked in: shown on both devices."""
    return list(session.scalars(
        select(DeviceScan).join(CheckIn, CheckIn.booking_id == DeviceScan.booking_id)
        .where(CheckIn.device == device_id, DeviceScan.result == "duplicate",
               DeviceScan.device_id != device_id,
               DeviceScan.received_at >= moment - DUPLICATES_SHOWN_FOR)
        .order_by(DeviceScan.received_at)))


def booking_of(session: Session, row: DeviceScan) -> Booking | None:
    """The booking a result may name: none for a foreign venue or an unreadable code."""
    if row.booking_id is None or row.result in ("wrong_venue", "invalid"):
        return None
    return session.get(Booking, row.booking_id)
