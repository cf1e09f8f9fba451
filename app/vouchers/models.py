"""Voucher batches and vouchers (杨浦直播券), with every state transition recorded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Enterprise
from app.catalog.models import Program
from app.core.clock import now
from app.core.db import Base, make_append_only

VOUCHER_STATES = ("issued", "held", "redeemed", "settled", "expired", "void", "forfeited")


class VoucherBatch(Base):
    __tablename__ = "voucher_batches"
    __table_args__ = (
        CheckConstraint("face_value_fen > 0", name="face_value_positive"),
        CheckConstraint("total_count > 0", name="count_positive"),
        CheckConstraint("issued_count >= 0 AND issued_count <= total_count", name="count_within_total"),
        CheckConstraint("CAST(issued_count AS BIGINT) * face_value_fen <= total_budget_fen",
                        name="within_budget"),
        CheckConstraint("valid_until >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(120), unique=True)
    face_value_fen: Mapped[int] = mapped_column(Integer)
    total_count: Mapped[int] = mapped_column(Integer)
    total_budget_fen: Mapped[int] = mapped_column(BigInteger)
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # Empty lists mean "every venue" / "every kind" the program covers.
    venue_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    resource_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)

    program: Mapped[Program] = relationship()


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('issued', 'held', 'redeemed', 'settled', 'expired', 'void', 'forfeited')",
            name="status_known",
        ),
        CheckConstraint("(status = 'held') = (booking_id IS NOT NULL)", name="held_has_booking"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("voucher_batches.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    face_value_fen: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="issued")
    # The booking holding it now (held only); the redeeming booking stays in redeemed_booking_id.
    # bookings and vouchers refer to each other: these keys are added after both tables exist
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", use_alter=True, name="fk_vouchers_booking_id_bookings"),
        unique=True)
    redeemed_booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", use_alter=True, name="fk_vouchers_redeemed_booking_id_bookings"))
    redeemed_at: Mapped[datetime | None] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column(default=now)

    batch: Mapped[VoucherBatch] = relationship()
    program: Mapped[Program] = relationship()
    enterprise: Mapped[Enterprise] = relationship()


class VoucherEvent(Base):
    """Every transition of a voucher: from, to, when, who, for which booking."""

    __tablename__ = "voucher_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


make_append_only(VoucherEvent.__table__)
