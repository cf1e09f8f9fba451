"""A front desk without the network: the signed manifest it works from, and the scans it sends
when the network is back — first valid scan wins, later ones are duplicates, a booking
cancelled meanwhile is a conflict, a resent scan changes nothing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from app.checkin.models import CheckIn, DeviceScan
from app.extensions import db
from app.ledger.models import JournalEntry
from tests.helpers import CREATOR, HP_CREATOR, OP_FTC, OP_VJC, assert_error, book

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai


def _code(api, booking_id) -> str:
    from app.booking.models import Booking
    from app.checkin.service import code_for

    with api.app.app_context():
        code = code_for(db.session, db.session.get(Booking, booking_id),
                        api.app.config["SECRET_KEY"])
        db.session.commit()
    return code


def _sync(api, device, *scans, user=OP_VJC):
    response = api.post("/api/v1/checkins/sync", user, json={"device_id": device, "scans": [
        {"scan_id": scan_id, "code": code, "scanned_at": at} for scan_id, code, at in scans]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _verifies(manifest: dict) -> bool:
    document = {k: v for k, v in manifest.items() if k != "signature"}
    signed = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = next(k for k in manifest["keys"] if k["key_id"] == manifest["signature"]["key_id"])
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["public_key"]))
    value = manifest["signature"]["value"]
    try:
        public.verify(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), signed.encode())
    except Exception:  # noqa: BLE001 - any failure means "does not verify"
        return False
    return True


def test_manifest_lists_today_and_tomorrow_at_my_venues_signed(api):
    today = book(api, "vjc-live-01", TODAY, "14:00", "15:00").get_json()
    tomorrow = book(api, "vjc-live-01", "2026-12-02", "10:00", "11:00").get_json()
    book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00")  # beyond tomorrow
    book(api, "ftc-live-01", TODAY, "14:00", "15:00", HP_CREATOR)  # another venue
    manifest = api.get("/api/v1/checkin/manifest", OP_VJC).get_json()
    assert [b["id"] for b in manifest["bookings"]] == [today["id"], tomorrow["id"]]
    first = manifest["bookings"][0]
    assert first["short_code"] == today["short_code"] and first["status"] == "confirmed"
    assert first["name"] == "杨**"  # 杨浦主播, masked
    assert "杨浦主播" not in json.dumps(manifest, ensure_ascii=False)
    assert first["checkin_opens"] == "2026-12-01T13:45:00+08:00"
    assert [k["status"] for k in manifest["keys"]] == ["signing"]
    assert "private" not in json.dumps(manifest)
    assert _verifies(manifest)
    manifest["bookings"][0]["status"] = "checked_in"  # tampered on the way
    assert not _verifies(manifest)


def test_manifest_of_a_venue_that_is_not_mine_is_refused(api):
    venues = {v["code"]: v["id"] for v in api.get("/api/v1/venues").get_json()["items"]}
    assert_error(api.get(f"/api/v1/checkin/manifest?venue={venues['bund-ftc']}", OP_VJC), 403,
                 "forbidden")
    mine = api.get(f"/api/v1/checkin/manifest?venue={venues['vjc-chuangzhi']}", OP_VJC)
    assert mine.status_code == 200


def test_manifest_marks_a_retired_key(api):
    runner = api.app.test_cli_runner()
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    old_key = _code(api, booking["id"]).split(".")[1]
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", old_key]).exit_code == 0
    manifest = api.get("/api/v1/checkin/manifest", OP_VJC).get_json()
    statuses = {k["key_id"]: k["status"] for k in manifest["keys"]}
    assert statuses[old_key] == "retired" and sorted(statuses.values()) == ["retired", "signing"]
    assert manifest["signature"]["key_id"] != old_key and _verifies(manifest)


def test_offline_scan_checks_in_once_and_a_resend_changes_nothing(api, frozen_clock):
    voucher = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00", voucher_code=voucher).get_json()
    code = _code(api, booking["id"])
    frozen_clock.advance(timedelta(minutes=25))  # the desk was offline until 10:25
    first = _sync(api, "phone-a", ("s1", code, "2026-12-01T10:05:00+08:00"))
    assert first["results"][0]["result"] == "ok"
    assert first["results"][0]["booking"]["id"] == booking["id"]
    again = _sync(api, "phone-a", ("s1", code, "2026-12-01T10:05:00+08:00"))
    assert again["results"] == first["results"]
    assert _count(api.app, CheckIn) == 1 and _count(api.app, DeviceScan) == 1
    shown = api.get(f"/api/v1/bookings/{booking['id']}", OP_VJC).get_json()
    assert shown["status"] == "checked_in" and shown["voucher"]["status"] == "redeemed"
    assert shown["checked_in_at"] == "2026-12-01T10:05:00+08:00"  # when the creator was there
    # the same device scanning it again is told so in the desk's own words
    later = _sync(api, "phone-a", ("s2", code, "2026-12-01T10:07:00+08:00"))
    assert later["results"][0]["result"] == "already_checked_in"
    assert _count(api.app, JournalEntry, JournalEntry.kind == "voucher.redeem") == 1
    assert api.app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", "2026-12"]).exit_code == 0


def test_a_second_device_gets_duplicate_and_the_first_is_told(api, frozen_clock):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00").get_json()
    code = _code(api, booking["id"])
    frozen_clock.advance(timedelta(minutes=25))
    assert _sync(api, "phone-a", ("a1", code, "2026-12-01T10:05:00+08:00"))[
        "results"][0]["result"] == "ok"
    second = _sync(api, "phone-b", ("b1", code, "2026-12-01T10:06:00+08:00"))
    assert second["results"][0]["result"] == "duplicate"
    assert "另一台设备" in second["results"][0]["message"]
    told = _sync(api, "phone-a")  # the first device's next sync
    assert [(d["booking"]["id"], d["device_id"]) for d in told["duplicates"]] == [
        (booking["id"], "phone-b")]
    assert _sync(api, "phone-b")["duplicates"] == []
    assert _count(api.app, CheckIn) == 1


def test_a_booking_checked_in_by_hand_meanwhile_is_a_duplicate(api, frozen_clock):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00").get_json()
    code = _code(api, booking["id"])
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]})
    frozen_clock.advance(timedelta(minutes=25))
    assert _sync(api, "phone-a", ("a1", code, "2026-12-01T10:05:00+08:00"))[
        "results"][0]["result"] == "duplicate"


def test_a_booking_cancelled_while_offline_is_a_conflict(api, frozen_clock):
    booking = book(api, "vjc-live-01", "2026-12-03", "10:00", "12:00").get_json()
    code = _code(api, booking["id"])
    assert api.post(f"/api/v1/bookings/{booking['id']}/cancel", CREATOR).status_code == 200
    frozen_clock.advance(timedelta(days=2))
    answer = _sync(api, "phone-a", ("a1", code, "2026-12-03T09:59:00+08:00"))["results"][0]
    assert answer["result"] == "conflict" and answer["booking"]["status"] == "cancelled"
    assert _count(api.app, CheckIn) == 0


def test_foreign_venue_and_garbage_name_no_booking(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00").get_json()
    code = _code(api, booking["id"])
    answers = _sync(api, "ftc-phone", ("f1", code, "2026-12-01T10:05:00+08:00"),
                    ("f2", "garbage", "2026-12-01T10:05:00+08:00"), user=OP_FTC)["results"]
    assert [(a["result"], a["booking"]) for a in answers] == [("wrong_venue", None),
                                                              ("invalid", None)]


def test_a_device_clock_ahead_does_not_check_in_after_the_fact(api):
    booking = book(api, "vjc-live-01", TODAY, "14:00", "15:00").get_json()
    code = _code(api, booking["id"])
    # the device claims 14:05, but the server's clock says 10:00: decided as of now
    answer = _sync(api, "phone-a", ("a1", code, "2026-12-01T14:05:00+08:00"))["results"][0]
    assert answer["result"] == "too_early"


def test_bad_sync_input_is_a_validation_error(api):
    error = assert_error(api.post("/api/v1/checkins/sync", OP_VJC, json={
        "device_id": "has spaces", "scans": [{"scan_id": "1", "code": "x"}]}), 422,
        "validation_error")
    assert "device_id" in json.dumps(error["details"]) and "scanned_at" in json.dumps(error["details"])
