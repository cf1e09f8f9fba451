"""Administrators on the pages: opening hours per weekday, a new venue, a room closed for
maintenance, and an audit log a person can read. Also the words around them: error pages,
statuses, roles, the favicon."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.booking.models import Closure
from app.catalog.models import District, Venue
from app.extensions import db
from tests.helpers import ADMIN, CREATOR, FINANCE, PASSWORD, book, resource_id

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _signed_in(app, email: str, lang: str = "zh"):
    client = app.test_client()
    client.get(f"/lang/{lang}?next=/")
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


def _venue(app, code: str = "vjc-chuangzhi") -> Venue:
    with app.app_context():
        venue = db.session.scalar(select(Venue).where(Venue.code == code))
        db.session.expunge(venue)
        return venue


def _venue_form(venue: Venue, **hours) -> dict:
    form = {"name_zh": venue.name_zh, "name_en": venue.name_en, "address_zh": venue.address_zh,
            "active": "on"}
    for day, (opens, closes) in hours.items():
        form.update({f"open_{day}": "on", f"from_{day}": opens, f"until_{day}": closes})
    return form


def test_opening_hours_are_edited_per_weekday_with_time_fields(api):
    admin = _signed_in(api.app, ADMIN)
    venue = _venue(api.app)
    page = _text(admin.get(f"/admin/venues/{venue.id}"))
    assert 'name="opening_hours"' not in page  # no raw JSON any more
    assert all(f'type="time" name="from_{day}"' in page for day in WEEK)
    assert "周一" in page and "关门时间 00:00 表示营业到午夜" in page

    saved = admin.post(f"/admin/venues/{venue.id}", data=_venue_form(
        venue, mon=("10:00", "20:00"), tue=("09:00", "00:00"), sat=("08:30", "22:00")))
    assert saved.status_code == 302
    assert _venue(api.app).opening_hours == {"mon": ["10:00", "20:00"], "tue": ["09:00", "24:00"],
                                             "sat": ["08:30", "22:00"]}
    page = _text(admin.get(f"/admin/venues/{venue.id}"))
    assert 'name="open_sun" >' in page or 'name="open_sun">' in page  # Sunday shows closed
    assert 'name="until_tue" value="00:00"' in page


def test_hours_that_do_not_add_up_are_refused_in_chinese_and_nothing_changes(api):
    admin = _signed_in(api.app, ADMIN)
    venue = _venue(api.app)
    before = venue.opening_hours
    refused = admin.post(f"/admin/venues/{venue.id}",
                         data=_venue_form(venue, mon=("20:00", "10:00")))
    assert refused.status_code == 422
    assert "周一：关门时间须晚于开门时间。" in _text(refused)
    assert "opening_hours" not in re.sub(r'(id|name|for)="[^"]*"', "", _text(refused))
    none_open = admin.post(f"/admin/venues/{venue.id}", data=_venue_form(venue))
    assert none_open.status_code == 422 and "至少勾选一天" in _text(none_open)
    assert _venue(api.app).opening_hours == before


def test_an_administrator_creates_a_venue_from_a_page(api):
    admin = _signed_in(api.app, ADMIN)
    with api.app.app_context():
        district = db.session.scalars(select(District)).first().id
    form = {"code": "ftc-bund-2", "district_id": str(district), "name_zh": "外滩二号空间",
            "address_zh": "九江路70号", **_venue_form(_venue(api.app), mon=("09:00", "21:00"))}
    form["name_zh"], form["address_zh"], form["name_en"] = "外滩二号空间", "九江路70号", "Bund 2"
    created = admin.post("/admin/venues/new", data=form)
    assert created.status_code == 302
    venue = _venue(api.app, "ftc-bund-2")
    assert (venue.name_zh, venue.opening_hours) == ("外滩二号空间", {"mon": ["09:00", "21:00"]})
    assert "外滩二号空间" in _text(admin.get("/admin/venues"))
    with api.app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(
            AuditEntry.object_type == "venue", AuditEntry.object_id == str(venue.id))) == "venue.create"

    again = admin.post("/admin/venues/new", data=form)
    assert again.status_code == 422 and "已有使用此编号的载体。" in _text(again)
    with api.app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Venue).where(
            Venue.code == "ftc-bund-2")) == 1


def test_closing_a_room_lists_the_bookings_in_the_way_and_stops_new_ones(api):
    room = resource_id(api, "vjc-live-01")
    booked = book(api, "vjc-live-01", "2026-12-05", "10:00", "12:00")
    assert booked.status_code == 201
    admin = _signed_in(api.app, ADMIN)
    assert "停用维护" in _text(admin.get(f"/admin/resources/{room}"))
    closed = admin.post(f"/admin/resources/{room}/closures", data={
        "start_day": "2026-12-05", "start_time": "09:00", "end_day": "2026-12-05",
        "end_time": "18:00", "reason": "灯光检修"})
    page = _text(closed)
    assert closed.status_code == 200
    assert "停用时段内有 1 个预约" in page and "2026-12-05 10:00" in page
    assert "2026-12-05 09:00 – 2026-12-05 18:00 · 灯光检修" in page
    with api.app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Closure)) == 1
    refused = book(api, "vjc-live-01", "2026-12-05", "14:00", "16:00")
    assert refused.status_code in (409, 422)

    backwards = admin.post(f"/admin/resources/{room}/closures", data={
        "start_day": "2026-12-06", "start_time": "18:00", "end_day": "2026-12-06",
        "end_time": "09:00"})
    assert backwards.status_code == 422 and "须晚于开始时间。" in _text(backwards)
    with api.app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Closure)) == 1


def test_the_audit_log_names_people_and_says_what_happened_in_yuan(api):
    admin = _signed_in(api.app, ADMIN)
    room = resource_id(api, "vjc-live-01")
    form = _text(admin.get(f"/admin/resources/{room}"))
    data = {name: value for name, value in re.findall(r'<input id="(\w+)" name="\1"[^>]*value="([^"]*)"', form)}
    kind, venue = re.search(r'<option value="(\w+)" selected', form[form.index('id="kind"'):]).group(1), \
        re.search(r'<option value="(\d+)" selected', form).group(1)
    data.update({"hourly_rate": "200", "active": "on", "programs": "yangpu-livestream-voucher",
                 "kind": kind, "venue_id": venue})
    assert admin.post(f"/admin/resources/{room}", data=data).status_code == 302
    page = _text(_signed_in(api.app, FINANCE).get("/admin/audit"))
    assert "平台管理员" in page and "修改资源" in page
    assert "¥180.00 → ¥200.00" in page
    assert "_fen" not in page and "resource.update" not in page


def test_error_pages_say_what_happened_in_both_languages(seeded):
    client = seeded.test_client()
    missing = _text(client.get("/bookings/999999"))
    assert "not_found" not in missing and "(404)" not in missing
    zh = _text(_signed_in(seeded, CREATOR).get("/no-such-page"))
    assert "页面不存在" in zh and "not_found" not in zh
    en = _text(_signed_in(seeded, CREATOR, "en").get("/no-such-page"))
    assert "This page does not exist" in en and "not_found" not in en


def test_every_page_links_a_favicon_and_describes_itself(seeded):
    client = seeded.test_client()
    page = _text(client.get("/"))
    assert re.search(r'<link rel="icon" href="/static/favicon.svg"', page)
    assert re.search(r'<meta name="description" content="[^"]{20,}"', page)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/static/favicon.svg")
    assert client.get("/static/favicon.svg").status_code == 200


def test_one_word_per_status_in_pages_and_feeds(api):
    booked = book(api, "vjc-live-01", "2026-12-04", "14:00", "16:00")
    assert api.post(f"/api/v1/bookings/{booked.get_json()['id']}/cancel", CREATOR,
                    json={}).status_code == 200
    secret = api.get("/api/v1/me", CREATOR).get_json()["calendar_url"].rsplit("/", 1)[1]
    feed = api.client.get(f"/calendar/{secret}", headers={"Accept-Language": "en"})
    body = feed.get_data(as_text=True).replace("\r\n ", "")
    assert "· 已取消" in body and "cancelled" not in body
    mine = _text(_signed_in(api.app, CREATOR).get("/bookings"))
    assert "已取消" in mine
    users = _text(_signed_in(api.app, ADMIN).get("/admin/users"))
    assert "载体运营方" in users and "财务" in users and ">operator<" not in users


def test_notifications_read_in_the_page_language_with_english_names(api):
    assert book(api, "vjc-live-01", "2026-12-04", "14:00", "16:00").status_code == 201
    zh = _text(_signed_in(api.app, CREATOR).get("/notifications"))
    assert "预约成功：A01 场景式直播间（客厅）" in zh
    en = _text(_signed_in(api.app, CREATOR, "en").get("/notifications"))
    assert "Booked: A01 Set-style Live Room (Living Room)" in en
    assert "You booked A01 Set-style Live Room (Living Room) at V-Hub, KIC Building 6" in en
    assert "场景式直播间" not in en


def test_the_statement_export_names_the_program(api):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", "2026-12-01", "10:00", "12:00", voucher_code=code).get_json()
    assert api.post("/api/v1/checkins", "operator.vjc@demo.local",
                    json={"booking_id": booking["id"]}).get_json()["result"] == "ok"
    venue = next(v["id"] for v in api.get("/api/v1/venues").get_json()["items"]
                 if v["code"] == "vjc-chuangzhi")
    statement = api.post("/api/v1/finance/statements", FINANCE,
                         json={"venue_id": venue, "month": "2026-12"}).get_json()
    csv_text = api.get(f"/api/v1/finance/statements/{statement['id']}/export?format=csv",
                       FINANCE).get_data(as_text=True)
    assert "杨浦直播券" in csv_text and "yangpu-livestream-voucher" not in csv_text


def test_an_enterprise_form_error_is_words_not_python(api):
    admin = _signed_in(api.app, ADMIN)
    page = _text(admin.post("/admin/enterprises/1", data={"program": "yangpu-livestream-voucher",
                                                         "valid_from": ""}))
    assert "请填写有效日期。" in page and "isoformat" not in page
