"""Booking API and pages: availability, book, my bookings, cancel, reschedule, day views."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.booking import service
from app.booking.schemas import (
    AvailabilityQuerySchema,
    AvailabilitySchema,
    BookingListSchema,
    BookingQuerySchema,
    BookingRequestSchema,
    BookingSchema,
    CancelRequestSchema,
    ClosureRequestSchema,
    ClosureResultSchema,
    QuoteSchema,
    RescheduleRequestSchema,
)
from app.catalog.models import WEEKDAYS, Resource, Venue
from app.catalog.service import published_resource
from app.core import idempotency
from app.core.api import load
from app.core.auth import require_roles, require_venue_access
from app.core.clock import local_today, now, to_local
from app.core.errors import AppError, NotFound
from app.core.messages import error_message
from app.extensions import db

booking_api = Blueprint("booking_api", __name__, url_prefix="/api/v1")
booking_pages = Blueprint("booking", __name__, template_folder="templates")


# Schema instances are reusable and costly to build (nested fields are copied): build once.
BOOKING_REQUEST = BookingRequestSchema()
BOOKING_DUMP = BookingSchema()


def _dump(booking) -> dict:
    return BOOKING_DUMP.dump(service.describe_booking(booking, current_user))


# ---- API -----------------------------------------------------------------------------------


@booking_api.get("/resources/<int:resource_id>/availability")
def resource_availability(resource_id: int):
    """Free bookable intervals per day.
    ---
    get:
      tags: [booking]
      parameters:
        - {in: path, name: resource_id, required: true, schema: {type: integer}}
        - in: query
          schema: AvailabilityQuerySchema
      responses:
        200:
          content:
            application/json:
              schema: Availability
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    args = load(AvailabilityQuerySchema(), source="args")
    resource = published_resource(db.session, resource_id)
    days = service.availability(db.session, resource, args.get("from_") or local_today(),
                                args["days"], now())
    return jsonify(AvailabilitySchema().dump({
        "resource_id": resource.id, "slot_minutes": resource.slot_minutes,
        "min_minutes": resource.min_minutes, "max_minutes": resource.max_minutes, "days": days}))


