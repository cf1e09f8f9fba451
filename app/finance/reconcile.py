"""Reconciliation: check the invariants finance relies on (DOMAIN.md) for one month.

Every check is a SQL aggregation; Python only compares the results. Each violation names
the invariant, the object and what is wrong, so finance can follow it up.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from app.booking.models import ACTIVE_STATUSES, Booking, BookingEvent
from app.booking.rules import local_midnight
from app.catalog.models import Program, Resource, Venue
from app.catalog.published import published_lists
from app.checkin.models import CheckIn
from app.checkin.rules import window as checkin_window
from app.core.clock import to_local
from app.finance.models import Statement, StatementLine
from app.ledger.models import JournalEntry, JournalLine
from app.payments.models import OnlineOrder, Payment
from app.payments.rules import outstanding_fen
from app.quota.models import QuotaAccount, QuotaHold
from app.vouchers.models import Voucher, VoucherBatch
from app.vouchers.rules import STATE_ACCOUNT

INVARIANTS = {
    1: "No two active bookings of a resource overlap.",
    2: "For every creator, program and year: held + consumed ≤ cap.",
    3: "Every redeemed voucher and every consumed quota entry has exactly one successful check-in.",
    4: "Every journal entry balances; each voucher's state equals what its ledger entries say.",
    5: "A statement's total equals the sum of its lines; an issued statement never changes.",
    6: "No voucher is redeemed after its last valid day, or twice.",
    7: "A booking's status agrees with its check-in, voucher and quota state.",
    8: "A booking's voucher part equals what its voucher covered, its quota part its active "
       "holds, and the parts add up to its price.",
    9: "Every check-in belongs to a booking that was confirmed when scanned, inside its window.",
    10: "A booking's payments minus refunds never exceed its self-pay; an online payment's "
        "amount equals its order's.",
    11: "A completed booking's self-pay is collected or listed as outstanding.",
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


def check_booking_states(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 7, for bookings starting in the month: a cancelled or no-show booking has no
    check-in, no redeemed or held voucher and no live quota hold (forfeits are forfeits); a
    checked-in or completed one has its check-in and was never cancelled; an active booking's
    voucher is held (or redeemed) by that very booking."""
    in_month = and_(Booking.start_at >= start, Booking.start_at < end)
    ended = Booking.status.in_(("cancelled", "no_show"))
    used = Booking.status.in_(("checked_in", "completed"))
    violations = [
        Violation(7, "booking", str(booking_id), f"{status} but checked in at the door")
        for booking_id, status in session.execute(
            select(Booking.id, Booking.status).outerjoin(CheckIn, CheckIn.booking_id == Booking.id)
            .where(in_month, ended, or_(CheckIn.id.is_not(None), Booking.checked_in_at.is_not(None))))
    ]
    violations += [
        Violation(7, "booking", str(booking_id), f"{status} but its voucher {code} is {v_status}")
        for booking_id, status, code, v_status in session.execute(
            select(Booking.id, Booking.status, Voucher.code, Voucher.status)
            .join(Voucher, or_(Voucher.redeemed_booking_id == Booking.id,
                               and_(Voucher.booking_id == Booking.id, Voucher.status == "held")))
            .where(in_month, ended))
    ]
    violations += [
        Violation(7, "booking", str(booking_id), f"{status} but its quota hold {hold_id} is "
                                                 f"{h_status}")
        for booking_id, status, hold_id, h_status in session.execute(
            select(Booking.id, Booking.status, QuotaHold.id, QuotaHold.status)
            .join(QuotaHold, QuotaHold.booking_id == Booking.id)
            .where(in_month, ended, QuotaHold.status != "released"))
    ]
    violations += [
        Violation(7, "booking", str(booking_id), f"{status} without a check-in"
                  if cancelled_at is None else f"{status} and cancelled as well")
        for booking_id, status, cancelled_at in session.execute(
            select(Booking.id, Booking.status, Booking.cancelled_at)
            .outerjoin(CheckIn, CheckIn.booking_id == Booking.id)
            .where(in_month, used, or_(CheckIn.id.is_(None), Booking.cancelled_at.is_not(None))))
    ]
    expected = case((Booking.status == "confirmed", Voucher.status == "held"),
                    else_=Voucher.status.in_(("redeemed", "settled")))
    mine = case((Booking.status == "confirmed", Voucher.booking_id == Booking.id),
                else_=Voucher.redeemed_booking_id == Booking.id)
    violations += [
        Violation(7, "booking", str(booking_id), f"{status} with voucher {code} {v_status} "
                                                 "elsewhere or released")
        for booking_id, status, code, v_status in session.execute(
            select(Booking.id, Booking.status, Voucher.code, Voucher.status)
            .join(Voucher, Voucher.id == Booking.voucher_id)
            .where(in_month, Booking.status.in_(("confirmed", "checked_in", "completed")),
                   Booking.voucher_fen > 0, or_(~expected, ~mine)))
    ]
    return violations


