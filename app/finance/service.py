"""Settlement statements: draft from the ledger, issue (frozen with SHA-256), settle (paid).

A statement's lines are the month's redemptions and consumptions at the venue, read from the
journal in one INSERT … SELECT, so a month of 100k lines is built in the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import date

from sqlalchemy import and_, case, delete, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from app.accounts.models import User
from app.audit.service import record
from app.booking.models import Booking
from app.catalog.models import Program, Resource, Venue
from app.checkin.models import CheckIn
from app.core.clock import now, to_local
from app.core.errors import AppError, Conflict, NotFound, ValidationFailed
from app.core.locks import lock_row
from app.finance import selfpay
from app.finance.models import Statement, StatementLine
from app.finance.reconcile import month_bounds
from app.ledger.models import ClosedPeriod, JournalEntry, JournalLine
from app.ledger.service import period_of
from app.quota.models import QuotaHold
from app.quota.service import settle as settle_quota
from app.vouchers.models import Voucher
from app.vouchers.service import settle as settle_voucher

PAID_ACCOUNTS = {"voucher.redeem": "vouchers_redeemed", "quota.consume": "quota_consumed"}
CSV_HEADERS = ["序号", "类型", "补贴项目", "预约号", "券码", "资源", "创作者", "手机号",
               "预约开始", "签到时间", "核验人员", "金额（元）", "调整项"]


def _masked(session: Session, column, keep_start: int, keep_end: int):
    """The first and last characters of a personal field, stars between (in SQL)."""
    if session.get_bind().dialect.name == "postgresql":
        tail = func.right(column, keep_end) if keep_end else literal("")
    else:
        tail = func.substr(column, -keep_end) if keep_end else literal("")
    return case((func.length(column) <= keep_start + keep_end, column),
                else_=func.substr(column, 1, keep_start) + "****" + tail)


def _lines_select(session: Session, statement: Statement):
    """Every paid item at the venue in the month that no other statement carries yet."""
    carried = select(StatementLine.journal_entry_id).where(
        StatementLine.statement_id != statement.id)
    operator = aliased(User)
    creator = aliased(User)
    paid_line = aliased(JournalLine)
    return (
        select(
            literal(statement.id), JournalEntry.id,
            case((JournalEntry.kind == "voucher.redeem", literal("voucher")), else_=literal("quota")),
            Program.code, Booking.id, Voucher.code, Resource.name_zh,
            _masked(session, creator.display_name, 1, 0),
            _masked(session, creator.phone, 3, 4),
            Booking.start_at, CheckIn.at, func.coalesce(operator.display_name, ""),
            paid_line.amount_fen,
            # dated before the statement's month: carried over from a closed one
            JournalEntry.posted_at < statement_month_start(statement),
            literal(""),
        )
        .join(paid_line, and_(paid_line.entry_id == JournalEntry.id,
                              paid_line.account == case(
                                  (JournalEntry.kind == "voucher.redeem", "vouchers_redeemed"),
                                  else_="quota_consumed")))
        .join(Booking, Booking.id == JournalEntry.booking_id)
        .join(Resource, Resource.id == Booking.resource_id)
        .join(creator, creator.id == Booking.creator_id)
        .join(Program, Program.id == paid_line.program_id)
        .outerjoin(Voucher, Voucher.id == JournalEntry.voucher_id)
        .outerjoin(CheckIn, CheckIn.booking_id == Booking.id)
        .outerjoin(operator, operator.id == CheckIn.operator_id)
        .where(JournalEntry.kind.in_(tuple(PAID_ACCOUNTS)),
               JournalEntry.venue_id == statement.venue_id,
               JournalEntry.period <= statement.month,
               JournalEntry.id.not_in(carried))
        .order_by(JournalEntry.posted_at, JournalEntry.id)
    )


def statement_month_start(statement: Statement):
    return month_bounds(statement.month)[0]


LINE_COLUMNS = ["statement_id", "journal_entry_id", "kind", "program_code", "booking_id",
                "voucher_code", "resource_name", "creator_name", "creator_phone", "booked_start",
                "checked_in_at", "operator_name", "amount_fen", "adjusting", "note"]


def _fill(session: Session, statement: Statement) -> None:
    session.execute(delete(StatementLine).where(StatementLine.statement_id == statement.id))
    session.execute(insert(StatementLine).from_select(LINE_COLUMNS, _lines_select(session, statement)))
    totals = session.execute(
        select(StatementLine.program_code, func.count(), func.coalesce(func.sum(StatementLine.amount_fen), 0))
        .where(StatementLine.statement_id == statement.id).group_by(StatementLine.program_code)
    ).all()
    statement.totals_by_program = {code: {"count": int(n), "total_fen": int(total)}
                                   for code, n, total in totals}
    statement.total_fen = sum(int(total) for _, _, total in totals)
    statement.line_count = sum(int(n) for _, n, _ in totals)
    statement.selfpay = selfpay.month_summary(session, statement.venue_id, statement.month)
    session.flush()
    session.expire(statement, ["lines"])


def draft(session: Session, actor_id: int | None, venue_id: int, month: str) -> Statement:
    """Create the month's draft for a venue, or refresh it; an issued one is returned unchanged."""
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotFound(message="no such venue")
    statement = session.scalar(select(Statement).where(Statement.venue_id == venue_id,
                                                       Statement.month == month))
    if statement is not None and statement.status != "draft":
        return statement
    if statement is None:
        statement = Statement(venue_id=venue_id, month=month, status="draft", created_by_id=actor_id,
                              created_at=now(), total_fen=0, line_count=0, totals_by_program={})
        session.add(statement)
        session.flush()
    _fill(session, statement)
    return statement


