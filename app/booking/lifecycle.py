"""What happens to bookings when nobody clicks: no-shows and completion. Each step is
idempotent (conditional updates), so a job that runs twice, or late, changes nothing more."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app.booking.models import Booking, BookingEvent
from app.booking.strikes import Strike, recent_strikes
from app.catalog.models import Resource
from app.core.clock import to_local


def mark_no_shows(session: Session, moment: datetime) -> int:
    """Confirmed bookings not checked in ``no_show_after_minutes`` after start become no-shows:
    the slot is released, quota released, the voucher handled by program policy, a strike
    recorded."""
    from app.booking.funding import release_funding
    from app.notify.service import enqueue

    candidates = session.scalars(
        select(Booking).join(Booking.resource)
        .where(Booking.status == "confirmed", Booking.start_at < moment)
        .options(joinedload(Booking.resource).joinedload(Resource.venue), joinedload(Booking.creator))
        .order_by(Booking.start_at)).unique().all()
    marked = 0
    for booking in candidates:
        if booking.start_at + timedelta(minutes=booking.resource.no_show_after_minutes) > moment:
            continue
        changed = session.execute(
            update(Booking).where(Booking.id == booking.id, Booking.status == "confirmed")
            .values(status="no_show").execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            continue  # checked in or cancelled meanwhile
        session.refresh(booking)
        release_funding(session, booking, forfeit_voucher=True, actor_id=None)
        try:
            with session.begin_nested():
                session.add(Strike(user_id=booking.creator_id, booking_id=booking.id, at=moment))
                session.flush()
        except IntegrityError:
            pass
        session.add(BookingEvent(booking_id=booking.id, at=moment, kind="no_show"))
        strikes = recent_strikes(session, booking.creator_id, moment)
        enqueue(session, booking.creator, "no_show", f"no_show:{booking.id}",
                {"resource": booking.resource.name_zh, "venue": booking.resource.venue.name_zh,
                 "start": to_local(booking.start_at).strftime("%m-%d %H:%M"), "strikes": strikes},
                at=moment, data={"booking_id": booking.id})
        marked += 1
    session.flush()
    return marked


def complete_finished(session: Session, moment: datetime) -> int:
    """Checked-in bookings whose time is over are completed (for those nobody checked out)."""
    ids = session.scalars(select(Booking.id).where(Booking.status == "checked_in",
                                                   Booking.end_at <= moment)).all()
    done = 0
    for booking_id in ids:
        done += session.execute(
            update(Booking).where(Booking.id == booking_id, Booking.status == "checked_in")
            .values(status="completed").execution_options(synchronize_session=False)).rowcount
        session.add(BookingEvent(booking_id=booking_id, at=moment, kind="completed"))
    session.flush()
    return done


def send_reminders(session: Session, moment: datetime, link_for) -> int:
    """24 h and 1 h before start; the outbox key makes each reminder go out once."""
    from app.notify.service import enqueue

    sent = 0
    upcoming = session.scalars(
        select(Booking).where(Booking.status == "confirmed", Booking.start_at > moment,
                              Booking.start_at <= moment + timedelta(hours=24))
        .options(joinedload(Booking.resource).joinedload(Resource.venue), joinedload(Booking.creator))
    ).unique().all()
    for booking in upcoming:
        until_start = booking.start_at - moment
        kind = "reminder_1h" if until_start <= timedelta(hours=1) else "reminder_24h"
        venue = booking.resource.venue
        deadline = booking.start_at - timedelta(hours=booking.resource.cancel_deadline_hours)
        note = enqueue(session, booking.creator, kind, f"{kind}:{booking.id}", {
            "resource": booking.resource.name_zh, "venue": venue.name_zh, "address": venue.address_zh,
            "start": to_local(booking.start_at).strftime("%m-%d %H:%M"),
            "deadline": to_local(deadline).strftime("%m-%d %H:%M"), "link": link_for(booking)},
            at=moment, data={"booking_id": booking.id})
        sent += note is not None
    return sent
