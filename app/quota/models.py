"""Annual quota per creator, program and year: the cap, and the holds against it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now
from app.core.db import Base


class QuotaAccount(Base):
    """One creator's cap for one program and calendar year; its row is the lock for holds."""

    __tablename__ = "quota_accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "program_id", "year"),
        CheckConstraint("cap_fen >= 0", name="cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    year: Mapped[int] = mapped_column(Integer)
    tier_code: Mapped[str] = mapped_column(String(20))
    cap_fen: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)


class QuotaHold(Base):
    """Quota held for one booking: held → consumed (check-in) or released (cancel, no-show)."""

    __tablename__ = "quota_holds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("status IN ('held', 'consumed', 'released', 'settled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("quota_accounts.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="held")
    created_at: Mapped[datetime] = mapped_column(default=now)
    consumed_at: Mapped[datetime | None] = mapped_column()