@booking_api.post("/bookings/quote")
@require_roles("creator")
def quote_booking():
    """The price of a slot and how it would be paid, before booking.
    ---
    post:
      tags: [booking]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: BookingRequest
      responses:
        200:
          content:
            application/json:
              schema: Quote
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        409: {description: slot_taken, content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(BookingRequestSchema())
    body = _quote(data)
    db.session.rollback()
    return jsonify(QuoteSchema().dump(body))


def _quote(data: dict) -> dict:
    resource = service.bookable_resource(db.session, data["resource_id"])
    gross = service.quote(db.session, resource, data["start"], data["end"], now())
    from app.booking.funding import preview_split

    split = preview_split(db.session, current_user, resource, data, gross)
    return {"resource_id": resource.id, "start": to_local(data["start"]).isoformat(),
            "end": to_local(data["end"]).isoformat(), "price": split}


@booking_api.post("/bookings")
@require_roles("creator")
def create_booking():
    """Book a slot. Send Idempotency-Key to make retries safe.
    ---
    post:
      tags: [booking]
      security: [{bearer: []}]
      parameters:
        - {in: header, name: Idempotency-Key, required: false, schema: {type: string, maxLength: 200}}
      requestBody:
        content:
          application/json:
            schema: BookingRequest
      responses:
        201:
          content:
            application/json:
              schema: Booking
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        409: {description: slot_taken, content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(BOOKING_REQUEST)
    key = request.headers.get("Idempotency-Key")
    record = None
    if key is not None:
        record, replay = idempotency.begin(db.session, current_user.id, "bookings.create", key,
                                           request.get_json(silent=True))
        # A record without a status holds no answer: a first attempt that failed and was meant to
        # leave nothing (on SQLite its savepoint can outlive the rollback). Do the work now.
        if replay is not None and replay.status_code:
            db.session.rollback()
            return jsonify(replay.body), replay.status_code
    booking = _book(data)
    body = _dump(booking)
    if record is not None:
        idempotency.finish(record, 201, body)
    db.session.commit()
    return jsonify(body), 201


def _book(data: dict):
    from app.booking.funding import plan_for_request
    from app.core.money import format_yuan
    from app.notify.service import enqueue

    booking = service.create_booking(
        db.session, current_user, data["resource_id"], data["start"], data["end"], now(),
        plan_funding=plan_for_request(current_user, data),
    )
    # in the booking's own transaction: no booking without its confirmation, and no confirmation
    # of a booking that was rolled back
    enqueue(db.session, current_user, "booking_confirmed", f"booking_confirmed:{booking.id}", {
        "resource": booking.resource.name_zh, "venue": booking.resource.venue.name_zh,
        "start": to_local(booking.start_at).strftime("%Y-%m-%d %H:%M"),
        "end": to_local(booking.end_at).strftime("%H:%M"), "gross": format_yuan(booking.gross_fen),
        "voucher": format_yuan(booking.voucher_fen), "quota": format_yuan(booking.quota_fen),
        "self_pay": format_yuan(booking.self_pay_fen),
        "link": url_for("booking.booking_page", booking_id=booking.id, _external=True),
    }, at=booking.created_at, data={"booking_id": booking.id}, new_event=True)
    return booking


@booking_api.get("/bookings")
@require_roles()
def list_bookings():
    """Bookings this account may see: its own; an operator's venues; everything for finance and admin.
    ---
    get:
      tags: [booking]
      security: [{bearer: []}]
      parameters:
        - in: query
          schema: BookingQuerySchema
      responses:
        200:
          content:
            application/json:
              schema: BookingList
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        422: {$ref: "#/components/responses/Error422"}
    """
    args = load(BookingQuerySchema(), source="args")
    if args.get("venue") is not None and not current_user.has_role("creator"):
        require_venue_access(current_user, args["venue"])
    bookings = service.bookings_visible_to(db.session, current_user, venue_id=args.get("venue"),
                                           day=args.get("date"), status=args.get("status"))
    return jsonify(BookingListSchema().dump(
        {"items": [service.describe_booking(b, current_user) for b in bookings]}))


@booking_api.get("/bookings/<int:booking_id>")
@require_roles()
def get_booking(booking_id: int):
    """One booking (owner, operator of its venue, finance, admin).
    ---
    get:
      tags: [booking]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: Booking
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
    """
    return jsonify(_dump(service.visible_booking(db.session, current_user, booking_id)))


@booking_api.post("/bookings/<int:booking_id>/cancel")
@require_roles()
def cancel_booking(booking_id: int):
    """Cancel a booking: free until the deadline; later only with accept_late.
    ---
    post:
      tags: [booking]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      requestBody:
        required: false
        content:
          application/json:
            schema: CancelRequest
      responses:
        200:
          content:
            application/json:
              schema: Booking
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        409: {description: voucher or quota changed meanwhile, content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(CancelRequestSchema(), request.get_json(silent=True) or {})
    booking = service.visible_booking(db.session, current_user, booking_id)
    from app.booking.funding import release_on_cancel

    service.cancel_booking(db.session, current_user, booking, now(), data["accept_late"],
                           release_funding=release_on_cancel)
    db.session.commit()
    return jsonify(_dump(booking))


@booking_api.post("/bookings/<int:booking_id>/reschedule")
@require_roles()
def reschedule_booking(booking_id: int):
    """Move a booking to another slot of the same resource: the new slot or nothing changes.
    ---
    post:
      tags: [booking]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: RescheduleRequest
      responses:
        200:
          content:
            application/json:
              schema: Booking
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        409: {description: slot_taken, content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(RescheduleRequestSchema())
    booking = service.visible_booking(db.session, current_user, booking_id)
    from app.booking.funding import reprice

    service.reschedule_booking(db.session, current_user, booking, data["start"], data["end"],
                               now(), reprice=reprice)
    db.session.commit()
    return jsonify(_dump(booking))


@booking_api.post("/admin/resources/<int:resource_id>/closures")
@require_roles("admin")
def add_closure(resource_id: int):
    """Block a resource for maintenance; colliding bookings are listed, never cancelled.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: resource_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: ClosureRequest
      responses:
        201:
          content:
            application/json:
              schema: ClosureResult
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        raise NotFound()
    data = load(ClosureRequestSchema())
    closure, colliding = service.add_closure(db.session, current_user.id, resource,
                                             data["start"], data["end"], data["reason"])
    db.session.commit()
    return jsonify(ClosureResultSchema().dump({
        "id": closure.id, "resource_id": resource.id,
        "start": to_local(closure.start_at).isoformat(), "end": to_local(closure.end_at).isoformat(),
        "reason": closure.reason,
        "colliding_bookings": [service.describe_booking(b) for b in colliding]})), 201


# ---- pages ---------------------------------------------------------------------------------


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
    from app.booking.rules import LOCAL

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
            booking = _book(data)
            db.session.commit()
            flash(_("Booked. Show the QR code at the door."), "success")
            return redirect(url_for("booking.booking_page", booking_id=booking.id))
        quote = _quote(data)
        db.session.rollback()
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
        return redirect(url_for("booking.book_page", resource_id=resource.id,
                                **{"from": start.date().isoformat()}))
    from app.booking.funding import usable_vouchers_for

    return render_template("booking/confirm.html", resource=resource, quote=quote,
                           start=start, end=end, minutes=int((end - start).total_seconds() // 60),
                           durations=_durations(resource), data=data,
                           vouchers=usable_vouchers_for(db.session, current_user, resource, start))


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
    described = service.describe_booking(booking, current_user)
    return render_template("booking/detail.html", booking=booking, b=described,
                           durations=_durations(booking.resource),
                           is_owner=booking.creator_id == current_user.id,
                           late=now() >= datetime.fromisoformat(described["cancel_deadline"]))


@booking_pages.post("/bookings/<int:booking_id>/cancel")
@require_roles()
def cancel_page(booking_id: int):
    booking = service.visible_booking(db.session, current_user, booking_id)
    from app.booking.funding import release_on_cancel

    try:
        service.cancel_booking(db.session, current_user, booking, now(),
                               accept_late=request.form.get("accept_late") == "1",
                               release_funding=release_on_cancel)
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
    from app.booking.funding import reprice

    try:
        start, end = _form_slot(booking.resource)
        service.reschedule_booking(db.session, current_user, booking, start, end, now(),
                                   reprice=reprice)
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


# ---- calendar feeds ------------------------------------------------------------------------

calendar_bp = Blueprint("calendar", __name__)


def _user_by_calendar_secret(secret: str):
    from sqlalchemy import select

    from app.accounts.models import User

    user = db.session.scalar(select(User).where(User.calendar_secret == secret))
    if user is None or not user.active or len(secret) < 16:
        abort(404)
    return user


def _ics_response(body: bytes):
    from flask import Response

    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": "inline; filename=bookings.ics",
                             "Cache-Control": "private, max-age=300"})


@calendar_bp.get("/calendar/<secret>.ics")
def creator_feed(secret: str):
    from app.booking.calendar import build_calendar

    user = _user_by_calendar_secret(secret)
    bookings = service.bookings_of_creator(db.session, user, now() - timedelta(days=90))
    return _ics_response(build_calendar(
        f"{user.display_name} · 场地预约", bookings, request.host,
        lambda b: (f"{b.resource.name_zh} · {b.resource.venue.name_zh}",
                   b.resource.venue.address_zh,
                   f"预约 #{b.id} · {b.status}")))


@calendar_bp.get("/calendar/<secret>/resources/<int:resource_id>.ics")
def resource_feed(secret: str, resource_id: int):
    from app.booking.calendar import build_calendar
    from app.core.auth import operator_venue_ids

    user = _user_by_calendar_secret(secret)
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        abort(404)
    if not (user.has_role("admin") or resource.venue_id in operator_venue_ids(user)):
        abort(404)
    from sqlalchemy import select

    from app.booking.models import Booking

    bookings = db.session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.start_at >= now() - timedelta(days=30)
    ).order_by(Booking.start_at).limit(2000)).all()
    return _ics_response(build_calendar(
        f"{resource.name_zh} · {resource.venue.name_zh}", bookings, request.host,
        lambda b: (f"{b.creator.display_name} · {resource.name_zh}", resource.venue.address_zh,
                   f"预约 #{b.id} · {b.status}")))
