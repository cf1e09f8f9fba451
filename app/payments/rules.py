"""What a booking's self-pay stands at, from its own columns (pure)."""

from __future__ import annotations

PAYABLE_STATUSES = ("confirmed", "checked_in", "completed")


def outstanding_fen(status: str, self_pay_fen: int, paid_fen: int, late_cancel: bool) -> int:
    """Still owed by the creator; negative: a refund the venue owes.

    Used bookings owe their self-pay; one cancelled in time owes nothing and gets back what
    it paid; a late cancellation or a no-show owes nothing more and keeps nothing back.
    """
    if status in PAYABLE_STATUSES:
        return self_pay_fen - paid_fen
    if status == "cancelled" and not late_cancel:
        return -paid_fen
    return 0
