"""Booking API: availability, quote, book, list, cancel, reschedule, closures.

Thin: parse, call one lifecycle or service function, commit, dump."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

from app.booking import funding, lifecycle, service
from app.booking.present import describe_booking
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
from app.booking.service import ShortCodeTaken
from app.catalog.models import Resource
from app.catalog.service import published_resource
from app.core import idempotency
from app.core.api import load
from app.core.auth import require_roles, require_venue_access
from app.core.clock import local_today, now, to_local
from app.core.errors import AppError, Busy, NotFound
from app.extensions import db

booking_api = Blueprint("booking_api", __name__, url_prefix="/api/v1")


# Schema instances are reusable and costly to build (nested fields are copied): build once.
BOOKING_REQUEST = BookingRequestSchema()
BOOKING_DUMP = BookingSchema()


def _dump(booking) -> dict:
    return BOOKING_DUMP.dump(describe_booking(booking, current_user))


def booking_link(booking) -> str:
    """The booking's page, for the creator's notification."""
    return url_for("booking.booking_page", booking_id=booking.id, _external=True)


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
    body = quote_for(data)
    db.session.rollback()
    return jsonify(QuoteSchema().dump(body))


def quote_for(data: dict) -> dict:
    """What booking ``data`` would cost now and how it would be paid; nothing is held."""
    resource = service.bookable_resource(db.session, data["resource_id"])
    gross = service.quote(db.session, resource, data["start"], data["end"], now())
    split = funding.preview_split(db.session, current_user, resource, data["start"],
                                  data.get("voucher_code"), data.get("use_quota", True), gross)
    return {"resource_id": resource.id, "start": to_local(data["start"]).isoformat(),
            "end": to_local(data["end"]).isoformat(), "price": split.as_dict()}


SCOPE = "bookings.create"


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
    if key is not None:
        idempotency.check_key(key)
    payload = request.get_json(silent=True)
    try:
        booking = book_for(data)
    except AppError as err:
        if key is None:
            raise
        # a retry of a request that succeeded finds its slot taken: answer as the first time
        return _replay(key, payload, otherwise=err)
    body = _dump(booking)
    if key is not None and not idempotency.record_answer(
            db.session, current_user.id, SCOPE, key, payload, 201, body):
        # the same request committed first: its booking is the one
        return _replay(key, payload, otherwise=Busy())
    db.session.commit()
    return jsonify(body), 201


def _replay(key: str, payload, otherwise: AppError):
    """Roll this attempt back and give the answer stored for ``key``; without one, raise
    ``otherwise``."""
    db.session.rollback()
    stored = idempotency.stored_answer(db.session, current_user.id, SCOPE, key, payload)
    if stored is None:
        raise otherwise
    return jsonify(stored[1]), stored[0]


def book_for(data: dict):
    """The booking lifecycle's ``book`` for the signed-in creator (API and confirm page)."""
    for _attempt in range(3):
        try:
            return lifecycle.book(db.session, current_user, data["resource_id"], data["start"],
                                  data["end"], now(), voucher_code=data.get("voucher_code"),
                                  use_quota=data.get("use_quota", True), link_for=booking_link)
        except ShortCodeTaken:
            db.session.rollback()  # nothing else was written yet: book again with a new code
    raise Busy()


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
        {"items": [describe_booking(b, current_user) for b in bookings]}))


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
        409: {description: "state_changed: another transition of this booking won", content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(CancelRequestSchema(), request.get_json(silent=True) or {})
    booking = lifecycle.cancel(db.session, current_user, booking_id, now(), data["accept_late"])
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
        409: {description: "slot_taken, or state_changed: another transition of this booking won", content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(RescheduleRequestSchema())
    booking = lifecycle.reschedule(db.session, current_user, booking_id, data["start"],
                                   data["end"], now())
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
        "colliding_bookings": [describe_booking(b) for b in colliding]})), 201
