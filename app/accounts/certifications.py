"""Which certification decides a creator's tier on a day.

Below both ``accounts.service`` (which certifies) and ``quota.service`` (which opens a year's
account from the certification), so neither imports the other's module for it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Certification


def current_certifications(
    session: Session, user_id: int, program_id: int, day: date
) -> list[Certification]:
    rows = session.scalars(
        select(Certification).where(
            Certification.user_id == user_id, Certification.program_id == program_id
        )
    ).all()
    return [c for c in rows if c.covers(day)]


def certification_on(session: Session, user_id: int, program_id: int, day: date):
    """The certification that decides the tier on ``day`` (latest start wins)."""
    rows = current_certifications(session, user_id, program_id, day)
    return max(rows, key=lambda c: (c.valid_from, c.id)) if rows else None
