"""Online payment: the owner's order and "check payment" (API and booking page), and the
providers' notifications (unauthenticated, CSRF-exempt, verified by signature instead)."""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.booking.models import Booking
from app.checkin import qr
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import now
from app.core.errors import AppError
from app.core.messages import error_message
from app.extensions import db
from app.payments import online, service
from app.payments.models import PROVIDERS, OnlineOrder
from app.payments.providers import app_client, configured
from app.payments.schemas import OnlineOrderRequestSchema, OnlineOrderSchema, PaymentListSchema

log = logging.getLogger("venuebook.payments")

online_api = Blueprint("online_api", __name__, url_prefix="/api/v1")
online_pages = Blueprint("online_pages", __name__)


@online_api.post("/bookings/<int:booking_id>/payments/online")
@require_roles()
def open_order(booking_id: int):
    """Pay the booking's outstanding self-pay online: WeChat Pay (a code_url to show as a QR
    code) or Alipay (a pay_url to open). An open order for the same amount is reused.
    ---
    post:
      tags: [payments]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: OnlineOrderRequest
      responses:
        201:
          description: the order
          content:
            application/json:
              schema: OnlineOrder
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        409: {description: "payments_not_configured", content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
        502: {description: "provider_unavailable", content: {application/json: {schema: Error}}}
    """
    data = load(OnlineOrderRequestSchema())
    order = online.open_order(db.session, current_user, booking_id, data["provider"],
                              app_client, now())
    body = OnlineOrderSchema().dump(order)
    db.session.commit()
    return jsonify(body), 201


@online_api.post("/bookings/<int:booking_id>/payments/online/check")
@require_roles()
def check_payment(booking_id: int):
    """Ask the providers about the booking's open orders now, rather than wait for them.
    ---
    post:
      tags: [payments]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: the booking's payments and balance after asking
          content:
            application/json:
              schema: PaymentList
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        502: {description: "provider_unavailable", content: {application/json: {schema: Error}}}
    """
    online.check_payment(db.session, current_user, booking_id, app_client, now())
    body = PaymentListSchema().dump(service.summary(db.session, db.session.get(Booking, booking_id)))
    db.session.commit()
    return jsonify(body)


@online_api.post("/payments/notify/<any(wechat, alipay):provider>")
def notify(provider: str):
    """A provider's payment notification, answered in that provider's own format (so not
    described in our OpenAPI document). Every one is stored, whatever becomes of it."""
    client = app_client(provider)
    body = request.get_data(as_text=True)
    try:
        outcome = online.receive_notification(db.session, client, request.headers, body, now())
        db.session.commit()
    except Exception:  # noqa: BLE001 - whatever failed, the raw notification is kept
        db.session.rollback()
        log.exception("payment notification failed", extra={"provider": provider})
        online.store_raw(db.session, provider, request.headers, body, "", "error", now())
        db.session.commit()
        outcome = "error"  # the provider retries later
    answer = client.answer(outcome in online.ACCEPTED_OUTCOMES)
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


# ---- on the booking page --------------------------------------------------------------------


@online_pages.post("/bookings/<int:booking_id>/pay-online")
@require_roles()
def pay_online_page(booking_id: int):
    try:
        online.open_order(db.session, current_user, booking_id, request.form.get("provider", ""),
                          app_client, now())
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return redirect(url_for("booking.booking_page", booking_id=booking_id, _anchor="pay-online"))


@online_pages.post("/bookings/<int:booking_id>/pay-online/check")
@require_roles()
def check_payment_page(booking_id: int):
    try:
        outcomes = online.check_payment(db.session, current_user, booking_id, app_client, now())
        db.session.commit()
        if "paid" in outcomes:
            flash(_("Payment received. Thank you."), "success")
        else:
            flash(_("No payment has arrived yet."), "info")
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    return redirect(url_for("booking.booking_page", booking_id=booking_id, _anchor="pay-online"))


def _qr_data_uri(text: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr.svg(text)).decode()


@online_pages.app_context_processor
def _online_payment_helper():
    def online_payment(booking: Booking) -> dict:
        """What the booking page's "pay online" part shows: the balance, the providers
        configured here, and the open orders (WeChat's as a QR image)."""
        orders = db.session.scalars(db.select(OnlineOrder).where(
            OnlineOrder.booking_id == booking.id, OnlineOrder.status == "created")
            .order_by(OnlineOrder.id)).all()
        return {
            "summary": service.summary(db.session, booking),
            "providers": [p for p in PROVIDERS if configured(current_app.config, p)],
            "orders": [{"order": o, "qr": _qr_data_uri(o.pay_url) if o.provider == "wechat"
                        else None} for o in orders],
        }

    return {"online_payment": online_payment}
