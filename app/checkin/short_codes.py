"""Short booking codes: 8 characters a person can read out and type at the front desk.

The alphabet leaves out 0/O, 1/I/L so nothing is misread; 31^8 (about 8.5 × 10^11) codes keep a
guessed code from hitting anyone's booking. A short code only names a booking, like the QR
code: the desk still decides (venue, time, status) before anything is checked in.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
_SEPARATORS = re.compile(r"[\s-]+")


def new() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str) -> str | None:
    """The code in ``text`` as typed ("abcd efgh", "ABCD-EFGH"), or None when it is not one."""
    code = _SEPARATORS.sub("", text or "").upper()
    if len(code) == LENGTH and all(ch in ALPHABET for ch in code):
        return code
    return None


def spaced(code: str) -> str:
    """For reading aloud and printing: two groups of four."""
    return f"{code[:4]} {code[4:]}" if code else ""
