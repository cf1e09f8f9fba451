"""The front desk acting for a creator who is standing in front of it.

A desk may book for a walk-in creator, but a creator's vouchers and annual quota are their
money: they are used only when the creator confirms with a one-time code sent to them (through
the outbox, like every message) and read out at the desk. Without the code the booking is
self-pay. The desk may also record a no-show early when the creator calls to cancel on the day,
and close a room at once for a breakdown; bookings the closure collides with are listed, never
cancelled silently.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.accounts.models import User, UserRole
from app.accounts.service import normalise_email
from app.booking import confirm, funding, lifecycle
from app.booking.lifecycle import LinkFor
from app.booking.models import Booking, Closure
from app.booking.service import add_closure, quote
from app.catalog.models import Resource
from app.checkin.models import DeskConfirmation
from app.core.auth import operator_venue_ids
from app.core.clock import local_today, to_local
from app.core.errors import AppError, NotFound, RuleViolation
from app.core.locks import lock_row
from app.notify.service import enqueue

CONFIRMATION_VALID = timedelta(minutes=10)
CONFIRMATION_ATTEMPTS = 5


class WrongConfirmation(AppError):
    """The code typed at the desk is not the one sent (the failed attempt is kept)."""

    status = 422
    code = "confirmation_invalid"


def _may_operate(operator: User, venue_id: int) -> bool:
    return operator.has_role("admin") or venue_id in operator_venue_ids(operator)


def find_creators(session: Session, query: str) -> list[User]:
    """Creators whose email is ``query`` or whose phone number is its digits (whole, so a desk
    cannot list strangers by a fragment)."""
    text = (query or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text:
        return []
    conditions = [func.lower(User.email) == normalise_email(text)]
    if len(digits) >= 7:
        conditions.append(User.phone == digits)
    return list(session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "creator", User.active.is_(True), or_(*conditions))
        .order_by(User.id).limit(5)).unique())


def _creator(session: Session, creator_id: int) -> User:
    creator = session.get(User, creator_id)
    if creator is None or not creator.active or not creator.has_role("creator"):
        raise NotFound()
    return creator


def _digest(confirmation_id: int, code: str) -> str:
    return hashlib.sha256(f"{confirmation_id}:{code}".encode()).hexdigest()


def send_confirmation(session: Session, operator: User, creator_id: int,
                      moment: datetime) -> DeskConfirmation:
    """A fresh six-digit code for the creator, written to the outbox with the booking desk's
    name; an earlier unused code of this desk for them stops working."""
    creator = _creator(session, creator_id)
    for old in session.scalars(select(DeskConfirmation).where(
            DeskConfirmation.creator_id == creator.id, DeskConfirmation.operator_id == operator.id,
            DeskConfirmation.used_at.is_(None), DeskConfirmation.expires_at > moment)):
        old.expires_at = moment
    code = f"{secrets.randbelow(10**6):06d}"
    row = DeskConfirmation(creator_id=creator.id, operator_id=operator.id, code_hash="",
                           created_at=moment, expires_at=moment + CONFIRMATION_VALID,
                           failed_attempts=0)
    session.add(row)
    session.flush()
    row.code_hash = _digest(row.id, code)
    enqueue(session, creator, "desk_confirmation", f"desk_confirmation:{row.id}", {
        "code": code, "desk": operator.display_name,
        "until": to_local(row.expires_at).strftime("%H:%M")},
        at=moment, data={"confirmation_id": row.id}, new_event=True)
    session.flush()
    return row


def _use_confirmation(session: Session, operator: User, creator: User, code: str,
                      moment: datetime) -> None:
    """Spend the creator's current code; a wrong one counts against it (the caller commits the
    count before answering, so guessing stops after a few tries)."""
    current = session.scalar(
        select(DeskConfirmation.id).where(
            DeskConfirmation.creator_id == creator.id, DeskConfirmation.operator_id == operator.id,
            DeskConfirmation.used_at.is_(None), DeskConfirmation.expires_at > moment,
            DeskConfirmation.failed_attempts < CONFIRMATION_ATTEMPTS)
        .order_by(DeskConfirmation.id.desc()).limit(1))
    row = lock_row(session, DeskConfirmation, current) if current is not None else None
    if row is None or row.used_at is not None or row.expires_at <= moment:
        raise WrongConfirmation(details={"reason": "no_code_sent_or_expired"})
    if not hmac.compare_digest(row.code_hash, _digest(row.id, code.strip())):
        row.failed_attempts += 1
        session.flush()
        raise WrongConfirmation(details={
            "attempts_left": max(0, CONFIRMATION_ATTEMPTS - row.failed_attempts)})
    row.used_at = moment


def book_walk_in(session: Session, operator: User, creator_id: int, resource_id: int,
                 start: datetime, end: datetime, moment: datetime, *,
                 confirmation_code: str | None = None, voucher_code: str | None = None,
                 link_for: LinkFor | None = None) -> Booking:
    """Book for a creator at the desk: with their confirmation code their vouchers (the given
    one, or the one covering most) and quota apply; without it the booking is self-pay."""
    resource = session.get(Resource, resource_id)
    if resource is None or not _may_operate(operator, resource.venue_id):
        raise NotFound()
    creator = _creator(session, creator_id)
    confirmed = bool(confirmation_code and confirmation_code.strip())
    if voucher_code and not confirmed:
        raise RuleViolation("confirmation_required")
    if confirmed:
        _use_confirmation(session, operator, creator, confirmation_code or "", moment)
        if not voucher_code:
            gross = quote(session, resource, start, end, moment)
            best = confirm.best_voucher(funding.usable_vouchers_for(
                session, creator, resource, start, local_today()), gross)
            voucher_code = best.code if best is not None else None
    booking = lifecycle.book(session, creator, resource.id, start, end, moment,
                             voucher_code=voucher_code, use_quota=confirmed, link_for=link_for)
    lifecycle.record_event(session, booking, "booked_at_desk", moment, operator.id,
                           creator_confirmed=confirmed)
    return booking


def no_show_now(session: Session, operator: User, booking_id: int, moment: datetime) -> Booking:
    """The creator called to say they will not come: recorded as a no-show now (the program's
    no-show policy applies), and the slot is free for someone else."""
    booking = session.get(Booking, booking_id)
    if booking is None or not _may_operate(operator, booking.resource.venue_id):
        raise NotFound()
    return lifecycle.mark_no_show(session, booking_id, moment, operator.id, early=True)


def close_now(session: Session, operator: User, resource_id: int, until: datetime,
              moment: datetime, reason: str) -> tuple[Closure, list[Booking]]:
    """Close a room from now (a breakdown); the bookings it collides with are returned for the
    desk to call, never cancelled silently."""
    resource = session.get(Resource, resource_id)
    if resource is None or not _may_operate(operator, resource.venue_id):
        raise NotFound()
    if until <= moment:
        raise AppError("validation_error", status=422,
                       details={"fields": {"until": ["Must be later than now."]}})
    return add_closure(session, operator.id, resource, moment, until, reason or "breakdown")

