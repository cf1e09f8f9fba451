"""Booking through the API: every rule's error code, idempotency, cancel, reschedule, closures."""

from __future__ import annotations

from icalendar import Calendar

from tests.helpers import (
    ADMIN,
    CREATOR,
    HP_CREATOR,
    OP_FTC,
    OP_VJC,
    assert_error,
    at,
    book,
    resource_id,
)

ROOM = "vjc-live-01"  # 09:00-24:00, 60-480 min, 15 min buffer, ¥180/h, peak ¥260/h from 19:00
DAY = "2026-12-02"    # the clock stands at 2026-12-01 10:00 in Shanghai


def test_book_returns_booking_with_price_split(api):
    response = book(api, ROOM, DAY, "18:00", "20:00")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert body["start"] == at(DAY, "18:00")
    assert body["resource"]["venue"]["district"] == "yangpu"
    assert body["price"] == {"gross_fen": 18000 + 26000, "voucher_fen": 0, "quota_fen": 0,
                             "self_pay_fen": 44000}
    assert api.get(f"/api/v1/bookings/{body['id']}", CREATOR).get_json() == body


def test_overlap_and_buffer_are_slot_taken(api):
    assert book(api, ROOM, DAY, "10:00", "12:00").status_code == 201
    assert_error(book(api, ROOM, DAY, "11:00", "13:00", HP_CREATOR), 409, "slot_taken")
    # 12:00 is inside the 15-minute buffer; 12:30 is the next free slot
    assert_error(book(api, ROOM, DAY, "12:00", "13:00", HP_CREATOR), 409, "slot_taken")
    assert_error(book(api, ROOM, DAY, "08:30", "10:00", HP_CREATOR), 422, "outside_opening_hours")
    assert_error(book(api, ROOM, DAY, "09:00", "10:00", HP_CREATOR), 409, "slot_taken")
    assert book(api, ROOM, DAY, "12:30", "13:30", HP_CREATOR).status_code == 201


def test_every_rule_hits_its_code(api):
    cases = [
        (("10:15", "11:15"), 422, "not_on_slot_boundary"),
        (("10:00", "10:30"), 422, "too_short"),
        (("09:00", "17:30"), 422, "too_long"),
        (("07:00", "09:00"), 422, "outside_opening_hours"),
    ]
    for (start, end), status, code in cases:
        assert_error(book(api, ROOM, DAY, start, end), status, code)
    assert_error(book(api, ROOM, "2026-12-01", "09:00", "10:00"), 422, "too_late_to_book")
    assert_error(book(api, ROOM, "2027-01-05", "10:00", "11:00"), 422, "too_far_ahead")
    error = assert_error(
        api.post("/api/v1/bookings", CREATOR, json={"resource_id": resource_id(api, ROOM),
                                                    "start": "2026-12-02T10:00:00",
                                                    "end": at(DAY, "09:00")}),
        422, "validation_error")
    assert "start" in error["details"]["fields"]
    assert_error(api.post("/api/v1/bookings", CREATOR, json={"resource_id": 99999,
                                                             "start": at(DAY, "10:00"),
                                                             "end": at(DAY, "11:00")}),
                 404, "not_found")


def test_inactive_resource(api):
    api.patch(f"/api/v1/admin/resources/{resource_id(api, ROOM)}", ADMIN, json={"active": False})
    assert_error(book(api, ROOM, DAY, "10:00", "11:00"), 422, "resource_inactive")


def test_only_creators_book(api):
    assert_error(book(api, ROOM, DAY, "10:00", "11:00", OP_VJC), 403, "forbidden")
    assert_error(api.post("/api/v1/bookings", json={}), 401, "unauthenticated")


def test_idempotency_key_returns_first_result(api):
    headers = {"Idempotency-Key": "phone-retry-1"}
    payload = {"resource_id": resource_id(api, ROOM), "start": at(DAY, "14:00"),
               "end": at(DAY, "15:00")}
    first = api.post("/api/v1/bookings", CREATOR, json=payload, headers=dict(headers))
    second = api.post("/api/v1/bookings", CREATOR, json=payload, headers=dict(headers))
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert len(api.get("/api/v1/bookings", CREATOR).get_json()["items"]) == 1
    other = api.post("/api/v1/bookings", CREATOR, json={**payload, "end": at(DAY, "16:00")},
                     headers=dict(headers))
    assert_error(other, 422, "idempotency_key_reused")


