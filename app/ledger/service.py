"""Posting to the journal and reading balances back. Entries are never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.core.clock import now as clock_now
from app.core.clock import to_local
from app.core.db import write_core
from app.core.errors import AppError
from app.ledger.models import ACCOUNTS, ClosedPeriod, JournalEntry, JournalLine


@dataclass(frozen=True)
class Line:
    account: str
    amount_fen: int  # debit positive, credit negative
    program_id: int | None = None
    venue_id: int | None = None
    voucher_id: int | None = None
    booking_id: int | None = None
    user_id: int | None = None
    year: int | None = None


class UnbalancedEntry(AppError):
    status = 500
    code = "unbalanced_entry"


_INSERT_ENTRY = insert(JournalEntry).returning(JournalEntry.id)
_INSERT_LINES = insert(JournalLine)


def period_of(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m")


def is_closed(session: Session, period: str) -> bool:
    return session.get(ClosedPeriod, period) is not None


def post(
    session: Session,
    kind: str,
    lines: list[Line],
    *,
    at: datetime | None = None,
    actor_id: int | None = None,
    memo: str = "",
    booking_id: int | None = None,
    voucher_id: int | None = None,
    program_id: int | None = None,
    venue_id: int | None = None,
    corrects_id: int | None = None,
) -> int:
    """Post one balanced entry and return its id. An entry for a closed month lands in the open
    month instead."""
    moment = at or clock_now()
    lines = [line for line in lines if line.amount_fen != 0]
    if not lines:
        raise UnbalancedEntry(message=f"{kind}: an entry needs lines")
    if sum(line.amount_fen for line in lines) != 0:
        raise UnbalancedEntry(message=f"{kind}: debits and credits differ")
    unknown = {line.account for line in lines} - set(ACCOUNTS)
    if unknown:
        raise UnbalancedEntry(message=f"{kind}: unknown accounts {sorted(unknown)}")
    period = period_of(moment)
    # only a past month can be closed (finance.close_period): the current one needs no look
    if period < period_of(clock_now()) and is_closed(session, period):
        # closed periods are never rewritten: the movement is dated into the open month
        period = period_of(clock_now())
        if is_closed(session, period):
            raise AppError("period_closed", status=409, message=f"period {period} is closed")
    # Two statements built once (the entry, then its lines in one execute): an entry is
    # written once and never changed.
    entry_id = write_core(session, _INSERT_ENTRY, {
        "posted_at": moment, "period": period, "kind": kind, "memo": memo, "actor_id": actor_id,
        "booking_id": booking_id, "voucher_id": voucher_id, "program_id": program_id,
        "venue_id": venue_id, "corrects_id": corrects_id}).scalar_one()
    write_core(session, _INSERT_LINES, [{"entry_id": entry_id, **line.__dict__} for line in lines])
    return entry_id


def move(session: Session, kind: str, amount_fen: int, debit: str, credit: str, **dims) -> int:
    """The common two-line entry: ``amount`` from ``credit`` to ``debit`` with the same dimensions."""
    entry_keys = {"at", "actor_id", "memo", "corrects_id"}
    entry_args = {k: v for k, v in dims.items() if k in entry_keys}
    line_dims = {k: v for k, v in dims.items() if k not in entry_keys}
    return post(
        session, kind,
        [Line(debit, amount_fen, **line_dims), Line(credit, -amount_fen, **line_dims)],
        booking_id=line_dims.get("booking_id"), voucher_id=line_dims.get("voucher_id"),
        program_id=line_dims.get("program_id"), venue_id=line_dims.get("venue_id"),
        **entry_args,
    )


def balance(session: Session, account: str, **dims) -> int:
    query = select(func.coalesce(func.sum(JournalLine.amount_fen), 0)).where(
        JournalLine.account == account)
    for name, value in dims.items():
        query = query.where(getattr(JournalLine, name) == value)
    return int(session.scalar(query))
