"""Reconciliation: check the invariants finance relies on (DOMAIN.md) for one month.

Every check is a SQL aggregation; Python only compares the results. Each violation names
the invariant, the object and what is wrong, so finance can follow it up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from app.booking.rules import local_midnight
from app.ledger.models import JournalEntry, JournalLine
from app.quota.models import QuotaAccount, QuotaHold
from app.vouchers.models import Voucher
from app.vouchers.rules import STATE_ACCOUNT

INVARIANTS = {
    1: "No two active bookings of a resource overlap.",
    2: "For every creator, program and year: held + consumed ≤ cap.",
    3: "Every redeemed voucher and every consumed quota entry has exactly one successful check-in.",
    4: "Every journal entry balances; each voucher's state equals what its ledger entries say.",
    5: "A statement's total equals the sum of its lines; an issued statement never changes.",
    6: "No voucher is redeemed after its valid_until, or twice.",
}


@dataclass
class Violation:
    invariant: int
    object_type: str
    object_id: str
    message: str


@dataclass
class Report:
    month: str
    checked: list[int]
    violations: list[Violation] = field(default_factory=list)
    totals: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict:
        return {
            "month": self.month,
            "ok": self.ok,
            "invariants": [
                {"number": n, "text": INVARIANTS[n],
                 "ok": not any(v.invariant == n for v in self.violations)}
                for n in self.checked
            ],
            "violations": [asdict(v) for v in self.violations],
            "totals": self.totals,
        }


def month_bounds(month: str) -> tuple[datetime, datetime]:
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return local_midnight(first), local_midnight(following)


def check_no_overlaps(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 1: active bookings of a resource, buffers included, never overlap."""
    from sqlalchemy.orm import aliased

    from app.booking.models import ACTIVE_STATUSES, Booking

    a, b = aliased(Booking), aliased(Booking)
    rows = session.execute(
        select(a.id, b.id, a.resource_id)
        .join(b, and_(a.resource_id == b.resource_id, a.id < b.id))
        .where(a.status.in_(ACTIVE_STATUSES), b.status.in_(ACTIVE_STATUSES),
               a.start_at < b.blocked_until, b.start_at < a.blocked_until,
               a.start_at < end, a.blocked_until > start)
    ).all()
    return [Violation(1, "booking", f"{first}/{second}",
                      f"bookings {first} and {second} of resource {resource} overlap")
            for first, second, resource in rows]


def check_quota_caps(session: Session, year: int) -> list[Violation]:
    """Invariant 2, from the ledger: held + consumed never above the account's cap."""
    used = (
        select(JournalLine.user_id, JournalLine.program_id,
               func.sum(JournalLine.amount_fen).label("used"))
        .where(JournalLine.year == year,
               JournalLine.account.in_(("quota_held", "quota_consumed", "quota_settled")))
        .group_by(JournalLine.user_id, JournalLine.program_id)
        .subquery()
    )
    rows = session.execute(
        select(QuotaAccount.id, QuotaAccount.user_id, QuotaAccount.program_id, QuotaAccount.cap_fen,
               func.coalesce(used.c.used, 0))
        .outerjoin(used, and_(used.c.user_id == QuotaAccount.user_id,
                              used.c.program_id == QuotaAccount.program_id))
        .where(QuotaAccount.year == year)
    ).all()
    violations = [
        Violation(2, "quota_account", str(account_id),
                  f"creator {user_id}, program {program_id}, {year}: held + consumed "
                  f"{total} fen exceeds the cap {cap} fen")
        for account_id, user_id, program_id, cap, total in rows if total > cap
    ]
    # the holds table and the ledger must tell the same story
    holds = dict(session.execute(
        select(QuotaHold.account_id, func.sum(QuotaHold.amount_fen))
        .join(QuotaAccount, QuotaAccount.id == QuotaHold.account_id)
        .where(QuotaAccount.year == year, QuotaHold.status == "held")
        .group_by(QuotaHold.account_id)).all())
    held_in_ledger = dict(session.execute(
        select(QuotaAccount.id, func.sum(JournalLine.amount_fen))
        .join(JournalLine, and_(JournalLine.user_id == QuotaAccount.user_id,
                                JournalLine.program_id == QuotaAccount.program_id,
                                JournalLine.year == QuotaAccount.year))
        .where(QuotaAccount.year == year, JournalLine.account == "quota_held")
        .group_by(QuotaAccount.id)).all())
    for account_id in set(holds) | set(held_in_ledger):
        if int(holds.get(account_id) or 0) != int(held_in_ledger.get(account_id) or 0):
            violations.append(Violation(
                2, "quota_account", str(account_id),
                f"holds say {int(holds.get(account_id) or 0)} fen held, the ledger says "
                f"{int(held_in_ledger.get(account_id) or 0)} fen"))
    return violations