def test_cancel_free_and_late(api):
    early = book(api, ROOM, "2026-12-05", "10:00", "11:00").get_json()
    cancelled = api.post(f"/api/v1/bookings/{early['id']}/cancel", CREATOR, json={})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["late_cancel"] is False
    # the slot is free again
    assert book(api, ROOM, "2026-12-05", "10:00", "11:00", HP_CREATOR).status_code == 201

    soon = book(api, ROOM, "2026-12-01", "20:00", "21:00").get_json()  # within 24 h
    error = assert_error(api.post(f"/api/v1/bookings/{soon['id']}/cancel", CREATOR, json={}),
                         422, "cancel_deadline_passed")
    assert error["details"]["late_cancel_allowed"] is True
    late = api.post(f"/api/v1/bookings/{soon['id']}/cancel", CREATOR, json={"accept_late": True})
    assert late.get_json()["status"] == "cancelled"
    assert late.get_json()["late_cancel"] is True
    again = assert_error(api.post(f"/api/v1/bookings/{soon['id']}/cancel", CREATOR, json={}),
                         409, "state_changed")
    assert again["details"]["status"] == "cancelled"


def test_only_the_owner_cancels(api):
    booking = book(api, ROOM, DAY, "10:00", "11:00").get_json()
    assert_error(api.post(f"/api/v1/bookings/{booking['id']}/cancel", HP_CREATOR, json={}),
                 404, "not_found")
    assert_error(api.post(f"/api/v1/bookings/{booking['id']}/cancel", OP_VJC, json={}),
                 403, "forbidden")


def test_reschedule_is_all_or_nothing(api):
    mine = book(api, ROOM, "2026-12-03", "10:00", "11:00").get_json()
    book(api, ROOM, "2026-12-03", "14:00", "16:00", HP_CREATOR)
    moved = api.post(f"/api/v1/bookings/{mine['id']}/reschedule", CREATOR,
                     json={"start": at("2026-12-03", "18:30"), "end": at("2026-12-03", "20:00")})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start"] == at("2026-12-03", "18:30")
    assert moved.get_json()["price"]["gross_fen"] == 9000 + 26000
    # into the other creator's slot: refused, and nothing changed
    refused = api.post(f"/api/v1/bookings/{mine['id']}/reschedule", CREATOR,
                       json={"start": at("2026-12-03", "15:00"), "end": at("2026-12-03", "16:00")})
    assert_error(refused, 409, "slot_taken")
    again = api.get(f"/api/v1/bookings/{mine['id']}", CREATOR).get_json()
    assert again["start"] == at("2026-12-03", "18:30")
    # overlapping its own old time is fine
    shifted = api.post(f"/api/v1/bookings/{mine['id']}/reschedule", CREATOR,
                       json={"start": at("2026-12-03", "19:00"), "end": at("2026-12-03", "20:30")})
    assert shifted.status_code == 200


def _move(api, booking_id: int, as_user: str, start: str, end: str) -> dict:
    moved = api.post(f"/api/v1/bookings/{booking_id}/reschedule", as_user,
                     json={"start": at("2026-12-04", start), "end": at("2026-12-04", end)})
    assert moved.status_code == 200, moved.get_json()
    return moved.get_json()["price"]


