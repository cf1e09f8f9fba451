"""The published list is the rule (issue 14, item 1): an administrator's edit is a draft until a
new version is published; a booking is priced and ruled by the version in force when it was
made, records that version, and is never repriced or re-ruled by a later one."""

from __future__ import annotations

from app.catalog.models import Resource
from app.catalog.service import save_resource
from app.extensions import db
from tests.e2e.test_pages import _sign_in
from tests.helpers import ADMIN, CREATOR, assert_error, at, book, publish, resource_id

ROOM = "vjc-live-01"  # ¥180 an hour off-peak, Yangpu vouchers


def _current_version(api) -> int:
    return api.get("/api/v1/list-versions").get_json()["items"][0]["number"]


def test_an_unpublished_price_change_charges_nobody(api):
    room = resource_id(api, ROOM)
    published = _current_version(api)
    changed = api.patch(f"/api/v1/admin/resources/{room}", ADMIN, json={"hourly_rate_fen": 25000})
    assert changed.status_code == 200, changed.get_json()

    # everything a creator sees and pays still says ¥180
    assert api.get(f"/api/v1/resources/{room}").get_json()["rates"]["hourly_fen"] == 18000
    quote = api.post("/api/v1/bookings/quote", CREATOR, json={
        "resource_id": room, "start": at("2026-12-02", "10:00"), "end": at("2026-12-02", "11:00"),
        "use_quota": False})
    assert quote.get_json()["price"]["gross_fen"] == 18000
    client = api.app.test_client()
    _sign_in(client, CREATOR)
    confirm = client.get(f"/resources/{room}/book/confirm?date=2026-12-02&time=10:00&minutes=60")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "¥180.00" in page and "¥250.00" not in page
    before = book(api, ROOM, "2026-12-02", "10:00", "11:00", use_quota=False)
    assert before.status_code == 201, before.get_json()
    assert before.get_json()["price"]["gross_fen"] == 18000
    assert before.get_json()["list_version"] == published

    # published: new bookings pay the new price; the earlier one is not repriced
    number = publish(api, "A02 to ¥250")
    assert number == published + 1
    after = book(api, ROOM, "2026-12-02", "14:00", "15:00", use_quota=False).get_json()
    assert after["price"]["gross_fen"] == 25000 and after["list_version"] == number
    kept = api.get(f"/api/v1/bookings/{before.get_json()['id']}", CREATOR).get_json()
    assert kept["price"]["gross_fen"] == 18000 and kept["list_version"] == published


def test_an_unpublished_resource_cannot_be_booked(api):
    with api.app.app_context():
        venue_id = db.session.get(Resource, resource_id(api, ROOM)).venue_id
        draft = save_resource(db.session, None, None, {
            "code": "vjc-live-draft", "venue_id": venue_id, "name_zh": "草稿直播间",
            "kind": "livestream_room", "hourly_rate_fen": 10000, "peak_rate_fen": 10000})
        db.session.commit()
        draft_id = draft.id

    assert api.get(f"/api/v1/resources/{draft_id}").status_code == 404
    assert api.app.test_client().get(f"/resources/{draft_id}/book").status_code == 404
    refused = assert_error(book(api, "vjc-live-draft", "2026-12-02", "10:00", "11:00"), 422,
                           "resource_inactive")
    assert refused["details"]["reason"] == "not_published"

    publish(api, "a new room")
    made = book(api, "vjc-live-draft", "2026-12-02", "10:00", "11:00", use_quota=False)
    assert made.status_code == 201 and made.get_json()["price"]["gross_fen"] == 10000


def test_a_booking_keeps_the_cancellation_terms_it_was_made_with(api):
    room = resource_id(api, ROOM)
    early = book(api, ROOM, "2026-12-03", "10:00", "11:00", use_quota=False).get_json()  # 48 h ahead
    # the rule tightens to 72 hours and is published
    api.patch(f"/api/v1/admin/resources/{room}", ADMIN, json={"cancel_deadline_hours": 72})
    publish(api, "cancel 72 h ahead")
    later = book(api, ROOM, "2026-12-03", "14:00", "15:00", use_quota=False).get_json()

    assert_error(api.post(f"/api/v1/bookings/{later['id']}/cancel", CREATOR, json={}), 422,
                 "cancel_deadline_passed")
    cancelled = api.post(f"/api/v1/bookings/{early['id']}/cancel", CREATOR, json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "cancelled"


def test_an_unpublished_program_link_change_leaves_vouchers_working(api):
    room = resource_id(api, ROOM)
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    api.patch(f"/api/v1/admin/resources/{room}", ADMIN, json={"programs": []})
    # the draft drops the voucher program; the list in force still accepts it
    kept = book(api, ROOM, "2026-12-02", "10:00", "12:00", voucher_code=code)
    assert kept.status_code == 201, kept.get_json()
    assert kept.get_json()["price"]["voucher_fen"] > 0
    publish(api, "no vouchers in A01")
    other = api.get("/api/v1/me", CREATOR).get_json()["vouchers"]
    usable = [v["code"] for v in other if v["status"] == "issued"]
    refused = assert_error(book(api, ROOM, "2026-12-02", "14:00", "15:00", voucher_code=usable[0]),
                           422, "voucher_not_usable")
    assert refused["details"]["reason"] == "resource_does_not_accept_program"
