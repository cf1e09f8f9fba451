"""The booking lifecycle: one function per transition, each owning its whole transaction.

    confirmed → checked_in → completed
    confirmed → cancelled | no_show

``book``, ``cancel``, ``reschedule``, ``check_in``, ``check_out``, ``mark_no_show`` and
``complete`` do everything a transition means — the booking row, its funding (voucher, quota),
its event, its scan or strike, its notification — except the commit, which the caller makes.
API routes, pages and scheduler jobs call these same functions.

Each first locks the booking row and reads its status under that lock (``guard``), so of two
transitions racing on one booking exactly one wins; the other changes nothing and raises
``409 state_changed`` with the status it found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.booking import funding, rules
from app.booking.guard import StateChanged, lock_booking, require_status
from app.booking.models import Booking, BookingEvent
from app.booking.service import (
    bookable_resource,
    booked_terms,
    can_view,
    check_slot,
    insert_guarded,
    take_booking_lock,
)
from app.booking.strikes import Strike, recent_strikes
from app.checkin import rules as checkin_rules
from app.checkin import short_codes
from app.checkin.models import CheckIn
from app.checkin.scans import record_scan
from app.core.auth import operator_venue_ids
from app.core.clock import to_local
from app.core.db import write_core
from app.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from app.core.money import format_yuan
from app.notify.service import enqueue
from app.payments import service as payments

LinkFor = Callable[[Booking], str]


_INSERT_EVENT = insert(BookingEvent)
_INSERT_CHECKIN = insert(CheckIn).returning(CheckIn.id)
_CHECKED_IN = update(Booking).where(Booking.id == bindparam("booking_id")).values(
    status="checked_in", checked_in_at=bindparam("at"))


def record_event(session: Session, booking: Booking, kind: str, at: datetime,
                 actor_id: int | None, **data) -> None:
    """Record what happened: one insert built once (an event is never changed)."""
    write_core(session, _INSERT_EVENT, {"booking_id": booking.id, "at": at, "actor_id": actor_id,
                                        "kind": kind, "data": data})


def _locked_for(session: Session, user: User, booking_id: int) -> Booking:
    """The booking locked, when ``user`` may see it; someone else's is not even confirmed to exist."""
    booking = lock_booking(session, booking_id)
    if booking is None or not can_view(user, booking):
        raise NotFound()
    return booking


def _locked_owned(session: Session, user: User, booking_id: int) -> Booking:
    booking = _locked_for(session, user, booking_id)
    if booking.creator_id != user.id:
        raise Forbidden()
    return booking


def _may_operate(user: User, booking: Booking) -> bool:
    return user.has_role("admin") or booking.resource.venue_id in operator_venue_ids(user)


def _locked_operated(session: Session, operator: User, booking_id: int) -> Booking:
    """A booking at one of the operator's venues; any other is not found (not even 403)."""
    booking = lock_booking(session, booking_id)
    if booking is None or not _may_operate(operator, booking):
        raise NotFound()
    return booking


# ---- book ----------------------------------------------------------------------------------