def check_entries_balance(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 4a: each entry's lines sum to zero (entries posted in the month)."""
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.kind, func.coalesce(func.sum(JournalLine.amount_fen), 0))
        .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalEntry.posted_at >= start, JournalEntry.posted_at < end)
        .group_by(JournalEntry.id, JournalEntry.kind)
        .having(func.coalesce(func.sum(JournalLine.amount_fen), 0) != 0)
    ).all()
    return [Violation(4, "journal_entry", str(entry_id),
                      f"{kind}: debits and credits differ by {total} fen")
            for entry_id, kind, total in rows]


def check_voucher_states(session: Session) -> list[Violation]:
    """Invariant 4b: each voucher's value sits in exactly the ledger account of its state.

    One query: the vouchers whose nonzero state balances are not exactly {their state's}.
    """
    from sqlalchemy import literal_column

    balances = (
        select(JournalLine.voucher_id, JournalLine.account)
        .where(JournalLine.voucher_id.is_not(None),
               JournalLine.account.in_(tuple(STATE_ACCOUNT.values())))
        .group_by(JournalLine.voucher_id, JournalLine.account)
        .having(func.sum(JournalLine.amount_fen) != 0)
        .subquery()
    )
    expected = case(*[(Voucher.status == state, literal_column(f"'{account}'"))
                      for state, account in STATE_ACCOUNT.items()])
    matching = func.sum(case((balances.c.account == expected, 1), else_=0))
    rows = session.execute(
        select(Voucher.code, Voucher.status, func.count(balances.c.account), matching,
               func.min(balances.c.account), func.max(balances.c.account))
        .outerjoin(balances, balances.c.voucher_id == Voucher.id)
        .group_by(Voucher.id, Voucher.code, Voucher.status)
        .having(or_(func.count(balances.c.account) != 1, matching != 1))
    ).all()
    state_of = {account: state for state, account in STATE_ACCOUNT.items()}
    violations = []
    for code, status, _, _, low, high in rows:
        found = sorted({state_of[a] for a in (low, high) if a}) or ["nothing"]
        violations.append(Violation(4, "voucher", code,
                                    f"status is {status}, the ledger says {', '.join(found)}"))
    return violations


