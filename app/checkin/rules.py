"""The answer to a scan at the door, as a pure function of the booking's state and the time."""

from __future__ import annotations

from datetime import datetime, timedelta

RESULTS = ("ok", "already_checked_in", "wrong_venue", "too_early", "too_late", "cancelled", "invalid")


def window(start_at: datetime, end_at: datetime, opens_minutes: int) -> tuple[datetime, datetime]:
    """Check-in is possible from shortly before the start until the end."""
    return start_at - timedelta(minutes=opens_minutes), end_at


def decide(status: str, at_operators_venue: bool, moment: datetime, start_at: datetime,
           end_at: datetime, opens_minutes: int) -> str:
    # The venue comes first: a foreign desk learns nothing about the booking, not even that it
    # was cancelled.
    if not at_operators_venue:
        return "wrong_venue"
    if status in ("cancelled", "no_show"):
        return "cancelled"
    if status in ("checked_in", "completed"):
        return "already_checked_in"
    opens, closes = window(start_at, end_at, opens_minutes)
    if moment < opens:
        return "too_early"
    if moment >= closes:
        return "too_late"
    return "ok"
