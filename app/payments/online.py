"""Self-pay paid online before arrival: orders, provider notifications, queries, refunds.

An order asks a provider for the booking's outstanding self-pay. It is settled exactly once,
by whichever comes first, the provider's signed notification or our query: both lock the
booking row and then the order row (the lock order of every booking transition) and record
the payment only while the order is still open, so a repeated notification, or a notification
racing a query, changes nothing the second time.

Where the provider's HTTP calls sit relative to our transaction:

* Creating an order calls the provider while the booking is locked, before our commit (with a
  short timeout: on SQLite that lock is the database's one write lock). If the commit then
  fails the provider holds an order nobody was shown; it expires unpaid.
* A refund is never sent inside the transaction that decides it. Cancelling in time only
  commits the cancellation; the booking itself — cancelled in time, online payments not yet
  given back — is the durable request. ``refund_due`` (the scheduler, every 30 seconds) sends
  it and records the refund in a transaction of its own. So a failed cancel commit sends
  nothing, and a provider that is down leaves a fully cancelled booking whose refund is retried,
  never a half-cancelled one. Each refund goes out under a number derived from what is recorded
  (``<order_no>R<n>``), which both providers treat as idempotent: if our commit after the
  provider accepted fails, the retry asks again under the same number, the provider answers
  with the refund it already made, and it is recorded once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking.guard import lock_booking
from app.booking.models import Booking
from app.booking.service import can_view
from app.core.errors import AppError, Conflict, Forbidden, NotFound
from app.core.locks import lock_row
from app.payments import service
from app.payments.models import OnlineOrder, Payment, ProviderNotification
from app.payments.providers import ORDER_TTL, Client, Notice
from app.payments.rules import PAYABLE_STATUSES

log = logging.getLogger("venuebook.payments")

ClientOf = Callable[[str], Client]
# outcomes after which the provider is told "received": retrying would change nothing
ACCEPTED_OUTCOMES = ("paid", "duplicate", "not_paid", "ignored", "overpaid", "not_payable")
PRIVATE_HEADERS = ("cookie", "authorization")


def new_order_no(booking_id: int, at: datetime) -> str:
    """Unique, at most 32 characters of [0-9A-Z] as both providers accept."""
    return f"VB{at:%y%m%d}{booking_id}{secrets.token_hex(5).upper()}"[:32]


def open_order(session: Session, owner: User, booking_id: int, provider: str,
               client_of: ClientOf, now: datetime) -> OnlineOrder:
    """An order for what the booking still owes; the open one is reused while it still fits."""
    booking = lock_booking(session, booking_id)
    if booking is None or not can_view(owner, booking):
        raise NotFound()
    if booking.creator_id != owner.id:
        raise Forbidden()
    if booking.status not in PAYABLE_STATUSES:
        raise AppError("not_payable", status=422, details={"status": booking.status})
    due = service.outstanding(session, booking.id)
    if due <= 0:
        raise AppError("nothing_due", status=422, details={"outstanding_fen": max(due, 0)})
    for existing in session.scalars(select(OnlineOrder).where(
            OnlineOrder.booking_id == booking.id, OnlineOrder.provider == provider,
            OnlineOrder.status == "created")):
        if existing.amount_fen == due and now < existing.created_at + ORDER_TTL:
            return existing
        # the amount changed (the desk collected a part) or the code expired: a new order
        existing.status = "closed"
        session.flush()  # closed before the new one is inserted: one open order at a time
    client = client_of(provider)  # only now: others learn nothing, not even "not configured"
    order = OnlineOrder(order_no=new_order_no(booking.id, now), booking_id=booking.id,
                        provider=provider, amount_fen=due, status="created", created_at=now)
    order.pay_url = client.create(order.order_no, due, _subject(booking), now)
    session.add(order)
    session.flush()
    return order


def _subject(booking: Booking) -> str:
    resource = booking.resource
    return f"{resource.venue.name_zh} {resource.name_zh} #{booking.id}"


# ---- settling an order: notification or query ------------------------------------------------


def settle(session: Session, notice: Notice, now: datetime) -> str:
    """Apply what the provider says about one of our orders; the outcome in one word."""
    found = session.execute(select(OnlineOrder.id, OnlineOrder.booking_id)
                            .where(OnlineOrder.order_no == notice.order_no)).first()
    if found is None:
        return "unknown_order"
    booking = lock_booking(session, found.booking_id)
    order = lock_row(session, OnlineOrder, found.id)
    if not notice.paid:
        return "not_paid"
    if order.status in ("paid", "refunded"):
        return "duplicate"
    if notice.amount_fen != order.amount_fen:
        log.warning("online payment amount mismatch", extra={
            "order_no": order.order_no, "order_fen": order.amount_fen,
            "notified_fen": notice.amount_fen, "provider": order.provider})
        return "amount_mismatch"
    try:
        service.record_payment(session, None, booking.id, method=order.provider,
                               amount_fen=order.amount_fen, reference=notice.txn_id, at=now,
                               order_id=order.id, booking=booking)
    except AppError as err:
        # paid after the booking was cancelled, or after the desk collected the same money:
        # the provider holds it; finance refunds it by hand
        log.error("online payment not applicable", extra={
            "order_no": order.order_no, "code": err.code, "booking_id": booking.id})
        return err.code
    order.status = "paid"
    order.provider_txn_id = notice.txn_id[:64]
    order.paid_at = now
    return "paid"


def receive_notification(session: Session, client: Client, headers: Any, body: str,
                         now: datetime) -> str:
    """Verify a provider's notification, settle its order, and store it raw with the outcome.

    The raw row is written with its outcome (the table is append-only, so it cannot be written
    first and completed later); when settling fails unexpectedly the caller rolls back and
    stores it again with ``store_raw(..., "error")``.
    """
    notice = client.verify(headers, body)
    if notice is None:
        outcome = "forged"
        log.warning("forged payment notification", extra={"provider": client.name})
    elif not notice.order_no:
        outcome = "ignored"  # an event about something else (a refund's progress)
    else:
        outcome = settle(session, notice, now)
    store_raw(session, client.name, headers, body, notice.order_no if notice else "", outcome,
              now)
    return outcome


def store_raw(session: Session, provider: str, headers: Any, body: str, order_no: str,
              outcome: str, now: datetime) -> None:
    kept = {k: v for k, v in dict(headers).items() if k.lower() not in PRIVATE_HEADERS}
    session.add(ProviderNotification(provider=provider, received_at=now, headers=kept, body=body,
                                     order_no=order_no[:32], outcome=outcome))
    session.flush()


def confirm_by_query(session: Session, order: OnlineOrder, client: Client, now: datetime) -> str:
    """Ask the provider about an order whose notification has not come (or never will)."""
    notice = client.query(order.order_no)  # before any lock: the answer may take seconds
    if notice is not None and notice.paid:
        return settle(session, notice, now)
    if now >= order.created_at + ORDER_TTL:
        lock_booking(session, order.booking_id)
        order = lock_row(session, OnlineOrder, order.id)
        if order.status == "created":
            order.status = "closed"  # the code expired unpaid at the provider too
            return "expired"
    return "not_paid"


def check_payment(session: Session, owner: User, booking_id: int, client_of: ClientOf,
                  now: datetime) -> list[str]:
    """The owner's "I have paid": query the provider for the booking's open orders."""
    booking = session.get(Booking, booking_id)
    if booking is None or not can_view(owner, booking):
        raise NotFound()
    if booking.creator_id != owner.id:
        raise Forbidden()
    orders = session.scalars(select(OnlineOrder).where(
        OnlineOrder.booking_id == booking_id, OnlineOrder.status == "created")).all()
    return [confirm_by_query(session, order, client_of(order.provider), now) for order in orders]


def query_stale_orders(session: Session, now: datetime, client_of: ClientOf,
                       after: timedelta) -> int:
    """The scheduler's sweep: orders still open ``after`` their creation are asked about."""
    orders = session.scalars(select(OnlineOrder).where(
        OnlineOrder.status == "created", OnlineOrder.created_at <= now - after)
        .order_by(OnlineOrder.id)).all()
    settled = 0
    for order in orders:
        try:
            settled += confirm_by_query(session, order, client_of(order.provider), now) == "paid"
        except AppError as err:  # one provider away, or no longer configured: the next run
            log.warning("order query failed", extra={"order_no": order.order_no,
                                                     "code": err.code})
    return settled