def check_redemptions(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 6: no voucher redeemed twice, none redeemed after its valid_until."""
    twice = session.execute(
        select(Voucher.code, func.count(JournalEntry.id))
        .join(JournalEntry, JournalEntry.voucher_id == Voucher.id)
        .where(JournalEntry.kind == "voucher.redeem")
        .group_by(Voucher.code).having(func.count(JournalEntry.id) > 1)
    ).all()
    violations = [Violation(6, "voucher", code, f"redeemed {count} times") for code, count in twice]
    # SQL narrows to redemptions on or after the last valid day (a UTC-midnight bound that is
    # 8 hours early); Python applies the exact Shanghai end of day to those few.
    late = session.execute(
        select(Voucher.code, Voucher.valid_until, JournalEntry.posted_at)
        .join(JournalEntry, JournalEntry.voucher_id == Voucher.id)
        .where(JournalEntry.kind == "voucher.redeem",
               JournalEntry.posted_at >= start, JournalEntry.posted_at < end,
               JournalEntry.posted_at >= cast(Voucher.valid_until, DateTime))
    ).all()
    for code, valid_until, posted_at in late:
        if posted_at >= local_midnight(valid_until + timedelta(days=1)):
            violations.append(Violation(
                6, "voucher", code,
                f"redeemed {posted_at.isoformat()} after its last valid day {valid_until.isoformat()}"))
    return violations


def check_checkins(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 3: each redemption and each consumption has exactly one successful check-in."""
    from app.checkin.models import CheckIn

    checkins = (select(CheckIn.booking_id, func.count(CheckIn.id).label("n"))
                .group_by(CheckIn.booking_id).subquery())
    violations = []
    vouchers = session.execute(
        select(Voucher.code, Voucher.redeemed_booking_id, func.coalesce(checkins.c.n, 0))
        .outerjoin(checkins, checkins.c.booking_id == Voucher.redeemed_booking_id)
        .where(Voucher.status.in_(("redeemed", "settled")))
    ).all()
    violations += [Violation(3, "voucher", code,
                             f"redeemed for booking {booking_id} with {n} successful check-ins")
                   for code, booking_id, n in vouchers if n != 1]
    holds = session.execute(
        select(QuotaHold.id, QuotaHold.booking_id, func.coalesce(checkins.c.n, 0))
        .outerjoin(checkins, checkins.c.booking_id == QuotaHold.booking_id)
        .where(QuotaHold.status.in_(("consumed", "settled")))
    ).all()
    violations += [Violation(3, "quota_hold", str(hold_id),
                             f"consumed for booking {booking_id} with {n} successful check-ins")
                   for hold_id, booking_id, n in holds if n != 1]
    return violations


def check_statements(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 5: totals equal their lines; an issued file still matches its SHA-256."""
    import hashlib

    from app.finance.models import Statement, StatementLine

    sums = (select(StatementLine.statement_id, func.count().label("n"),
                   func.coalesce(func.sum(StatementLine.amount_fen), 0).label("total"))
            .group_by(StatementLine.statement_id).subquery())
    rows = session.execute(
        select(Statement.id, Statement.status, Statement.total_fen, Statement.line_count,
               func.coalesce(sums.c.total, 0), func.coalesce(sums.c.n, 0),
               Statement.issued_file, Statement.file_sha256)
        .outerjoin(sums, sums.c.statement_id == Statement.id)
    ).all()
    violations = []
    for sid, status, total, count, line_total, line_count, issued_file, digest in rows:
        if total != line_total or count != line_count:
            violations.append(Violation(5, "statement", str(sid),
                                        f"total {total} fen over {count} lines, the lines add up "
                                        f"to {line_total} fen over {line_count}"))
        if status != "draft" and (issued_file is None or digest is None or
                                  hashlib.sha256(issued_file.encode("utf-8")).hexdigest() != digest):
            violations.append(Violation(5, "statement", str(sid),
                                        "the issued file no longer matches its SHA-256"))
    return violations


def totals(session: Session, start: datetime, end: datetime) -> dict:
    """Counts and fen by program, venue and voucher batch (SQL aggregation)."""
    from app.catalog.models import Program, Venue
    from app.vouchers.models import VoucherBatch

    by_program: dict = {}
    for code, status, count, fen in session.execute(
            select(Program.code, Voucher.status, func.count(), func.sum(Voucher.face_value_fen))
            .join(Program, Program.id == Voucher.program_id).group_by(Program.code, Voucher.status)):
        by_program.setdefault(code, {})[status] = {"count": int(count), "fen": int(fen or 0)}
    for code, kind, count, fen in session.execute(
            select(Program.code, JournalEntry.kind, func.count(), func.sum(JournalLine.amount_fen))
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .join(Program, Program.id == JournalLine.program_id)
            .where(JournalEntry.kind.in_(("quota.hold", "quota.consume", "quota.release")),
                   JournalLine.amount_fen > 0,
                   JournalEntry.posted_at >= start, JournalEntry.posted_at < end)
            .group_by(Program.code, JournalEntry.kind)):
        by_program.setdefault(code, {})[kind.replace(".", "_")] = {"count": int(count), "fen": int(fen)}
    by_venue = {}
    for name, kind, count, fen in session.execute(
            select(Venue.name_zh, JournalEntry.kind, func.count(), func.sum(JournalLine.amount_fen))
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .join(Venue, Venue.id == JournalEntry.venue_id)
            .where(JournalEntry.kind.in_(("voucher.redeem", "quota.consume")),
                   JournalLine.account.in_(("vouchers_redeemed", "quota_consumed")),
                   JournalEntry.posted_at >= start, JournalEntry.posted_at < end)
            .group_by(Venue.name_zh, JournalEntry.kind)):
        by_venue.setdefault(name, {})[kind.split(".")[0]] = {"count": int(count), "fen": int(fen)}
    by_batch = {}
    for name, status, count, fen in session.execute(
            select(VoucherBatch.name, Voucher.status, func.count(), func.sum(Voucher.face_value_fen))
            .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
            .group_by(VoucherBatch.name, Voucher.status)):
        by_batch.setdefault(name, {})[status] = {"count": int(count), "fen": int(fen or 0)}
    return {"by_program": by_program, "by_venue": by_venue, "by_batch": by_batch}


CHECKS_BY_INVARIANT = {1, 2, 3, 4, 5, 6}


def reconcile(session: Session, month: str, extra_checks=()) -> Report:
    start, end = month_bounds(month)
    report = Report(month=month, checked=sorted(CHECKS_BY_INVARIANT | {n for n, _ in extra_checks}))
    report.violations += check_no_overlaps(session, start, end)
    report.violations += check_quota_caps(session, int(month[:4]))
    report.violations += check_entries_balance(session, start, end)
    report.violations += check_voucher_states(session)
    report.violations += check_checkins(session, start, end)
    report.violations += check_statements(session, start, end)
    report.violations += check_redemptions(session, start, end)
    for _, check in extra_checks:
        report.violations += check(session, start, end)
    report.violations.sort(key=lambda v: (v.invariant, v.object_type, v.object_id))
    report.totals = totals(session, start, end)
    return report


def format_report(report: Report) -> str:
    lines = [f"Reconciliation {report.month}: "
             + ("all invariants hold" if report.ok else f"{len(report.violations)} violation(s)")]
    for number in report.checked:
        bad = [v for v in report.violations if v.invariant == number]
        lines.append(f"  [{'FAIL' if bad else ' ok '}] {number}. {INVARIANTS[number]}")
        lines += [f"         - {v.object_type} {v.object_id}: {v.message}" for v in bad]
    return "\n".join(lines)