def test_a_subsidised_booking_can_be_shortened_and_lengthened_again(api):
    """2 h → 1 h → 2 h with a ¥300 voucher on ¥180/h, and fully on the Huangpu quota."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    paid = book(api, ROOM, "2026-12-04", "10:00", "12:00", voucher_code=code).get_json()
    assert paid["price"] == {"gross_fen": 36000, "voucher_fen": 30000, "quota_fen": 0,
                             "self_pay_fen": 6000}
    assert _move(api, paid["id"], CREATOR, "10:00", "11:00") == {
        "gross_fen": 18000, "voucher_fen": 18000, "quota_fen": 0, "self_pay_fen": 0}
    assert _move(api, paid["id"], CREATOR, "10:00", "12:00")["voucher_fen"] == 30000

    quota = book(api, "ftc-live-01", "2026-12-04", "10:00", "12:00", HP_CREATOR).get_json()
    assert quota["price"]["quota_fen"] == quota["price"]["gross_fen"] == 44000
    assert _move(api, quota["id"], HP_CREATOR, "10:00", "11:00") == {
        "gross_fen": 22000, "voucher_fen": 0, "quota_fen": 22000, "self_pay_fen": 0}
    me = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert me["held_fen"] == 22000
    assert _move(api, quota["id"], HP_CREATOR, "10:00", "12:00")["quota_fen"] == 44000
    assert api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]["held_fen"] == 44000


def test_availability_reflects_bookings(api):
    rid = resource_id(api, ROOM)
    before = api.get(f"/api/v1/resources/{rid}/availability?from={DAY}&days=2").get_json()
    assert before["days"][0]["free"] == [{"start": at(DAY, "09:00"),
                                          "end": "2026-12-03T00:00:00+08:00", "minutes": 900}]
    book(api, ROOM, DAY, "12:00", "14:00")
    after = api.get(f"/api/v1/resources/{rid}/availability?from={DAY}&days=1").get_json()
    assert [(f["start"], f["end"]) for f in after["days"][0]["free"]] == [
        (at(DAY, "09:00"), at(DAY, "11:30")), (at(DAY, "14:30"), "2026-12-03T00:00:00+08:00")]
    today = api.get(f"/api/v1/resources/{rid}/availability?days=1").get_json()["days"][0]
    assert today["free"][0]["start"] == at("2026-12-01", "10:00")
    assert_error(api.get(f"/api/v1/resources/{rid}/availability?days=99"), 422, "validation_error")


def test_closure_lists_colliding_bookings_and_blocks_slots(api):
    booking = book(api, ROOM, DAY, "10:00", "11:00").get_json()
    rid = resource_id(api, ROOM)
    response = api.post(f"/api/v1/admin/resources/{rid}/closures", ADMIN,
                        json={"start": at(DAY, "09:00"), "end": at(DAY, "13:00"),
                              "reason": "灯光检修"})
    assert response.status_code == 201
    assert [b["id"] for b in response.get_json()["colliding_bookings"]] == [booking["id"]]
    assert api.get(f"/api/v1/bookings/{booking['id']}", CREATOR).get_json()["status"] == "confirmed"
    error = assert_error(book(api, ROOM, DAY, "11:30", "12:30", HP_CREATOR), 422,
                         "outside_opening_hours")
    assert error["details"]["reason"] == "closure"
    free = api.get(f"/api/v1/resources/{rid}/availability?from={DAY}&days=1").get_json()
    assert free["days"][0]["free"][0]["start"] == at(DAY, "13:00")
    assert_error(api.post(f"/api/v1/admin/resources/{rid}/closures", CREATOR,
                          json={"start": at(DAY, "09:00"), "end": at(DAY, "13:00")}),
                 403, "forbidden")


def test_who_sees_which_booking(api):
    booking = book(api, ROOM, DAY, "10:00", "11:00").get_json()
    assert api.get(f"/api/v1/bookings/{booking['id']}", OP_VJC).status_code == 200
    assert_error(api.get(f"/api/v1/bookings/{booking['id']}", OP_FTC), 404, "not_found")
    assert_error(api.get(f"/api/v1/bookings/{booking['id']}", HP_CREATOR), 404, "not_found")
    assert api.get(f"/api/v1/bookings/{booking['id']}", "finance@demo.local").status_code == 200
    seen_by_op = api.get(f"/api/v1/bookings?date={DAY}", OP_VJC).get_json()["items"]
    assert [b["id"] for b in seen_by_op] == [booking["id"]]
    assert "*" in seen_by_op[0]["creator"]["phone"]
    assert api.get(f"/api/v1/bookings?date={DAY}", OP_FTC).get_json()["items"] == []
    assert api.get("/api/v1/bookings", HP_CREATOR).get_json()["items"] == []


def test_calendar_feeds(api):
    booking = book(api, ROOM, DAY, "10:00", "11:00").get_json()
    url = api.get("/api/v1/me", CREATOR).get_json()["calendar_url"]
    assert url.startswith("http") and url.endswith(".ics")
    path = url.split("localhost", 1)[1]
    response = api.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.get_data())
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    assert str(events[0]["uid"]).startswith(f"booking-{booking['id']}@")
    assert events[0].decoded("dtstart").isoformat() == "2026-12-02T02:00:00+00:00"
    assert api.get("/calendar/not-a-real-secret-value.ics").status_code == 404
    # the operator's resource feed
    op_url = api.get("/api/v1/me", OP_VJC).get_json()["calendar_url"]
    secret = op_url.rsplit("/", 1)[1].removesuffix(".ics")
    rid = resource_id(api, ROOM)
    feed = api.get(f"/calendar/{secret}/resources/{rid}.ics")
    assert len(Calendar.from_ical(feed.get_data()).walk("VEVENT")) == 1
    other_secret = api.get("/api/v1/me", OP_FTC).get_json()["calendar_url"].rsplit("/", 1)[1]
    assert api.get(f"/calendar/{other_secret.removesuffix('.ics')}/resources/{rid}.ics").status_code == 404
