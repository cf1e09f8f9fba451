"""Reminders 24 h and 1 h before a booking starts; the outbox key makes each go out once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.booking.models import Booking
from app.booking.service import booked_terms
from app.catalog.models import Resource
from app.core.clock import to_local
from app.notify.service import enqueue


def send_reminders(session: Session, moment: datetime, link_for: Callable[[Booking], str]) -> int:
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
        deadline = booking.start_at - timedelta(hours=booked_terms(booking).cancel_deadline_hours)
        note = enqueue(session, booking.creator, kind, f"{kind}:{booking.id}", {
            "resource": booking.resource.name_zh, "venue": venue.name_zh, "address": venue.address_zh,
            "resource_en": booking.resource.name_en, "venue_en": venue.name_en,
            "address_en": venue.address_en,
            "start": to_local(booking.start_at).strftime("%m-%d %H:%M"),
            "deadline": to_local(deadline).strftime("%m-%d %H:%M"), "link": link_for(booking)},
            at=moment, data={"booking_id": booking.id})
        sent += note is not None
    return sent
