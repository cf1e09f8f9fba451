"""Bookings, closures, idempotency records and the booking's event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.catalog.models import Program, Resource
from app.checkin import short_codes
from app.core.clock import now
from app.core.db import Base

ACTIVE_STATUSES = ("confirmed", "checked_in")
STATUSES = ("confirmed", "checked_in", "completed", "cancelled", "no_show")


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="ends_after_start"),
        CheckConstraint("blocked_until >= end_at", name="buffer_not_negative"),
        CheckConstraint(
            "status IN ('confirmed', 'checked_in', 'completed', 'cancelled', 'no_show')",
            name="status_known",
        ),
        CheckConstraint(
            "gross_fen >= 0 AND voucher_fen >= 0 AND quota_fen >= 0 AND self_pay_fen >= 0 "
            "AND voucher_fen + quota_fen + self_pay_fen = gross_fen",
            name="price_parts_add_up",
        ),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= self_pay_fen", name="paid_within_self_pay"),
        # Two active bookings of a resource never overlap, buffer included: the database
        # refuses it, whatever the application checked before.
        ExcludeConstraint(
            (text("resource_id"), "="),
            (text("tstzrange(start_at, blocked_until, '[)')"), "&&"),
            where=text("status IN ('confirmed', 'checked_in')"),
            using="gist",
            name="bookings_no_overlap",
        ).ddl_if(dialect="postgresql"),
        Index("ix_bookings_resource_start", "resource_id", "start_at"),
        Index("ix_bookings_creator_start", "creator_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    # end_at widened by the resource's buffer at booking time: the range others cannot use
    blocked_until: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="confirmed")
    gross_fen: Mapped[int] = mapped_column(Integer)
    voucher_fen: Mapped[int] = mapped_column(Integer, default=0)
    quota_fen: Mapped[int] = mapped_column(Integer, default=0)
    self_pay_fen: Mapped[int] = mapped_column(Integer, default=0)
    # self-pay collected, net of refunds (the payments table has each record)
    paid_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    # the voucher this booking used (kept after release, for the record)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    late_cancel: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[datetime | None] = mapped_column()
    checked_out_at: Mapped[datetime | None] = mapped_column()
    # Read out or typed at the desk instead of the QR code. Null only for rows written by raw
    # SQL (benchmarks); every booking made through the lifecycle has one.
    short_code: Mapped[str | None] = mapped_column(String(8), unique=True,
                                                   default=short_codes.new)
    # The published list version whose price and rules it was booked on (a reschedule takes
    # the version in force then). Null for bookings made before versions were recorded.
    list_version: Mapped[int | None] = mapped_column(Integer)

    resource: Mapped[Resource] = relationship()
    creator: Mapped[User] = relationship()
    voucher: Mapped[Voucher | None] = relationship(foreign_keys=[voucher_id])  # noqa: F821
    program: Mapped[Program | None] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id"
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingEvent(Base):
    """What happened to a booking and when: created, rescheduled, cancelled, checked in …"""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    booking: Mapped[Booking] = relationship(back_populates="events")


class Closure(Base):
    """A maintenance blackout or closure of one resource."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("end_at > start_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    resource: Mapped[Resource] = relationship()
