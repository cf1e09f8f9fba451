"""Journeys at 390 px, one browser for all: a creator with a voucher, the front desk, finance and
an administrator, each on their phone, with screenshots in test-artifacts/. (The creator with
quota is in test_journey_quota_browser.py; the whole chain across people in
test_full_flow_browser.py.)

The clock stands at 2026-12-01 10:00 Shanghai.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from tests.e2e.browser import CHROMIUM_ARGS, chromium_path, live_server, screenshot, sign_in
from tests.helpers import ADMIN, CREATOR, FINANCE, OP_VJC, book, resource_id

TODAY = "2026-12-01"


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def phone(browser, app):
    app.config["WTF_CSRF_ENABLED"] = True
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        with live_server(app) as base:
            yield page, base
    finally:
        context.close()


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def _cell_labels(row) -> list[str]:
    """What a card shows above each value: the column's name, drawn by CSS from data-label."""
    return row.evaluate("""r => [...r.cells].filter(c => getComputedStyle(c).display !== 'none')
        .map(c => getComputedStyle(c, '::before').content.replace(/^"|"$/g, ''))""")


def _menu(page, name: str) -> None:
    """The site menu is folded on a phone: open it, then follow one of its links."""
    menu = page.locator("#site-menu")
    assert menu.get_attribute("open") is None
    assert not page.get_by_role("link", name=name, exact=True).first.is_visible()
    page.locator("#site-menu > summary").tap()
    page.get_by_role("link", name=name, exact=True).first.tap()
    page.wait_for_load_state("networkidle")


def test_front_desk_on_a_phone(browser, api):
    voucher = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00", voucher_code=voucher).get_json()
    book(api, "vjc-live-02", TODAY, "14:00", "16:00")
    with phone(browser, api.app) as (page, base):
        sign_in(page, base, OP_VJC)
        assert page.url.rstrip("/").endswith("/operator")  # their own work page
        screenshot(page, "journey-desk-1-home-390px")
        page.locator("#site-menu > summary").tap()
        header = page.locator("header.top").bounding_box()
        assert header["height"] > 300  # the menu unfolds as a column of full-width taps
        screenshot(page, "journey-desk-2-menu-390px")
        page.locator("#site-menu > summary").tap()

        page.get_by_role("link", name=re.compile("V聚场")).first.tap()
        page.wait_for_url(re.compile(r"/operator/venues/\d+"))
        rows = page.locator("#day-bookings tbody tr")
        assert rows.count() == 2
        assert rows.first.evaluate("r => getComputedStyle(r).display") == "block"  # cards
        first = rows.first.inner_text()
        assert "10:00–12:00" in first and "已确认" in first
        assert _cell_labels(rows.first) == ["时间", "资源", "创作者", "状态"]
        _fits(page)
        screenshot(page, "journey-desk-3-day-cards-390px")

        _menu(page, "扫码签到")
        page.locator("#code").fill(booking["short_code"])
        page.locator("#code").press("Enter")
        page.wait_for_selector("#result.result-ok", timeout=10_000)
        assert page.inner_text("#result-title").strip() == "已签到"
        _fits(page)
        screenshot(page, "journey-desk-4-checked-in-390px")


def test_finance_on_a_phone(browser, api):
    voucher = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", TODAY, "10:00", "12:00", voucher_code=voucher).get_json()
    assert api.post("/api/v1/checkins", OP_VJC,
                    json={"booking_id": booking["id"]}).get_json()["result"] == "ok"
    with phone(browser, api.app) as (page, base):
        sign_in(page, base, FINANCE)
        assert "/finance" in page.url
        _fits(page)
        screenshot(page, "journey-finance-1-dashboard-390px")
        page.goto(f"{base}/finance/statements?month=2026-12")
        page.locator("#venue-vjc-chuangzhi").get_by_role("button", name="生成草稿").tap()
        page.wait_for_url(re.compile(r"/finance/statements/\d+$"))
        assert page.inner_text("h1 .status") == "草稿"
        line = page.locator("table.statement-lines tbody tr").first
        assert line.evaluate("r => getComputedStyle(r).display") == "block"  # a card per line
        text = line.inner_text()
        assert "¥300.00" in text and voucher in text and "金额" in _cell_labels(line)
        assert "yangpu-livestream-voucher" not in page.inner_text("main")
        _fits(page)
        screenshot(page, "journey-finance-2-statement-cards-390px")

        _menu(page, "财务")
        assert "已出具" in page.inner_text("main") and "已发放" not in page.inner_text(".finance-summary")


