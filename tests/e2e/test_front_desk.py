"""The front desk (issue 13, items 5-7): a short booking code under every QR code, accepted at
the desk like the QR text; finding today's bookings by the phone's last four digits; answers
that say what is wrong; staff land on their own work page."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image

from app.checkin.short_codes import ALPHABET
from tests.e2e.browser import browser_page, live_server, screenshot, sign_in
from tests.helpers import ADMIN, CREATOR, FINANCE, OP_FTC, OP_VJC, PASSWORD, book

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai


def _scan(api, code, user=OP_VJC):
    response = api.post("/api/v1/checkins", user, json={"code": code, "device": "desk"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _qr_text(api, booking_id) -> str:
    png = api.get(f"/api/v1/bookings/{booking_id}/qr.png", CREATOR).get_data()
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text


def _signed_in(app, email):
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


def test_every_booking_has_a_short_code_printed_under_its_qr_code(api):
    first = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    second = book(api, "vjc-live-02", TODAY, "10:00", "11:00").get_json()
    for booking in (first, second):
        assert re.fullmatch(f"[{ALPHABET}]{{8}}", booking["short_code"])
    assert first["short_code"] != second["short_code"]
    page = _signed_in(api.app, CREATOR).get(f"/bookings/{first['id']}").get_data(as_text=True)
    code = first["short_code"]
    qr_box = page.split('id="qr"', 1)[1].split("</section>", 1)[0]
    assert f"{code[:4]} {code[4:]}" in qr_box and "预约码" in qr_box


def test_the_desk_accepts_the_short_code_like_the_qr_text(api):
    booking = book(api, "vjc-live-01", TODAY, "10:00", "11:00").get_json()
    code = booking["short_code"]
    assert _scan(api, f"{code[:4].lower()} {code[4:].lower()}", OP_FTC)["result"] == "wrong_venue"
    answer = _scan(api, f"{code[:4]} {code[4:]}")  # as read out: two groups, any case
    assert answer["result"] == "ok" and answer["booking"]["id"] == booking["id"]
    assert _scan(api, code)["result"] == "already_checked_in"
    unknown = _scan(api, "ZZZZ2222")
    assert unknown["result"] == "invalid" and "8 位预约码" in unknown["message"]


def test_scanner_answers_say_what_is_wrong(api, frozen_clock):
    later = book(api, "vjc-live-01", TODAY, "14:00", "15:00").get_json()
    early = _scan(api, later["short_code"])
    assert early["result"] == "too_early" and "2026-12-01 13:45" in early["message"]
    foreign = _scan(api, later["short_code"], OP_FTC)
    assert foreign["booking"] is None and "V聚场·创智天地6号楼" in foreign["message"]
    assert "14:00" not in foreign["message"]  # nothing about the booking itself
    now_booking = book(api, "vjc-live-02", TODAY, "10:00", "11:00").get_json()
    qr = _qr_text(api, now_booking["id"])
    assert _scan(api, qr)["result"] == "ok"
    api.post(f"/api/v1/bookings/{now_booking['id']}/checkout", OP_VJC)
    assert "已结束" in _scan(api, qr)["message"]
    frozen_clock.advance(timedelta(hours=6))  # 16:00: the 14:00 booking's code is past its end
    gone = _scan(api, later["short_code"])
    assert gone["result"] == "too_late" and "15:00" in gone["message"]
    frozen_clock.advance(timedelta(hours=2))  # 18:00: its QR code has expired too
    expired = _scan(api, qr)
    assert expired["result"] == "invalid" and expired["booking"] is None  # it names nothing
    assert "已过期" in expired["message"]  # but the desk knows why


def test_find_todays_bookings_by_the_phones_last_four_digits(api):
    book(api, "vjc-live-01", TODAY, "14:00", "15:00")
    desk = _signed_in(api.app, OP_VJC)
    found = desk.get("/operator/scan?phone=1234").get_data(as_text=True)
    rows = found.split('<tbody>', 1)[1].split("</tbody>", 1)[0]
    assert "杨浦主播" in rows and "138****1234" in rows and "14:00–15:00" in rows
    missing = desk.get("/operator/scan?phone=9999").get_data(as_text=True)
    assert "杨浦主播" not in missing.split('<tbody>', 1)[1] and "9999" in missing


def test_staff_land_on_their_own_work_page(seeded):
    landing = {OP_VJC: "/operator", FINANCE: "/finance", ADMIN: "/admin", CREATOR: ""}
    for email, path in landing.items():
        answer = seeded.test_client().post("/login", data={"email": email, "password": PASSWORD})
        assert urlsplit(answer.headers["Location"]).path.rstrip("/") == path, email


def test_me_does_not_send_creators_to_the_desk_with_a_voucher_code(seeded):
    page = _signed_in(seeded, CREATOR).get("/me").get_data(as_text=True)
    assert "前台不接受券码" in page and "出示或报出券码即可" not in page


def test_a_phone_types_the_short_code_at_the_desk(api):
    booking = book(api, "vjc-live-06", TODAY, "10:00", "13:00").get_json()  # ¥1,260
    api.app.config["WTF_CSRF_ENABLED"] = True
    with live_server(api.app) as base, browser_page(390, 844) as page:
        sign_in(page, base, OP_VJC)
        page.goto(f"{base}/operator/scan")
        field = page.locator("#code")
        assert field.get_attribute("inputmode") != "none"  # a phone shows its keyboard
        field.fill(booking["short_code"])
        field.press("Enter")
        page.wait_for_selector("#result.result-ok", timeout=10_000)
        title = page.inner_text("#result-title").strip()
        detail = page.inner_text("#result-detail")
        assert title == "已签到" and title not in detail.splitlines()[0]
        assert "¥1,260.00" in detail
        screenshot(page, "desk-short-code-ok-390px")
