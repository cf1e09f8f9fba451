"""Journey at 390 px: a creator certified for 黄浦共享服务 books with the annual quota, sees the
booking code under the QR code, and cancels knowing the quota comes back."""

from __future__ import annotations

import re

from tests.e2e.browser import browser_page, live_server, screenshot, sign_in
from tests.helpers import HP_CREATOR, resource_id

DAY = "2026-12-03"


class _A:
    def __init__(self, app):
        self.app = app


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("innerWidth"), f"{page.url} scrolls sideways ({width}px)"


def test_creator_with_quota_books_and_cancels_on_a_phone(seeded):
    seeded.config["WTF_CSRF_ENABLED"] = True
    room = resource_id(_A(seeded), "ftc-live-01")
    with live_server(seeded) as base, browser_page(390, 844) as page:
        sign_in(page, base, HP_CREATOR)
        page.goto(f"{base}/resources/{room}/book?from={DAY}")
        page.locator(f"#day-{DAY} .slots a.slot").filter(
            has_text=re.compile(r"^\s*10:00\s*$")).click()
        page.wait_for_url(re.compile(r"/book/confirm\?"))
        main = page.inner_text("main")
        assert "年度额度" in main and "直播券" not in main  # only what can apply to this creator
        assert page.inner_text("#self-pay").strip() == "¥0.00"
        _no_sideways_scroll(page)
        screenshot(page, "journey-quota-1-confirm-390px")
        page.get_by_role("button", name="确认并预约").click()
        page.wait_for_url(re.compile(r"/bookings/\d+$"))
        assert re.search(r"[2-9A-Z]{4} [2-9A-Z]{4}", page.inner_text("#short-code"))
        _no_sideways_scroll(page)
        screenshot(page, "journey-quota-2-booking-390px")

        page.get_by_role("link", name="取消此预约").click()
        page.wait_for_url(re.compile(r"/cancel$"))
        assert "年度额度" in page.inner_text("#cancel-outcome")
        screenshot(page, "journey-quota-3-cancel-ask-390px")
        page.get_by_role("button", name="确认取消预约").click()
        page.wait_for_url(re.compile(r"/bookings/\d+$"))
        result = page.inner_text(".flash.success")
        assert "预约已取消" in result and "年度额度" in result and "已退回" in result
        screenshot(page, "journey-quota-4-cancelled-390px")
