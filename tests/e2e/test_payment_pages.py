"""Self-pay on the pages: the desk sees what to collect and records it; the creator's receipt
and invoice details; the venue's statement shows self-pay apart from the subsidy."""

from __future__ import annotations

from datetime import UTC, datetime

from app.extensions import db
from app.finance import service as statements
from app.finance.reconcile import reconcile
from tests.helpers import CREATOR, FINANCE, OP_FTC, OP_VJC, PASSWORD, book


def _signed_in(app, email, english=True):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    if english:
        client.get("/lang/en?next=/")
    return client


def _self_pay_booking(api, day="2026-12-01", start="11:00", end="13:00") -> dict:
    booking = book(api, "vjc-live-01", day, start, end).get_json()
    assert booking["price"]["self_pay_fen"] == 36000
    return booking


def test_the_desk_sees_what_to_collect_and_records_it(api):
    booking = _self_pay_booking(api)
    desk = _signed_in(api.app, OP_VJC)
    page = desk.get(f"/bookings/{booking['id']}").get_data(as_text=True)
    assert "To collect: ¥360.00" in page and "Record payment" in page

    paid = desk.post(f"/bookings/{booking['id']}/payments",
                     data={"method": "wechat", "amount": "200", "reference": "WX-0001"},
                     follow_redirects=True).get_data(as_text=True)
    assert "¥200.00 recorded." in paid and "To collect: ¥160.00" in paid and "WX-0001" in paid
    too_much = desk.post(f"/bookings/{booking['id']}/payments",
                         data={"method": "cash", "amount": "160.01"},
                         follow_redirects=True).get_data(as_text=True)
    assert "more than is still to be paid" in too_much and "To collect: ¥160.00" in too_much
    bad = desk.post(f"/bookings/{booking['id']}/payments", data={"method": "cash", "amount": "abc"},
                    follow_redirects=True).get_data(as_text=True)
    assert "Enter the amount in yuan" in bad
    # another venue's desk cannot even open it, nor record anything
    other = _signed_in(api.app, OP_FTC)
    assert other.get(f"/bookings/{booking['id']}").status_code == 404
    assert other.post(f"/bookings/{booking['id']}/payments",
                      data={"method": "cash", "amount": "1"}).status_code in (302, 404)
    assert api.get(f"/api/v1/bookings/{booking['id']}", CREATOR).get_json()["payment"] == {
        "paid_fen": 20000, "outstanding_fen": 16000}


def test_the_creator_prints_a_receipt_and_asks_for_an_invoice(api):
    booking = _self_pay_booking(api)
    api.post(f"/api/v1/bookings/{booking['id']}/payments", OP_VJC,
             json={"method": "cash", "amount_fen": 36000})
    creator = _signed_in(api.app, CREATOR)
    receipt = creator.get(f"/bookings/{booking['id']}/receipt").get_data(as_text=True)
    assert "Receipt for booking" in receipt and "¥360.00" in receipt and "Cash" in receipt
    refused = creator.post(f"/bookings/{booking['id']}/receipt",
                           data={"title": "上海星河互动", "tax_number": "12"},
                           follow_redirects=True).get_data(as_text=True)
    assert "Some fields are missing or invalid" in refused
    assert "91310110" not in refused  # nothing was saved
    saved = creator.post(f"/bookings/{booking['id']}/receipt",
                         data={"title": "上海星河互动文化传媒有限公司",
                               "tax_number": "91310110ma1gdemo01", "email": "fp@example.com"},
                         follow_redirects=True).get_data(as_text=True)
    assert "Invoice details saved" in saved and "91310110MA1GDEMO01" in saved
    desk = _signed_in(api.app, OP_VJC)
    assert "上海星河互动文化传媒有限公司" in desk.get(f"/bookings/{booking['id']}/receipt").get_data(
        as_text=True)
    assert desk.post(f"/bookings/{booking['id']}/receipt", data={"title": "x"}).status_code == 403
    chinese = _signed_in(api.app, CREATOR, english=False)
    assert "发票抬头" in chinese.get(f"/bookings/{booking['id']}/receipt").get_data(as_text=True)


def test_the_statement_shows_self_pay_apart_from_the_subsidy(api, frozen_clock):
    used = _self_pay_booking(api)
    unpaid = _self_pay_booking(api, start="14:00", end="16:00")
    for booking in (used, unpaid):
        frozen_clock.set(datetime.fromisoformat(booking["start"]).astimezone(UTC))
        assert api.post("/api/v1/checkins", OP_VJC,
                        json={"booking_id": booking["id"]}).get_json()["result"] == "ok"
    api.post(f"/api/v1/bookings/{used['id']}/payments", OP_VJC,
             json={"method": "card", "amount_fen": 36000, "reference": "POS-77"})
    api.post(f"/api/v1/bookings/{unpaid['id']}/payments", OP_VJC,
             json={"method": "cash", "amount_fen": 10000})
    with api.app.app_context():
        assert reconcile(db.session, "2026-12").ok
        statement = statements.draft(db.session, None, used["resource"]["venue"]["id"], "2026-12")
        db.session.commit()
        assert statement.selfpay["collected"] == {"card": 36000, "cash": 10000}
        assert [(r["booking_id"], r["outstanding_fen"]) for r in statement.selfpay["outstanding"]] \
            == [(unpaid["id"], 26000)]
        statement_id = statement.id
    page = _signed_in(api.app, FINANCE).get(f"/finance/statements/{statement_id}").get_data(
        as_text=True)
    assert "Self-pay the venue collected" in page and "Bank card / POS" in page
    assert f"#{unpaid['id']}" in page and "¥260.00" in page
