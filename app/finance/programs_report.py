"""The district's report: per program and month, what its vouchers and quota did, whom it served,
how many hours were used where, and the self-pay beside it.

Money figures come from the journal for entries posted in the month (the same bounds and
accounts as ``reconcile.totals``), so the report's totals agree with the reconciliation's;
bookings, creators, enterprises and hours come from the bookings that start in the month.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import defaultdict

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.booking.models import Booking
from app.catalog.models import Program, Resource, Venue
from app.finance.reconcile import month_bounds
from app.ledger.models import JournalEntry, JournalLine
from app.quota.models import QuotaAccount
from app.vouchers.models import Voucher

# journal entry kind → the account whose positive lines are that event's value
VOUCHER_EVENTS = {"voucher.issue": ("issued", "vouchers_issued"),
                  "voucher.redeem": ("redeemed", "vouchers_redeemed"),
                  "voucher.forfeit": ("forfeited", "vouchers_forfeited"),
                  "voucher.expire": ("expired", "vouchers_expired")}
QUOTA_EVENTS = {"quota.hold": ("held_fen", "quota_held"),
                "quota.consume": ("consumed_fen", "quota_consumed")}
USED = ("checked_in", "completed")

HEADERS = ["项目代码", "项目名称", "区", "月份", "发放券数", "发放金额（元）", "核销券数", "核销金额（元）",
           "没收券数", "没收金额（元）", "过期券数", "过期金额（元）", "额度预占（元）", "额度使用（元）",
           "服务创作者数", "服务企业数", "预约数", "使用小时", "自付应收（元）", "自付已收（元）"]
TIER_HEADERS = ["项目代码", "档位", "额度预占（元）", "额度使用（元）"]
HOUR_HEADERS = ["项目代码", "场地", "资源类型", "使用小时"]


def _empty(program: Program, month: str) -> dict:
    return {"program": program.code, "name": program.name_zh, "name_en": program.name_en,
            "district": program.district.code if program.district else None, "month": month,
            "vouchers": {event: {"count": 0, "fen": 0} for event, _ in VOUCHER_EVENTS.values()},
            "quota": {"held_fen": 0, "consumed_fen": 0, "by_tier": {}},
            "creators": 0, "enterprises": 0, "bookings": 0, "hours": 0.0, "hours_by": [],
            "self_pay": {"due_fen": 0, "paid_fen": 0}}


def program_report(session: Session, month: str) -> list[dict]:
    start, end = month_bounds(month)
    programs = session.scalars(select(Program).order_by(Program.code)).all()
    rows = {p.id: _empty(p, month) for p in programs}
    posted = and_(JournalEntry.posted_at >= start, JournalEntry.posted_at < end)

    for program_id, kind, count, fen in session.execute(
            select(JournalLine.program_id, JournalEntry.kind, func.count(),
                   func.sum(JournalLine.amount_fen))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(posted, JournalLine.amount_fen > 0, JournalEntry.kind.in_(VOUCHER_EVENTS),
                   JournalLine.account.in_([a for _, a in VOUCHER_EVENTS.values()]))
            .group_by(JournalLine.program_id, JournalEntry.kind)):
        event, _account = VOUCHER_EVENTS[kind]
        rows[program_id]["vouchers"][event] = {"count": int(count), "fen": int(fen or 0)}

    for program_id, tier, kind, fen in session.execute(
            select(JournalLine.program_id, QuotaAccount.tier_code, JournalEntry.kind,
                   func.sum(JournalLine.amount_fen))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .join(QuotaAccount, and_(QuotaAccount.user_id == JournalLine.user_id,
                                     QuotaAccount.program_id == JournalLine.program_id,
                                     QuotaAccount.year == JournalLine.year))
            .where(posted, JournalLine.amount_fen > 0, JournalEntry.kind.in_(QUOTA_EVENTS),
                   JournalLine.account.in_([a for _, a in QUOTA_EVENTS.values()]))
            .group_by(JournalLine.program_id, QuotaAccount.tier_code, JournalEntry.kind)):
        field, _account = QUOTA_EVENTS[kind]
        quota = rows[program_id]["quota"]
        quota[field] += int(fen)
        quota["by_tier"].setdefault(tier, {"held_fen": 0, "consumed_fen": 0})[field] += int(fen)

    in_month = and_(Booking.start_at >= start, Booking.start_at < end,
                    Booking.program_id.is_not(None), Booking.status != "cancelled")
    for program_id, count, creators, due, paid in session.execute(
            select(Booking.program_id, func.count(), func.count(Booking.creator_id.distinct()),
                   func.sum(Booking.self_pay_fen), func.sum(Booking.paid_fen))
            .where(in_month).group_by(Booking.program_id)):
        row = rows[program_id]
        row.update(bookings=int(count), creators=int(creators))
        row["self_pay"] = {"due_fen": int(due or 0), "paid_fen": int(paid or 0)}
    for program_id, enterprises in session.execute(
            select(Booking.program_id, func.count(Voucher.enterprise_id.distinct()))
            .join(Voucher, Voucher.id == Booking.voucher_id).where(in_month)
            .group_by(Booking.program_id)):
        rows[program_id]["enterprises"] = int(enterprises)

    # durations are summed here: interval arithmetic differs between SQLite and PostgreSQL
    hours: dict = defaultdict(float)
    for program_id, venue, kind, begins, ends in session.execute(
            select(Booking.program_id, Venue.name_zh, Resource.kind, Booking.start_at,
                   Booking.end_at)
            .join(Resource, Resource.id == Booking.resource_id)
            .join(Venue, Venue.id == Resource.venue_id)
            .where(in_month, Booking.status.in_(USED))):
        hours[(program_id, venue, kind)] += (ends - begins).total_seconds() / 3600
    for (program_id, venue, kind), used in sorted(hours.items()):
        rows[program_id]["hours_by"].append({"venue": venue, "kind": kind, "hours": used})
        rows[program_id]["hours"] += used
    return [rows[p.id] for p in programs]


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def table_rows(report: list[dict]) -> tuple[list[list], list[list], list[list]]:
    """The report as three tables: programs, quota by tier, hours by venue and kind."""
    main, tiers, hours = [], [], []
    for r in report:
        v = r["vouchers"]
        main.append([r["program"], r["name"], r["district"] or "", r["month"],
                     v["issued"]["count"], _yuan(v["issued"]["fen"]),
                     v["redeemed"]["count"], _yuan(v["redeemed"]["fen"]),
                     v["forfeited"]["count"], _yuan(v["forfeited"]["fen"]),
                     v["expired"]["count"], _yuan(v["expired"]["fen"]),
                     _yuan(r["quota"]["held_fen"]), _yuan(r["quota"]["consumed_fen"]),
                     r["creators"], r["enterprises"], r["bookings"], f"{r['hours']:.2f}",
                     _yuan(r["self_pay"]["due_fen"]), _yuan(r["self_pay"]["paid_fen"])])
        tiers += [[r["program"], tier, _yuan(t["held_fen"]), _yuan(t["consumed_fen"])]
                  for tier, t in sorted(r["quota"]["by_tier"].items())]
        hours += [[r["program"], h["venue"], h["kind"], f"{h['hours']:.2f}"] for h in r["hours_by"]]
    return main, tiers, hours


def render_csv(report: list[dict]) -> str:
    main, tiers, hours = table_rows(report)
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the Chinese headers as UTF-8
    writer = csv.writer(out)
    for headers, rows in ((HEADERS, main), (TIER_HEADERS, tiers), (HOUR_HEADERS, hours)):
        writer.writerow(headers)
        writer.writerows(rows)
        writer.writerow([])
    return out.getvalue()


def xlsx_file(report: list[dict], month: str):
    from openpyxl import Workbook  # loaded on the first export, as in exports.py
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):
        # names typed by administrators may hold control characters a spreadsheet cannot store
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    workbook = Workbook(write_only=True)
    main, tiers, hours = table_rows(report)
    for title, headers, rows in ((f"项目报表 {month}", HEADERS, main), ("额度按档位", TIER_HEADERS, tiers),
                                 ("使用小时", HOUR_HEADERS, hours)):
        sheet = workbook.create_sheet(title)
        sheet.append(headers)
        for row in rows:
            sheet.append([cell(value) for value in row])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return spool
