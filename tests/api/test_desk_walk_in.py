"""The desk books for a walk-in creator: with the code sent to the creator their voucher pays,
without it the booking is self-pay; a guessed code gets a few tries, no more."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.booking.models import BookingEvent
from app.extensions import db
from app.notify.models import Notification
from tests.helpers import CREATOR, OP_FTC, OP_VJC, assert_error, at, resource_id

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai


def _creator_id(api, query=CREATOR, user=OP_VJC) -> int:
    found = api.get(f"/api/v1/desk/creators?q={query}", user).get_json()["items"]
    assert len(found) == 1, found
    return found[0]["id"]


def _sent_code(api, confirmation_id: int) -> str:
    """What the creator reads in the message the outbox sends them."""
    with api.app.app_context():
        notes = db.session.scalars(select(Notification).where(
            Notification.kind == "desk_confirmation")).all()
        note = next(n for n in notes if n.data["confirmation_id"] == confirmation_id)
        return re.search(r"\b(\d{6})\b", note.body).group(1)


def _desk_events(api, booking_id: int) -> list[tuple[str, dict]]:
    """What the booking's history says the desk did: (kind, data) of its events."""
    with api.app.app_context():
        return [(e.kind, e.data) for e in db.session.scalars(select(BookingEvent).where(
            BookingEvent.booking_id == booking_id, BookingEvent.kind == "booked_at_desk"))]


def _walk_in(api, creator, start="10:30", end="12:30", user=OP_VJC, room="vjc-live-01", **extra):
    return api.post("/api/v1/desk/bookings", user, json={
        "creator_id": creator, "resource_id": resource_id(api, room),
        "start": at(TODAY, start), "end": at(TODAY, end), **extra})


def test_find_a_creator_by_whole_email_or_phone_only(api):
    creator = _creator_id(api)
    found = api.get("/api/v1/desk/creators?q=13800001234", OP_VJC).get_json()["items"]
    assert [c["id"] for c in found] == [creator] and found[0]["phone"] == "138****1234"
    assert api.get("/api/v1/desk/creators?q=1234", OP_VJC).get_json()["items"] == []
    assert api.get(f"/api/v1/desk/creators?q={OP_FTC}", OP_VJC).get_json()["items"] == []


def test_walk_in_with_the_creators_code_uses_their_voucher(api):
    creator = _creator_id(api)
    vouchers_before = {v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]}
    sent = api.post("/api/v1/desk/confirmations", OP_VJC, json={"creator_id": creator})
    assert sent.status_code == 201, sent.get_json()
    code = _sent_code(api, sent.get_json()["id"])
    booked = _walk_in(api, creator, confirmation_code=code)
    assert booked.status_code == 201, booked.get_json()
    booking = booked.get_json()
    assert booking["creator"]["id"] == creator
    assert booking["voucher"]["code"] in vouchers_before
    assert booking["price"]["voucher_fen"] == 30000
    assert booking["price"]["self_pay_fen"] == booking["price"]["gross_fen"] - 30000
    # the creator sees it among their bookings, like one they made
    mine = api.get("/api/v1/bookings", CREATOR).get_json()["items"]
    assert booking["id"] in [b["id"] for b in mine]
    # its history says the desk booked it, with the creator's consent
    assert _desk_events(api, booking["id"]) == [("booked_at_desk", {"creator_confirmed": True})]
    # a code is used once
    again = _walk_in(api, creator, start="14:00", end="15:00", confirmation_code=code)
    assert_error(again, 422, "confirmation_invalid")


def test_walk_in_without_the_code_is_self_pay(api):
    creator = _creator_id(api)
    booked = _walk_in(api, creator)
    assert booked.status_code == 201, booked.get_json()
    booking = booked.get_json()
    assert booking["voucher"] is None
    assert booking["price"]["self_pay_fen"] == booking["price"]["gross_fen"] > 0
    assert booking["price"]["voucher_fen"] == booking["price"]["quota_fen"] == 0
    assert _desk_events(api, booking["id"]) == [("booked_at_desk", {"creator_confirmed": False})]
    vouchers = api.get("/api/v1/me", CREATOR).get_json()["vouchers"]
    assert all(v["status"] == "issued" for v in vouchers)


def test_a_voucher_without_the_code_is_refused(api):
    creator = _creator_id(api)
    voucher = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    assert_error(_walk_in(api, creator, voucher_code=voucher), 422, "confirmation_required")


def test_a_guessed_code_gets_five_tries(api):
    creator = _creator_id(api)
    sent = api.post("/api/v1/desk/confirmations", OP_VJC, json={"creator_id": creator}).get_json()
    code = _sent_code(api, sent["id"])
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        error = assert_error(_walk_in(api, creator, confirmation_code=wrong), 422,
                             "confirmation_invalid")
        assert error["details"]["attempts_left"] == left
    assert_error(_walk_in(api, creator, confirmation_code=code), 422, "confirmation_invalid")
    assert api.get("/api/v1/bookings", CREATOR).get_json()["items"] == []


def test_another_venues_room_is_not_found(api):
    creator = _creator_id(api)
    assert_error(_walk_in(api, creator, room="ftc-live-01"), 404, "not_found")
    assert_error(_walk_in(api, creator, user=OP_FTC), 404, "not_found")


def test_the_creators_quota_applies_only_with_their_code(api):
    from tests.helpers import HP_CREATOR

    creator = _creator_id(api, HP_CREATOR, OP_FTC)
    without = _walk_in(api, creator, user=OP_FTC, room="ftc-live-01").get_json()
    assert without["price"]["quota_fen"] == 0
    assert without["price"]["self_pay_fen"] == without["price"]["gross_fen"] > 0
    sent = api.post("/api/v1/desk/confirmations", OP_FTC, json={"creator_id": creator}).get_json()
    with_code = _walk_in(api, creator, start="14:00", end="15:00", user=OP_FTC, room="ftc-live-01",
                         confirmation_code=_sent_code(api, sent["id"])).get_json()
    assert with_code["price"]["quota_fen"] == with_code["price"]["gross_fen"] > 0
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert quota["held_fen"] == with_code["price"]["quota_fen"]
