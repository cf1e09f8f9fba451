"""Annual quota: hold at booking, consume at check-in, release on cancel or no-show.

``held + consumed ≤ cap`` holds under concurrency because every hold first locks the creator's
account row for that program and year (``SELECT … FOR UPDATE``; SQLite serialises all writes),
then reads what is used from the ledger and takes at most what remains.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.certifications import certification_on
from app.accounts.models import User
from app.catalog.models import Program
from app.core.errors import Conflict
from app.ledger.models import JournalLine
from app.ledger.service import move
from app.quota.models import QuotaAccount, QuotaHold


def _find_account(session: Session, user_id: int, program_id: int, year: int, lock: bool):
    query = select(QuotaAccount).where(QuotaAccount.user_id == user_id,
                                       QuotaAccount.program_id == program_id,
                                       QuotaAccount.year == year)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def locked_account(session: Session, user: User, program: Program, year: int, day: date):
    """The creator's account for the year, created from the certification on ``day``; locked.

    Returns None when the creator is not certified for the program on that day: an account
    opened earlier in the year gives nothing once the certification has ended.
    """
    cert = certification_on(session, user.id, program.id, day)
    if cert is None:
        return None
    account = _find_account(session, user.id, program.id, year, lock=True)
    if account is not None:
        return account
    try:
        with session.begin_nested():
            session.add(QuotaAccount(user_id=user.id, program_id=program.id, year=year,
                                     tier_code=cert.tier.code, cap_fen=cert.tier.cap_fen))
            session.flush()
    except IntegrityError:
        pass  # created by a concurrent request: lock that one
    return _find_account(session, user.id, program.id, year, lock=True)


def used(session: Session, user_id: int, program_id: int, year: int) -> tuple[int, int]:
    """(held, consumed) from the ledger."""
    rows = dict(session.execute(
        select(JournalLine.account, func.sum(JournalLine.amount_fen))
        .where(JournalLine.user_id == user_id, JournalLine.program_id == program_id,
               JournalLine.year == year,
               JournalLine.account.in_(("quota_held", "quota_consumed", "quota_settled")))
        .group_by(JournalLine.account)
    ).all())
    held = int(rows.get("quota_held") or 0)
    consumed = int(rows.get("quota_consumed") or 0) + int(rows.get("quota_settled") or 0)
    return held, consumed


def hold(session: Session, account: QuotaAccount, booking, wanted_fen: int, *, at: datetime,
         actor_id: int | None) -> int:
    """Hold up to ``wanted_fen`` of the locked account for a booking; returns what was held."""
    held, consumed = used(session, account.user_id, account.program_id, account.year)
    amount = max(0, min(wanted_fen, account.cap_fen - held - consumed))
    if amount == 0:
        return 0
    session.add(QuotaHold(account_id=account.id, booking_id=booking.id, amount_fen=amount,
                          status="held", created_at=at))
    move(session, "quota.hold", amount, "quota_held", "quota_commitment",
         program_id=account.program_id, user_id=account.user_id, year=account.year,
         booking_id=booking.id, venue_id=booking.resource.venue_id, at=at, actor_id=actor_id)
    return amount


def active_hold(session: Session, booking_id: int) -> QuotaHold | None:
    return session.scalar(select(QuotaHold).where(QuotaHold.booking_id == booking_id,
                                                  QuotaHold.status == "held"))


def _account(session: Session, hold_row: QuotaHold) -> QuotaAccount:
    return session.get(QuotaAccount, hold_row.account_id)


def release(session: Session, booking, *, at: datetime, actor_id: int | None) -> int:
    hold_row = active_hold(session, booking.id)
    if hold_row is None:
        return 0
    account = _account(session, hold_row)
    hold_row.status = "released"
    move(session, "quota.release", hold_row.amount_fen, "quota_commitment", "quota_held",
         program_id=account.program_id, user_id=account.user_id, year=account.year,
         booking_id=booking.id, venue_id=booking.resource.venue_id, at=at, actor_id=actor_id)
    return hold_row.amount_fen


def consume(session: Session, booking, *, at: datetime, actor_id: int | None) -> int:
    """held → consumed at check-in: the amount becomes payable to the venue."""
    hold_row = active_hold(session, booking.id)
    if hold_row is None:
        return 0
    account = _account(session, hold_row)
    hold_row.status = "consumed"
    hold_row.consumed_at = at
    move(session, "quota.consume", hold_row.amount_fen, "quota_consumed", "quota_held",
         program_id=account.program_id, user_id=account.user_id, year=account.year,
         booking_id=booking.id, venue_id=booking.resource.venue_id, at=at, actor_id=actor_id)
    return hold_row.amount_fen


def settle(session: Session, hold_row: QuotaHold, *, at: datetime, actor_id: int | None,
           venue_id: int) -> None:
    if hold_row.status != "consumed":
        raise Conflict("quota_state_changed", details={"status": hold_row.status})
    account = _account(session, hold_row)
    hold_row.status = "settled"
    move(session, "quota.settle", hold_row.amount_fen, "quota_settled", "quota_consumed",
         program_id=account.program_id, user_id=account.user_id, year=account.year,
         booking_id=hold_row.booking_id, venue_id=venue_id, at=at, actor_id=actor_id)


def cap_on(session: Session, user: User, program: Program, year: int, day: date) -> int | None:
    """The year's cap that applies to a booking on ``day``; None without a certification then."""
    cert = certification_on(session, user.id, program.id, day)
    if cert is None:
        return None
    account = _find_account(session, user.id, program.id, year, lock=False)
    return account.cap_fen if account is not None else cert.tier.cap_fen


def summary(session: Session, user: User, today: date) -> list[dict]:
    """Quota per program and year in play: this year's where the creator is certified today,
    and every year that has an account (a December booking for January opens next year's)."""
    rows = []
    for program in session.scalars(select(Program).where(Program.funding == "quota")
                                   .order_by(Program.code)):
        accounts = {a.year: a for a in session.scalars(select(QuotaAccount).where(
            QuotaAccount.user_id == user.id, QuotaAccount.program_id == program.id))}
        cert = certification_on(session, user.id, program.id, today)
        years = set(accounts) | ({today.year} if cert is not None else set())
        for year in sorted(years):
            account = accounts.get(year)
            cap = account.cap_fen if account is not None else cert.tier.cap_fen
            tier = account.tier_code if account is not None else cert.tier.code
            held, consumed = used(session, user.id, program.id, year)
            rows.append({"program": program.code, "program_name": program.name_zh,
                         "program_name_en": program.name_en, "year": year, "tier": tier,
                         "cap_fen": cap, "held_fen": held, "consumed_fen": consumed,
                         "remaining_fen": cap - held - consumed})
    return rows


def apply_tier(session: Session, user_id: int, program_id: int, year: int, tier_code: str,
               cap_fen: int) -> None:
    """A tier change applies to the year's account at once; it never drops below what is used."""
    account = _find_account(session, user_id, program_id, year, lock=True)
    if account is None:
        return
    held, consumed = used(session, user_id, program_id, year)
    account.tier_code = tier_code
    account.cap_fen = max(cap_fen, held + consumed)
