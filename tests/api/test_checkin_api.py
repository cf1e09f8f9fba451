"""Check-in by QR: signed codes, every answer, redemption once, stored scans."""

from __future__ import annotations

import io
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from app.checkin.models import CheckIn, Scan
from app.extensions import db
from app.ledger.models import JournalEntry
from tests.helpers import ADMIN, CREATOR, HP_CREATOR, OP_FTC, OP_VJC, assert_error, book

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai


def _code_from_png(api, booking_id, user=CREATOR) -> str:
    response = api.get(f"/api/v1/bookings/{booking_id}/qr.png", user)
    assert response.status_code == 200 and response.mimetype == "image/png"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.get_data())))
    # one code in the image (the decoder may report the same symbol twice, at two scales)
    texts = {barcode.text for barcode in found}
    assert len(texts) == 1, texts
    return texts.pop()


def _scan(api, code, user=OP_VJC, device="desk-1"):
    response = api.post("/api/v1/checkins", user, json={"code": code, "device": device})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _count(app, model, **where):
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.scalar(query)


def test_decoded_qr_checks_in_and_redeems_the_voucher(api):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00", voucher_code=code).get_json()
    assert booking["qr"]["png"].endswith("/qr.png")
    text = _code_from_png(api, booking["id"])
    assert text.startswith("VB1.")
    body = _scan(api, text)
    assert body["result"] == "ok"
    assert body["booking"]["status"] == "checked_in"
    assert body["booking"]["voucher"] == {"code": code, "status": "redeemed", "face_value_fen": 30000}
    assert body["checkin"]["method"] == "scan" and body["checkin"]["device"] == "desk-1"
    again = _scan(api, text)
    assert again["result"] == "already_checked_in"
    assert again["checkin"]["at"] == body["checkin"]["at"]
    assert _count(api.app, JournalEntry, kind="voucher.redeem") == 1
    assert _count(api.app, Scan) == 2
    assert api.app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", "2026-12"]).exit_code == 0


def test_quota_is_consumed_at_check_in(api):
    booking = book(api, "ftc-live-01", TODAY, "10:00", "11:00", HP_CREATOR).get_json()
    body = _scan(api, _code_from_png(api, booking["id"], HP_CREATOR), OP_FTC)
    assert body["result"] == "ok"
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert quota["held_fen"] == 0 and quota["consumed_fen"] == booking["price"]["quota_fen"] > 0


