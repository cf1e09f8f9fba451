"""Check-in at the door: verify the code, decide the answer, redeem and consume once.

The answer is one of ok, already_checked_in, wrong_venue, too_early, too_late, cancelled,
invalid. Every scan is stored. The one successful check-in is a conditional UPDATE
(``confirmed → checked_in``) plus a unique check-in row: of simultaneous scans of one code,
one redeems; the rest answer already_checked_in with the first check-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking.models import Booking, BookingEvent
from app.checkin import codes, keys
from app.checkin.models import CheckIn, Scan
from app.core.auth import operator_venue_ids
from app.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.quota import service as quota
from app.vouchers import service as vouchers

CODE_VALID_AFTER_END = timedelta(hours=2)
RESULTS = ("ok", "already_checked_in", "wrong_venue", "too_early", "too_late", "cancelled", "invalid")


@dataclass
class Outcome:
    result: str
    booking: Booking | None = None
    checkin: CheckIn | None = None
    reason: str = ""
    scan_id: int | None = None


def code_for(session: Session, booking: Booking, secret_key: str) -> str:
    key_id, private = keys.signing_key(session, secret_key)
    expires = int((booking.end_at + CODE_VALID_AFTER_END).timestamp())
    return codes.sign(private, key_id, booking.id, expires)


def _may_operate(user: User, booking: Booking) -> bool:
    return user.has_role("admin") or booking.resource.venue_id in operator_venue_ids(user)


def _decide(booking: Booking, operator: User, moment: datetime) -> str:
    if booking.status in ("cancelled", "no_show"):
        return "cancelled"
    if not _may_operate(operator, booking):
        return "wrong_venue"
    if booking.status in ("checked_in", "completed"):
        return "already_checked_in"
    opens = booking.start_at - timedelta(minutes=booking.resource.checkin_opens_minutes)
    if moment < opens:
        return "too_early"
    if moment >= booking.end_at:
        return "too_late"
    return "ok"


def first_checkin(session: Session, booking_id: int) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(CheckIn.booking_id == booking_id))


def check_in(session: Session, operator: User, *, moment: datetime, code: str | None = None,
             booking_id: int | None = None, device: str = "") -> Outcome:
    """Scan a code (or check a booking in by hand); the caller commits."""
    method = "manual" if booking_id is not None and not code else "scan"
    raw = (code or f"manual:{booking_id}")[:600]
    booking = None
    reason = ""
    if method == "scan":
        try:
            claims = codes.verify(code or "", keys.public_keys(session), int(moment.timestamp()))
            booking = session.get(Booking, claims.booking_id)
            if booking is None:
                reason = "unknown_booking"
        except codes.BadCode as bad:
            reason = bad.reason
    else:
        booking = session.get(Booking, booking_id)
        if booking is None:
            raise NotFound()
        if not _may_operate(operator, booking):
            raise Forbidden()
    if booking is None:
        return _store(session, Outcome("invalid", reason=reason), operator, raw, device, method, moment)
    outcome = Outcome(_decide(booking, operator, moment), booking)
    if outcome.result == "ok":
        won = session.execute(
            update(Booking).where(Booking.id == booking.id, Booking.status == "confirmed")
            .values(status="checked_in", checked_in_at=moment)
            .execution_options(synchronize_session=False)).rowcount == 1
        session.refresh(booking)
        if not won:
            outcome.result = "already_checked_in" if booking.status in ("checked_in", "completed") \
                else "cancelled"
    if outcome.result == "already_checked_in":
        outcome.checkin = first_checkin(session, booking.id)
    outcome = _store(session, outcome, operator, raw, device, method, moment)
    if outcome.result == "ok":
        _redeem(session, booking, operator, moment, device, method, outcome)
    return outcome


def _store(session, outcome: Outcome, operator, raw, device, method, moment) -> Outcome:
    scan = Scan(at=moment, raw_code=raw, operator_id=operator.id, device=device[:120],
                method=method, result=outcome.result, reason=outcome.reason[:60],
                booking_id=outcome.booking.id if outcome.booking else None)
    session.add(scan)
    session.flush()
    outcome.scan_id = scan.id
    return outcome


def _redeem(session, booking: Booking, operator: User, moment, device, method, outcome) -> None:
    """The money side of a check-in, in the same transaction: voucher redeemed, quota consumed."""
    checkin = CheckIn(booking_id=booking.id, at=moment, operator_id=operator.id,
                      device=device[:120], method=method, scan_id=outcome.scan_id)
    session.add(checkin)
    session.flush()
    outcome.checkin = checkin
    if booking.voucher_id is not None and booking.voucher_fen > 0:
        voucher = session.get(vouchers.Voucher, booking.voucher_id)
        if voucher is not None and voucher.status == "held":
            vouchers.redeem(session, voucher, booking, actor_id=operator.id, at=moment)
    quota.consume(session, booking, at=moment, actor_id=operator.id)
    session.add(BookingEvent(booking_id=booking.id, at=moment, actor_id=operator.id,
                             kind="checked_in", data={"method": method, "device": device[:120]}))


def check_out(session: Session, operator: User, booking: Booking, moment: datetime) -> Booking:
    if not _may_operate(operator, booking):
        raise Forbidden()
    if booking.status != "checked_in":
        raise RuleViolation("not_checked_in", details={"status": booking.status})
    changed = session.execute(
        update(Booking).where(Booking.id == booking.id, Booking.status == "checked_in")
        .values(status="completed", checked_out_at=moment)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(booking)
    if changed != 1:
        raise Conflict("conflict")
    session.add(BookingEvent(booking_id=booking.id, at=moment, actor_id=operator.id,
                             kind="checked_out"))
    return booking


def todays_list(session: Session, venue_ids: list[int], day) -> list[Booking]:
    from sqlalchemy.orm import joinedload

    from app.booking.rules import local_midnight
    from app.catalog.models import Resource

    return list(session.scalars(
        select(Booking).join(Booking.resource)
        .where(Resource.venue_id.in_(venue_ids),
               Booking.start_at >= local_midnight(day),
               Booking.start_at < local_midnight(day + timedelta(days=1)))
        .options(joinedload(Booking.resource), joinedload(Booking.creator))
        .order_by(Booking.start_at)).unique())
