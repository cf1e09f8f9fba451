"""How a booking is paid: voucher first, then annual quota, then self-pay.

The split is planned when the booking is made and stored on it; a reschedule plans it again
for the new price; cancellation and no-show release it; check-in redeems and consumes it.
Only the booking lifecycle calls these, inside its own transaction and after it locked the
booking. Locks are taken in a fixed order (booking, voucher, quota account) with a timeout,
so requests never deadlock and a stuck lock answers "busy" instead of hanging.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking.models import Booking
from app.booking.strikes import suspended_until
from app.catalog.models import Program, Resource
from app.catalog.published import PublishedResource
from app.core.clock import now as clock_now
from app.core.clock import to_local
from app.core.errors import AppError, Busy
from app.quota import service as quota
from app.vouchers import rules as voucher_rules
from app.vouchers import service as vouchers

LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Split:
    gross_fen: int
    voucher_fen: int = 0
    quota_fen: int = 0

    @property
    def self_pay_fen(self) -> int:
        return self.gross_fen - self.voucher_fen - self.quota_fen

    def as_dict(self) -> dict:
        return {"gross_fen": self.gross_fen, "voucher_fen": self.voucher_fen,
                "quota_fen": self.quota_fen, "self_pay_fen": self.self_pay_fen}


def booking_day(start: datetime) -> date:
    return to_local(start).date()


def _quota_programs(resource: PublishedResource | Resource, day: date) -> list[Program]:
    """Quota programs the resource accepts that apply there on ``day`` (open, in force, in
    their own district)."""
    return [p for p in resource.programs if p.funding == "quota" and p.applies(resource.venue, day)]


def _covered(gross_after_voucher: int, program: Program) -> int:
    return gross_after_voucher * program.coverage_percent // 100


def voucher_covers(voucher, price_fen: int) -> int:
    """Its program's share of the price, up to the face value; no change is given."""
    share = price_fen * voucher.program.coverage_percent // 100
    return voucher_rules.covered_fen(voucher.face_value_fen, share)


def _apply(booking: Booking, split: Split) -> None:
    """All parts at once: the table's CHECK never sees a half-updated split."""
    booking.gross_fen = split.gross_fen
    booking.voucher_fen = split.voucher_fen
    booking.quota_fen = split.quota_fen
    booking.self_pay_fen = split.self_pay_fen


@contextmanager
def _lock_timeout(session: Session) -> Iterator[None]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    try:
        yield
    except OperationalError as err:
        name = type(err.orig).__name__.lower()
        if "lock timeout" in str(err.orig).lower() or "locknotavailable" in name:
            raise Busy() from err
        raise


def _check_not_suspended(session: Session, user: User, program: Program, moment: datetime) -> None:
    until = suspended_until(session, user.id, program, moment)
    if until is not None:
        raise AppError("suspended", status=422, details={"until": to_local(until).isoformat(),
                                                          "program": program.code})


def _hold_quota(session: Session, user: User, booking: Booking, resource: PublishedResource,
                wanted_fen: int, at: datetime, *, new_booking: bool = True) -> tuple[int, int | None]:
    """Hold up to ``wanted_fen`` of the first quota program that has any left: (fen, program)."""
    if wanted_fen <= 0:
        return 0, None
    day = booking_day(booking.start_at)
    for program in _quota_programs(resource, day):
        account = quota.locked_account(session, user, program, to_local(booking.start_at).year, day)
        if account is None:
            continue
        if new_booking:  # a suspension stops new subsidised bookings, not moving old ones
            _check_not_suspended(session, user, program, at)
        held = quota.hold(session, account, booking, _covered(wanted_fen, program), at=at,
                          actor_id=user.id)
        if held:
            return held, program.id
    return 0, None


def plan(session: Session, user: User, booking: Booking, resource: PublishedResource,
         voucher_code: str | None, use_quota: bool, at: datetime) -> None:
    """Attach a voucher and hold quota for a new booking, by the programs ``resource`` (on the
    list's terms) accepts; the rest is self-pay."""
    remaining = booking.gross_fen
    voucher_fen = quota_fen = 0
    program_id = None
    use_quota = use_quota and resource.accepts_quota
    if not voucher_code and not use_quota:
        return  # self-pay: nothing to hold, nothing to lock
    with _lock_timeout(session):
        if voucher_code:
            voucher = vouchers.find(session, voucher_code)
            if voucher is None:
                raise vouchers.not_usable("unknown_code")
            vouchers.usable_for(session, voucher, user, resource, booking_day(booking.start_at))
            _check_not_suspended(session, user, voucher.program, at)
            vouchers.hold(session, voucher, booking, actor_id=user.id, at=at)
            # Only after the hold: the foreign key check would share-lock the voucher row, and
            # two bookings each holding that lock while waiting to update the row deadlock.
            booking.voucher_id = voucher.id
            voucher_fen = voucher_covers(voucher, remaining)
            remaining -= voucher_fen
            program_id = voucher.program_id
        if use_quota:
            quota_fen, quota_program = _hold_quota(session, user, booking, resource, remaining, at)
            program_id = program_id or quota_program
    if program_id is not None:
        booking.program_id = program_id
    _apply(booking, Split(booking.gross_fen, voucher_fen, quota_fen))


