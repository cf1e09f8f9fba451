"""Booking pages: week view, confirm, my bookings, booking detail, cancel, reschedule, venue day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.booking import funding, lifecycle, service
from app.booking.api import book_for, quote_for
from app.booking.present import describe_booking
from app.booking.rules import LOCAL
from app.catalog.models import WEEKDAYS, Venue
from app.catalog.service import published_resource
from app.core.auth import require_roles
from app.core.clock import local_today, now, to_local
from app.core.errors import AppError
from app.core.messages import error_message
from app.extensions import db
from app.payments import service as payments

booking_pages = Blueprint("booking", __name__, template_folder="templates")


def _parse_day(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else local_today()
    except ValueError:
        return local_today()


@booking_pages.get("/resources/<int:resource_id>/book")
def book_page(resource_id: int):
    """Week view of one resource: free intervals per day, tap a start time to book."""
    resource = published_resource(db.session, resource_id)
    first = max(_parse_day(request.args.get("from")), local_today())
    week = service.availability(db.session, resource, first, 7, now())
    mine = []
    if current_user.is_authenticated:
        mine = [b for b in service.bookings_of_creator(db.session, current_user, now())
                if b.resource_id == resource.id and b.is_active]
    for day in week:
        day["starts"] = [
            to_local(moment).strftime("%H:%M")
            for interval in day["free"]
            for moment in service.slot_starts(datetime.fromisoformat(interval["start"]),
                                              datetime.fromisoformat(interval["end"]), resource)
        ]
        day["weekday"] = WEEKDAYS[date.fromisoformat(day["date"]).weekday()]
        day["mine"] = [b for b in mine if to_local(b.start_at).date().isoformat() == day["date"]]
    return render_template("booking/week.html", resource=resource, week=week, first=first,
                           prev_week=first - timedelta(days=7), next_week=first + timedelta(days=7),
                           today=local_today())


def _durations(resource) -> list[int]:
    return list(range(resource.min_minutes, resource.max_minutes + 1, resource.slot_minutes))


def _form_slot(resource) -> tuple[datetime, datetime]:
    try:
        day = date.fromisoformat(request.values.get("date", ""))
        hour, minute = (int(x) for x in request.values.get("time", "").split(":"))
        minutes = int(request.values.get("minutes", ""))
    except ValueError as err:
        raise AppError("validation_error", status=422,
                       details={"fields": {"time": ["Pick a day, a start time and a duration."]}}) from err
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)
    return start, start + timedelta(minutes=minutes)


@booking_pages.route("/resources/<int:resource_id>/book/confirm", methods=["GET", "POST"])
@require_roles("creator")
def confirm_page(resource_id: int):
    """Show the price split for the chosen slot; a POST with confirm=1 books it."""
    resource = published_resource(db.session, resource_id)
    start, end = _form_slot(resource)
    data = {"resource_id": resource.id, "start": start, "end": end,
            "voucher_code": (request.values.get("voucher_code") or "").strip() or None,
            "use_quota": request.values.get("use_quota", "1") == "1"}
    try:
        if request.method == "POST" and request.form.get("confirm") == "1":
            booking = book_for(data)
            db.session.commit()
            flash(_("Booked. Show the QR code at the door."), "success")
            return redirect(url_for("booking.booking_page", booking_id=booking.id))
        quote = quote_for(data)
        db.session.rollback()
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
        return redirect(url_for("booking.book_page", resource_id=resource.id,
                                **{"from": start.date().isoformat()}))
    return render_template("booking/confirm.html", resource=resource, quote=quote,
                           start=start, end=end, minutes=int((end - start).total_seconds() // 60),
                           durations=_durations(resource), data=data,
                           vouchers=funding.usable_vouchers_for(db.session, current_user, resource, start,
                                                                local_today()))


@booking_pages.get("/bookings")
@require_roles()
def my_bookings():
    bookings = service.bookings_of_creator(db.session, current_user)
    upcoming = [b for b in bookings if b.end_at >= now() and b.is_active]
    past = [b for b in bookings if b not in upcoming]
    return render_template("booking/mine.html", upcoming=sorted(upcoming, key=lambda b: b.start_at),
                           past=past)


@booking_pages.get("/bookings/<int:booking_id>")
@require_roles()
def booking_page(booking_id: int):
    booking = service.visible_booking(db.session, current_user, booking_id)
    described = describe_booking(booking, current_user)
    return render_template("booking/detail.html", booking=booking, b=described,
                           payments=payments.summary(db.session, booking),
                           may_collect=payments.may_collect(current_user, booking),
                           durations=_durations(booking.resource),
                           is_owner=booking.creator_id == current_user.id,
                           late=now() >= datetime.fromisoformat(described["cancel_deadline"]))


@booking_pages.post("/bookings/<int:booking_id>/cancel")
@require_roles()
def cancel_page(booking_id: int):
    try:
        lifecycle.cancel(db.session, current_user, booking_id, now(),
                         accept_late=request.form.get("accept_late") == "1")
        db.session.commit()
        flash(_("The booking is cancelled."), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return redirect(url_for("booking.booking_page", booking_id=booking_id))


@booking_pages.post("/bookings/<int:booking_id>/reschedule")
@require_roles()
def reschedule_page(booking_id: int):
    booking = service.visible_booking(db.session, current_user, booking_id)
    try:
        start, end = _form_slot(booking.resource)
        lifecycle.reschedule(db.session, current_user, booking_id, start, end, now())
        db.session.commit()
        flash(_("The booking is moved."), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return redirect(url_for("booking.booking_page", booking_id=booking_id))


@booking_pages.get("/venues/<int:venue_id>/day")
def venue_day_page(venue_id: int):
    """Every resource of a venue on one day, with its free intervals (public)."""
    venue = db.session.get(Venue, venue_id)
    if venue is None or not venue.active:
        abort(404)
    day = max(_parse_day(request.args.get("date")), local_today())
    rows = [(r, service.availability(db.session, r, day, 1, now())[0])
            for r in venue.resources if r.active]
    return render_template("booking/venue_day.html", venue=venue, day=day, rows=rows,
                           prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           today=local_today())
