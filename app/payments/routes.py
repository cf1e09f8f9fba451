"""Self-pay API: record what the desk collected, list a booking's payments, refund."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from app.booking.service import visible_booking
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import now
from app.extensions import db
from app.payments import online, service
from app.payments.labels import METHOD_LABELS
from app.payments.providers import app_client
from app.payments.schemas import (
    PaymentListSchema,
    PaymentRequestSchema,
    PaymentSchema,
    RefundRequestSchema,
)

payments_api = Blueprint("payments_api", __name__, url_prefix="/api/v1")


@payments_api.app_context_processor
def _method_labels() -> dict:
    return {"method_labels": METHOD_LABELS}


PAYMENT_REQUEST = PaymentRequestSchema()
PAYMENT_LIST = PaymentListSchema()


def _listing(booking) -> dict:
    return PAYMENT_LIST.dump(service.summary(db.session, booking))


@payments_api.get("/bookings/<int:booking_id>/payments")
@require_roles()
def list_payments(booking_id: int):
    """A booking's payments and refunds, what is paid and what is still due.
    ---
    get:
      tags: [payments]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200:
          description: the payments and the balance
          content:
            application/json:
              schema: PaymentList
        401: {$ref: "#/components/responses/Error401"}
        404: {$ref: "#/components/responses/Error404"}
    """
    return jsonify(_listing(visible_booking(db.session, current_user, booking_id)))


@payments_api.post("/bookings/<int:booking_id>/payments")
@require_roles("operator", "finance", "admin")
def record_payment(booking_id: int):
    """Record self-pay collected at the desk (cash, WeChat Pay, Alipay, card/POS, transfer).
    ---
    post:
      tags: [payments]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: PaymentRequest
      responses:
        201:
          description: recorded; the booking's payments and balance
          content:
            application/json:
              schema: PaymentList
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(PAYMENT_REQUEST)
    payment = service.record_payment(db.session, current_user, booking_id, method=data["method"],
                                     amount_fen=data["amount_fen"], reference=data["reference"],
                                     at=now())
    body = _listing(payment.booking)
    db.session.commit()
    return jsonify(body), 201


@payments_api.post("/payments/<int:payment_id>/refund")
@require_roles("finance", "admin")
def refund_payment(payment_id: int):
    """Give back (part of) a payment, as a new record; the original is never changed. A
    payment made online is given back through its provider first.
    ---
    post:
      tags: [payments]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: payment_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: RefundRequest
      responses:
        201:
          description: the refund
          content:
            application/json:
              schema: Payment
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(RefundRequestSchema())
    back = online.refund(db.session, current_user, payment_id, amount_fen=data["amount_fen"],
                         note=data["note"], reference=data["reference"], at=now(),
                         client_of=app_client)
    body = PaymentSchema().dump(back)
    db.session.commit()
    return jsonify(body), 201

