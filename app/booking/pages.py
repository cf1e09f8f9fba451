"""Booking pages: week view, confirm, my bookings, booking detail, cancel, reschedule, venue day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.booking import confirm, lifecycle, service
from app.booking.api import booking_link
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
        day["beyond"] = not day["starts"] and confirm.beyond_window(resource, day, now())
        day["mine"] = [b for b in mine if to_local(b.start_at).date().isoformat() == day["date"]]
    return render_template("booking/week.html", resource=resource, week=week, first=first,
                           prev_week=first - timedelta(days=7), next_week=first + timedelta(days=7),
                           today=local_today(),
                           last_day=confirm.last_bookable_day(resource, now()))


def _durations(resource) -> list[int]:
    return list(range(resource.min_minutes, resource.max_minutes + 1, resource.slot_minutes))


def _fields() -> MultiDict:
    """A POST reads its form only: the page's address may still carry an older choice."""
    return request.form if request.method == "POST" else request.args


def _form_slot(resource) -> tuple[datetime, datetime]:
    fields = _fields()
    try:
        day = date.fromisoformat(fields.get("date", ""))
        hour, minute = (int(x) for x in fields.get("time", "").split(":"))
        minutes = int(fields.get("minutes", ""))
    except ValueError as err:
        raise AppError("validation_error", status=422,
                       details={"fields": {"time": ["Pick a day, a start time and a duration."]}}) from err
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)
    return start, start + timedelta(minutes=minutes)


@booking_pages.route("/resources/<int:resource_id>/book/confirm", methods=["GET", "POST"])
@require_roles("creator")
def confirm_page(resource_id: int):
    """One form: the price of the chosen slot, duration and voucher, and the button that books
    exactly that price. ``action=update`` (the no-script path) only shows the new price."""
    resource = published_resource(db.session, resource_id)
    start, end = _form_slot(resource)
    choice = confirm.Choice(resource.id, start, end, confirm.preselected_voucher(
        db.session, current_user, resource, start, end, local_today(),
        _fields().get("voucher_code")), _fields().get("use_quota", "1") == "1")
    status = 200
    try:
        if request.method == "POST" and request.form.get("action") != "update":
            booking = confirm.book_as_shown(db.session, current_user, choice,
                                            request.form.get("quote"), now(), booking_link)
            db.session.commit()
            flash(_("Booked. Show the QR code at the door."), "success")
            return redirect(url_for("booking.booking_page", booking_id=booking.id))
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
        if err.code != "price_changed":
            return _back_to_week(resource, start)
        status = 409
    try:
        shown = confirm.view(db.session, current_user, choice, now(), local_today())
        db.session.rollback()
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
        return _back_to_week(resource, start)
    return render_template("booking/confirm.html", resource=resource, view=shown, choice=choice,
                           start=start, end=end, minutes=choice.minutes,
                           durations=_durations(resource)), status


def _back_to_week(resource, start: datetime):
    return redirect(url_for("booking.book_page", resource_id=resource.id,
                            **{"from": to_local(start).date().isoformat()}))


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


@booking_pages.get("/bookings/<int:booking_id>/cancel")
@require_roles()
def cancel_confirm_page(booking_id: int):
    """Asks before cancelling, saying what happens to the voucher and the quota."""
    booking = service.visible_booking(db.session, current_user, booking_id)
    if booking.creator_id != current_user.id or booking.status != "confirmed":
        return redirect(url_for("booking.booking_page", booking_id=booking_id))
    return render_template("booking/cancel.html", booking=booking,
                           outcome=confirm.cancel_outcome(booking, now()))


@booking_pages.post("/bookings/<int:booking_id>/cancel")
@require_roles()
def cancel_page(booking_id: int):
    try:
        booking = lifecycle.cancel(db.session, current_user, booking_id, now(),
                                   accept_late=request.form.get("accept_late") == "1")
        result = confirm.cancel_result(booking)
        db.session.commit()
        flash(result, "success")
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
