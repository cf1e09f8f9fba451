"""Finance at month end: statements from check-ins, frozen when issued, exports, settlement."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from tests.helpers import ADMIN, CREATOR, FINANCE, HP_CREATOR, OP_FTC, OP_VJC, assert_error, book

MONTH = "2026-12"


def _venue(api, code):
    return next(v["id"] for v in api.get("/api/v1/venues").get_json()["items"] if v["code"] == code)


@pytest.fixture
def checked_in(api, frozen_clock):
    """A voucher booking at V聚场 and a quota booking at 外滩FTC, both checked in by hand; then
    the clock moves into January, so December's statements can be issued."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    voucher_booking = book(api, "vjc-live-01", "2026-12-01", "10:00", "12:00",
                           voucher_code=code).get_json()
    quota_booking = book(api, "ftc-live-01", "2026-12-01", "10:00", "11:00", HP_CREATOR).get_json()
    for booking, operator in ((voucher_booking, OP_VJC), (quota_booking, OP_FTC)):
        result = api.post("/api/v1/checkins", operator, json={"booking_id": booking["id"]}).get_json()
        assert result["result"] == "ok"
    frozen_clock.set(datetime(2027, 1, 2, 2, 0, tzinfo=UTC))
    return {"voucher": voucher_booking, "quota": quota_booking, "code": code}


def test_statement_lifecycle(api, checked_in):
    vjc = _venue(api, "vjc-chuangzhi")
    draft = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": MONTH})
    assert draft.status_code == 201
    body = draft.get_json()
    assert body["status"] == "draft" and body["total_fen"] == 30000 and len(body["lines"]) == 1
    line = body["lines"][0]
    assert line["voucher_code"] == checked_in["code"] and line["checked_in_at"]
    assert line["operator"] == "V聚场前台 李运营"
    assert "*" in line["phone"] and "1234" in line["phone"] and "13800001234" != line["phone"]
    assert body["totals_by_program"] == {"yangpu-livestream-voucher": {"count": 1, "total_fen": 30000}}

    issued = api.post(f"/api/v1/finance/statements/{body['id']}/issue", FINANCE).get_json()
    assert issued["status"] == "issued" and len(issued["file_sha256"]) == 64
    again = api.post(f"/api/v1/finance/statements/{body['id']}/issue", FINANCE).get_json()
    assert again == issued  # issuing twice changes nothing
    recreate = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": MONTH})
    assert recreate.get_json()["id"] == body["id"] and recreate.get_json()["status"] == "issued"

    exported = api.get(f"/api/v1/finance/statements/{body['id']}/export?format=csv", FINANCE)
    raw = exported.get_data()
    assert hashlib.sha256(raw).hexdigest() == issued["file_sha256"]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    totals = next(row for row in rows if row and row[0] == "合计")
    assert rows[1][0] == "序号" and totals[11] == "300.00"
    # the self-pay the venue collects itself follows, apart from the subsidy
    assert ["自付费用（场地向创作者收取，不属于区级补贴）"] in rows

    xlsx = api.get(f"/api/v1/finance/statements/{body['id']}/export?format=xlsx", FINANCE)
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = list(sheet.values)
    assert values[1][11] == "金额（元）"
    amounts = [r[11] for r in values[2:-1]]
    assert sum(amounts) == 300.0  # the XLSX total equals the redeemed amounts
    assert values[-1][11] == 300.0
    assert load_workbook(io.BytesIO(xlsx.get_data())).sheetnames[1] == "自付费用"

    settled = api.post(f"/api/v1/finance/statements/{body['id']}/settle", FINANCE,
                       json={"payment_reference": "ZF-2027-0001", "payment_date": "2027-01-10"})
    assert settled.get_json()["status"] == "settled"
    assert api.get("/api/v1/me", CREATOR).get_json()  # creator unaffected
    voucher = api.get(f"/api/v1/admin/vouchers?q={checked_in['code']}", ADMIN).get_json()["items"][0]
    assert voucher["status"] == "settled"
    assert_error(api.post(f"/api/v1/finance/statements/{body['id']}/settle", FINANCE,
                          json={"payment_reference": "OTHER", "payment_date": "2027-01-10"}),
                 409, "already_settled")
    report = api.get(f"/api/v1/finance/reconciliation?month={MONTH}", FINANCE).get_json()
    assert report["ok"], report["violations"]
    assert {i["number"] for i in report["invariants"]} == set(range(1, 12))


