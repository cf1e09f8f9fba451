"""The front desk without the network, in headless Chromium: the page is opened online, then the
browser context is set offline. A scan is answered at once on the device (待同步), and when the
network returns the server checks in exactly once; two offline devices scanning one code give
one check-in and one duplicate; a booking cancelled while the desk was offline comes back as a
conflict; a code of a retired key is refused offline."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.checkin.models import CheckIn
from app.extensions import db
from tests.e2e.browser import CHROMIUM_ARGS, chromium_path, live_server, screenshot
from tests.helpers import CREATOR, OP_VJC, PASSWORD

SHANGHAI = "+08:00"


@contextmanager
def desk_devices(base: str, count: int, at: str, init_script: str | None = None):
    """``count`` front-desk phones (separate browser contexts: their own storage and device
    id), signed in as the V聚场 operator, with the device clocks at ``at`` (Shanghai time)."""
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        pages = []
        for _ in range(count):
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                          has_touch=True)
            if init_script:
                context.add_init_script(init_script)
            page = context.new_page()
            page.clock.set_fixed_time(datetime.fromisoformat(at + SHANGHAI))
            page.goto(f"{base}/login")
            page.fill("#email", OP_VJC)
            page.fill("#password", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{base}/operator/scan")
            # the signed manifest is verified and stored before the network goes
            page.wait_for_selector("#offline-bar[data-ready='1']", state="attached",
                                   timeout=15_000)
            pages.append(page)
        try:
            yield pages
        finally:
            browser.close()


def scan(page, code: str) -> None:
    page.locator("#code").fill(code)
    page.locator("#code").press("Enter")


def waiting(page) -> int:
    return int(page.get_attribute("#sync-pending", "data-count"))


def wait_synced(page) -> None:
    page.wait_for_selector("#sync-pending[data-count='0']", state="attached", timeout=15_000)


def _booking(app, start: str, end: str, voucher: bool = True):
    from app.accounts.service import require_user
    from app.booking.lifecycle import book
    from app.booking.rules import LOCAL
    from app.catalog.models import Resource
    from app.checkin.service import code_for
    from app.core.clock import now
    from app.vouchers.models import Voucher

    with app.app_context():
        user = require_user(db.session, CREATOR)
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
        code = (db.session.scalar(select(Voucher.code).where(Voucher.status == "issued").limit(1))
                if voucher else None)
        booking = book(db.session, user, room,
                       datetime.fromisoformat(f"2026-12-01T{start}").replace(tzinfo=LOCAL),
                       datetime.fromisoformat(f"2026-12-01T{end}").replace(tzinfo=LOCAL), now(),
                       voucher_code=code)
        text = code_for(db.session, booking, app.config["SECRET_KEY"])
        db.session.commit()
        return booking.id, text, booking.short_code


def _checkins(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CheckIn))


def _booking_state(app, booking_id: int) -> tuple[str, str | None]:
    from app.booking.models import Booking

    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        return booking.status, booking.voucher.status if booking.voucher else None


def _reconciles(app) -> bool:
    return app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", "2026-12"]).exit_code == 0


@pytest.fixture
def desk_app(seeded):
    seeded.config["WTF_CSRF_ENABLED"] = True  # the page sends its CSRF token like production
    return seeded


def test_offline_scan_is_answered_at_once_and_redeems_once_back_online(desk_app):
    booking_id, code, short_code = _booking(desk_app, "10:00", "12:00")
    with live_server(desk_app) as base, desk_devices(base, 1, "2026-12-01T10:00:00") as (page,):
        page.context.set_offline(True)
        scan(page, code)
        page.wait_for_selector("#result.result-ok.result-pending", timeout=5_000)
        assert page.inner_text("#result-title") == "已签到 · 待同步"
        assert "杨**" in page.inner_text("#result-detail")
        assert waiting(page) == 1 and "1 条待同步" in page.inner_text("#offline-bar")
        screenshot(page, "desk-offline-answer-390px")
        assert _checkins(desk_app) == 0  # nothing reached the server yet
        page.context.set_offline(False)
        wait_synced(page)
        assert "上次同步" in page.inner_text("#offline-bar")
        row = page.locator(f'tr[data-booking="{booking_id}"]')
        assert row.locator(".status-cell").inner_text().strip() == "已签到"
        assert _checkins(desk_app) == 1
        assert _booking_state(desk_app, booking_id) == ("checked_in", "redeemed")
        # this device offline again, the booking's short code typed: already checked in here
        page.context.set_offline(True)
        scan(page, short_code)
        page.wait_for_selector("#result.result-already_checked_in.result-pending", timeout=5_000)
        page.context.set_offline(False)
        wait_synced(page)
    assert _checkins(desk_app) == 1
    assert _reconciles(desk_app)


def test_two_offline_devices_scan_one_code_one_check_in_one_duplicate(desk_app):
    _, code, _ = _booking(desk_app, "10:00", "12:00")
    with live_server(desk_app) as base, \
            desk_devices(base, 2, "2026-12-01T10:00:00") as (first, second):
        for page in (first, second):
            page.context.set_offline(True)
            scan(page, code)
            page.wait_for_selector("#result.result-ok.result-pending", timeout=5_000)
        first.context.set_offline(False)
        wait_synced(first)
        second.context.set_offline(False)
        wait_synced(second)
        second.wait_for_selector("#sync-notices .notice-duplicate", timeout=10_000)
        assert "重复签到" in second.inner_text("#sync-notices")
        first.evaluate("window.deskOffline.sync()")  # the first desk's next sync
        first.wait_for_selector("#sync-notices .notice-duplicate", timeout=10_000)
        assert "另一台设备重复扫码" in first.inner_text("#sync-notices")
        screenshot(second, "desk-duplicate-390px")
    assert _checkins(desk_app) == 1
    assert _reconciles(desk_app)


def test_a_booking_cancelled_while_the_desk_was_offline_is_a_conflict(desk_app):
    from app.accounts.service import require_user
    from app.booking import lifecycle
    from app.core.clock import now

    booking_id, code, _ = _booking(desk_app, "10:30", "12:00")
    with live_server(desk_app) as base, desk_devices(base, 1, "2026-12-01T10:20:00") as (page,):
        page.context.set_offline(True)
        with desk_app.app_context():  # the creator cancels from their phone meanwhile
            lifecycle.cancel(db.session, require_user(db.session, CREATOR), booking_id, now(),
                             accept_late=True)
            db.session.commit()
        scan(page, code)
        page.wait_for_selector("#result.result-ok.result-pending", timeout=5_000)
        page.context.set_offline(False)
        wait_synced(page)
        page.wait_for_selector("#sync-notices .notice-conflict", timeout=10_000)
        assert "冲突" in page.inner_text("#sync-notices")
        screenshot(page, "desk-conflict-390px")
    assert _checkins(desk_app) == 0
    assert _booking_state(desk_app, booking_id)[0] == "cancelled"


def test_a_code_of_a_retired_key_is_refused_offline(desk_app):
    _, old_code, _ = _booking(desk_app, "10:00", "12:00")
    runner = desk_app.test_cli_runner()
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", old_code.split(".")[1]]).exit_code == 0
    _, new_code, _ = _booking(desk_app, "14:00", "15:00", voucher=False)
    with live_server(desk_app) as base, desk_devices(base, 1, "2026-12-01T10:00:00") as (page,):
        page.context.set_offline(True)
        scan(page, old_code)
        page.wait_for_selector("#result.result-invalid.result-pending", timeout=5_000)
        assert "已停用" in page.inner_text("#result-detail")
        scan(page, new_code)  # verified with the new key: genuine, but not open yet
        page.wait_for_selector("#result.result-too_early.result-pending", timeout=5_000)


# An older browser: Web Crypto without Ed25519 (importKey refuses the algorithm).
NO_WEBCRYPTO_ED25519 = """
(() => {
  const importKey = crypto.subtle.importKey.bind(crypto.subtle);
  crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
    (algorithm && (algorithm.name || algorithm) === "Ed25519")
      ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
      : importKey(format, data, algorithm, ...rest);
})();
"""


def test_a_browser_without_ed25519_in_web_crypto_verifies_with_the_bundled_library(desk_app):
    _, code, _ = _booking(desk_app, "10:00", "12:00")
    tampered = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    with live_server(desk_app) as base, desk_devices(base, 1, "2026-12-01T10:00:00",
                                                     NO_WEBCRYPTO_ED25519) as (page,):
        page.context.set_offline(True)
        scan(page, tampered)
        page.wait_for_selector("#result.result-invalid.result-pending", timeout=5_000)
        scan(page, code)
        page.wait_for_selector("#result.result-ok.result-pending", timeout=5_000)
        page.context.set_offline(False)
        wait_synced(page)
    assert _checkins(desk_app) == 1


def test_the_installed_scanner_opens_without_the_network(desk_app):
    """Once opened online, the page comes from the service worker's cache and still answers."""
    _, code, _ = _booking(desk_app, "10:00", "12:00")
    with live_server(desk_app) as base, desk_devices(base, 1, "2026-12-01T10:00:00") as (page,):
        manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href)"
                                 ".then(r => r.json())")
        assert manifest["start_url"] == "/operator/scan" and manifest["display"] == "standalone"
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now controlled by the worker, which caches the page as it passes
        page.wait_for_selector("#offline-bar[data-ready='1']", state="attached")
        page.context.set_offline(True)
        response = page.reload()
        assert response is not None and response.from_service_worker
        assert "前台签到" in page.inner_text("h1")
        scan(page, code)
        page.wait_for_selector("#result.result-ok.result-pending", timeout=5_000)
