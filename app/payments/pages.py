"""Self-pay on pages: the desk records what it collected; the creator's receipt and invoice
details."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.booking.present import describe_booking
from app.booking.service import visible_booking
from app.core.auth import require_roles
from app.core.clock import now
from app.core.errors import AppError
from app.core.messages import error_message
from app.core.money import format_yuan, parse_yuan
from app.extensions import db
from app.payments import service

payments_pages = Blueprint("payments", __name__, template_folder="templates")


@payments_pages.post("/bookings/<int:booking_id>/payments")
@require_roles("operator", "finance", "admin")
def record_payment(booking_id: int):
    try:
        amount = parse_yuan(request.form.get("amount", ""))
    except ValueError:
        flash(_("Enter the amount in yuan, e.g. 180 or 180.50."), "error")
        return redirect(url_for("booking.booking_page", booking_id=booking_id, _anchor="payments"))
    try:
        service.record_payment(db.session, current_user, booking_id,
                               method=request.form.get("method", ""), amount_fen=amount,
                               reference=request.form.get("reference", ""), at=now())
        db.session.commit()
        flash(_("%(amount)s recorded.", amount=format_yuan(amount)), "success")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return redirect(url_for("booking.booking_page", booking_id=booking_id, _anchor="payments"))


@payments_pages.route("/bookings/<int:booking_id>/receipt", methods=["GET", "POST"])
@require_roles()
def receipt(booking_id: int):
    """What was booked, how it was paid, and the invoice details the creator wants."""
    booking = visible_booking(db.session, current_user, booking_id)
    is_owner = booking.creator_id == current_user.id
    if request.method == "POST":
        if not is_owner:
            abort(403)
        try:
            service.request_invoice(db.session, booking, title=request.form.get("title", ""),
                                    tax_number=request.form.get("tax_number", ""),
                                    email=request.form.get("email", ""), at=now())
            db.session.commit()
            flash(_("Invoice details saved; the venue issues the invoice."), "success")
            return redirect(url_for("payments.receipt", booking_id=booking_id))
        except AppError as err:
            db.session.rollback()
            flash(error_message(err), "error")
    return render_template("payments/receipt.html", booking=booking,
                           b=describe_booking(booking, current_user),
                           payments=service.summary(db.session, booking),
                           invoice=service.invoice_of(db.session, booking), is_owner=is_owner)
