"""The front desk acting at the desk: find a walk-in creator, send them a confirmation code, book
for them; check out, record a no-show early, close a room now (API and the desk page's forms)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.service import mask_phone
from app.booking import lifecycle
from app.booking.api import booking_link
from app.booking.present import describe_booking
from app.booking.rules import LOCAL
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
from app.core.clock import local_today, now, to_local
from app.core.errors import AppError, ValidationFailed
from app.core.i18n import localized
from app.core.messages import error_message
from app.core.money import format_yuan
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


# ---- the desk's page: forms posted from the front-desk day (/operator/scan) ----------------

desk_pages = Blueprint("desk", __name__, url_prefix="/operator/desk")


def _back():
    venue = request.form.get("venue", type=int)
    creator = request.form.get("creator_q") or None
    return redirect(url_for("checkin.scanner_page", venue=venue, creator=creator))


def _slot_today(form) -> tuple[datetime, datetime]:
    try:
        hour, minute = (int(x) for x in form.get("time", "").split(":"))
        minutes = int(form.get("minutes", ""))
        day = local_today()
        start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)
    except ValueError as err:
        raise ValidationFailed({"time": ["Pick a start time and a duration."]}) from err
    return start, start + timedelta(minutes=minutes)


@desk_pages.post("/bookings/<int:booking_id>/checkout")
@require_roles("operator", "admin")
def checkout_page(booking_id: int):
    try:
        booking = lifecycle.check_out(db.session, current_user, booking_id, now())
        db.session.commit()
        flash(_("Checked out: %(name)s.", name=booking.creator.display_name), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return _back()


@desk_pages.post("/bookings/<int:booking_id>/no-show")
@require_roles("operator", "admin")
def no_show_page(booking_id: int):
    try:
        booking = desk.no_show_now(db.session, current_user, booking_id, now())
        db.session.commit()
        flash(_("Recorded as a no-show: %(name)s. The slot is free again; the program's no-show "
                "rules apply to the voucher.", name=booking.creator.display_name), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return _back()


@desk_pages.post("/closures")
@require_roles("operator", "admin")
def close_page():
    try:
        resource_id = request.form.get("resource_id", type=int) or 0
        hours = request.form.get("hours", type=int) or 0
        if not 1 <= hours <= 24:
            raise ValidationFailed({"hours": ["Between 1 and 24 hours."]})
        moment = now()
        closure, colliding = desk.close_now(db.session, current_user, resource_id,
                                            moment + timedelta(hours=hours), moment,
                                            request.form.get("reason", ""))
        db.session.commit()
        flash(_("Closed until %(until)s.", until=to_local(closure.end_at).strftime("%H:%M")),
              "success")
        for booking in colliding:
            flash(_("Collides: %(time)s %(name)s (%(phone)s) — call them to move or cancel.",
                    time=to_local(booking.start_at).strftime("%m-%d %H:%M"),
                    name=booking.creator.display_name, phone=booking.creator.phone or "—"),
                  "error")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return _back()


@desk_pages.post("/confirmations")
@require_roles("operator", "admin")
def confirmation_page():
    try:
        desk.send_confirmation(db.session, current_user,
                               request.form.get("creator_id", type=int) or 0, now())
        db.session.commit()
        flash(_("A confirmation code was sent to the creator. Ask them to read it out."),
              "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return _back()


@desk_pages.post("/bookings")
@require_roles("operator", "admin")
def walk_in_page():
    try:
        start, end = _slot_today(request.form)
        try:
            booking = desk.book_walk_in(
                db.session, current_user, request.form.get("creator_id", type=int) or 0,
                request.form.get("resource_id", type=int) or 0, start, end, now(),
                confirmation_code=request.form.get("confirmation_code") or None,
                link_for=booking_link)
        except desk.WrongConfirmation:
            db.session.commit()  # the failed attempt counts
            raise
        db.session.commit()
        flash(_("Booked %(resource)s %(start)s–%(end)s for %(name)s: voucher %(voucher)s, quota "
                "%(quota)s, self-pay %(self_pay)s. Code %(code)s.",
                resource=localized(booking.resource, "name"),
                start=to_local(booking.start_at).strftime("%H:%M"),
                end=to_local(booking.end_at).strftime("%H:%M"),
                name=booking.creator.display_name, voucher=format_yuan(booking.voucher_fen),
                quota=format_yuan(booking.quota_fen), self_pay=format_yuan(booking.self_pay_fen),
                code=booking.short_code), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return _back()
