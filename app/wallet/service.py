"""What a creator holds: usable vouchers, quota per program and year, strikes, calendar link."""

from __future__ import annotations

from datetime import date

from flask import url_for
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking.strikes import recent_strikes, suspensions
from app.core.clock import now
from app.quota.service import summary
from app.vouchers.service import describe, usable_vouchers


def vouchers_usable_by(session: Session, user: User, today: date) -> list[dict]:
    return [describe(v) for v in usable_vouchers(session, user, today)]


def quota_summary(session: Session, user: User, today: date) -> list[dict]:
    return summary(session, user, today)


def strikes_of(session: Session, user: User) -> int:
    return recent_strikes(session, user.id, now())


def suspended_until_of(session: Session, user: User):
    """The end of the longest suspension running now, if any program suspended the creator."""
    return max(suspensions(session, user.id, now()).values(), default=None)


def calendar_url_of(user: User) -> str | None:
    """The secret iCalendar feed of the creator's bookings (absolute URL)."""

    if not user.calendar_secret:
        return None
    return url_for("calendar.creator_feed", secret=user.calendar_secret, _external=True)
