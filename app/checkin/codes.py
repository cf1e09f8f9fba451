"""Check-in codes: compact, versioned tokens signed with Ed25519.

    VB1.<key id>.<booking id>.<expiry, unix seconds>.<signature, base64url>

The signature covers everything before it. A scanner holding only the public keys can verify a
code without the server; the key id inside lets keys rotate (old keys keep verifying until
retired). Nothing secret is in the code: it names a booking, the server decides what it means.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = "VB1"
_FORMAT = re.compile(r"^VB1\.([A-Za-z0-9_-]{1,16})\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{86})$")


@dataclass(frozen=True)
class CodeClaims:
    key_id: str
    booking_id: int
    expires: int


class BadCode(Exception):
    """Not a code we issued: wrong format, unknown or retired key, bad signature, or expired."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(private_key: Ed25519PrivateKey, key_id: str, booking_id: int, expires: int) -> str:
    body = f"{VERSION}.{key_id}.{booking_id}.{expires}"
    return f"{body}.{_b64(private_key.sign(body.encode()))}"


def read(code: str) -> CodeClaims:
    """Parse without verifying (to find the key)."""
    match = _FORMAT.match(code.strip())
    if not match:
        raise BadCode("format")
    key_id, booking_id, expires, _ = match.groups()
    return CodeClaims(key_id, int(booking_id), int(expires))


def verify(code: str, public_keys: dict[str, Ed25519PublicKey], now_ts: int) -> CodeClaims:
    """The claims of a genuine, unexpired code signed by one of ``public_keys``."""
    claims = read(code)
    key = public_keys.get(claims.key_id)
    if key is None:
        raise BadCode("unknown_key")
    body, _, signature = code.strip().rpartition(".")
    try:
        key.verify(_unb64(signature), body.encode())
    except (InvalidSignature, ValueError) as err:
        raise BadCode("signature") from err
    if claims.expires < now_ts:
        raise BadCode("expired")
    return claims
