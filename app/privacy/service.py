"""Personal information (PIPL): consent, the creator's copy of their data, erasure, staff views
recorded in the audit log, and the retention sweep. Functions take a session; none commit."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts.models import ApiToken, Certification, User
from app.accounts.service import enterprises_of
from app.audit.service import record
from app.booking.models import Booking
from app.booking.strikes import Strike
from app.core.errors import Conflict
from app.notify.models import Notification
from app.privacy import rules
from app.privacy.models import Consent, Erasure
from app.quota.models import QuotaAccount


def accept_notice(session: Session, user: User, version: str, at: datetime) -> Consent:
    if version not in rules.NOTICES:
        raise Conflict("unknown_notice", "no such privacy notice version")
    consent = Consent(user_id=user.id, notice_version=version, accepted_at=at)
    session.add(consent)
    session.flush()
    return consent


def consented_version(session: Session, user_id: int) -> str | None:
    return session.scalar(select(Consent.notice_version).where(Consent.user_id == user_id)
                          .order_by(Consent.accepted_at.desc(), Consent.id.desc()).limit(1))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """Everything we hold about ``user``, as the creator downloads it."""
    bookings = session.scalars(select(Booking).where(Booking.creator_id == user.id)
                               .order_by(Booking.start_at)).all()
    return {
        "profile": {"id": user.id, "email": user.email, "display_name": user.display_name,
                    "phone": user.phone, "locale": user.locale, "roles": user.roles,
                    "created_at": _iso(user.created_at)},
        "consents": [{"notice_version": c.notice_version, "accepted_at": _iso(c.accepted_at)}
                     for c in session.scalars(select(Consent).where(Consent.user_id == user.id)
                                              .order_by(Consent.id))],
        "enterprises": enterprises_of(user),
        "certifications": [
            {"program": c.program.code, "tier": c.tier.code, "valid_from": _iso(c.valid_from),
             "valid_until": _iso(c.valid_until)}
            for c in session.scalars(select(Certification).where(Certification.user_id == user.id))],
        "bookings": [
            {"id": b.id, "resource": b.resource.name_zh, "start": _iso(b.start_at),
             "end": _iso(b.end_at), "status": b.status, "gross_fen": b.gross_fen,
             "voucher_fen": b.voucher_fen, "quota_fen": b.quota_fen,
             "self_pay_fen": b.self_pay_fen, "created_at": _iso(b.created_at)}
            for b in bookings],
        "quota_accounts": [
            {"program_id": q.program_id, "year": q.year}
            for q in session.scalars(select(QuotaAccount).where(QuotaAccount.user_id == user.id))],
        "strikes": [{"booking_id": s.booking_id, "at": _iso(s.at), "reason": s.reason}
                    for s in session.scalars(select(Strike).where(Strike.user_id == user.id))],
        "notifications": [
            {"kind": n.kind, "subject": n.subject, "created_at": _iso(n.created_at),
             "status": n.status}
            for n in session.scalars(select(Notification).where(Notification.user_id == user.id)
                                     .order_by(Notification.id))],
        "api_tokens": [{"label": t.label, "created_at": _iso(t.created_at),
                        "revoked_at": _iso(t.revoked_at)}
                       for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))],
    }


def personal_data_csv(data: dict[str, Any]) -> str:
    """The same data as rows of section, item, field, value (opens in any spreadsheet)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "field", "value"])
    for section, content in data.items():
        items = content if isinstance(content, list) else [content]
        for index, item in enumerate(items, start=1):
            for field, value in item.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                writer.writerow([section, index, field, "" if shown is None else shown])
    return "\ufeff" + out.getvalue()  # BOM: Excel opens the Chinese text correctly


def view_personal_data(session: Session, staff: User, user: User) -> dict[str, Any]:
    """A staff member reads a person's unmasked data: recorded in the audit log, every time."""
    record(session, staff.id, "personal_data.view", "user", user.id)
    return personal_data(session, user)


def erase(session: Session, user: User, at: datetime, *, retention_years: int,
          secret: str) -> Erasure:
    """Anonymise the person's fields; bookings, vouchers, quota and the journal keep the user id,
    which from now on belongs to a pseudonym only."""
    existing = session.scalar(select(Erasure).where(Erasure.user_id == user.id))
    if existing is not None:
        return existing
    upcoming = session.scalar(select(Booking.id).where(
        Booking.creator_id == user.id, Booking.status.in_(("confirmed", "checked_in"))).limit(1))
    if upcoming is not None:
        # open bookings still move money; they must end first so the books stay reconciled
        raise Conflict("erasure_blocked", "cancel or finish your open bookings first",
                       details={"booking_id": upcoming})
    pseudonym = rules.pseudonym_for(secrets.token_hex(8))
    erasure = Erasure(user_id=user.id, pseudonym=pseudonym, erased_at=at,
                      retain_until=rules.retain_until(at.date(), retention_years),
                      identity_digest=rules.identity_digest(secret, user.email, user.phone))
    session.add(erasure)
    user.display_name = f"已注销用户 {pseudonym}"
    user.phone = ""
    user.email = f"{pseudonym.lower()}@erased.invalid"
    user.password_hash = "!erased"  # no password matches
    user.active = False
    user.session_nonce = secrets.token_hex(8)  # ends every signed-in session
    user.calendar_secret = None  # the iCal feed stops
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.execute(delete(Notification).where(Notification.user_id == user.id))
    session.flush()
    record(session, user.id, "personal_data.erase", "user", user.id,
           after={"pseudonym": pseudonym, "retain_until": erasure.retain_until.isoformat()})
    return erasure


def apply_retention(session: Session, moment: datetime, *, notification_days: int) -> int:
    """The scheduled sweep: drop re-identification keys whose retention ended, and old
    notification texts. Returns how many records it changed."""
    changed = 0
    for erasure in session.scalars(select(Erasure).where(
            Erasure.purged_at.is_(None), Erasure.retain_until <= moment.date())):
        erasure.identity_digest = None
        erasure.purged_at = moment
        changed += 1
    result = session.execute(delete(Notification).where(
        Notification.status != "pending",
        Notification.created_at < moment - timedelta(days=notification_days)))
    session.flush()
    return changed + (result.rowcount or 0)
