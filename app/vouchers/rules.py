"""Voucher facts without a database: codes people can read aloud, and what a voucher covers."""

from __future__ import annotations

import secrets
from datetime import date

# No 0/O or 1/I: a code read over the phone cannot be misheard as another.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_GROUPS = 3
GROUP_LENGTH = 4  # 12 characters: 60 bits of randomness

# allowed moves: (from, to)
TRANSITIONS = {
    ("issued", "held"), ("held", "issued"), ("held", "redeemed"), ("redeemed", "settled"),
    ("issued", "expired"), ("held", "expired"), ("issued", "void"), ("held", "void"),
    ("held", "forfeited"),
}
# where the voucher's face value sits in the ledger in each state
STATE_ACCOUNT = {
    "issued": "vouchers_issued", "held": "vouchers_held", "redeemed": "vouchers_redeemed",
    "settled": "vouchers_settled", "expired": "vouchers_expired", "void": "vouchers_void",
    "forfeited": "vouchers_forfeited",
}


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * GROUP_LENGTH))
    return "-".join(raw[i:i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))


def normalise_code(text: str) -> str:
    """What a person typed: any case, spaces or dashes anywhere."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    return "-".join(raw[i:i + GROUP_LENGTH] for i in range(0, len(raw), GROUP_LENGTH))


def covered_fen(face_value_fen: int, gross_fen: int) -> int:
    """One voucher covers up to its face value; no change is given."""
    return min(face_value_fen, gross_fen)


def valid_on(valid_from: date, valid_until: date, day: date) -> bool:
    return valid_from <= day <= valid_until
