"""Check-in at the door: verify the code, then let the booking lifecycle decide and redeem.

The answer is one of ok, already_checked_in, wrong_venue, too_early, too_late, cancelled,
invalid. Every scan is stored, the unreadable ones too. The transition itself — the answer
decided on the locked booking row, the voucher redeemed and the quota consumed once — is
``app.booking.lifecycle.check_in``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.accounts.models import User
from app.booking import lifecycle
from app.booking.lifecycle import CheckInOutcome
from app.booking.models import Booking
from app.booking.rules import local_midnight
from app.catalog.models import Resource
from app.checkin import codes, keys, short_codes
from app.checkin.scans import record_scan

CODE_VALID_AFTER_END = timedelta(hours=2)


def code_for(session: Session, booking: Booking, secret_key: str) -> str:
    key_id, private = keys.signing_key(session, secret_key)
    expires = int((booking.end_at + CODE_VALID_AFTER_END).timestamp())
    return codes.sign(private, key_id, booking.id, expires)


def check_in(session: Session, operator: User, *, moment: datetime, code: str | None = None,
             booking_id: int | None = None, device: str = "") -> CheckInOutcome:
    """Scan a code (or check a booking in by hand); the caller commits."""
    if booking_id is not None and not code:
        return lifecycle.check_in(session, operator, booking_id, moment, method="manual",
                                  device=device)
    raw = (code or "")[:600]
    short = short_codes.normalize(raw)
    if short is not None:
        return _check_in_short_code(session, operator, short, moment, device, raw)
    try:
        claims = codes.verify(code or "", keys.public_keys(session), int(moment.timestamp()))
    except codes.BadCode as bad:
        scan_id = record_scan(session, operator_id=operator.id, raw=raw, device=device,
                              method="scan", result="invalid", reason=bad.reason, booking_id=None,
                              at=moment)
        # An expired code stays invalid and names no booking, but the desk is told it expired
        # rather than that it is not a code at all.
        return CheckInOutcome("invalid", scan_id=scan_id, reason=bad.reason)
    return lifecycle.check_in(session, operator, claims.booking_id, moment, method="scan",
                              device=device, raw_code=raw)


def _check_in_short_code(session: Session, operator: User, short: str, moment: datetime,
                         device: str, raw: str) -> CheckInOutcome:
    """A short code read out or typed: answered like the QR code of its booking."""
    booking_id = session.scalar(select(Booking.id).where(Booking.short_code == short))
    if booking_id is None:
        scan_id = record_scan(session, operator_id=operator.id, raw=raw, device=device,
                              method="code", result="invalid", reason="unknown_short_code",
                              booking_id=None, at=moment)
        return CheckInOutcome("invalid", scan_id=scan_id)
    return lifecycle.check_in(session, operator, booking_id, moment, method="code", device=device,
                              raw_code=raw)


def phone_digits(text: str | None) -> str | None:
    """The last four digits of a phone number as typed at the desk, or None."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    return digits if len(digits) == 4 else None


def todays_list(session: Session, venue_ids: list[int], day: date,
                phone_ends: str | None = None) -> list[Booking]:
    """The day's bookings at these venues; with ``phone_ends``, only creators whose phone
    number ends in those digits (how a desk finds someone without a code)."""
    query = (select(Booking).join(Booking.resource)
             .where(Resource.venue_id.in_(venue_ids),
                    Booking.start_at >= local_midnight(day),
                    Booking.start_at < local_midnight(day + timedelta(days=1))))
    if phone_ends:
        query = query.join(Booking.creator).where(User.phone.endswith(phone_ends))
    return list(session.scalars(
        query.options(joinedload(Booking.resource), joinedload(Booking.creator))
        .order_by(Booking.start_at)).unique())
