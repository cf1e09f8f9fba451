"""Self-pay collected at the desk: partial payments, overpayment refused, refunds as new records,
and what cancelling or moving a paid booking does to the money."""

from __future__ import annotations

from app.extensions import db
from app.finance.reconcile import reconcile
from tests.helpers import ADMIN, CREATOR, FINANCE, OP_FTC, OP_VJC, assert_error, at, book

ROOM = "vjc-live-01"  # ¥180 an hour, no voucher used: all self-pay


def _pay(api, booking_id, as_user=OP_VJC, **body):
    return api.post(f"/api/v1/bookings/{booking_id}/payments", as_user,
                    json={"method": "cash", **body})


def _clean(api):
    with api.app.app_context():
        report = reconcile(db.session, "2026-12")
        assert report.ok, [(v.invariant, v.object_id, v.message) for v in report.violations]


def test_the_desk_collects_in_parts_and_never_more(api):
    booking = book(api, ROOM, "2026-12-03", "10:00", "12:00").get_json()
    assert booking["price"]["self_pay_fen"] == 36000
    assert booking["payment"] == {"paid_fen": 0, "outstanding_fen": 36000}

    first = _pay(api, booking["id"], amount_fen=20000)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["outstanding_fen"] == 16000
    second = _pay(api, booking["id"], FINANCE, method="wechat", amount_fen=16000,
                  reference="4200001234202612030001")
    listing = second.get_json()
    assert listing["paid_fen"] == 36000 and listing["outstanding_fen"] == 0
    assert [(p["method"], p["amount_fen"]) for p in listing["items"]] == [
        ("cash", 20000), ("wechat", 16000)]
    assert listing["items"][1]["reference"] == "4200001234202612030001"
    error = assert_error(_pay(api, booking["id"], amount_fen=1), 422, "overpaid")
    assert error["details"]["outstanding_fen"] == 0

    shown = api.get(f"/api/v1/bookings/{booking['id']}", CREATOR).get_json()
    assert shown["payment"] == {"paid_fen": 36000, "outstanding_fen": 0}
    assert api.get(f"/api/v1/bookings/{booking['id']}/payments", CREATOR).get_json()["paid_fen"] \
        == 36000
    _clean(api)


def test_who_may_record_a_payment(api):
    booking = book(api, ROOM, "2026-12-03", "10:00", "11:00").get_json()
    assert_error(_pay(api, booking["id"], OP_FTC, amount_fen=100), 404, "not_found")
    assert_error(_pay(api, booking["id"], CREATOR, amount_fen=100), 403, "forbidden")
    assert _pay(api, booking["id"], ADMIN, amount_fen=100).status_code == 201
    assert_error(_pay(api, booking["id"], amount_fen=100, method="bitcoin"), 422, "validation_error")
    assert_error(_pay(api, booking["id"], amount_fen=0), 422, "validation_error")
    assert_error(api.get(f"/api/v1/bookings/{booking['id']}/payments", OP_FTC), 404, "not_found")


def test_a_refund_is_a_new_record(api):
    booking = book(api, ROOM, "2026-12-03", "10:00", "11:00").get_json()
    paid = _pay(api, booking["id"], amount_fen=18000).get_json()["items"][0]
    assert_error(api.post(f"/api/v1/payments/{paid['id']}/refund", OP_VJC,
                          json={"note": "wrong amount"}), 403, "forbidden")
    back = api.post(f"/api/v1/payments/{paid['id']}/refund", FINANCE,
                    json={"amount_fen": 8000, "note": "charged the peak rate by mistake"})
    assert back.status_code == 201 and back.get_json()["kind"] == "refund"
    assert back.get_json()["refund_of_id"] == paid["id"]
    assert_error(api.post(f"/api/v1/payments/{paid['id']}/refund", FINANCE,
                          json={"amount_fen": 10001, "note": "again"}), 422, "refund_too_large")
    listing = api.get(f"/api/v1/bookings/{booking['id']}/payments", FINANCE).get_json()
    assert (listing["paid_fen"], listing["refunded_fen"], listing["outstanding_fen"]) == (
        18000, 8000, 8000)
    assert [p["kind"] for p in listing["items"]] == ["payment", "refund"]  # nothing deleted
    _clean(api)


def test_cancelled_in_time_the_payment_is_owed_back(api):
    booking = book(api, ROOM, "2026-12-05", "10:00", "11:00").get_json()
    paid = _pay(api, booking["id"], amount_fen=18000).get_json()["items"][0]
    cancelled = api.post(f"/api/v1/bookings/{booking['id']}/cancel", CREATOR, json={})
    assert cancelled.get_json()["payment"] == {"paid_fen": 18000, "outstanding_fen": -18000}
    _clean(api)
    api.post(f"/api/v1/payments/{paid['id']}/refund", FINANCE, json={"note": "cancelled in time"})
    after = api.get(f"/api/v1/bookings/{booking['id']}", CREATOR).get_json()
    assert after["payment"] == {"paid_fen": 0, "outstanding_fen": 0}
    _clean(api)


def test_cancelled_late_the_venue_keeps_what_it_collected(api):
    booking = book(api, ROOM, "2026-12-01", "20:00", "22:00").get_json()  # within 24 h
    _pay(api, booking["id"], amount_fen=10000)
    late = api.post(f"/api/v1/bookings/{booking['id']}/cancel", CREATOR, json={"accept_late": True})
    assert late.get_json()["payment"] == {"paid_fen": 10000, "outstanding_fen": 0}
    _clean(api)


def test_a_paid_booking_is_not_moved_below_what_was_paid(api):
    booking = book(api, ROOM, "2026-12-04", "10:00", "12:00").get_json()
    _pay(api, booking["id"], amount_fen=36000)
    refused = api.post(f"/api/v1/bookings/{booking['id']}/reschedule", CREATOR,
                       json={"start": at("2026-12-04", "10:00"), "end": at("2026-12-04", "11:00")})
    assert_error(refused, 422, "paid_exceeds_new_price")
    longer = api.post(f"/api/v1/bookings/{booking['id']}/reschedule", CREATOR,
                      json={"start": at("2026-12-04", "10:00"), "end": at("2026-12-04", "13:00")})
    assert longer.get_json()["payment"] == {"paid_fen": 36000, "outstanding_fen": 18000}
    _clean(api)