# ---- refunds through the provider ----------------------------------------------------------


def _refunded_of(session: Session, payment_id: int) -> tuple[int, int]:
    """How many refunds of a payment are recorded, and their total."""
    count, total = session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount_fen), 0))
        .where(Payment.refund_of_id == payment_id)).one()
    return int(count), int(total)


def refund_online(session: Session, actor: User | None, payment_id: int, *,
                  amount_fen: int | None, note: str, at: datetime, client_of: ClientOf) -> Payment:
    """Give back (part of) a payment made online: the provider first, then our record.

    The provider is asked before any lock is taken, under a refund number derived from the
    refunds recorded so far; the record is then made under the booking's lock only if that
    number is still the next one (someone else recording meanwhile is ``409 conflict``).
    """
    original = session.get(Payment, payment_id)
    if original is None or original.kind != "payment" or original.order_id is None:
        raise NotFound()
    if actor is not None and not actor.has_role("admin", "finance"):
        raise NotFound()
    order = session.get(OnlineOrder, original.order_id)
    count, refunded = _refunded_of(session, original.id)
    amount = original.amount_fen - refunded if amount_fen is None else amount_fen
    if amount <= 0 or amount > original.amount_fen - refunded:
        raise AppError("refund_too_large", status=422, details={
            "refundable_fen": original.amount_fen - refunded})
    number = f"{order.order_no}R{count + 1}"
    provider_ref = client_of(order.provider).refund(order.order_no, number, amount,
                                                    order.amount_fen, note)
    lock_booking(session, original.booking_id)
    if _refunded_of(session, original.id)[0] != count:
        raise Conflict(details={"reason": "another refund of this payment was recorded"})
    back = service.refund(session, actor, original.id, amount_fen=amount, note=note, at=at,
                          reference=provider_ref or number)
    if refunded + amount == original.amount_fen:
        lock_row(session, OnlineOrder, order.id).status = "refunded"
    return back


