"""The front desk acting for a walk-in creator: find them, send them a confirmation code, book."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from app.accounts.service import mask_phone
from app.booking.api import booking_link
from app.booking.present import describe_booking
from app.booking.schemas import BookingSchema
from app.checkin import desk
from app.checkin.schemas import (
    DeskConfirmationRequestSchema,
    DeskConfirmationSchema,
    DeskCreatorListSchema,
    DeskCreatorQuerySchema,
    WalkInRequestSchema,
)
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import now, to_local
from app.extensions import db

desk_api = Blueprint("desk_api", __name__, url_prefix="/api/v1/desk")


def describe_creator(user) -> dict:
    return {"id": user.id, "display_name": user.display_name, "email": user.email,
            "phone": mask_phone(user.phone)}


@desk_api.get("/creators")
@require_roles("operator", "admin")
def find_creators():
    """Find a walk-in creator by their whole email address or phone number.
    ---
    get:
      tags: [desk]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: q, required: true, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema: DeskCreatorList
    """
    args = load(DeskCreatorQuerySchema(), source="args")
    found = desk.find_creators(db.session, args["q"])
    return jsonify(DeskCreatorListSchema().dump({"items": [describe_creator(u) for u in found]}))


@desk_api.post("/confirmations")
@require_roles("operator", "admin")
def send_confirmation():
    """Send the creator a one-time code; typed at the desk, it lets their vouchers and quota
    pay for a booking the desk makes for them.
    ---
    post:
      tags: [desk]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: DeskConfirmationRequest
      responses:
        201:
          content:
            application/json:
              schema: DeskConfirmation
        404: {$ref: "#/components/responses/Error404"}
    """
    data = load(DeskConfirmationRequestSchema())
    row = desk.send_confirmation(db.session, current_user, data["creator_id"], now())
    body = DeskConfirmationSchema().dump({"id": row.id,
                                          "expires_at": to_local(row.expires_at).isoformat()})
    db.session.commit()
    return jsonify(body), 201


@desk_api.post("/bookings")
@require_roles("operator", "admin")
def book_walk_in():
    """Book for a walk-in creator. With the confirmation code sent to them, their voucher and
    quota apply; without it the booking is self-pay.
    ---
    post:
      tags: [desk]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: WalkInRequest
      responses:
        201:
          content:
            application/json:
              schema: Booking
        404: {$ref: "#/components/responses/Error404"}
        409: {description: slot_taken, content: {application/json: {schema: Error}}}
    """
    data = load(WalkInRequestSchema())
    try:
        booking = desk.book_walk_in(
            db.session, current_user, data["creator_id"], data["resource_id"], data["start"],
            data["end"], now(), confirmation_code=data["confirmation_code"],
            voucher_code=data["voucher_code"], link_for=booking_link)
    except desk.WrongConfirmation:
        db.session.commit()  # the failed attempt counts: guessing stops after a few tries
        raise
    body = BookingSchema().dump(describe_booking(booking))
    db.session.commit()
    return jsonify(body), 201