def book(session: Session, creator: User, resource_id: int, start: datetime, end: datetime,
         now: datetime, *, voucher_code: str | None = None, use_quota: bool = True,
         link_for: LinkFor | None = None) -> Booking:
    """Book a slot and plan how it is paid; the creator is told in the same transaction.

    Raises ``ShortCodeTaken`` (nothing written) in the rare case the new short code is in use:
    the caller rolls back and calls again.
    """
    if not creator.email_verified:
        raise Forbidden("email_not_verified")  # self-registered, the emailed link not yet followed
    resource = bookable_resource(session, resource_id)
    take_booking_lock(session, resource.id)
    resource_rules = check_slot(session, resource, start, end, now)
    gross = rules.price_fen(resource_rules, start, end)
    booking = insert_guarded(session, {
        "resource_id": resource.id, "creator_id": creator.id, "start_at": start, "end_at": end,
        "blocked_until": end + timedelta(minutes=resource.buffer_minutes), "status": "confirmed",
        "gross_fen": gross, "voucher_fen": 0, "quota_fen": 0, "self_pay_fen": gross, "paid_fen": 0,
        "program_id": None, "voucher_id": None, "created_at": now, "cancelled_at": None,
        "late_cancel": False, "checked_in_at": None, "checked_out_at": None,
        "short_code": short_codes.new(), "list_version": resource.list_version,
    }, resource=resource.row, creator=creator)
    funding.plan(session, creator, booking, resource, voucher_code, use_quota, now)
    session.flush()
    payments.open_receivable(session, booking, now, creator.id)
    # The booking row records its creation; events record what changes it later. The
    # confirmation is written with it: no booking without it, none for a rolled-back booking.
    enqueue(session, creator, "booking_confirmed", f"booking_confirmed:{booking.id}", {
        "resource": resource.name_zh, "venue": resource.venue.name_zh,
        "resource_en": resource.name_en, "venue_en": resource.venue.name_en,
        "start": to_local(start).strftime("%Y-%m-%d %H:%M"), "end": to_local(end).strftime("%H:%M"),
        "gross": format_yuan(booking.gross_fen), "voucher": format_yuan(booking.voucher_fen),
        "quota": format_yuan(booking.quota_fen), "self_pay": format_yuan(booking.self_pay_fen),
        "link": link_for(booking) if link_for else "",
    }, at=now, data={"booking_id": booking.id}, new_event=True)
    return booking


# ---- cancel and reschedule (the creator) -----------------------------------------------------


def cancel(session: Session, user: User, booking_id: int, now: datetime,
           accept_late: bool = False) -> Booking:
    """Cancel; after the free-cancellation deadline only with ``accept_late`` (counts as late:
    the voucher is handled as for a no-show, by its program's policy; quota goes back)."""
    booking = _locked_owned(session, user, booking_id)
    require_status(booking, "confirmed")
    if now >= booking.start_at:
        raise RuleViolation("cancel_deadline_passed", details={"reason": "started"})
    deadline = rules.cancel_deadline(booked_terms(booking).cancel_deadline_hours, booking.start_at)
    late = now >= deadline
    if late and not accept_late:
        raise RuleViolation("cancel_deadline_passed", details={
            "deadline": to_local(deadline).isoformat(), "late_cancel_allowed": True,
            "consequence": "voucher and quota are handled as for a no-show"})
    booking.status = "cancelled"
    booking.cancelled_at = now
    booking.late_cancel = late
    funding.release(session, booking, forfeit_voucher=late, actor_id=user.id, at=now)
    # in time, whatever was paid is owed back; late, the venue keeps what it collected
    payments.release_receivable(session, booking, refund_paid=not late, at=now, actor_id=user.id)
    record_event(session, booking, "cancelled", now, user.id, late=late)
    session.flush()
    return booking


