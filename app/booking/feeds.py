"""Calendar feeds (iCal): a creator's bookings, and a resource's for its operators."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, request
from flask_babel import force_locale
from sqlalchemy import select

from app.accounts.models import User
from app.booking import service
from app.booking.calendar import build_calendar
from app.booking.models import Booking
from app.catalog.models import Resource
from app.core.auth import operator_venue_ids
from app.core.clock import now
from app.core.labels import BOOKING_STATUS, label
from app.extensions import db

calendar_bp = Blueprint("calendar", __name__)


def _status_word(status: str) -> str:
    # The feed is written in Chinese whatever language the calendar client asks for.
    with force_locale("zh_Hans_CN"):
        return label(BOOKING_STATUS, status)


def _user_by_calendar_secret(secret: str):
    user = db.session.scalar(select(User).where(User.calendar_secret == secret))
    if user is None or not user.active or len(secret) < 16:
        abort(404)
    return user


def _ics_response(body: bytes):
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": "inline; filename=bookings.ics",
                             "Cache-Control": "private, max-age=300"})


@calendar_bp.get("/calendar/<secret>.ics")
def creator_feed(secret: str):
    user = _user_by_calendar_secret(secret)
    bookings = service.bookings_of_creator(db.session, user, now() - timedelta(days=90))
    return _ics_response(build_calendar(
        f"{user.display_name} · 场地预约", bookings, request.host,
        lambda b: (f"{b.resource.name_zh} · {b.resource.venue.name_zh}",
                   b.resource.venue.address_zh,
                   f"预约 #{b.id} · {_status_word(b.status)}")))


@calendar_bp.get("/calendar/<secret>/resources/<int:resource_id>.ics")
def resource_feed(secret: str, resource_id: int):
    user = _user_by_calendar_secret(secret)
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        abort(404)
    if not (user.has_role("admin") or resource.venue_id in operator_venue_ids(user)):
        abort(404)
    bookings = db.session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.start_at >= now() - timedelta(days=30)
    ).order_by(Booking.start_at).limit(2000)).all()
    return _ics_response(build_calendar(
        f"{resource.name_zh} · {resource.venue.name_zh}", bookings, request.host,
        lambda b: (f"{b.creator.display_name} · {resource.name_zh}", resource.venue.address_zh,
                   f"预约 #{b.id} · {_status_word(b.status)}")))
