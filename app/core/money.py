"""Integer fen (分) everywhere; yuan only at the edges, for people."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^\s*¥?\s*(-)?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{1,2}))?\s*$")


def parse_yuan(text: str) -> int:
    """Parse "1,234.5" or "¥12" into fen. Raises ValueError on anything else."""
    match = _YUAN.match(text)
    if not match:
        raise ValueError(f"not an amount in yuan: {text!r}")
    sign, whole, cents = match.groups()
    fen = int(whole.replace(",", "")) * 100 + int((cents or "0").ljust(2, "0"))
    return -fen if sign else fen


def format_yuan(fen: int, symbol: bool = True) -> str:
    """12345 -> "¥123.45"; thousands separated."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{whole:,}.{cents:02d}"


def fen_to_yuan_number(fen: int) -> float:
    """For spreadsheet cells that carry a yuan number format; exact for any realistic amount."""
    return round(fen / 100, 2)
