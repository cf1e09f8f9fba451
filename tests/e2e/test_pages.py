"""The pages people use: the public list, language switch, sign-in, CSRF and throttling."""

from __future__ import annotations

import re

import pytest

from tests.conftest import _make_app
from tests.helpers import PASSWORD


def test_public_list_in_chinese_by_default(seeded):
    page = seeded.test_client().get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    assert "共享直播资源清单" in page
    assert "外滩FTC" in page
    assert "name=\"viewport\"" in page


def test_english_switch(seeded):
    client = seeded.test_client()
    client.get("/lang/en?next=/")
    page = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in page
    assert "Shared live-stream resource list" in page
    assert "The Bund FTC" in page or "FTC" in page


def test_list_filters_on_page(seeded):
    page = seeded.test_client().get("/?kind=recording_studio").get_data(as_text=True)
    kinds = re.findall(r'<span class="tag">(直播间|录音室|摄影棚|共享办公|户外场景)</span>', page)
    assert kinds and set(kinds) == {"录音室"}


def test_resource_page_shows_rates_and_programs(seeded):
    client = seeded.test_client()
    items = client.get("/api/v1/resources?district=huangpu").get_json()["items"]
    page = client.get(f"/resources/{items[0]['id']}").get_data(as_text=True)
    assert items[0]["name"] in page
    assert "黄浦共享服务" in page
    assert "¥" in page


def test_unknown_page_is_friendly_html(seeded):
    response = seeded.test_client().get("/resources/99999")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def _sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_sign_in_and_admin_pages(seeded):
    client = seeded.test_client()
    assert client.get("/admin/").status_code == 302
    response = _sign_in(client, "admin@demo.local")
    assert response.status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "vjc-" in page
    assert client.get("/admin/users").status_code == 200
    assert client.get("/admin/venues").status_code == 200
    assert client.get("/admin/audit").status_code == 200


def test_wrong_password_stays_on_login(seeded):
    client = seeded.test_client()
    response = _sign_in(client, "admin@demo.local", "nope-nope")
    assert response.status_code == 401
    assert client.get("/admin/").status_code == 302


def test_admin_edits_resource_from_page_and_publishes(seeded):
    client = seeded.test_client()
    _sign_in(client, "admin@demo.local")
    item = client.get("/api/v1/resources").get_json()["items"][0]
    form = client.get(f"/admin/resources/{item['id']}").get_data(as_text=True)
    assert item["name"] in form
    data = {
        "venue_id": item["venue"]["id"], "name_zh": item["name"] + "（新）", "name_en": "",
        "kind": item["kind"], "style_zh": "", "style_en": "", "capacity": "3", "area_sqm": "20",
        "hourly_rate": "199.50", "peak_rate": "259", "peak_start": "19:00", "peak_end": "24:00",
        "slot_minutes": "30", "min_minutes": "60", "max_minutes": "480", "buffer_minutes": "15",
        "min_notice_minutes": "0", "max_advance_days": "30", "cancel_deadline_hours": "24",
        "checkin_opens_minutes": "15", "no_show_after_minutes": "30", "equipment": "灯\n麦克风",
        "programs": [p["code"] for p in item["programs"]], "active": "on",
    }
    bad = client.post(f"/admin/resources/{item['id']}", data={**data, "hourly_rate": "abc"})
    assert bad.status_code == 422
    assert client.post(f"/admin/resources/{item['id']}", data=data).status_code == 302
    client.post("/admin/publish", data={"note": "page edit"})
    fresh = client.get(f"/api/v1/resources/{item['id']}").get_json()
    assert fresh["name"] == item["name"] + "（新）"
    assert fresh["rates"]["hourly_fen"] == 19950
    assert fresh["equipment"] == ["灯", "麦克风"]


@pytest.fixture
def strict_app(backend, tmp_path, frozen_clock):
    """CSRF and rate limits switched on, as in production."""
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog
    from app.extensions import db, limiter

    app = _make_app(backend, tmp_path, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                    LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_cookie_writes_need_csrf_token(strict_app):
    client = strict_app.test_client()
    response = client.post("/login", data={"email": "admin@demo.local", "password": PASSWORD})
    assert response.status_code == 400  # no token
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "admin@demo.local", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    # a signed-in cookie write without the token is refused, as JSON under /api
    response = client.post("/api/v1/admin/list-versions", json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    # a bearer-token call needs no CSRF token
    token_response = client.post("/api/v1/auth/tokens",
                                 json={"email": "admin@demo.local", "password": PASSWORD})
    bearer = token_response.get_json()["token"]
    fresh = strict_app.test_client()
    response = fresh.post("/api/v1/admin/list-versions", json={},
                          headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 201


def test_token_endpoint_is_throttled(strict_app):
    client = strict_app.test_client()
    for _ in range(3):
        response = client.post("/api/v1/auth/tokens",
                               json={"email": "admin@demo.local", "password": "wrong-guess"})
        assert response.status_code == 401
    response = client.post("/api/v1/auth/tokens",
                           json={"email": "admin@demo.local", "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"


def test_an_operator_reads_their_venues_in_english(seeded):
    client = seeded.test_client()
    _sign_in(client, "operator.vjc@demo.local")
    client.get("/lang/en?next=/me")
    page = client.get("/me").get_data(as_text=True)
    assert "Venues I operate" in page
    assert "V聚场·创智天地6号楼" not in page  # the venue's English name is shown instead
