"""Passwords: a signed-in person changes theirs, anyone asks for a reset link by email, an
administrator sends one.

Whenever a password is set, every other way into the account ends: the session nonce changes
(so every session cookie, on every device, stops working) and the account's API tokens are
revoked. Whoever set it signs in afresh (the page that changed it re-signs its own browser).
Asking for a reset answers the same whether or not the address has an account.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app.accounts import links
from app.accounts.models import User
from app.accounts.service import (
    MIN_PASSWORD_LENGTH,
    get_user_by_email,
    hash_password,
    revoke_tokens,
)
from app.audit.service import record
from app.core.clock import to_local
from app.core.errors import AppError, ValidationFailed
from app.notify.service import enqueue

# Builds the absolute address of a page for an emailed link's secret.
LinkFor = Callable[[str], str]
MAX_PASSWORD_LENGTH = 200


def check_new_password(new: str, repeat: str) -> None:
    fields: dict[str, list[str]] = {}
    if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        fields["new_password"] = [f"Between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} "
                                  "characters."]
    elif new != repeat:
        fields["repeat"] = ["The two new passwords differ."]
    if fields:
        raise ValidationFailed(fields)


def end_other_sign_ins(session: Session, user: User) -> int:
    """Every session cookie and API token of ``user`` stops working; returns tokens revoked."""
    user.session_nonce = secrets.token_hex(8)
    return revoke_tokens(session, user)


def _set_password(session: Session, user: User, new: str) -> int:
    user.password_hash = hash_password(new)
    return end_other_sign_ins(session, user)


def change_password(session: Session, user: User, current: str, new: str, repeat: str,
                    at: datetime) -> None:
    if not check_password_hash(user.password_hash, current):
        raise AppError("wrong_password", status=422,
                       details={"fields": {"current_password": ["Wrong password."]}})
    check_new_password(new, repeat)
    revoked = _set_password(session, user, new)
    record(session, user.id, "user.password_change", "user", user.id,
           after={"tokens_revoked": revoked})
    enqueue(session, user, "password_changed", f"password_changed:{user.id}:{at.isoformat()}",
            {"at": to_local(at).strftime("%Y-%m-%d %H:%M")}, at=at)


def _send_reset_link(session: Session, user: User, at: datetime, link_for: LinkFor) -> None:
    row, secret = links.issue(session, user, "password_reset", at)
    hours = int(links.LIFETIME["password_reset"].total_seconds() // 3600)
    enqueue(session, user, "password_reset", f"password_reset:{row.id}",
            {"link": link_for(secret), "hours": hours}, at=at, new_event=True)


def request_reset(session: Session, email: str, at: datetime, link_for: LinkFor) -> None:
    """Email a reset link if ``email`` names an account that may sign in; otherwise do nothing.
    The caller answers the same either way, so the page does not reveal who has an account."""
    user = get_user_by_email(session, email)
    if user is None or not user.active:
        return
    _send_reset_link(session, user, at, link_for)
    record(session, None, "user.password_reset_request", "user", user.id)


def send_reset(session: Session, actor: User, user: User, at: datetime,
               link_for: LinkFor) -> None:
    """An administrator sends ``user`` a reset link (the password itself stays unknown to staff)."""
    if not user.active:
        raise AppError("account_disabled", status=409)
    _send_reset_link(session, user, at, link_for)
    record(session, actor.id, "user.password_reset_send", "user", user.id)


def reset_password(session: Session, secret: str, new: str, repeat: str, at: datetime) -> User:
    """Set a new password with a reset link. A bad new password leaves the link usable."""
    links.peek(session, secret, "password_reset", at)
    check_new_password(new, repeat)
    row = links.consume(session, secret, "password_reset", at)
    account = session.get(User, row.user_id)
    if account is None or not account.active:
        raise links.LinkInvalid()  # disabled after the email was sent: the link dies with it
    revoked = _set_password(session, account, new)
    account.email_verified = True  # following the emailed link proves the address too
    record(session, account.id, "user.password_reset", "user", account.id,
           after={"tokens_revoked": revoked})
    return account