def refund(session: Session, actor: User | None, payment_id: int, *, amount_fen: int | None,
           note: str, at: datetime, reference: str, client_of: ClientOf) -> Payment:
    """A refund by finance: through the provider for an online payment, else recorded only."""
    original = session.get(Payment, payment_id)
    if original is not None and original.order_id is not None:
        return refund_online(session, actor, payment_id, amount_fen=amount_fen, note=note, at=at,
                             client_of=client_of)
    return service.refund(session, actor, payment_id, amount_fen=amount_fen, note=note, at=at,
                          reference=reference)


def refund_due(session: Session, now: datetime, client_of: ClientOf) -> int:
    """The scheduler's sweep: bookings cancelled in time get back what they paid online.

    Like every job it is one transaction, so a refund recorded early in the sweep stays locked
    while the next provider is asked; refunds are few, and a failure rolls the whole sweep back
    to be asked again under the same numbers.
    """
    due = session.execute(
        select(Payment.id).join(Booking, Booking.id == Payment.booking_id)
        .where(Booking.status == "cancelled", Booking.late_cancel.is_(False),
               Booking.paid_fen > 0, Payment.kind == "payment", Payment.order_id.is_not(None))
        .order_by(Payment.id)).scalars().all()
    sent = 0
    for payment_id in due:
        if _refunded_of(session, payment_id)[1] >= session.get(Payment, payment_id).amount_fen:
            continue
        try:
            refund_online(session, None, payment_id, amount_fen=None,
                          note="cancelled in time", at=now, client_of=client_of)
            sent += 1
        except AppError as err:  # the provider is away: the booking still says it is due
            log.warning("online refund not sent", extra={"payment_id": payment_id,
                                                         "code": err.code})
    return sent
