"""No-show strikes and the suspension they lead to (3 in 90 days → 30 days without subsidy)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.clock import now
from app.core.db import Base

STRIKE_LIMIT = 3
STRIKE_WINDOW = timedelta(days=90)
SUSPENSION = timedelta(days=30)


class Strike(Base):
    __tablename__ = "strikes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    at: Mapped[datetime] = mapped_column(default=now)
    reason: Mapped[str] = mapped_column(String(40), default="no_show")


def strike_times(session: Session, user_id: int, since: datetime) -> list[datetime]:
    return list(session.scalars(select(Strike.at).where(Strike.user_id == user_id,
                                                        Strike.at > since).order_by(Strike.at)))


def suspension_from(times: list[datetime]) -> datetime | None:
    """When the latest suspension ends, given strike times in order (pure)."""
    until = None
    for index in range(STRIKE_LIMIT - 1, len(times)):
        if times[index] - times[index - STRIKE_LIMIT + 1] <= STRIKE_WINDOW:
            until = times[index] + SUSPENSION
    return until


def suspended_until(session: Session, user_id: int, moment: datetime) -> datetime | None:
    times = strike_times(session, user_id, moment - STRIKE_WINDOW - SUSPENSION)
    until = suspension_from(times)
    return until if until is not None and until > moment else None


def recent_strikes(session: Session, user_id: int, moment: datetime) -> int:
    return len(strike_times(session, user_id, moment - STRIKE_WINDOW))