def reschedule(session: Session, user: User, booking_id: int, start: datetime, end: datetime,
               now: datetime) -> Booking:
    """Move a booking to a new slot of its resource and plan its funding for the new price:
    the new slot or nothing changes.

    The deadline to move is the one it was booked with; the new slot is priced and checked on
    the list in force now (as a new booking would be), and the booking records that version.
    """
    booking = _locked_owned(session, user, booking_id)
    require_status(booking, "confirmed")
    deadline = rules.cancel_deadline(booked_terms(booking).cancel_deadline_hours, booking.start_at)
    if now >= deadline:
        raise RuleViolation("cancel_deadline_passed", details={
            "deadline": to_local(deadline).isoformat(), "reason": "reschedule"})
    resource = bookable_resource(session, booking.resource_id)
    resource_rules = check_slot(session, resource, start, end, now, exclude_id=booking.id)
    before = {"start": booking.start_at.isoformat(), "end": booking.end_at.isoformat(),
              "gross_fen": booking.gross_fen, "voucher_fen": booking.voucher_fen,
              "quota_fen": booking.quota_fen, "self_pay_fen": booking.self_pay_fen}
    try:
        booking.start_at = start
        booking.end_at = end
        booking.blocked_until = end + timedelta(minutes=resource.buffer_minutes)
        booking.list_version = resource.list_version
        funding.replan(session, booking, resource, rules.price_fen(resource_rules, start, end), now)
        payments.require_covers_paid(booking)
        session.flush()
        payments.adjust_receivable(session, booking, before["self_pay_fen"], now, user.id)
    except IntegrityError as err:
        if "bookings_no_overlap" in str(err.orig) or "exclusion" in str(err.orig).lower():
            raise Conflict("slot_taken") from err
        raise
    record_event(session, booking, "rescheduled", now, user.id, **{"from": before, "to": {
        "start": start.isoformat(), "end": end.isoformat(), "gross_fen": booking.gross_fen,
        "voucher_fen": booking.voucher_fen, "quota_fen": booking.quota_fen,
        "self_pay_fen": booking.self_pay_fen}})
    session.flush()
    return booking


# ---- at the door (the operator) --------------------------------------------------------------


@dataclass
class CheckInOutcome:
    result: str
    booking: Booking | None = None
    checkin: CheckIn | None = None
    scan_id: int | None = None
    reason: str = ""  # why a code was invalid, where the desk should hear it


def first_checkin(session: Session, booking_id: int) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(CheckIn.booking_id == booking_id))


def check_in(session: Session, operator: User, booking_id: int, moment: datetime, *,
             method: str = "scan", device: str = "", raw_code: str | None = None) -> CheckInOutcome:
    """Check a booking in at the door: the answer is decided on the locked row, the scan stored
    with it, and on ``ok`` the voucher redeemed and the quota consumed in the same transaction.

    A manual check-in (no code) of a booking that does not exist, or is at another venue, is
    404; a scanned code of one is stored and answered.
    """
    booking = lock_booking(session, booking_id)
    raw = raw_code if raw_code is not None else f"manual:{booking_id}"
    if booking is None or (method == "manual" and not _may_operate(operator, booking)):
        if method == "manual":
            raise NotFound()
        scan_id = record_scan(session, operator_id=operator.id, raw=raw, device=device,
                              method=method, result="invalid", reason="unknown_booking",
                              booking_id=None, at=moment)
        return CheckInOutcome("invalid", scan_id=scan_id)
    result = checkin_rules.decide(booking.status, _may_operate(operator, booking), moment,
                                  booking.start_at, booking.end_at,
                                  booked_terms(booking).checkin_opens_minutes)
    scan_id = record_scan(session, operator_id=operator.id, raw=raw, device=device,
                          method=method, result=result, reason="", booking_id=booking.id,
                          at=moment)
    outcome = CheckInOutcome(result, booking, scan_id=scan_id)
    if result == "already_checked_in":
        outcome.checkin = first_checkin(session, booking.id)
    if result != "ok":
        return outcome
    # one UPDATE built once; the locked row's object is told it is already written
    write_core(session, _CHECKED_IN, {"booking_id": booking.id, "at": moment})
    set_committed_value(booking, "status", "checked_in")
    set_committed_value(booking, "checked_in_at", moment)
    # the check-in row is written once and never changed: one insert, and the answer's copy
    row = {"booking_id": booking.id, "at": moment, "operator_id": operator.id,
           "device": device[:120], "method": method, "scan_id": scan_id}
    outcome.checkin = CheckIn(id=write_core(session, _INSERT_CHECKIN, row).scalar_one(), **row)
    outcome.checkin.operator = operator
    funding.redeem(session, booking, actor_id=operator.id, at=moment)
    record_event(session, booking, "checked_in", moment, operator.id, method=method, device=device[:120])
    session.flush()
    return outcome