def test_quota_statement_and_settlement(api, checked_in):
    ftc = _venue(api, "bund-ftc")
    body = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": ftc, "month": MONTH}).get_json()
    assert body["total_fen"] == checked_in["quota"]["price"]["quota_fen"]
    api.post(f"/api/v1/finance/statements/{body['id']}/issue", FINANCE)
    api.post(f"/api/v1/finance/statements/{body['id']}/settle", FINANCE,
             json={"payment_reference": "ZF-1", "payment_date": "2027-01-05"})
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert quota["consumed_fen"] == body["total_fen"]  # settled still counts as used
    assert api.app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", MONTH]).exit_code == 0


def test_issued_statement_cannot_be_changed_in_the_database(api, checked_in):
    vjc = _venue(api, "vjc-chuangzhi")
    body = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": MONTH}).get_json()
    api.post(f"/api/v1/finance/statements/{body['id']}/issue", FINANCE)
    for statement in ("UPDATE statements SET total_fen = 1", "UPDATE statement_lines SET amount_fen = 1",
                      "DELETE FROM statement_lines", "DELETE FROM statements"):
        with api.app.app_context():
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement))
                db.session.commit()
            db.session.rollback()


def test_reconcile_names_a_draft_whose_total_is_wrong(api, checked_in):
    vjc = _venue(api, "vjc-chuangzhi")
    body = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": MONTH}).get_json()
    with api.app.app_context():
        db.session.execute(text("UPDATE statements SET total_fen = 99 WHERE id = :i"), {"i": body["id"]})
        db.session.commit()
    result = api.app.test_cli_runner().invoke(args=["finance", "reconcile", "--month", MONTH])
    assert result.exit_code == 1
    assert "[FAIL] 5." in result.output and "total 99 fen over 1 lines" in result.output


def test_closed_month_sends_late_items_to_the_next_statement(api, frozen_clock):
    """A December check-in recorded after December was closed lands on January's statement,
    marked as an adjusting line."""
    booking = book(api, "vjc-live-01", "2026-12-30", "10:00", "11:00",
                   voucher_code=api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]).get_json()
    frozen_clock.set(datetime(2027, 1, 2, 2, tzinfo=UTC))
    assert api.post("/api/v1/finance/periods/2026-12/close", FINANCE).status_code == 200
    assert_error(api.post("/api/v1/finance/periods/2027-01/close", FINANCE), 422, "period_open")
    from app.accounts.service import require_user
    from app.checkin.service import check_in

    with api.app.app_context():  # the front desk's late record of the December visit
        outcome = check_in(db.session, require_user(db.session, ADMIN), booking_id=booking["id"],
                           moment=datetime(2026, 12, 30, 2, 30, tzinfo=UTC))
        assert outcome.result == "ok"
        db.session.commit()
    vjc = _venue(api, "vjc-chuangzhi")
    december = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": "2026-12"}).get_json()
    january = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": vjc, "month": "2027-01"}).get_json()
    assert december["lines"] == []
    assert [line["adjusting"] for line in january["lines"]] == [True]


def test_finance_endpoints_are_for_finance(api):
    assert_error(api.get("/api/v1/finance/statements", CREATOR), 403, "forbidden")
    assert_error(api.get(f"/api/v1/finance/reconciliation?month={MONTH}", OP_VJC), 403, "forbidden")
    assert_error(api.post("/api/v1/finance/statements", ADMIN, json={"venue_id": 1, "month": MONTH}),
                 403, "forbidden")
    assert_error(api.get("/api/v1/finance/reconciliation?month=13", FINANCE), 422, "validation_error")
