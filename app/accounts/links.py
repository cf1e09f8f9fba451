"""Single-use links sent by email: password reset and email verification.

The email carries a random secret; the database keeps only its SHA-256, so a copy of the
database (a backup, an export) cannot be used to take over an account. A link works once and
only until it expires; each failure has its own code so the page can say which it was.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import AccountToken, User
from app.core.errors import AppError

LIFETIME = {
    "password_reset": timedelta(hours=1),
    "verify_email": timedelta(hours=48),
}


class LinkInvalid(AppError):
    status = 404
    code = "link_invalid"


class LinkUsed(AppError):
    status = 410
    code = "link_used"


class LinkExpired(AppError):
    status = 410
    code = "link_expired"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, user: User, purpose: str, at: datetime) -> tuple[AccountToken, str]:
    """A new link for ``user``; earlier unused links of the same purpose stop working, so only
    the newest email counts. Returns the row and the secret to put in the email (never stored)."""
    session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None), AccountToken.expires_at > at).values(expires_at=at))
    secret = secrets.token_urlsafe(32)
    row = AccountToken(user_id=user.id, purpose=purpose, token_hash=_digest(secret),
                       created_at=at, expires_at=at + LIFETIME[purpose])
    session.add(row)
    session.flush()
    return row, secret


def peek(session: Session, secret: str, purpose: str, at: datetime) -> AccountToken:
    """The link's row if it can still be used, else the reason it cannot (nothing changes)."""
    row = session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _digest(secret), AccountToken.purpose == purpose))
    if row is None:
        raise LinkInvalid()
    if row.used_at is not None:
        raise LinkUsed()
    if row.expires_at <= at:
        raise LinkExpired()
    return row


def consume(session: Session, secret: str, purpose: str, at: datetime) -> AccountToken:
    """Use the link. The conditional update makes it single-use even when the same link is
    followed twice at the same moment: only one of them changes the row."""
    row = peek(session, secret, purpose, at)
    taken = session.execute(update(AccountToken).where(
        AccountToken.id == row.id, AccountToken.used_at.is_(None)).values(used_at=at))
    if taken.rowcount != 1:
        raise LinkUsed()
    session.refresh(row)
    return row
