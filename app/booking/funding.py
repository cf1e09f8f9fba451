"""How a booking is paid: voucher first, then annual quota, then self-pay.

The split is computed once, when the booking is made, and stored on it. Locks are taken in a
fixed order (booking slot, voucher, quota account) with a timeout, so requests never deadlock
and a stuck lock answers "busy" instead of hanging.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.booking.models import Booking
from app.booking.service import Funding
from app.catalog.models import Program, Resource
from app.core.clock import now, to_local
from app.core.errors import AppError, Busy
from app.quota import service as quota
from app.vouchers import service as vouchers

LOCK_TIMEOUT = "5s"


def _booking_day(start) -> date:
    return to_local(start).date()


def _quota_programs(resource: Resource) -> list[Program]:
    return [p for p in resource.programs if p.funding == "quota" and p.active]


def _covered(gross_after_voucher: int, program: Program) -> int:
    return gross_after_voucher * program.coverage_percent // 100


def _suspension_check(session: Session, user) -> None:
    from app.booking.strikes import suspended_until

    until = suspended_until(session, user.id, now())
    if until is not None:
        raise AppError("suspended", status=422, details={"until": to_local(until).isoformat()})


def _set_lock_timeout(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def plan_for_request(user, data: dict):
    """The funding step ``create_booking`` runs after the slot is secured."""
    voucher_code = data.get("voucher_code")
    use_quota = data.get("use_quota", True)

    def plan(session: Session, booking: Booking) -> Funding:
        return attach(session, user, booking, voucher_code, use_quota)

    return plan


def attach(session: Session, user, booking: Booking, voucher_code: str | None,
           use_quota: bool) -> Funding:
    resource = booking.resource
    day = _booking_day(booking.start_at)
    at = booking.created_at
    remaining = booking.gross_fen
    voucher_fen = quota_fen = 0
    program_id = None
    if voucher_code or (use_quota and _quota_programs(resource)):
        _suspension_check(session, user)
    _set_lock_timeout(session)
    try:
        if voucher_code:
            voucher = vouchers.find(session, voucher_code)
            if voucher is None:
                raise vouchers.not_usable("unknown_code")
            vouchers.usable_for(session, voucher, user, resource, day)
            vouchers.hold(session, voucher, booking, actor_id=user.id, at=at)
            # Only after the hold: the foreign key check would share-lock the voucher row, and
            # two bookings each holding that lock while waiting to update the row deadlock.
            booking.voucher_id = voucher.id
            voucher_fen = vouchers.rules.covered_fen(voucher.face_value_fen, remaining)
            remaining -= voucher_fen
            program_id = voucher.program_id
        if use_quota and remaining > 0:
            for program in _quota_programs(resource):
                account = quota.locked_account(session, user, program,
                                               to_local(booking.start_at).year, day)
                if account is None:
                    continue
                quota_fen = quota.hold(session, account, booking, _covered(remaining, program),
                                       at=at, actor_id=user.id)
                if quota_fen:
                    program_id = program_id or program.id
                    break
    except OperationalError as err:
        if "lock timeout" in str(err.orig).lower() or "locknotavailable" in type(err.orig).__name__.lower():
            raise Busy() from err
        raise
    return Funding(voucher_fen=voucher_fen, quota_fen=quota_fen, program_id=program_id)


def preview_split(session: Session, user, resource: Resource, data: dict, gross_fen: int) -> dict:
    """The split a booking would get now, without holding anything (shown before confirming)."""
    day = _booking_day(data["start"])
    remaining = gross_fen
    voucher_fen = quota_fen = 0
    if data.get("voucher_code"):
        voucher = vouchers.find(session, data["voucher_code"])
        if voucher is None:
            raise vouchers.not_usable("unknown_code")
        vouchers.usable_for(session, voucher, user, resource, day)
        voucher_fen = vouchers.rules.covered_fen(voucher.face_value_fen, remaining)
        remaining -= voucher_fen
    if data.get("use_quota", True) and remaining > 0:
        year = to_local(data["start"]).year
        for program in _quota_programs(resource):
            rows = [r for r in quota.summary(session, user, day) if r["program"] == program.code]
            if not rows:
                continue
            held, consumed = quota.used(session, user.id, program.id, year)
            cap = rows[0]["cap_fen"]
            quota_fen = max(0, min(_covered(remaining, program), cap - held - consumed))
            if quota_fen:
                break
    return {"gross_fen": gross_fen, "voucher_fen": voucher_fen, "quota_fen": quota_fen,
            "self_pay_fen": gross_fen - voucher_fen - quota_fen}


def release_on_cancel(session: Session, booking: Booking, late: bool) -> None:
    """Cancelled in time: everything goes back. Late: the voucher by program policy; quota back."""
    release_funding(session, booking, forfeit_voucher=late, actor_id=booking.creator_id)


def release_funding(session: Session, booking: Booking, *, forfeit_voucher: bool,
                    actor_id: int | None) -> None:
    at = now()
    if booking.voucher_id is not None:
        voucher = session.get(vouchers.Voucher, booking.voucher_id)
        if voucher is not None and voucher.status == "held" and voucher.booking_id == booking.id:
            forfeit = forfeit_voucher and voucher.program.no_show_policy == "forfeit"
            vouchers.release(session, voucher, booking, actor_id=actor_id, at=at, forfeit=forfeit)
    quota.release(session, booking, at=at, actor_id=actor_id)


def reprice(session: Session, booking: Booking) -> None:
    """After a reschedule: the voucher covers the new price; quota is held afresh."""
    user = booking.creator
    had_quota = quota.active_hold(session, booking.id) is not None
    quota.release(session, booking, at=now(), actor_id=user.id)
    voucher_fen = 0
    if booking.voucher_id is not None:
        voucher = session.get(vouchers.Voucher, booking.voucher_id)
        if voucher is not None and voucher.status == "held":
            day = _booking_day(booking.start_at)
            if not vouchers.rules.valid_on(voucher.valid_from, voucher.valid_until, day):
                raise vouchers.not_usable("not_valid_on_this_day",
                                          valid_until=voucher.valid_until.isoformat())
            voucher_fen = vouchers.rules.covered_fen(voucher.face_value_fen, booking.gross_fen)
    remaining = booking.gross_fen - voucher_fen
    quota_fen = 0
    if had_quota and remaining > 0:
        for program in _quota_programs(booking.resource):
            account = quota.locked_account(session, user, program, to_local(booking.start_at).year,
                                           _booking_day(booking.start_at))
            if account is None:
                continue
            quota_fen = quota.hold(session, account, booking, _covered(remaining, program),
                                   at=now(), actor_id=user.id)
            if quota_fen:
                break
    booking.voucher_fen = voucher_fen
    booking.quota_fen = quota_fen
    booking.self_pay_fen = booking.gross_fen - voucher_fen - quota_fen


def usable_vouchers_for(session: Session, user, resource: Resource, start) -> list:
    return vouchers.usable_vouchers(session, user, to_local(now()).date(), resource,
                                    _booking_day(start))
