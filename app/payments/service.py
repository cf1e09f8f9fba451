"""Self-pay in the ledger and at the desk: owed at booking, cleared by payments, released when
the booking ends without use, refunded as new records.

The receivable is ``selfpay_receivable`` per booking: positive while the creator owes, zero
when settled, negative while the venue owes a refund. A payment or refund first locks the
booking's row (the same lock every booking transition takes), so two desks recording at once
can never together take more than is outstanding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.service import record
from app.booking.guard import lock_booking
from app.booking.models import Booking
from app.core.auth import operator_venue_ids
from app.core.errors import AppError, NotFound, ValidationFailed
from app.ledger.models import JournalLine
from app.ledger.service import move
from app.payments.models import DESK_METHODS, InvoiceRequest, Payment
from app.payments.rules import PAYABLE_STATUSES

TAX_NUMBER = re.compile(r"[0-9A-Z]{15,20}")


@dataclass(frozen=True)
class PaymentSummary:
    items: list[Payment]
    paid_fen: int
    refunded_fen: int
    outstanding_fen: int  # negative: a refund is due to the creator


def _dims(booking: Booking) -> dict:
    return {"booking_id": booking.id, "venue_id": booking.resource.venue_id,
            "user_id": booking.creator_id}


# ---- the receivable (called by the booking lifecycle) ---------------------------------------


def open_receivable(session: Session, booking: Booking, at: datetime, actor_id: int | None) -> None:
    """At booking: the self-pay part is owed to the venue."""
    if booking.self_pay_fen > 0:
        move(session, "selfpay.due", booking.self_pay_fen, "selfpay_receivable", "selfpay_income",
             at=at, actor_id=actor_id, **_dims(booking))


def adjust_receivable(session: Session, booking: Booking, old_self_pay: int, at: datetime,
                      actor_id: int | None) -> None:
    """After a reschedule (or a voucher ending): the receivable follows the new self-pay."""
    require_covers_paid(booking)
    delta = booking.self_pay_fen - old_self_pay
    if delta > 0:
        move(session, "selfpay.due", delta, "selfpay_receivable", "selfpay_income",
             at=at, actor_id=actor_id, **_dims(booking))
    elif delta < 0:
        move(session, "selfpay.release", -delta, "selfpay_income", "selfpay_receivable",
             at=at, actor_id=actor_id, **_dims(booking))


def require_covers_paid(booking: Booking) -> None:
    """A new self-pay below what was already paid is refused: the desk refunds first. Called
    before the new price is flushed, so the table's CHECK never has to say it."""
    if booking.self_pay_fen < booking.paid_fen:
        raise AppError("paid_exceeds_new_price", status=422, details={
            "paid_fen": booking.paid_fen, "self_pay_fen": booking.self_pay_fen})


def release_receivable(session: Session, booking: Booking, *, refund_paid: bool, at: datetime,
                       actor_id: int | None) -> None:
    """The booking ended without use. The unpaid part is no longer owed. What was paid is
    owed back (``refund_paid``: cancelled in time) or kept (late cancellation, no-show)."""
    release = booking.self_pay_fen if refund_paid else booking.self_pay_fen - booking.paid_fen
    if release > 0:
        move(session, "selfpay.release", release, "selfpay_income", "selfpay_receivable",
             at=at, actor_id=actor_id, **_dims(booking))


def outstanding(session: Session, booking_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(JournalLine.amount_fen), 0)).where(
        JournalLine.account == "selfpay_receivable", JournalLine.booking_id == booking_id)))


# ---- payments and refunds -------------------------------------------------------------------


def _may_collect(user: User, booking: Booking) -> bool:
    return user.has_role("admin", "finance") or booking.resource.venue_id in operator_venue_ids(user)


def _locked_for_collection(session: Session, actor: User, booking_id: int) -> Booking:
    booking = lock_booking(session, booking_id)
    if booking is None or not _may_collect(actor, booking):
        raise NotFound()
    return booking


def _check_method(method: str) -> None:
    if method not in DESK_METHODS:
        raise ValidationFailed({"method": [f"One of {', '.join(DESK_METHODS)}."]})