def line_rows(session: Session, statement: Statement) -> Iterator[list]:
    """The statement's lines as export rows (amount in fen), read in chunks as plain tuples."""
    query = (select(StatementLine.kind, StatementLine.program_code, StatementLine.booking_id,
                    StatementLine.voucher_code, StatementLine.resource_name,
                    StatementLine.creator_name, StatementLine.creator_phone,
                    StatementLine.booked_start, StatementLine.checked_in_at,
                    StatementLine.operator_name, StatementLine.amount_fen, StatementLine.adjusting)
             .where(StatementLine.statement_id == statement.id).order_by(StatementLine.id)
             .execution_options(yield_per=5000))
    program_names = dict(session.execute(select(Program.code, Program.name_zh)).all())
    rows = session.connection().execute(query)  # plain rows: no ORM bookkeeping per line
    for number, (kind, program, booking_id, code, resource, creator, phone, start, checked_in,
                 operator, amount, adjusting) in enumerate(rows, 1):
        yield [number, "直播券" if kind == "voucher" else "年度额度", program_names.get(program, program), booking_id, code or "",
               resource, creator, phone, to_local(start).strftime("%Y-%m-%d %H:%M"),
               to_local(checked_in).strftime("%Y-%m-%d %H:%M") if checked_in else "",
               operator, amount, "是" if adjusting else ""]


