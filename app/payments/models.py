"""Self-pay: what the creator pays the venue themselves, at the desk or online, and refunds.

Every payment and every refund is a row that is never changed; a correction is a new row.
``bookings.paid_fen`` carries the net (payments minus refunds) so lists need no sums; it is
only ever changed under the booking's row lock, in the transaction that writes the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.booking.models import Booking
from app.core.clock import now
from app.core.db import Base, make_append_only

DESK_METHODS = ("cash", "wechat", "alipay", "card", "transfer")
PROVIDERS = ("wechat", "alipay")


class Payment(Base):
    """Money in (kind ``payment``) or back out (kind ``refund``) for one booking's self-pay."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("kind IN ('payment', 'refund')", name="kind_known"),
        CheckConstraint("method IN ('cash', 'wechat', 'alipay', 'card', 'transfer')",
                        name="method_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column()
    reference: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    # paid through a provider: the order it settles (a refund: the order it refunds)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("online_orders.id"), index=True)
    # a refund names the payment it gives back
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=now, index=True)

    recorded_by: Mapped[User | None] = relationship()
    booking: Mapped[Booking] = relationship()


class OnlineOrder(Base):
    """An order with a payment provider for a booking's outstanding self-pay."""

    __tablename__ = "online_orders"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("provider IN ('wechat', 'alipay')", name="provider_known"),
        CheckConstraint("status IN ('created', 'paid', 'closed', 'refunded')", name="status_known"),
        # one open order per booking and provider: two "pay" taps never leave two codes to pay
        Index("uq_online_orders_open", "booking_id", "provider", unique=True,
              sqlite_where=text("status = 'created'"),
              postgresql_where=text("status = 'created'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    provider: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="created")
    pay_url: Mapped[str] = mapped_column(Text, default="")  # WeChat code_url or Alipay page URL
    provider_txn_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    paid_at: Mapped[datetime | None] = mapped_column()


class ProviderNotification(Base):
    """Every notification a provider sent, stored raw before anything is believed."""

    __tablename__ = "provider_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(default=now)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)
    order_no: Mapped[str] = mapped_column(String(32), default="")
    # verified and applied / duplicate / forged / amount_mismatch / unknown_order / ...
    outcome: Mapped[str] = mapped_column(String(30))


class InvoiceRequest(Base):
    """The invoice (发票) title and tax number a creator wants on the venue's invoice."""

    __tablename__ = "invoice_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    tax_number: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=now)


make_append_only(Payment.__table__)
make_append_only(ProviderNotification.__table__)