def test_tampered_and_garbage_codes_are_invalid(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    text = _code_from_png(api, booking["id"])
    parts = text.split(".")
    parts[2] = str(int(parts[2]) + 1)  # another booking id, same signature
    assert _scan(api, ".".join(parts))["result"] == "invalid"
    assert _scan(api, text[:-2] + ("AA" if not text.endswith("AA") else "BB"))["result"] == "invalid"
    assert _scan(api, "hello")["result"] == "invalid"
    with api.app.app_context():
        reasons = db.session.scalars(select(Scan.reason).order_by(Scan.id)).all()
    assert reasons == ["signature", "signature", "format"]
    assert _count(api.app, CheckIn) == 0


def test_code_signed_with_a_retired_key_is_invalid(api):
    runner = api.app.test_cli_runner()
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    old = _code_from_png(api, booking["id"])
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0
    new = _code_from_png(api, booking["id"])
    assert old.split(".")[1] != new.split(".")[1]
    keys = api.get("/api/v1/checkin/keys").get_json()["items"]
    assert {k["key_id"] for k in keys} == {old.split(".")[1], new.split(".")[1]}
    assert all("private" not in str(k) for k in keys)
    assert runner.invoke(args=["keys", "retire", old.split(".")[1]]).exit_code == 0
    assert _scan(api, old)["result"] == "invalid"
    assert _scan(api, new)["result"] == "ok"


def test_every_answer(api, frozen_clock):
    later = book(api, "vjc-live-01", TODAY, "14:00", "15:00").get_json()
    code = _code_from_png(api, later["id"])
    assert _scan(api, code)["result"] == "too_early"
    wrong = _scan(api, code, OP_FTC)
    assert wrong["result"] == "wrong_venue" and wrong["booking"] is None  # no details leak
    frozen_clock.advance(timedelta(hours=3, minutes=50))  # 13:50: window opens 15 min before
    assert _scan(api, code)["result"] == "ok"
    gone = book(api, "vjc-live-02", TODAY, "14:00", "15:00").get_json()
    gone_code = _code_from_png(api, gone["id"])
    frozen_clock.advance(timedelta(hours=1, minutes=15))  # 15:05
    assert _scan(api, gone_code)["result"] == "too_late"
    cancelled = book(api, "vjc-live-03", "2026-12-05", "10:00", "11:00").get_json()
    cancelled_code = _code_from_png(api, cancelled["id"])
    api.post(f"/api/v1/bookings/{cancelled['id']}/cancel", CREATOR, json={})
    assert _scan(api, cancelled_code)["result"] == "cancelled"
    # another venue's desk learns nothing of it, not even that it was cancelled
    foreign = _scan(api, cancelled_code, OP_FTC)
    assert foreign["result"] == "wrong_venue" and foreign["booking"] is None
    assert _count(api.app, Scan) == 6


def test_manual_check_in_and_checkout(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    # another venue's desk cannot even tell that the booking exists
    assert_error(api.post("/api/v1/checkins", OP_FTC, json={"booking_id": booking["id"]}),
                 404, "not_found")
    assert_error(api.post(f"/api/v1/bookings/{booking['id']}/checkout", OP_VJC), 422,
                 "not_checked_in")
    body = api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]}).get_json()
    assert body["result"] == "ok" and body["checkin"]["method"] == "manual"
    assert_error(api.post(f"/api/v1/bookings/{booking['id']}/checkout", OP_FTC), 404, "not_found")
    out = api.post(f"/api/v1/bookings/{booking['id']}/checkout", OP_VJC)
    assert out.status_code == 200 and out.get_json()["status"] == "completed"
    again = assert_error(api.post(f"/api/v1/bookings/{booking['id']}/checkout", OP_VJC), 409,
                         "state_changed")
    assert again["details"]["status"] == "completed"
    assert_error(api.post("/api/v1/checkins", OP_VJC, json={}), 422, "validation_error")
    assert_error(api.post("/api/v1/checkins", CREATOR, json={"code": "x"}), 403, "forbidden")


def test_only_the_owner_gets_the_qr(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    assert api.get(f"/api/v1/bookings/{booking['id']}/qr.svg", CREATOR).mimetype == "image/svg+xml"
    assert_error(api.get(f"/api/v1/bookings/{booking['id']}/qr.png", HP_CREATOR), 404, "not_found")
    assert_error(api.get(f"/api/v1/bookings/{booking['id']}/qr.png", OP_VJC), 403, "forbidden")
    assert api.get(f"/api/v1/bookings/{booking['id']}/qr.png", ADMIN).status_code == 403


def test_decode_endpoint_reads_a_camera_frame(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    png = api.get(f"/api/v1/bookings/{booking['id']}/qr.png", CREATOR).get_data()
    text = _code_from_png(api, booking["id"])
    frame = Image.new("RGB", (900, 700), "gray")
    frame.paste(Image.open(io.BytesIO(png)).convert("RGB"), (120, 80))
    out = io.BytesIO()
    frame.save(out, format="JPEG", quality=85)
    response = api.post("/api/v1/checkins/decode", OP_VJC, data=out.getvalue(),
                        headers={"Content-Type": "image/jpeg"})
    assert response.get_json()["code"] == text
    assert_error(api.post("/api/v1/checkins/decode", OP_VJC, data=b"not an image"), 422,
                 "validation_error")


def test_reconcile_names_a_consumption_without_check_in(api):
    booking = book(api, "ftc-live-01", TODAY, "10:00", "11:00", HP_CREATOR).get_json()
    from app.quota.service import consume

    with api.app.app_context():
        from app.booking.models import Booking
        from app.core.clock import now

        consume(db.session, db.session.get(Booking, booking["id"]), at=now(), actor_id=None)
        db.session.commit()
    result = api.app.test_cli_runner().invoke(args=["finance", "reconcile", "--month", "2026-12"])
    assert result.exit_code == 1
    assert "[FAIL] 3." in result.output and f"consumed for booking {booking['id']} with 0" in result.output
