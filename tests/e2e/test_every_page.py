"""Every page each demo role can reach, in Chinese and in English, on a phone.

One browser walks the links of every role (see ``pages_crawl``) and, on each page, checks what a
person would notice: the page answers 200, nothing scrolls sideways at 360 px, buttons, fields and
menus are at least 44 px tall, and no internal code or English field name shows through the
Chinese interface. In both languages it also runs axe-core (from the npm registry; `.ci/run`
fetches it into tests/e2e/vendor/) at 390 px and accepts no serious or critical violation, nor a
heading that skips a level or an empty table header.
"""

from __future__ import annotations

import json
import logging
import os
import re

import pytest

from tests.e2e.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in
from tests.e2e.pages_crawl import AXE, crawl
from tests.helpers import ADMIN, CREATOR, FINANCE, HP_CREATOR, OP_VJC, book

# Never shown to people, in either language.
INTERNAL = ["yangpu-livestream-voucher", "huangpu-shared-service", "valid_until", "valid_from",
            "_fen", "not_found", "internal_error", "validation_error", "rule_violation",
            "checked_in", "no_show", "· cancelled", "(404)", "(403)", "_id", "['"]
# English words for states and roles that a Chinese page must say in Chinese.
ENGLISH_ON_CHINESE = re.compile(
    r"\b(confirmed|cancelled|completed|issued|draft|settled|redeemed|held|forfeited|expired|void"
    r"|creator|operator|finance|admin|enterprise)\b", re.IGNORECASE)
# What sticks out on the right: the innermost elements that end beyond the screen.
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right
  > 361 && ![...e.children].some(c => c.getBoundingClientRect().right > 361))
  .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"""
# Controls a thumb taps: buttons, menus, slots, fields. 44 px is the guideline's height.
SMALL_TAPS = """[...document.querySelectorAll('button, .btn, a.slot, summary, select, '
  + 'input:not([type=checkbox]):not([type=radio]):not([type=hidden])')]
  .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 43.5)
  .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || e.name || '').trim().slice(0, 30)
                     + ' ' + Math.round(e.getBoundingClientRect().height) + 'px')"""
EMAIL = re.compile(r"\S+@\S+")

ROLES = {
    None: ["/", "/login", "/no-such-page"],  # signed out: the public list and the error page
    CREATOR: ["/", "/me", "/bookings"],
    HP_CREATOR: ["/", "/me", "/bookings"],
    OP_VJC: ["/operator/", "/operator/scan"],
    FINANCE: ["/finance/"],
    ADMIN: ["/admin/", "/admin/venues", "/admin/audit", "/admin/money/programs"],
}


@pytest.fixture
def lived_in(api):
    """Some history to show: a voucher booking checked in, a quota booking, a draft statement."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    voucher = book(api, "vjc-live-01", "2026-12-01", "10:00", "12:00", voucher_code=code)
    assert voucher.status_code == 201, voucher.get_json()
    assert api.post("/api/v1/checkins", OP_VJC,
                    json={"booking_id": voucher.get_json()["id"]}).get_json()["result"] == "ok"
    later = book(api, "vjc-live-01", "2026-12-04", "14:00", "16:00")
    assert later.status_code == 201, later.get_json()
    assert api.post(f"/api/v1/bookings/{later.get_json()['id']}/cancel", CREATOR,
                    json={}).status_code == 200
    quota = book(api, "ftc-live-01", "2026-12-03", "10:00", "12:00", as_user=HP_CREATOR)
    assert quota.status_code == 201, quota.get_json()
    venue = next(v["id"] for v in api.get("/api/v1/venues").get_json()["items"]
                 if v["code"] == "vjc-chuangzhi")
    drafted = api.post("/api/v1/finance/statements", FINANCE, json={"venue_id": venue,
                                                                     "month": "2026-12"})
    assert drafted.status_code in (200, 201), drafted.get_json()
    return api.app


def _visible_text(page) -> str:
    return EMAIL.sub(" ", page.inner_text("body"))


def _axe_problems(page) -> list[str]:
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical'
                                   || ['heading-order', 'empty-table-header'].includes(v.id))
            .map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [json.dumps(v, ensure_ascii=False) for v in result]


def test_every_page_of_every_role(lived_in, request):
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    if not AXE.exists() and os.environ.get("CI"):
        pytest.fail(f"{AXE} is missing: .ci/run fetches axe-core with npm")
    axe_source = AXE.read_text() if AXE.exists() else None
    lived_in.config["WTF_CSRF_ENABLED"] = True
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # hundreds of page loads
    problems: list[str] = []
    visited: dict[str, int] = {}
    with live_server(lived_in) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for email, starts in ROLES.items():
                for language in ("zh", "en"):
                    context = browser.new_context(viewport={"width": 390, "height": 844},
                                                  is_mobile=True, has_touch=True)
                    if axe_source:
                        context.add_init_script(script=axe_source)  # not subject to the CSP
                    page = context.new_page()
                    if email:
                        sign_in(page, base, email)
                    page.goto(f"{base}/lang/{language}?next=/")

                    def check(page, path, response, email=email, language=language):
                        where = f"{email} {language} {path}"
                        if response.status != (404 if path == "/no-such-page" else 200):
                            problems.append(f"{where}: HTTP {response.status}")
                        if axe_source:
                            problems.extend(f"{where}: axe {v}" for v in _axe_problems(page))
                        small = page.evaluate(SMALL_TAPS)
                        if small:
                            problems.append(f"{where}: tap targets under 44 px: {small}")
                        page.set_viewport_size({"width": 360, "height": 740})
                        wide = page.evaluate("document.documentElement.scrollWidth")
                        if wide > 360:
                            problems.append(f"{where}: {wide} px wide at 360 px, because of "
                                            f"{page.evaluate(WIDEST)}")
                        page.set_viewport_size({"width": 390, "height": 844})
                        text = _visible_text(page)
                        problems.extend(f"{where}: shows {code!r}" for code in INTERNAL
                                        if code in text)
                        if language == "zh":
                            if "None" in text:  # a Python None that reached the page
                                problems.append(f"{where}: shows 'None'")
                            problems.extend(f"{where}: English {m!r}" for m in
                                            sorted(set(ENGLISH_ON_CHINESE.findall(text))))

                    visited[f"{email} {language}"] = len(crawl(page, base, starts, check))
                    context.close()
        finally:
            browser.close()
    print(json.dumps(visited, indent=1))
    assert all(count >= 3 for count in visited.values()), visited
    assert not problems, "\n".join(problems)
