"""What the operations checks read: one heartbeat row per scheduler job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Heartbeat(Base):
    """The last run of a scheduler job; `flask doctor` reads it to know the scheduler is alive."""

    __tablename__ = "scheduler_heartbeats"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column()
    ok: Mapped[bool] = mapped_column()
    # what the job returned (a count); for "reconcile" the number of violations found
    result: Mapped[int | None] = mapped_column(Integer)
