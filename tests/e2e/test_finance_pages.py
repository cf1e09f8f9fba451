"""Finance from the pages: a month's statement drafted, issued and settled; reconciliation; charts."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime

import pytest

from app.finance.reconcile import INVARIANTS
from tests.helpers import ADMIN, CREATOR, FINANCE, HP_CREATOR, OP_FTC, OP_VJC, PASSWORD, book

MONTH = "2026-12"
CHARTS = ("redemptions", "quota", "batches")


def _signed_in(app, email, english=True):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    if english:  # assertions read the English wording, whatever the Chinese catalog says
        client.get("/lang/en?next=/")
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


def _venue_id(api, code: str) -> int:
    return next(v["id"] for v in api.get("/api/v1/venues").get_json()["items"] if v["code"] == code)


@pytest.fixture
def checked_in(api):
    """yp.creator books vjc-live-01 with a voucher; the V聚场 front desk checks them in."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    response = book(api, "vjc-live-01", "2026-12-01", "10:00", "12:00", voucher_code=code)
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    result = api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]}).get_json()
    assert result["result"] == "ok"
    return {"booking": booking, "code": code}


def _draft_from_page(finance, venue_id: int) -> int:
    response = finance.post("/finance/statements", data={"venue_id": str(venue_id), "month": MONTH})
    assert response.status_code == 302, _text(response)
    match = re.search(r"/finance/statements/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def test_a_month_that_has_not_ended_is_not_issued(api):
    finance = _signed_in(api.app, FINANCE)
    statement_id = _draft_from_page(finance, _venue_id(api, "vjc-chuangzhi"))
    refused = finance.post(f"/finance/statements/{statement_id}/issue", data={"confirm": "1"})
    assert refused.status_code == 409
    assert "The month has not ended yet" in _text(refused)
    assert "statement-draft" in _text(refused)


def test_statement_drafted_issued_and_settled_from_pages(api, checked_in, frozen_clock):
    frozen_clock.set(datetime(2027, 1, 2, 2, 0, tzinfo=UTC))  # December is over: it can be issued
    finance = _signed_in(api.app, FINANCE)
    vjc = _venue_id(api, "vjc-chuangzhi")

    page = _text(finance.get(f"/finance/statements?month={MONTH}"))
    assert 'id="venue-vjc-chuangzhi"' in page and 'name="venue_id"' in page
    assert "No statements for this month yet." in page

    statement_id = _draft_from_page(finance, vjc)
    page = _text(finance.get(f"/finance/statements/{statement_id}"))
    assert checked_in["code"] in page
    assert "¥300.00" in page
    assert f"#{checked_in['booking']['id']}" in page
    assert "V聚场前台 李运营" in page  # who checked the creator in
    assert "13800001234" not in page  # the creator's phone stays masked
    assert f"/api/v1/finance/statements/{statement_id}/export?format=csv" in page
    assert f"/api/v1/finance/statements/{statement_id}/export?format=xlsx" in page
    assert 'class="sha256"' not in page  # no checksum before issuing

    listing = _text(finance.get(f"/finance/statements?month={MONTH}"))
    assert f'id="statement-{statement_id}"' in listing and 'id="venue-vjc-chuangzhi"' not in listing

    assert finance.post(f"/finance/statements/{statement_id}/refresh").status_code == 302
    unconfirmed = finance.post(f"/finance/statements/{statement_id}/issue")
    assert unconfirmed.status_code == 422
    assert "Nothing was issued" in _text(unconfirmed)
    assert api.get(f"/api/v1/finance/statements/{statement_id}", FINANCE).get_json()["status"] == "draft"

    issued = finance.post(f"/finance/statements/{statement_id}/issue", data={"confirm": "1"},
                          follow_redirects=True)
    assert issued.status_code == 200
    digest = api.get(f"/api/v1/finance/statements/{statement_id}", FINANCE).get_json()["file_sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    page = _text(issued)
    exported = finance.get(f"/api/v1/finance/statements/{statement_id}/export?format=csv")
    assert exported.status_code == 200  # the page's link works with the page's session
    assert hashlib.sha256(exported.get_data()).hexdigest() == digest
    assert f'<code class="sha256">{digest}</code>' in page
    assert "Record the payment" in page and "Issue the statement" not in page
    assert finance.post(f"/finance/statements/{statement_id}/refresh").status_code == 409

    no_reference = finance.post(f"/finance/statements/{statement_id}/settle",
                                data={"payment_reference": " ", "payment_date": "2027-01-10"})
    assert no_reference.status_code == 422
    settled = finance.post(f"/finance/statements/{statement_id}/settle",
                           data={"payment_reference": "ZF-2027-0001", "payment_date": "2027-01-10"},
                           follow_redirects=True)
    assert settled.status_code == 200
    page = _text(settled)
    assert "ZF-2027-0001" in page and "2027-01-10" in page and digest in page

    body = api.get(f"/api/v1/finance/statements/{statement_id}", FINANCE).get_json()
    assert body["status"] == "settled"
    assert body["payment_reference"] == "ZF-2027-0001" and body["payment_date"] == "2027-01-10"
    assert body["total_fen"] == 30000

    other = finance.post(f"/finance/statements/{statement_id}/settle",
                         data={"payment_reference": "OTHER", "payment_date": "2027-01-11"})
    assert other.status_code == 409
    assert "already settled" in _text(other)


def test_administrators_may_look_but_not_write(api, checked_in):
    finance = _signed_in(api.app, FINANCE)
    statement_id = _draft_from_page(finance, _venue_id(api, "vjc-chuangzhi"))
    admin = _signed_in(api.app, ADMIN)
    assert admin.get("/finance/").status_code == 200
    page = _text(admin.get(f"/finance/statements/{statement_id}"))
    assert checked_in["code"] in page and "Issue the statement" not in page
    assert 'name="venue_id"' not in _text(admin.get(f"/finance/statements?month={MONTH}"))
    assert admin.post(f"/finance/statements/{statement_id}/issue",
                      data={"confirm": "1"}).status_code == 403
    assert admin.post("/finance/statements", data={"venue_id": "1", "month": MONTH}).status_code == 403
    assert admin.post("/finance/periods/close", data={"month": "2026-11"}).status_code == 403
    assert api.get(f"/api/v1/finance/statements/{statement_id}", FINANCE).get_json()["status"] == "draft"


def test_reconciliation_page_shows_every_invariant_and_totals(api, checked_in):
    finance = _signed_in(api.app, FINANCE)
    _draft_from_page(finance, _venue_id(api, "vjc-chuangzhi"))
    page = _text(finance.get(f"/finance/reconciliation?month={MONTH}"))
    assert "All invariants hold for 2026-12." in page
    for number, text in INVARIANTS.items():
        assert f'id="invariant-{number}" class="card invariant ok"' in page
        assert text in html.unescape(page)  # the page's wording is the checker's
    assert "FAIL" not in page
    assert "V聚场" in page  # the venue's row in the totals
    assert "¥300.00" in page

    bad = finance.get("/finance/reconciliation?month=2026-13")
    assert bad.status_code == 422 and "Choose a month as YYYY-MM." in _text(bad)


def test_reconciliation_page_names_what_is_wrong(api, checked_in):
    from sqlalchemy import text

    from app.extensions import db

    finance = _signed_in(api.app, FINANCE)
    statement_id = _draft_from_page(finance, _venue_id(api, "vjc-chuangzhi"))
    with api.app.app_context():
        db.session.execute(text("UPDATE statements SET total_fen = 99 WHERE id = :i"),
                           {"i": statement_id})
        db.session.commit()
    page = _text(finance.get(f"/finance/reconciliation?month={MONTH}"))
    assert 'id="invariant-5" class="card invariant fail"' in page
    assert 'id="invariant-4" class="card invariant ok"' in page
    assert f'href="/finance/statements/{statement_id}"' in page
    assert "total 99 fen over 1 lines" in page
    assert "1 violation found." in page


def test_closing_a_month_from_the_reconciliation_page(api):
    finance = _signed_in(api.app, FINANCE)
    still_open = finance.post("/finance/periods/close", data={"month": MONTH})
    assert still_open.status_code == 422
    assert "Only a past month can be closed." in _text(still_open)
    closed = finance.post("/finance/periods/close", data={"month": "2026-11"}, follow_redirects=True)
    assert closed.status_code == 200
    page = _text(closed)
    assert "2026-11 is closed" in page and "Closed months: 2026-11" in page


def test_finance_pages_are_for_finance_and_administrators(api):
    creator = _signed_in(api.app, CREATOR)
    assert creator.get("/finance/").status_code == 403
    assert creator.get("/finance/statements").status_code == 403
    assert creator.get("/finance/charts/quota.png").status_code == 403
    assert "/finance/" not in _text(creator.get("/"))  # no nav link either
    anonymous = api.app.test_client()
    response = anonymous.get("/finance/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_dashboard_shows_the_three_charts(api):
    finance = _signed_in(api.app, FINANCE)
    page = _text(finance.get("/finance/"))
    assert 'href="/finance/"' in page  # the nav link
    for name in CHARTS:
        assert re.search(rf'<img src="/finance/charts/{name}\.png" alt="[^"]+"', page)
    assert "/finance/statements?month=2026-11" in page  # last month, by default


def test_each_chart_is_a_png(api, checked_in):
    quota_booking = book(api, "ftc-live-01", "2026-12-01", "10:00", "11:00", HP_CREATOR).get_json()
    api.post("/api/v1/checkins", OP_FTC, json={"booking_id": quota_booking["id"]})
    finance = _signed_in(api.app, FINANCE)
    for name in CHARTS:
        response = finance.get(f"/finance/charts/{name}.png")
        assert response.status_code == 200, name
        assert response.mimetype == "image/png"
        assert response.get_data().startswith(b"\x89PNG")
        assert "private" in response.headers["Cache-Control"]
        assert "max-age=60" in response.headers["Cache-Control"]
    assert finance.get("/finance/charts/nope.png").status_code == 404


def test_chart_numbers_come_from_the_ledger(api, checked_in):
    from app.extensions import db
    from app.finance import charts

    quota_booking = book(api, "ftc-live-01", "2026-12-01", "10:00", "11:00", HP_CREATOR).get_json()
    with api.app.test_request_context():
        starts, series = charts.weekly_redemptions(db.session)
        assert len(starts) == 12 and starts[-1].isoformat() == "2026-11-30"  # Monday of this week
        assert series == {"V聚场·创智天地6号楼": [0] * 11 + [30000]}
        quota = charts.quota_by_creator(db.session, 2026)
        assert quota == [("黄**", quota_booking["price"]["quota_fen"], 0)]  # held, not consumed yet
        batches = charts.batch_burn_down(db.session)
        assert any(by_state.get("redeemed") == 1 for _name, _left, by_state in batches)
