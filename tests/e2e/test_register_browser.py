"""Journey at 390 px, in Chinese: a creator registers from the sign-in page, follows the emailed
verification link, signs in, and the account page no longer asks to confirm the address."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.notify.models import Notification
from tests.e2e.browser import browser_page, live_server, screenshot, sign_in

EMAIL, PASSWORD = "phone.user@example.com", "my-phone-secret-9"


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("innerWidth"), f"{page.url} scrolls sideways ({width}px)"


def _verification_path(app) -> str:
    with app.app_context():
        body = db.session.scalar(select(Notification.body).where(
            Notification.kind == "verify_email"))
        db.session.remove()
    return re.search(r"/verify/[A-Za-z0-9_-]+", body).group(0)


def test_register_verify_and_sign_in_on_a_phone(seeded):
    seeded.config["WTF_CSRF_ENABLED"] = True
    with live_server(seeded) as base, browser_page(390, 844) as page:
        page.goto(f"{base}/lang/zh?next=/login")  # the phone's browser asks for Chinese
        page.get_by_role("link", name="注册为创作者").click()
        page.wait_for_url(re.compile(r"/register$"))
        assert "隐私政策" in page.inner_text("main")
        _no_sideways_scroll(page)
        page.fill("#email", EMAIL)
        page.fill("#display_name", "手机用户 小周")
        page.fill("#phone", "13755556666")
        page.fill("#new_password", PASSWORD)
        page.fill("#repeat", PASSWORD)
        page.get_by_role("button", name="注册").click()  # without consent: refused, kept
        assert "请阅读并同意隐私政策" in page.inner_text("main")
        assert page.input_value("#email") == EMAIL
        page.fill("#new_password", PASSWORD)
        page.fill("#repeat", PASSWORD)
        page.check("#consent")
        screenshot(page, "journey-register-1-form-390px")
        page.get_by_role("button", name="注册").click()
        page.wait_for_selector("#mail-sent")
        assert "验证" in page.inner_text("#mail-sent")
        screenshot(page, "journey-register-2-mail-sent-390px")

        page.goto(base + _verification_path(seeded))
        _no_sideways_scroll(page)
        page.get_by_role("button", name="确认我的邮箱").click()
        page.wait_for_url(re.compile(r"/login"))
        assert "邮箱已验证" in page.inner_text("main")
        screenshot(page, "journey-register-3-verified-390px")

        sign_in(page, base, EMAIL, PASSWORD)
        page.goto(f"{base}/me")
        main = page.inner_text("main")
        assert "手机用户 小周" in main and "请先验证邮箱" not in main
        _no_sideways_scroll(page)
        screenshot(page, "journey-register-4-signed-in-390px")
