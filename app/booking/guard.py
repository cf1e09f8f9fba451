"""One winner per booking: every transition starts by locking the booking's row.

Book, cancel, reschedule, check in, check out, no-show and completion all read the booking's
status only after they hold its row, so of two transitions that race on one booking the second
waits for the first to commit, then sees the status it left and refuses with
``409 state_changed``. On PostgreSQL this is ``SELECT … FOR UPDATE``; SQLite has one write lock
for the whole database, taken here by a no-op UPDATE of the row before it is read.

Lock order, everywhere: booking, then its voucher, then the creator's quota account. A job that
starts from a voucher (expiry, void) locks the voucher's booking first for the same reason.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session, joinedload

from app.accounts.models import User
from app.booking.models import Booking
from app.catalog.models import Resource, Venue
from app.core.errors import AppError
from app.core.locks import lock_row


class StateChanged(AppError):
    """Another transition of this booking won; ``details.status`` is its status now."""

    status = 409
    code = "state_changed"

    def __init__(self, status: str):
        super().__init__(details={"status": status})


@cache
def _with_booking() -> tuple:
    """What a transition and its answer read of a booking, fetched with the lock in one round
    trip. The creator's roles are not needed to describe a booking: they load only if asked.
    (Built on first use: every model must be mapped by then.)"""
    return (
        joinedload(Booking.resource).joinedload(Resource.venue).joinedload(Venue.district),
        joinedload(Booking.creator).lazyload(User.role_rows),
        joinedload(Booking.voucher),
        joinedload(Booking.program),
    )


def lock_booking(session: Session, booking_id: int) -> Booking | None:
    """The booking, freshly read under its row lock (None when there is no such booking)."""
    return lock_row(session, Booking, booking_id, *_with_booking())


def require_status(booking: Booking, *expected: str) -> None:
    if booking.status not in expected:
        raise StateChanged(booking.status)
