"""A creator registers themselves: an account that may sign in at once but books only after
the emailed verification link is followed. Registration records consent to the privacy notice
shown and grants the creator role only: subsidy eligibility still comes from an administrator's
certification or an enterprise's membership, never from signing up."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import links
from app.accounts.models import User
from app.accounts.passwords import LinkFor, check_new_password
from app.accounts.service import create_user, get_user_by_email
from app.audit.service import record
from app.core.errors import AppError, Conflict, ValidationFailed
from app.notify.service import enqueue
from app.privacy import rules as privacy_rules
from app.privacy.service import accept_notice

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


def _check(email: str, display_name: str, phone: str, password: str, repeat: str,
           notice_version: str) -> None:
    fields: dict[str, list[str]] = {}
    if "@" not in email.strip() or len(email.strip()) > 200:
        fields["email"] = ["Not a valid email address."]
    if not display_name.strip() or len(display_name.strip()) > 120:
        fields["display_name"] = ["Between 1 and 120 characters."]
    if not PHONE.match(phone.strip()):
        fields["phone"] = ["Not a phone number."]
    try:
        check_new_password(password, repeat)
    except ValidationFailed as err:
        fields.update(err.details["fields"])
    if notice_version != privacy_rules.CURRENT_NOTICE:
        fields["consent"] = ["Consent to the current privacy notice is required."]
    if fields:
        raise ValidationFailed(fields)


def _send_verification(session: Session, user: User, at: datetime, link_for: LinkFor) -> None:
    row, secret = links.issue(session, user, "verify_email", at)
    hours = int(links.LIFETIME["verify_email"].total_seconds() // 3600)
    enqueue(session, user, "verify_email", f"verify_email:{row.id}",
            {"link": link_for(secret), "hours": hours}, at=at, new_event=True)


def register_creator(session: Session, *, email: str, display_name: str, phone: str,
                     password: str, repeat: str, notice_version: str, locale: str,
                     at: datetime, link_for: LinkFor) -> User:
    _check(email, display_name, phone, password, repeat, notice_version)
    if get_user_by_email(session, email) is not None:
        raise Conflict("email_taken")
    try:
        with session.begin_nested():
            user = create_user(session, email, password, ["creator"],
                               display_name=display_name.strip(), phone=phone.strip())
    except IntegrityError:
        raise Conflict("email_taken") from None  # registered at the same moment by another request
    user.email_verified = False
    user.locale = locale
    accept_notice(session, user, notice_version, at)
    _send_verification(session, user, at, link_for)
    # no personal data in the audit log: it must not outlive an erasure
    record(session, user.id, "user.register", "user", user.id,
           after={"roles": ["creator"], "notice_version": notice_version})
    return user


def resend_verification(session: Session, user: User, at: datetime, link_for: LinkFor) -> None:
    if user.email_verified:
        raise AppError("already_verified", status=409)
    _send_verification(session, user, at, link_for)


def verify_email(session: Session, secret: str, at: datetime) -> User:
    row = links.consume(session, secret, "verify_email", at)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise links.LinkInvalid()
    user.email_verified = True
    record(session, user.id, "user.verify_email", "user", user.id)
    return user