def render_csv(session: Session, statement: Statement, title_suffix: str = "") -> Iterator[str]:
    """The statement as CSV text, chunk by chunk: title, headers, lines, totals row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"结算单 {statement.venue.name_zh} {statement.month}{title_suffix}"])
    writer.writerow(CSV_HEADERS)
    yield "\ufeff" + out.getvalue()
    batch: list[list] = []
    for row in line_rows(session, statement):
        row[11] = f"{row[11] / 100:.2f}"
        batch.append(row)
        if len(batch) == 1000:
            yield _csv_text(batch)
            batch = []
    batch.append(["合计"] + [""] * 10 + [f"{statement.total_fen / 100:.2f}", ""])
    if statement.selfpay:
        batch += selfpay.csv_rows(statement.selfpay)
    yield _csv_text(batch)


def _csv_text(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _locked(session: Session, statement: Statement) -> Statement:
    """The statement re-read under its row lock: of two finance clerks pressing the same
    button, the second waits and then sees what the first did."""
    locked = lock_row(session, Statement, statement.id)
    if locked is None:
        raise NotFound()
    return locked


def issue(session: Session, actor_id: int, statement: Statement) -> Statement:
    """Freeze the numbers: store the export and its SHA-256. Issuing twice changes nothing."""
    statement = _locked(session, statement)
    if statement.status != "draft":
        return statement
    month_end = month_bounds(statement.month)[1]
    if now() < month_end:
        # a month's numbers can still grow until it has ended: preview it, issue it after
        raise Conflict("month_not_closed", details={"month": statement.month,
                                                    "ends": to_local(month_end).isoformat()})
    # The draft finance reviewed is what gets frozen; refreshing is a separate, visible step.
    text_file = "".join(render_csv(session, statement))
    statement.issued_file = text_file
    statement.file_sha256 = hashlib.sha256(text_file.encode("utf-8")).hexdigest()
    statement.status = "issued"
    statement.issued_at = now()
    statement.issued_by_id = actor_id
    session.flush()
    record(session, actor_id, "statement.issue", "statement", statement.id,
           after={"venue_id": statement.venue_id, "month": statement.month,
                  "total_fen": statement.total_fen, "sha256": statement.file_sha256})
    return statement


def settle(session: Session, actor_id: int, statement: Statement, reference: str,
           paid_on: date) -> Statement:
    """Record the payment; each paid voucher and quota entry moves to settled in the ledger.

    The same reference again answers as before; another reference is ``already_settled``.
    """
    statement = _locked(session, statement)
    if statement.status == "settled":
        if statement.payment_reference == reference:
            return statement
        raise Conflict("already_settled", details={"payment_reference": statement.payment_reference})
    if statement.status != "issued":
        raise AppError("not_issued", status=422)
    if not reference.strip():
        raise ValidationFailed({"payment_reference": ["Required."]})
    moment = now()
    for line in statement.lines:
        if line.kind == "voucher":
            voucher = session.scalar(select(Voucher).where(Voucher.code == line.voucher_code))
            settle_voucher(session, voucher, actor_id=actor_id, at=moment, amount_fen=line.amount_fen,
                           venue_id=statement.venue_id, booking_id=line.booking_id)
        else:
            hold = session.scalar(select(QuotaHold).where(QuotaHold.booking_id == line.booking_id,
                                                          QuotaHold.status == "consumed"))
            settle_quota(session, hold, at=moment, actor_id=actor_id, venue_id=statement.venue_id)
    statement.status = "settled"
    statement.settled_at = moment
    statement.settled_by_id = actor_id
    statement.payment_reference = reference.strip()[:120]
    statement.payment_date = paid_on
    session.flush()
    record(session, actor_id, "statement.settle", "statement", statement.id,
           after={"payment_reference": statement.payment_reference,
                  "payment_date": paid_on.isoformat(), "total_fen": statement.total_fen})
    return statement


def describe(statement: Statement, with_lines: bool = True) -> dict:
    body = {
        "id": statement.id, "venue_id": statement.venue_id, "venue": statement.venue.name_zh,
        "month": statement.month, "status": statement.status, "total_fen": statement.total_fen,
        "line_count": statement.line_count, "totals_by_program": statement.totals_by_program,
        "subsidy_fen": statement.total_fen, "selfpay": statement.selfpay or None,
        "issued_at": to_local(statement.issued_at).isoformat() if statement.issued_at else None,
        "file_sha256": statement.file_sha256,
        "payment_reference": statement.payment_reference,
        "payment_date": statement.payment_date.isoformat() if statement.payment_date else None,
    }
    if with_lines:
        body["lines"] = [{
            "kind": line.kind, "program": line.program_code, "booking_id": line.booking_id,
            "voucher_code": line.voucher_code, "resource": line.resource_name,
            "creator": line.creator_name, "phone": line.creator_phone,
            "booked_start": to_local(line.booked_start).isoformat(),
            "checked_in_at": to_local(line.checked_in_at).isoformat() if line.checked_in_at else None,
            "operator": line.operator_name, "amount_fen": line.amount_fen,
            "adjusting": line.adjusting,
        } for line in statement.lines]
    return body


def get(session: Session, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound()
    return statement


def list_statements(session: Session, month: str | None, venue_id: int | None) -> list[Statement]:
    query = select(Statement).order_by(Statement.month.desc(), Statement.venue_id)
    if month:
        query = query.where(Statement.month == month)
    if venue_id:
        query = query.where(Statement.venue_id == venue_id)
    return list(session.scalars(query))


def close_period(session: Session, actor_id: int, month: str) -> ClosedPeriod:
    """No entry may be dated in a closed month; later movements land in the open month."""
    if month >= period_of(now()):
        raise AppError("period_open", status=422, message="only a past month can be closed")
    existing = session.get(ClosedPeriod, month)
    if existing is not None:
        return existing
    closed = ClosedPeriod(period=month, closed_at=now(), closed_by_id=actor_id)
    session.add(closed)
    session.flush()
    record(session, actor_id, "period.close", "period", month)
    return closed
