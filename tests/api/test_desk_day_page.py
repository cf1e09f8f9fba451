"""The desk's day on one screen: check out, a no-show recorded early when the creator calls,
a room closed now with the bookings it collides with listed, a walk-in booked from the page."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.notify.models import Notification
from tests.helpers import CREATOR, OP_FTC, OP_VJC, PASSWORD, book, resource_id

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai


def _desk(app, email=OP_VJC):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


def _status(api, booking_id):
    return api.get(f"/api/v1/bookings/{booking_id}", OP_VJC).get_json()["status"]


def test_check_out_and_an_early_no_show_from_the_day_page(api):
    here = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    later = book(api, "vjc-live-02", TODAY, "15:00", "16:00").get_json()
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": here["id"]})
    desk = _desk(api.app)
    page = desk.get("/operator/scan").get_data(as_text=True)
    assert f"/operator/desk/bookings/{here['id']}/checkout" in page
    assert f"/operator/desk/bookings/{later['id']}/no-show" in page
    done = desk.post(f"/operator/desk/bookings/{here['id']}/checkout", follow_redirects=True)
    assert "已签退" in done.get_data(as_text=True)
    assert _status(api, here["id"]) == "completed"
    # 15:00 is hours away: the sweep would not mark it yet, the desk may when the creator calls
    gone = desk.post(f"/operator/desk/bookings/{later['id']}/no-show", follow_redirects=True)
    assert "爽约" in gone.get_data(as_text=True)
    assert _status(api, later["id"]) == "no_show"
    # the slot is free again for someone else
    assert book(api, "vjc-live-02", TODAY, "15:00", "16:00").status_code == 201
    # another venue's desk cannot
    other = book(api, "vjc-live-03", TODAY, "15:00", "16:00").get_json()
    _desk(api.app, OP_FTC).post(f"/operator/desk/bookings/{other['id']}/no-show")
    assert _status(api, other["id"]) == "confirmed"


def test_closing_a_room_now_lists_the_bookings_it_collides_with(api):
    hit = book(api, "vjc-live-01", TODAY, "11:00", "12:00").get_json()
    book(api, "vjc-live-01", TODAY, "16:00", "17:00")
    room = resource_id(api, "vjc-live-01")
    answer = _desk(api.app).post("/operator/desk/closures", follow_redirects=True,
                                 data={"resource_id": room, "hours": "3", "reason": "空调故障"})
    text = answer.get_data(as_text=True)
    assert "13:00" in text and "12-01 11:00" in text and "12-01 16:00" not in text
    assert _status(api, hit["id"]) == "confirmed"  # never cancelled silently
    assert book(api, "vjc-live-01", TODAY, "12:00", "13:00").status_code == 422  # closed
    # another venue's desk cannot close this room
    _desk(api.app, OP_FTC).post("/operator/desk/closures",
                                data={"resource_id": resource_id(api, "vjc-live-02"), "hours": "2"})
    assert book(api, "vjc-live-02", TODAY, "11:00", "12:00").status_code == 201


def test_walk_in_booked_from_the_page_with_and_without_the_code(api):
    desk = _desk(api.app)
    found = desk.get(f"/operator/scan?creator={CREATOR}").get_data(as_text=True)
    creator_id = int(re.search(r'data-creator="(\d+)"', found).group(1))
    room = resource_id(api, "vjc-live-01")
    self_pay = desk.post("/operator/desk/bookings", data={
        "creator_id": creator_id, "resource_id": room, "time": "10:30", "minutes": "60"},
        follow_redirects=True).get_data(as_text=True)
    assert "自付" in self_pay and "直播券 ¥0.00" in self_pay
    desk.post("/operator/desk/confirmations", data={"creator_id": creator_id})
    with api.app.app_context():
        body = db.session.scalars(select(Notification.body).where(
            Notification.kind == "desk_confirmation")).one()
    code = re.search(r"\b(\d{6})\b", body).group(1)
    with_code = desk.post("/operator/desk/bookings", data={
        "creator_id": creator_id, "resource_id": room, "time": "14:00", "minutes": "60",
        "confirmation_code": code}, follow_redirects=True).get_data(as_text=True)
    bookings = api.get("/api/v1/bookings", CREATOR).get_json()["items"]
    by_start = {b["start"][11:16]: b for b in bookings}
    assert by_start["10:30"]["voucher"] is None
    covered = by_start["14:00"]["price"]["voucher_fen"]
    assert by_start["14:00"]["voucher"] is not None and covered > 0
    assert f"直播券 ¥{covered / 100:,.2f}" in with_code
