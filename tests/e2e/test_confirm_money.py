"""Money traps on the confirm and cancel pages (issue 13, items 1-4): a creator books exactly
the price on screen, starts on their best voucher, is warned before committing, and is asked
before cancelling."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from tests.e2e.browser import browser_page, live_server, screenshot, sign_in
from tests.helpers import CREATOR, HP_CREATOR, PASSWORD, resource_id

DAY = "2026-12-03"  # two days after the frozen clock: inside the window, outside the late period
ROOM = "vjc-live-01"  # ¥180/h before 19:00


class _A:
    def __init__(self, app):
        self.app = app


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _bookings(app) -> int:
    from app.booking.models import Booking

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Booking))


def _confirm_url(app, day=DAY, time="10:00", minutes=60, code=ROOM, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"date": day, "time": time, "minutes": minutes,
                                              **extra}.items())
    return f"/resources/{resource_id(_A(app), code)}/book/confirm?{query}"


def _token(html: str) -> str:
    return re.search(r'name="quote" value="([^"]*)"', html).group(1)


def _selected_voucher(html: str) -> str | None:
    select = html.split('id="voucher_code"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option value="([^"]+)" selected>', select)
    return found.group(1) if found else None


def _voucher_options(html: str) -> list[str]:
    return re.findall(r'<option value="([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})"', html)


def test_the_book_button_books_what_is_selected_in_the_browser(seeded):
    """The trap: pick a voucher and 2 hours, press 确认并预约 straight away."""
    seeded.config["WTF_CSRF_ENABLED"] = True
    with live_server(seeded) as base, browser_page(390, 844) as page:
        sign_in(page, base, CREATOR)
        page.goto(f"{base}{_confirm_url(seeded)}")
        options = page.locator("#voucher_code option").evaluate_all(
            "options => options.map(o => o.value).filter(Boolean)")
        page.select_option("#voucher_code", options[-1])
        page.select_option("#minutes", "120")
        page.get_by_role("button", name="确认并预约").click()
        page.wait_for_url(re.compile(r"/bookings/\d+$"))
        facts = page.inner_text("main .facts")
        screenshot(page, "confirm-trap-booked-390px")
        assert "10:00–12:00" in facts, facts
        assert options[-1] in facts
        assert "¥60.00" in facts  # ¥360 − ¥300 voucher


def test_without_script_a_changed_choice_is_refused_not_booked(seeded):
    seeded.config["WTF_CSRF_ENABLED"] = True
    with live_server(seeded) as base, browser_page(390, 844, javascript=False) as page:
        sign_in(page, base, CREATOR)
        page.goto(f"{base}{_confirm_url(seeded, voucher_code='')}")
        assert page.inner_text("#self-pay").strip() == "¥180.00"
        page.select_option("#minutes", "120")
        page.get_by_role("button", name="确认并预约").click()
        page.wait_for_load_state("networkidle")
        assert "/book/confirm" in page.url
        assert "没有预约" in page.inner_text("main")  # told, and nothing was booked
        assert _bookings(seeded) == 0
        assert page.inner_text("#self-pay").strip() == "¥360.00"  # the price of what is selected
        screenshot(page, "confirm-refused-changed-choice-390px")
        page.get_by_role("button", name="确认并预约").click()
        page.wait_for_url(re.compile(r"/bookings/\d+$"))
        assert "10:00–12:00" in page.inner_text("main .facts")


def test_a_stale_quote_is_refused_with_the_new_price(seeded):
    client = _signed_in(seeded, CREATOR)
    shown = client.get(_confirm_url(seeded, voucher_code="")).get_data(as_text=True)
    answer = client.post(_confirm_url(seeded), data={
        "date": DAY, "time": "10:00", "minutes": "120", "voucher_code": "", "use_quota": "1",
        "confirm": "1", "quote": _token(shown)})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "价格" in page and re.search(r'id="self-pay">¥360.00<', page)
    assert _bookings(seeded) == 0


def test_the_best_voucher_is_preselected_and_useless_rows_hidden(seeded):
    client = _signed_in(seeded, CREATOR)
    page = client.get(_confirm_url(seeded)).get_data(as_text=True)
    assert _selected_voucher(page) in _voucher_options(page)
    assert re.search(r'id="self-pay">¥0.00<', page)  # the ¥300 voucher covers the ¥180 hour
    assert "年度额度" not in page  # this creator has no quota
    quota_creator = _signed_in(seeded, HP_CREATOR)
    page = quota_creator.get(_confirm_url(seeded, code="ftc-live-01")).get_data(as_text=True)
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'id="voucher_code"' not in main and "直播券" not in main
    assert "年度额度" in page


def test_warnings_before_committing(seeded):
    client = _signed_in(seeded, CREATOR)
    page = client.get(_confirm_url(seeded)).get_data(as_text=True)
    assert "券面 ¥300.00，本次抵扣 ¥180.00，差额不找零" in page
    assert "取消将按未到场处理" not in page
    soon = client.get(_confirm_url(seeded, day="2026-12-01", time="18:00")).get_data(as_text=True)
    assert "距开始不足 24 小时，取消将按未到场处理，直播券作废" in soon


def test_every_cancel_asks_first_and_says_what_happened(seeded):
    client = _signed_in(seeded, CREATOR)
    shown = client.get(_confirm_url(seeded)).get_data(as_text=True)
    voucher = _selected_voucher(shown)
    done = client.post(_confirm_url(seeded), data={
        "date": DAY, "time": "10:00", "minutes": "60", "voucher_code": voucher, "use_quota": "1",
        "confirm": "1", "quote": _token(shown)})
    booking_url = done.headers["Location"]
    detail = client.get(booking_url).get_data(as_text=True)
    assert f'action="{booking_url}/cancel"' not in detail  # no one-tap cancel on the booking
    ask = client.get(f"{booking_url}/cancel").get_data(as_text=True)
    assert voucher in ask and "退回" in ask
    result = client.post(f"{booking_url}/cancel", data={}, follow_redirects=True)
    text = result.get_data(as_text=True)
    assert "已取消" in text and voucher in text and "可再次使用" in text


def test_late_cancel_says_the_voucher_is_forfeited(seeded):
    client = _signed_in(seeded, CREATOR)
    shown = client.get(_confirm_url(seeded, day="2026-12-01", time="18:00")).get_data(as_text=True)
    done = client.post(_confirm_url(seeded, day="2026-12-01", time="18:00"), data={
        "date": "2026-12-01", "time": "18:00", "minutes": "60", "use_quota": "1", "confirm": "1",
        "voucher_code": _selected_voucher(shown),
        "quote": _token(shown)})
    ask = client.get(f"{done.headers['Location']}/cancel").get_data(as_text=True)
    assert "作废" in ask and "按未到场处理" in ask
    text = client.post(f"{done.headers['Location']}/cancel", data={"accept_late": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "作废" in text


def test_days_beyond_the_window_are_not_open_yet(seeded):
    client = _signed_in(seeded, CREATOR)
    rid = resource_id(_A(seeded), ROOM)
    # the window is 30 days: from 2026-12-01 10:00 until 2026-12-31 10:00
    week = client.get(f"/resources/{rid}/book?from=2026-12-29").get_data(as_text=True)
    day = week.split('id="day-2027-01-01"', 1)[1].split("</section>", 1)[0]
    assert "尚未开放" in day and "已约满" not in day
    assert "from=2027-01-05" not in week  # no later week to page to
    assert "from=2026-12-08" in client.get(f"/resources/{rid}/book").get_data(as_text=True)
