"""The district's report per program and month, and its agreement with the reconciliation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from app.extensions import db
from app.finance.reconcile import month_bounds, totals
from tests.helpers import ADMIN, CREATOR, FINANCE, HP_CREATOR, OP_FTC, OP_VJC, assert_error, book

MONTH = "2026-12"


def _seed_month(api, frozen_clock) -> None:
    """A voucher booking and two quota bookings checked in, one quota booking still held."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    voucher = book(api, "vjc-live-01", "2026-12-01", "11:00", "13:00", voucher_code=code).get_json()
    quota = book(api, "ftc-live-01", "2026-12-01", "11:00", "12:00", HP_CREATOR).get_json()
    book(api, "ftc-live-01", "2026-12-09", "11:00", "12:00", HP_CREATOR)
    frozen_clock.set(datetime(2026, 12, 1, 2, 55, tzinfo=UTC))
    assert api.post("/api/v1/checkins", OP_VJC, json={"booking_id": voucher["id"]}).get_json()[
        "result"] == "ok"
    assert api.post("/api/v1/checkins", OP_FTC, json={"booking_id": quota["id"]}).get_json()[
        "result"] == "ok"


def test_the_report_agrees_with_the_reconciliation(api, frozen_clock):
    _seed_month(api, frozen_clock)
    response = api.get(f"/api/v1/finance/programs/report?month={MONTH}", FINANCE)
    assert response.status_code == 200, response.get_json()
    items = {r["program"]: r for r in response.get_json()["items"]}
    yangpu, huangpu = items["yangpu-livestream-voucher"], items["huangpu-shared-service"]
    assert yangpu["district"] == "yangpu" and yangpu["bookings"] == 1
    assert yangpu["creators"] == 1 and yangpu["enterprises"] == 1
    assert yangpu["vouchers"]["redeemed"]["count"] == 1
    assert yangpu["hours_by"] == [{"venue": yangpu["hours_by"][0]["venue"],
                                   "kind": "livestream_room", "hours": 2.0}]
    assert huangpu["bookings"] == 2 and huangpu["hours"] == 1.0
    assert huangpu["quota"]["held_fen"] == 44000 and huangpu["quota"]["consumed_fen"] == 22000
    assert huangpu["quota"]["by_tier"] == {"A": {"held_fen": 44000, "consumed_fen": 22000}}
    with api.app.app_context():
        expected = totals(db.session, *month_bounds(MONTH))
        db.session.rollback()
    for code, row in items.items():
        program = expected["by_program"].get(code, {})
        assert row["quota"]["held_fen"] == program.get("quota_hold", {}).get("fen", 0)
        assert row["quota"]["consumed_fen"] == program.get("quota_consume", {}).get("fen", 0)
    assert sum(r["vouchers"]["redeemed"]["fen"] for r in items.values()) == sum(
        v.get("voucher", {}).get("fen", 0) for v in expected["by_venue"].values())
    assert sum(r["quota"]["consumed_fen"] for r in items.values()) == sum(
        v.get("quota", {}).get("fen", 0) for v in expected["by_venue"].values())


def test_the_report_as_csv_and_xlsx_with_chinese_headers(api, frozen_clock):
    _seed_month(api, frozen_clock)
    text = api.get(f"/api/v1/finance/programs/report?month={MONTH}&format=csv",
                   ADMIN).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["项目代码", "项目名称", "区", "月份"]
    huangpu = next(r for r in rows if r and r[0] == "huangpu-shared-service")
    assert huangpu[13] == "220.00"  # 额度使用（元）
    xlsx = api.get(f"/api/v1/finance/programs/report?month={MONTH}&format=xlsx", FINANCE)
    workbook = load_workbook(io.BytesIO(xlsx.get_data()))
    first = workbook.worksheets[0]
    assert first.cell(1, 1).value == "项目代码" and len(workbook.worksheets) == 3


def test_the_report_is_for_finance_and_administrators(api):
    assert_error(api.get(f"/api/v1/finance/programs/report?month={MONTH}", CREATOR), 403,
                 "forbidden")
    assert_error(api.get("/api/v1/finance/programs/report?month=12-2026", FINANCE), 422,
                 "validation_error")
    assert_error(api.get(f"/api/v1/finance/programs/report?month={MONTH}&format=pdf", FINANCE),
                 422, "validation_error")


def test_the_programs_page_shows_each_program_with_its_chart(api, frozen_clock):
    _seed_month(api, frozen_clock)
    from tests.e2e.test_money_pages import _signed_in

    finance = _signed_in(api.app, FINANCE)
    page = finance.get(f"/finance/programs?month={MONTH}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="program-huangpu-shared-service"' in text
    assert "Quota consumed" in text and "¥220.00" in text
    chart = finance.get(f"/finance/programs/huangpu-shared-service/chart.png?month={MONTH}")
    assert chart.status_code == 200 and chart.get_data().startswith(b"\x89PNG")
    assert finance.get(f"/finance/programs/nope/chart.png?month={MONTH}").status_code == 404
    assert _signed_in(api.app, CREATOR).get("/finance/programs").status_code == 403


def test_the_xlsx_report_survives_control_characters_in_names(api):
    """A program named with a control character (typed or pasted by an administrator) still
    exports: the spreadsheet drops what it cannot store instead of answering 500."""
    from sqlalchemy import select

    from app.catalog.models import Program
    from app.extensions import db

    with api.app.app_context():
        program = db.session.scalar(select(Program).where(Program.code == "huangpu-shared-service"))
        program.name_zh = "黄浦\x01共享服务"
        db.session.commit()
    response = api.get("/api/v1/finance/programs/report?month=2026-12&format=xlsx",
                       "finance@demo.local")
    assert response.status_code == 200 and response.get_data()[:2] == b"PK"