def replan(session: Session, booking: Booking, resource: PublishedResource, gross_fen: int,
           at: datetime) -> None:
    """After a move to a new slot: the voucher covers min(face, new price); the quota hold is
    taken afresh for what is left (it shrinks, or grows within the cap); self-pay is the rest.

    Quota is used again only where the booking used it before (the creator chose it then).
    """
    user = booking.creator
    had_quota = quota.active_hold(session, booking.id) is not None
    voucher_fen = 0
    with _lock_timeout(session):
        quota.release(session, booking, at=at, actor_id=user.id)
        voucher = booking.voucher
        if voucher is not None and voucher.status == "held" and voucher.booking_id == booking.id:
            day = booking_day(booking.start_at)
            if not voucher_rules.valid_on(voucher.valid_from, voucher.valid_until, day):
                raise vouchers.not_usable("not_valid_on_this_day",
                                          valid_until=voucher.valid_until.isoformat())
            voucher_fen = voucher_covers(voucher, gross_fen)
        quota_fen = 0
        if had_quota:
            quota_fen, _ = _hold_quota(session, user, booking, resource, gross_fen - voucher_fen,
                                       at, new_booking=False)
    _apply(booking, Split(gross_fen, voucher_fen, quota_fen))


def release(session: Session, booking: Booking, *, forfeit_voucher: bool, actor_id: int | None,
            at: datetime) -> None:
    """Cancelled or no-show: the quota hold goes back; the voucher goes back, or is forfeited
    where the booking counts as a no-show and its program says so."""
    voucher = booking.voucher
    if voucher is not None and voucher.status == "held" and voucher.booking_id == booking.id:
        forfeit = forfeit_voucher and voucher.program.no_show_policy == "forfeit"
        vouchers.release(session, voucher, booking, actor_id=actor_id, at=at, forfeit=forfeit)
    quota.release(session, booking, at=at, actor_id=actor_id)


def redeem(session: Session, booking: Booking, *, actor_id: int | None, at: datetime) -> None:
    """At check-in: the voucher is redeemed and the quota hold consumed (payable to the venue)."""
    voucher = booking.voucher
    if voucher is not None and booking.voucher_fen > 0 and voucher.status == "held":
        vouchers.redeem(session, voucher, booking, actor_id=actor_id, at=at)
    if booking.quota_fen > 0:  # only a booking with quota on it has a hold to consume
        quota.consume(session, booking, at=at, actor_id=actor_id)


def preview_split(session: Session, user: User, resource: PublishedResource, start: datetime,
                  voucher_code: str | None, use_quota: bool, gross_fen: int) -> Split:
    """The split a booking would get now, without holding anything (shown before confirming)."""
    day = booking_day(start)
    remaining = gross_fen
    voucher_fen = quota_fen = 0
    if voucher_code:
        voucher = vouchers.find(session, voucher_code)
        if voucher is None:
            raise vouchers.not_usable("unknown_code")
        vouchers.usable_for(session, voucher, user, resource, day)
        _check_not_suspended(session, user, voucher.program, clock_now())
        voucher_fen = voucher_covers(voucher, remaining)
        remaining -= voucher_fen
    if use_quota and remaining > 0:
        year = to_local(start).year
        for program in _quota_programs(resource, day):
            cap = quota.cap_on(session, user, program, year, day)
            if cap is None:
                continue
            _check_not_suspended(session, user, program, clock_now())
            held, consumed = quota.used(session, user.id, program.id, year)
            quota_fen = max(0, min(_covered(remaining, program), cap - held - consumed))
            if quota_fen:
                break
    return Split(gross_fen, voucher_fen, quota_fen)


def usable_vouchers_for(session: Session, user: User, resource: PublishedResource, start: datetime,
                        today: date) -> list:
    return vouchers.usable_vouchers(session, user, today, resource, booking_day(start))