def check_booking_funding(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 8, for live bookings starting in the month: voucher part = what the voucher
    covered (min(face, price) while held; what the ledger redeemed after), quota part = the
    booking's holds that are not released, and the parts add up to the price."""
    holds = (select(QuotaHold.booking_id, func.sum(QuotaHold.amount_fen).label("fen"))
             .where(QuotaHold.status != "released").group_by(QuotaHold.booking_id).subquery())
    redeemed = (select(JournalLine.booking_id, func.sum(JournalLine.amount_fen).label("fen"))
                .where(JournalLine.account.in_(("vouchers_redeemed", "vouchers_settled")))
                .group_by(JournalLine.booking_id).subquery())
    rows = session.execute(
        select(Booking.id, Booking.gross_fen, Booking.voucher_fen, Booking.quota_fen,
               Booking.self_pay_fen, Voucher.status, Voucher.face_value_fen,
               Voucher.booking_id, func.coalesce(redeemed.c.fen, 0), func.coalesce(holds.c.fen, 0))
        .outerjoin(Voucher, Voucher.id == Booking.voucher_id)
        .outerjoin(holds, holds.c.booking_id == Booking.id)
        .outerjoin(redeemed, redeemed.c.booking_id == Booking.id)
        .where(Booking.start_at >= start, Booking.start_at < end,
               Booking.status.in_(("confirmed", "checked_in", "completed")))
    ).all()
    violations = []
    for (booking_id, gross, voucher_fen, quota_fen, self_pay, v_status, face, v_holder,
         redeemed_fen, held_fen) in rows:
        if v_status == "held" and v_holder == booking_id:
            covered = min(face, gross)
        elif v_status in ("redeemed", "settled"):
            covered = int(redeemed_fen)
        else:
            covered = 0
        problems = []
        if voucher_fen != covered:
            problems.append(f"voucher part {voucher_fen} fen, the voucher covered {covered} fen")
        if quota_fen != int(held_fen):
            problems.append(f"quota part {quota_fen} fen, its holds add up to {int(held_fen)} fen")
        if voucher_fen + quota_fen + self_pay != gross:
            problems.append(f"parts add up to {voucher_fen + quota_fen + self_pay} fen, the price "
                            f"is {gross} fen")
        violations += [Violation(8, "booking", str(booking_id), p) for p in problems]
    return violations


def check_checkin_windows(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 9, for check-ins in the month: the booking is checked in (or completed), was
    never cancelled, moved or marked a no-show after the scan, and the scan fell in its window."""
    rows = session.execute(
        select(CheckIn.id, CheckIn.at, Booking.id, Booking.status, Booking.start_at,
               Booking.end_at, Resource.checkin_opens_minutes, Booking.list_version,
               Booking.resource_id)
        .join(Booking, Booking.id == CheckIn.booking_id)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(CheckIn.at >= start, CheckIn.at < end)
    ).all()
    later_changes = {
        (booking_id, kind) for booking_id, kind in session.execute(
            select(BookingEvent.booking_id, BookingEvent.kind)
            .join(CheckIn, CheckIn.booking_id == BookingEvent.booking_id)
            .where(CheckIn.at >= start, CheckIn.at < end,
                   BookingEvent.kind.in_(("cancelled", "no_show", "rescheduled")),
                   BookingEvent.at > CheckIn.at))
    }
    violations = []
    lists = published_lists()
    for checkin_id, at, booking_id, status, start_at, end_at, live, version, resource_id in rows:
        # the window the booking was made with, not an administrator's unpublished edit
        opens = lists.rule(version, resource_id, "checkin_opens_minutes", live)
        opened, closed = checkin_window(start_at, end_at, opens)
        if status not in ("checked_in", "completed"):
            violations.append(Violation(9, "checkin", str(checkin_id),
                                        f"booking {booking_id} is {status}"))
        if not opened <= at < closed:
            violations.append(Violation(
                9, "checkin", str(checkin_id),
                f"scanned {to_local(at).isoformat()} outside booking {booking_id}'s window "
                f"{to_local(opened).isoformat()} – {to_local(closed).isoformat()}"))
        violations += [Violation(9, "checkin", str(checkin_id),
                                 f"booking {booking_id} was {kind} after the scan")
                       for kind in ("cancelled", "no_show", "rescheduled")
                       if (booking_id, kind) in later_changes]
    return violations


def check_payments(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 10, for bookings starting in the month: net payments = the booking's paid
    part, within its self-pay, never negative; every online payment is its order's amount."""
    signed = case((Payment.kind == "refund", -Payment.amount_fen), else_=Payment.amount_fen)
    net = (select(Payment.booking_id, func.sum(signed).label("fen"))
           .group_by(Payment.booking_id).subquery())
    rows = session.execute(
        select(Booking.id, Booking.self_pay_fen, Booking.paid_fen, func.coalesce(net.c.fen, 0))
        .outerjoin(net, net.c.booking_id == Booking.id)
        .where(Booking.start_at >= start, Booking.start_at < end,
               or_(net.c.fen.is_not(None), Booking.paid_fen != 0))
    ).all()
    violations = []
    for booking_id, self_pay, paid, net_fen in rows:
        if int(net_fen) != paid or not 0 <= paid <= self_pay:
            violations.append(Violation(10, "booking", str(booking_id),
                                        f"payments minus refunds {int(net_fen)} fen, recorded as "
                                        f"paid {paid} fen, self-pay {self_pay} fen"))
    violations += [
        Violation(10, "payment", str(payment_id), f"online payment of {amount} fen for order "
                                                  f"{order_no} of {order_amount} fen")
        for payment_id, amount, order_no, order_amount in session.execute(
            select(Payment.id, Payment.amount_fen, OnlineOrder.order_no, OnlineOrder.amount_fen)
            .join(OnlineOrder, OnlineOrder.id == Payment.order_id)
            .where(Payment.kind == "payment", Payment.amount_fen != OnlineOrder.amount_fen,
                   Payment.at >= start, Payment.at < end))
    ]
    return violations


def check_self_pay_owed(session: Session, start: datetime, end: datetime) -> list[Violation]:
    """Invariant 11, for bookings starting in the month: what the ledger says the creator owes
    (or is owed) is exactly the self-pay not yet collected; nothing due vanishes."""
    receivable = (select(JournalLine.booking_id, func.sum(JournalLine.amount_fen).label("fen"))
                  .where(JournalLine.account == "selfpay_receivable")
                  .group_by(JournalLine.booking_id).subquery())
    rows = session.execute(
        select(Booking.id, Booking.status, Booking.self_pay_fen, Booking.paid_fen,
               Booking.late_cancel, func.coalesce(receivable.c.fen, 0))
        .outerjoin(receivable, receivable.c.booking_id == Booking.id)
        .where(Booking.start_at >= start, Booking.start_at < end)
    ).all()
    violations = []
    for booking_id, status, self_pay, paid, late, owed in rows:
        expected = outstanding_fen(status, self_pay, paid, late)
        if int(owed) != expected:
            violations.append(Violation(11, "booking", str(booking_id),
                                        f"{status}: the ledger says {int(owed)} fen outstanding, "
                                        f"self-pay {self_pay} fen less {paid} fen paid means "
                                        f"{expected} fen"))
    return violations


CHECKS_BY_INVARIANT = set(INVARIANTS)


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
    report.violations += check_booking_states(session, start, end)
    report.violations += check_booking_funding(session, start, end)
    report.violations += check_checkin_windows(session, start, end)
    report.violations += check_payments(session, start, end)
    report.violations += check_self_pay_owed(session, start, end)
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