def test_administrator_on_a_phone(browser, api):
    room = resource_id(api, "vjc-live-01")
    with phone(browser, api.app) as (page, base):
        sign_in(page, base, ADMIN)
        assert "/admin" in page.url
        _fits(page)
        screenshot(page, "journey-admin-1-home-390px")

        page.goto(f"{base}/admin/venues")
        page.get_by_role("link", name="新建载体").tap()
        page.fill("#code", "ftc-annex")
        page.fill("#name_zh", "外滩FTC附楼")
        page.fill("#address_zh", "九江路71号")
        page.locator("input[name=open_sun]").uncheck()
        page.fill("input[name=until_sat]", "22:00")
        _fits(page)
        screenshot(page, "journey-admin-2-new-venue-390px")
        page.get_by_role("button", name="创建载体").tap()
        page.wait_for_url(re.compile(r"/admin/venues/\d+$"))
        assert "载体已创建" in page.inner_text(".flash")
        assert not page.locator("input[name=open_sun]").is_checked()
        assert page.locator("input[name=until_sat]").input_value() == "22:00"

        page.goto(f"{base}/admin/resources/{room}/closures")
        page.fill("#start_day", "2026-12-08")
        page.fill("#end_day", "2026-12-08")
        page.fill("#reason", "设备检修")
        page.get_by_role("button", name="停用场地").tap()
        page.wait_for_load_state("networkidle")
        assert "设备检修" in page.inner_text("#closures")
        _fits(page)
        screenshot(page, "journey-admin-3-closure-390px")

        page.goto(f"{base}/admin/audit")
        first = page.locator("#audit tbody tr").first.inner_text()
        assert "平台管理员" in first and "场地停用维护" in first
        assert "新建载体" in page.inner_text("#audit")
        _fits(page)
        screenshot(page, "journey-admin-4-audit-390px")


def test_creator_with_a_voucher_on_a_phone(browser, api):
    room = resource_id(api, "vjc-live-01")
    with phone(browser, api.app) as (page, base):
        sign_in(page, base, CREATOR)
        page.goto(f"{base}/resources/{room}/book?from=2026-12-03")
        slot = page.locator("#day-2026-12-03 .slots a.slot").filter(
            has_text=re.compile(r"^\s*10:00\s*$"))
        assert slot.bounding_box()["height"] >= 44  # a thumb's tap target
        slot.tap()
        page.wait_for_url(re.compile(r"/book/confirm\?"))
        assert page.locator("#voucher_code").input_value()  # the best voucher is preselected
        _fits(page)
        screenshot(page, "journey-voucher-1-confirm-390px")
        page.get_by_role("button", name="确认并预约").tap()
        page.wait_for_url(re.compile(r"/bookings/\d+$"))
        qr = page.locator("#qr img").bounding_box()
        assert qr["width"] > 200 and abs(qr["width"] - qr["height"]) < 2
        _fits(page)
        screenshot(page, "journey-voucher-2-booking-390px")

        _menu(page, "我的账户")
        feed = page.get_by_role("link", name="添加到我的日历")
        assert feed.get_attribute("href").startswith("webcal://")
        assert page.get_by_role("button", name="复制地址").is_visible()
        _fits(page)  # the long calendar address no longer widens the page
        screenshot(page, "journey-voucher-3-me-390px")
