"""What a creator holds: usable vouchers, quota per program and year, strikes, calendar link.

Vouchers, quota holds and strikes are recorded by the booking and money features; this module
reads them for the account pages and ``GET /me``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.accounts.service import certification_on
from app.catalog.models import Program


def vouchers_usable_by(session: Session, user: User, today: date) -> list[dict]:
    return []


def quota_summary(session: Session, user: User, today: date) -> list[dict]:
    """The year's quota per program the creator is certified for today."""
    rows = []
    year = today.year
    programs = session.scalars(select(Program).where(Program.funding == "quota")).all()
    for program in programs:
        cert = certification_on(session, user.id, program.id, today)
        if cert is None:
            continue
        cap = cert.tier.cap_fen
        rows.append({"program": program.code, "year": year, "tier": cert.tier.code,
                     "cap_fen": cap, "held_fen": 0, "consumed_fen": 0, "remaining_fen": cap})
    return rows


def strikes_of(session: Session, user: User) -> int:
    return 0


def calendar_url_of(user: User) -> str | None:
    """The secret iCalendar feed of the creator's bookings (absolute URL)."""
    from flask import url_for

    if not user.calendar_secret:
        return None
    return url_for("calendar.creator_feed", secret=user.calendar_secret, _external=True)
