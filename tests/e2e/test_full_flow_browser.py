"""The whole path of one subsidised booking, in headless Chromium, as three people live it.

A creator books V聚场's live room on a 375-px phone with a 杨浦直播券 and gets the QR code;
the front desk (another phone, its own browser context) scans it; finance (a laptop) drafts and
issues V聚场's December statement, which now carries that voucher. CSRF is on, as in production.
The clock stands at 2026-12-01 10:00 Shanghai, so the 10:00-12:00 slot is in its check-in window.
"""

from __future__ import annotations

import hashlib
import io
import re
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.e2e.browser import CHROMIUM_ARGS, chromium_path, live_server, screenshot, sign_in
from tests.helpers import CREATOR, FINANCE, OP_VJC

DAY = "2026-12-01"
ROOM = "vjc-live-01"  # ¥180/h before 19:00: two hours cost ¥360, the ¥300 voucher leaves ¥60


@contextmanager
def chromium():
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def person(browser, width: int = 375, height: int = 812, phone: bool = True):
    """A fresh browser context (own cookies) and its page: one person on one device."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=2, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.csp_violations = []  # type: ignore[attr-defined]
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page
        blocked_scripts = [v for v in page.csp_violations if "script-src" in v]
        assert not blocked_scripts, blocked_scripts  # the pages need no script CSP refuses
    finally:
        context.close()


def _no_sideways_scroll(page, width: int) -> None:
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways ({scroll}px on a {width}px screen)"


def _room_id(app) -> int:
    from app.catalog.models import Resource

    with app.app_context():
        return db.session.scalar(select(Resource.id).where(Resource.code == ROOM))


def _code_for(app, booking_id: int) -> str:
    from app.booking.models import Booking
    from app.checkin.service import code_for

    with app.app_context():
        code = code_for(db.session, db.session.get(Booking, booking_id), app.config["SECRET_KEY"])
        db.session.commit()
        return code


def _booking_state(app, booking_id: int) -> tuple[str, str]:
    from app.booking.models import Booking

    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        return booking.status, booking.voucher.status


def _statement(app, statement_id: int):
    from app.finance.models import Statement

    with app.app_context():
        statement = db.session.get(Statement, statement_id)
        return statement.status, statement.total_fen, statement.file_sha256


def test_book_scan_and_settle_statement_in_the_browser(seeded, frozen_clock):
    import zxingcpp
    from PIL import Image

    seeded.config["WTF_CSRF_ENABLED"] = True  # every form sends its token, as in production
    room = _room_id(seeded)
    with live_server(seeded) as base, chromium() as browser:
        # ---- the creator books on their phone -----------------------------------------------
        with person(browser) as page:
            sign_in(page, base, CREATOR)
            page.goto(f"{base}/resources/{room}/book")
            today = page.locator(f"#day-{DAY}")
            slot = today.locator(".slots a.slot").filter(has_text=re.compile(r"^\s*10:00\s*$"))
            assert slot.count() == 1, today.inner_text()
            _no_sideways_scroll(page, 375)
            screenshot(page, "flow-1-week-375px")
            slot.click()
            page.wait_for_url(re.compile(r"/book/confirm\?"))

            page.select_option("#minutes", "120")
            vouchers = page.locator("#voucher_code option").evaluate_all(
                "options => options.map(o => o.value).filter(Boolean)")
            assert vouchers, "the creator's vouchers are offered"
            voucher = vouchers[0]
            page.select_option("#voucher_code", voucher)
            page.wait_for_function(  # the price follows the choice without a button
                "v => document.querySelector('input[name=quote]').value.includes('|120|' + v + '|')"
                " && !document.getElementById('confirm-submit').disabled", arg=voucher)
            assert page.inner_text(".price-split .price").strip() == "¥360.00"
            assert page.inner_text("#self-pay").strip() == "¥60.00"
            _no_sideways_scroll(page, 375)
            screenshot(page, "flow-2-confirm-375px")

            page.locator("#confirm-submit").click()
            page.wait_for_url(re.compile(r"/bookings/\d+$"))
            booking_id = int(page.url.rsplit("/", 1)[1])
            qr_image = page.locator("#qr img")
            qr_image.wait_for(state="visible")
            assert qr_image.evaluate("img => img.complete && img.naturalWidth > 0"), "QR not drawn"
            assert voucher in page.inner_text("main")
            assert page.locator("h1 .status-confirmed").count() == 1
            _no_sideways_scroll(page, 375)
            screenshot(page, "flow-3-booking-qr-375px")

            # the code in the QR is the booking's code (Ed25519 signatures are deterministic)
            png = page.request.get(f"{base}/api/v1/bookings/{booking_id}/qr.png")
            assert png.ok and png.headers["content-type"] == "image/png"
            decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body())))
            code = _code_for(seeded, booking_id)
            assert [d.text for d in decoded] == [code]

        # ---- the front desk scans it on another phone ---------------------------------------
        with person(browser) as page:
            sign_in(page, base, OP_VJC)
            page.goto(f"{base}/operator/scan")
            assert page.locator(f'#today tr[data-booking="{booking_id}"]').count() == 1
            page.locator("#code").type(code, delay=0)  # a USB scanner types fast, then Enter
            page.keyboard.press("Enter")
            page.wait_for_selector("#result.result-ok", timeout=10_000)
            result = page.inner_text("#result")
            assert "杨浦主播" in result and "¥300.00" in result
            _no_sideways_scroll(page, 375)
            screenshot(page, "flow-4-scan-ok-375px")
        assert _booking_state(seeded, booking_id) == ("checked_in", "redeemed")

        # ---- January: finance drafts and issues December's statement on a laptop -----------
        frozen_clock.set(datetime(2027, 1, 2, 2, 0, tzinfo=UTC))
        with person(browser, width=1280, height=900, phone=False) as page:
            sign_in(page, base, FINANCE)
            page.goto(f"{base}/finance/statements?month=2026-12")
            draft_button = page.locator("#venue-vjc-chuangzhi button[type=submit]")
            assert draft_button.count() == 1
            screenshot(page, "flow-5-statements-1280px")
            draft_button.click()
            page.wait_for_url(re.compile(r"/finance/statements/\d+$"))
            statement_id = int(page.url.rsplit("/", 1)[1])
            assert page.locator("h1 .statement-draft").count() == 1
            lines = page.inner_text("table.statement-lines")
            assert voucher in lines and f"#{booking_id}" in lines and "¥300.00" in lines
            assert "13800001234" not in page.content()  # the creator's phone stays masked
            screenshot(page, "flow-6-statement-draft-1280px")

            issue_form = page.locator(f'form[action$="/finance/statements/{statement_id}/issue"]')
            issue_form.locator('input[type=checkbox][name="confirm"]').check()
            issue_form.locator("button[type=submit]").click()
            page.wait_for_load_state("networkidle")
            page.locator("h1 .statement-issued").wait_for(state="visible")
            sha = page.inner_text("code.sha256").strip()
            assert re.fullmatch(r"[0-9a-f]{64}", sha)
            assert page.locator(f'form[action$="/finance/statements/{statement_id}/issue"]').count() == 0
            screenshot(page, "flow-7-statement-issued-1280px")

            exported = page.request.get(
                f"{base}/api/v1/finance/statements/{statement_id}/export?format=csv")
            assert exported.ok
            assert hashlib.sha256(exported.body()).hexdigest() == sha  # the frozen file

    assert _statement(seeded, statement_id) == ("issued", 30000, sha)
