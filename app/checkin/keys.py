"""Signing keys for check-in codes: created on first use, rotated and retired by command."""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.checkin.models import SigningKey
from app.core.clock import now


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))


def _raw_public(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode()


def create_key(session: Session, secret_key: str) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    for row in session.scalars(select(SigningKey).where(SigningKey.active.is_(True))):
        row.active = False  # still verifies; no longer signs
    key = SigningKey(key_id="k" + secrets.token_hex(3), public_key=_raw_public(private),
                     private_key_encrypted=_fernet(secret_key).encrypt(raw_private).decode(),
                     created_at=now(), active=True)
    session.add(key)
    session.flush()
    return key


def _active_key(session: Session, secret_key: str) -> tuple[str, Ed25519PrivateKey] | None:
    """The newest active key when SECRET_KEY can decrypt it."""
    key = session.scalar(select(SigningKey).where(SigningKey.active.is_(True),
                                                  SigningKey.retired_at.is_(None))
                         .order_by(SigningKey.created_at.desc()).limit(1))
    if key is None:
        return None
    try:
        raw = _fernet(secret_key).decrypt(key.private_key_encrypted.encode())
    except InvalidToken:
        return None  # SECRET_KEY changed
    return key.key_id, Ed25519PrivateKey.from_private_bytes(raw)


def signing_key_usable(session: Session, secret_key: str) -> str | None:
    """The id of the key codes would be signed with now, without creating one (for doctor)."""
    found = _active_key(session, secret_key)
    return found[0] if found else None


def signing_key(session: Session, secret_key: str) -> tuple[str, Ed25519PrivateKey]:
    """The newest active key, creating one if there is none (or it cannot be decrypted)."""
    found = _active_key(session, secret_key)
    if found is not None:
        return found
    # none, or SECRET_KEY changed: sign with a fresh key, old codes still verify
    key = create_key(session, secret_key)
    raw = _fernet(secret_key).decrypt(key.private_key_encrypted.encode())
    return key.key_id, Ed25519PrivateKey.from_private_bytes(raw)


_VERIFYING = select(SigningKey.key_id, SigningKey.public_key).where(SigningKey.retired_at.is_(None))


@lru_cache(maxsize=64)
def _public_key(encoded: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(encoded))


def public_keys(session: Session) -> dict[str, Ed25519PublicKey]:
    """Every key that still verifies (not retired): which ones is read on every scan, so a
    retired key stops at once; each key's bytes are parsed once per process."""
    return {key_id: _public_key(encoded)
            for key_id, encoded in session.execute(_VERIFYING)}


def retire(session: Session, key_id: str) -> SigningKey | None:
    key = session.get(SigningKey, key_id)
    if key is not None and key.retired_at is None:
        key.retired_at = now()
        key.active = False
    return key


def describe_keys(session: Session) -> list[dict]:
    return [{"key_id": k.key_id, "public_key": k.public_key, "algorithm": "Ed25519",
             "active": k.active, "created_at": k.created_at.isoformat()}
            for k in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))
                                     .order_by(SigningKey.created_at))]
