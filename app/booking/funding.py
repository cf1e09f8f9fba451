"""How a booking is paid: the seam between booking and money.

Until vouchers and quota are attached by the money feature, every booking is self-paid.
"""

from __future__ import annotations


def preview_split(session, user, resource, data: dict, gross_fen: int) -> dict:
    return {"gross_fen": gross_fen, "voucher_fen": 0, "quota_fen": 0, "self_pay_fen": gross_fen}


def plan_for_request(user, data: dict):
    return None


def release_on_cancel(session, booking, late: bool) -> None:
    return None


def reprice(session, booking) -> None:
    return None


def usable_vouchers_for(session, user, resource, start) -> list:
    return []
