"""The self-pay side of a venue's month: collected by method, refunded, still outstanding.

The district pays a venue the subsidy (redeemed vouchers, consumed quota); self-pay the venue
collects from creators itself. A statement shows both, separately: this module is the second.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.booking.models import Booking
from app.catalog.models import Resource
from app.core.clock import to_local
from app.finance.reconcile import month_bounds
from app.payments.models import Payment

METHOD_LABELS_ZH = {"cash": "现金", "wechat": "微信支付", "alipay": "支付宝", "card": "银行卡/POS",
                    "transfer": "对公转账"}


def month_summary(session: Session, venue_id: int, month: str) -> dict:
    """``{collected: {method: fen}, refunded: {method: fen}, collected_fen, refunded_fen,
    outstanding: [{booking_id, resource, start, status, self_pay_fen, paid_fen,
    outstanding_fen}], outstanding_fen}``: payments and refunds recorded in the month, and the
    month's bookings whose self-pay is not settled either way (negative: a refund is owed)."""
    start, end = month_bounds(month)
    collected: dict[str, int] = {}
    refunded: dict[str, int] = {}
    for kind, method, fen in session.execute(
            select(Payment.kind, Payment.method, func.sum(Payment.amount_fen))
            .where(Payment.venue_id == venue_id, Payment.at >= start, Payment.at < end)
            .group_by(Payment.kind, Payment.method)):
        (collected if kind == "payment" else refunded)[method] = int(fen)
    owed = case(
        (Booking.status.in_(("confirmed", "checked_in", "completed")),
         Booking.self_pay_fen - Booking.paid_fen),
        (and_(Booking.status == "cancelled", Booking.late_cancel.is_(False)), -Booking.paid_fen),
        else_=0)
    rows = session.execute(
        select(Booking.id, Resource.name_zh, Resource.name_en, Booking.start_at, Booking.status,
               Booking.self_pay_fen, Booking.paid_fen, owed)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.venue_id == venue_id, Booking.start_at >= start, Booking.start_at < end,
               Booking.status != "confirmed", owed != 0,
               or_(Booking.self_pay_fen > 0, Booking.paid_fen > 0))
        .order_by(Booking.start_at, Booking.id)).all()
    outstanding = [{"booking_id": booking_id, "resource": resource, "resource_en": resource_en,
                    "start": to_local(start_at).isoformat(), "status": status,
                    "self_pay_fen": self_pay, "paid_fen": paid, "outstanding_fen": int(due)}
                   for booking_id, resource, resource_en, start_at, status, self_pay, paid, due
                   in rows]
    return {"collected": collected, "refunded": refunded,
            "collected_fen": sum(collected.values()), "refunded_fen": sum(refunded.values()),
            "outstanding": outstanding,
            "outstanding_fen": sum(row["outstanding_fen"] for row in outstanding)}


def csv_rows(summary: dict) -> list[list]:
    """The section as rows under a statement's subsidy lines (amounts in yuan)."""
    rows: list[list] = [[], ["自付费用（场地向创作者收取，不属于区级补贴）"], ["方式", "收款（元）", "退款（元）"]]
    for method in sorted(set(summary["collected"]) | set(summary["refunded"])):
        rows.append([METHOD_LABELS_ZH.get(method, method),
                     f"{summary['collected'].get(method, 0) / 100:.2f}",
                     f"{summary['refunded'].get(method, 0) / 100:.2f}"])
    rows.append(["合计", f"{summary['collected_fen'] / 100:.2f}", f"{summary['refunded_fen'] / 100:.2f}"])
    rows.append([])
    rows.append(["待收自付（负数为应退）", "预约号", "资源", "预约开始", "自付（元）", "已付（元）", "待收（元）"])
    for row in summary["outstanding"]:
        rows.append(["", row["booking_id"], row["resource"], row["start"][:16].replace("T", " "),
                     f"{row['self_pay_fen'] / 100:.2f}", f"{row['paid_fen'] / 100:.2f}",
                     f"{row['outstanding_fen'] / 100:.2f}"])
    rows.append(["合计", "", "", "", "", "", f"{summary['outstanding_fen'] / 100:.2f}"])
    return rows