def record_payment(session: Session, actor: User | None, booking_id: int, *, method: str,
                   amount_fen: int, reference: str = "", at: datetime, order_id: int | None = None,
                   booking: Booking | None = None) -> Payment:
    """Self-pay collected (partly or fully). More than is outstanding is ``overpaid``.

    ``booking`` is passed already locked by a caller that holds it (an online order's
    confirmation); everyone else names the booking and it is locked here.
    """
    _check_method(method)
    if amount_fen <= 0:
        raise ValidationFailed({"amount_fen": ["Must be positive."]})
    if booking is None:
        if actor is None:
            raise NotFound()
        booking = _locked_for_collection(session, actor, booking_id)
    if booking.status not in PAYABLE_STATUSES:
        raise AppError("not_payable", status=422, details={"status": booking.status})
    due = outstanding(session, booking.id)
    if amount_fen > due:
        raise AppError("overpaid", status=422, details={"outstanding_fen": max(due, 0),
                                                        "amount_fen": amount_fen})
    payment = Payment(booking_id=booking.id, kind="payment", method=method, amount_fen=amount_fen,
                      reference=reference.strip()[:120], order_id=order_id,
                      venue_id=booking.resource.venue_id,
                      recorded_by_id=actor.id if actor else None, at=at)
    session.add(payment)
    booking.paid_fen += amount_fen
    move(session, "selfpay.pay", amount_fen, "selfpay_collected", "selfpay_receivable",
         at=at, actor_id=actor.id if actor else None, **_dims(booking))
    session.flush()
    return payment


def refund(session: Session, actor: User | None, payment_id: int, *, amount_fen: int | None = None,
           note: str = "", at: datetime, reference: str = "") -> Payment:
    """Give back (part of) a payment, as a new record. Finance, administrators, or the booking
    lifecycle (``actor`` None) after a cancellation in time."""
    original = session.get(Payment, payment_id)
    if original is None or original.kind != "payment":
        raise NotFound()
    if actor is not None and not actor.has_role("admin", "finance"):
        raise NotFound()
    booking = lock_booking(session, original.booking_id)
    already = int(session.scalar(select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
        Payment.refund_of_id == original.id)))
    amount = original.amount_fen - already if amount_fen is None else amount_fen
    if amount <= 0 or amount > original.amount_fen - already:
        raise AppError("refund_too_large", status=422, details={
            "refundable_fen": original.amount_fen - already})
    back = Payment(booking_id=booking.id, kind="refund", method=original.method, amount_fen=amount,
                   reference=reference.strip()[:120], note=note.strip()[:200],
                   order_id=original.order_id, refund_of_id=original.id,
                   venue_id=original.venue_id, recorded_by_id=actor.id if actor else None, at=at)
    session.add(back)
    booking.paid_fen -= amount
    move(session, "selfpay.refund", amount, "selfpay_receivable", "selfpay_collected",
         at=at, actor_id=actor.id if actor else None, **_dims(booking))
    session.flush()
    record(session, actor.id if actor else None, "payment.refund", "booking", booking.id,
           after={"payment_id": original.id, "amount_fen": amount, "note": back.note})
    return back


def may_collect(user: User, booking: Booking) -> bool:
    return _may_collect(user, booking)


def invoice_of(session: Session, booking: Booking) -> InvoiceRequest | None:
    return session.scalar(select(InvoiceRequest).where(InvoiceRequest.booking_id == booking.id))


def request_invoice(session: Session, booking: Booking, *, title: str, tax_number: str,
                    email: str, at: datetime) -> InvoiceRequest:
    """The title (个人 or the company's name) and tax number the creator wants on the invoice."""
    title, tax_number, email = title.strip(), tax_number.strip().upper(), email.strip()
    errors = {}
    if not title:
        errors["title"] = ["Required."]
    if tax_number and not TAX_NUMBER.fullmatch(tax_number):
        errors["tax_number"] = ["15 to 20 letters and digits (统一社会信用代码)."]
    if errors:
        raise ValidationFailed(errors)
    invoice = invoice_of(session, booking) or InvoiceRequest(booking_id=booking.id)
    invoice.title, invoice.tax_number, invoice.email = title[:120], tax_number, email[:200]
    invoice.updated_at = at
    session.add(invoice)
    session.flush()
    return invoice


def summary(session: Session, booking: Booking) -> PaymentSummary:
    items = list(session.scalars(select(Payment).where(Payment.booking_id == booking.id)
                                 .order_by(Payment.at, Payment.id)))
    paid = sum(p.amount_fen for p in items if p.kind == "payment")
    refunded = sum(p.amount_fen for p in items if p.kind == "refund")
    return PaymentSummary(items, paid, refunded, outstanding(session, booking.id))
