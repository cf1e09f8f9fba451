"""The front-desk scanner in headless Chromium on a 375-px phone screen: a USB scanner types
the code and presses Enter; the answer fills the screen."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.e2e.browser import browser_page, live_server, screenshot, sign_in
from tests.helpers import CREATOR, OP_VJC


@pytest.fixture
def booking_code(seeded):
    """A voucher booking for now, and its check-in code."""
    from datetime import datetime

    from sqlalchemy import select

    from app.accounts.service import require_user
    from app.booking.lifecycle import book
    from app.booking.rules import LOCAL
    from app.catalog.models import Resource
    from app.checkin.service import code_for
    from app.core.clock import now
    from app.vouchers.models import Voucher

    with seeded.app_context():
        user = require_user(db.session, CREATOR)
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
        voucher = db.session.scalar(select(Voucher.code).where(Voucher.status == "issued").limit(1))
        booking = book(db.session, user, room, datetime(2026, 12, 1, 10, tzinfo=LOCAL),
                       datetime(2026, 12, 1, 12, tzinfo=LOCAL), now(), voucher_code=voucher)
        code = code_for(db.session, booking, seeded.config["SECRET_KEY"])
        db.session.commit()
        return code


def test_scanner_page_types_a_code_like_a_usb_scanner(seeded, booking_code):
    seeded.config["WTF_CSRF_ENABLED"] = True  # the page sends its CSRF token like production
    with live_server(seeded) as base, browser_page() as page:
        sign_in(page, base, OP_VJC)
        page.goto(f"{base}/operator/scan")
        assert page.locator("#today tbody tr").count() == 1
        page.locator("#code").type(booking_code, delay=0)  # a scanner "types" fast
        page.keyboard.press("Enter")
        page.wait_for_selector("#result.result-ok", timeout=10_000)
        assert "杨浦主播" in page.inner_text("#result")
        assert "¥300.00" in page.inner_text("#result")  # voucher applied shows on screen
        screenshot(page, "scanner-ok-375px")
        # the same code again: already checked in, nothing charged twice
        page.wait_for_timeout(3100)
        page.locator("#code").type(booking_code, delay=0)
        page.keyboard.press("Enter")
        page.wait_for_selector("#result.result-already_checked_in", timeout=10_000)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
        screenshot(page, "scanner-already-375px")