def check_out(session: Session, operator: User, booking_id: int, moment: datetime) -> Booking:
    """Record the end of use: checked_in → completed."""
    booking = _locked_operated(session, operator, booking_id)
    if booking.status == "confirmed":
        raise RuleViolation("not_checked_in", details={"status": booking.status})
    require_status(booking, "checked_in")
    booking.status = "completed"
    booking.checked_out_at = moment
    record_event(session, booking, "checked_out", moment, operator.id)
    session.flush()
    return booking


# ---- when nobody comes, and when time is up --------------------------------------------------


def mark_no_show(session: Session, booking_id: int, moment: datetime,
                 actor_id: int | None = None, *, early: bool = False) -> Booking:
    """Not checked in ``no_show_after_minutes`` after the start: the slot and the quota are
    released, the voucher handled by its program's policy, a strike recorded.

    ``early``: the creator told the front desk they will not come, so the desk records it now
    and frees the slot; the policy is the same as for a no-show found by the sweep.
    """
    booking = lock_booking(session, booking_id)
    if booking is None:
        raise NotFound()
    require_status(booking, "confirmed")
    too_early = moment < booking.start_at + timedelta(
        minutes=booked_terms(booking).no_show_after_minutes)
    if too_early and not early:
        raise RuleViolation("too_early_for_no_show", details={"status": booking.status})
    booking.status = "no_show"
    funding.release(session, booking, forfeit_voucher=True, actor_id=actor_id, at=moment)
    payments.release_receivable(session, booking, refund_paid=False, at=moment, actor_id=actor_id)
    try:
        with session.begin_nested():
            session.add(Strike(user_id=booking.creator_id, booking_id=booking.id,
                               program_id=booking.program_id, at=moment))
            session.flush()
    except IntegrityError:
        pass  # one strike per booking
    record_event(session, booking, "no_show", moment, actor_id, **({"early": True} if early else {}))
    resource = booking.resource
    enqueue(session, booking.creator, "no_show", f"no_show:{booking.id}", {
        "resource": resource.name_zh, "venue": resource.venue.name_zh,
        "resource_en": resource.name_en, "venue_en": resource.venue.name_en,
        "start": to_local(booking.start_at).strftime("%m-%d %H:%M"),
        "strikes": recent_strikes(session, booking.creator_id, moment)},
        at=moment, data={"booking_id": booking.id})
    session.flush()
    return booking


def complete(session: Session, booking_id: int, moment: datetime) -> Booking:
    """A checked-in booking whose time is over, nobody having checked it out."""
    booking = lock_booking(session, booking_id)
    if booking is None:
        raise NotFound()
    require_status(booking, "checked_in")
    if moment < booking.end_at:
        raise RuleViolation("not_ended", details={"status": booking.status})
    booking.status = "completed"
    record_event(session, booking, "completed", moment, None)
    session.flush()
    return booking


def mark_no_shows(session: Session, moment: datetime) -> int:
    """The scheduler's sweep: every confirmed booking past its no-show time (by the terms it
    was booked on)."""
    due = session.scalars(
        select(Booking).where(Booking.status == "confirmed", Booking.start_at < moment)
        .options(joinedload(Booking.resource)).order_by(Booking.start_at)).all()
    marked = 0
    for booking in due:
        after = booked_terms(booking).no_show_after_minutes
        if booking.start_at + timedelta(minutes=after) > moment:
            continue
        try:
            mark_no_show(session, booking.id, moment)
        except StateChanged:
            continue  # checked in or cancelled meanwhile
        marked += 1
    return marked


def complete_finished(session: Session, moment: datetime) -> int:
    """The scheduler's sweep: checked-in bookings whose time is over."""
    ids = session.scalars(select(Booking.id).where(Booking.status == "checked_in",
                                                   Booking.end_at <= moment)).all()
    done = 0
    for booking_id in ids:
        try:
            complete(session, booking_id, moment)
        except StateChanged:
            continue  # checked out meanwhile
        done += 1
    return done

