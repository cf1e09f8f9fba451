"""No-show strikes and the suspension they lead to, by each program's own policy.

A strike records the program that funded the no-show booking; a program's subsidy is
suspended for a creator when ``strike_limit`` of its strikes fall within
``strike_window_days`` (seed: 3 in 90 days → 30 days). A self-paid no-show is recorded too,
and suspends nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.catalog.models import Program
from app.core.clock import now
from app.core.db import Base

DISPLAY_WINDOW = timedelta(days=90)  # what a creator's page counts as "recent"


class Strike(Base):
    __tablename__ = "strikes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    at: Mapped[datetime] = mapped_column(default=now)
    reason: Mapped[str] = mapped_column(String(40), default="no_show")


def suspension_from(times: list[datetime], limit: int, window: timedelta,
                    suspension: timedelta) -> datetime | None:
    """When the latest suspension ends, given strike times in order (pure)."""
    until = None
    for index in range(limit - 1, len(times)):
        if times[index] - times[index - limit + 1] <= window:
            until = times[index] + suspension
    return until


def suspended_until(session: Session, user_id: int, program: Program,
                    moment: datetime) -> datetime | None:
    """The end of the creator's suspension from ``program``'s subsidy, if one runs now."""
    window = timedelta(days=program.strike_window_days)
    suspension = timedelta(days=program.suspension_days)
    times = list(session.scalars(select(Strike.at).where(
        Strike.user_id == user_id, Strike.program_id == program.id,
        Strike.at > moment - window - suspension).order_by(Strike.at)))
    until = suspension_from(times, program.strike_limit, window, suspension)
    return until if until is not None and until > moment else None


def suspensions(session: Session, user_id: int, moment: datetime) -> dict[Program, datetime]:
    """Every program the creator is suspended from now, with the end of the suspension."""
    programs = session.scalars(select(Program).where(Program.id.in_(
        select(Strike.program_id).where(Strike.user_id == user_id)))).all()
    found = {p: suspended_until(session, user_id, p, moment) for p in programs}
    return {p: until for p, until in found.items() if until is not None}


def recent_strikes(session: Session, user_id: int, moment: datetime) -> int:
    return len(session.scalars(select(Strike.id).where(
        Strike.user_id == user_id, Strike.at > moment - DISPLAY_WINDOW)).all())
