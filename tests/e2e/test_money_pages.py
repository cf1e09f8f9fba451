"""Money administration from the pages (programs, batches, issuing, void) and the creator's wallet."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import _make_app
from tests.helpers import ADMIN, CREATOR, HP_CREATOR, PASSWORD

DEMO_CREDIT_CODE = "91310110MA1GDEMO01"
VOUCHER_PROGRAM = "yangpu-livestream-voucher"


def _signed_in(app, email, english=True):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    if english:  # assertions read the English wording, whatever the Chinese catalog says
        client.get("/lang/en?next=/")
    return client


def _in_db(app, query):
    from app.extensions import db

    with app.app_context():
        return query(db.session)


def _demo_enterprise_id(app) -> int:
    from app.accounts.models import Enterprise

    return _in_db(app, lambda s: s.scalar(
        select(Enterprise.id).where(Enterprise.credit_code == DEMO_CREDIT_CODE)))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _batch_form(**overrides) -> dict:
    return {"program": VOUCHER_PROGRAM, "name": "2027春季直播券（测试）", "face_value": "200",
            "total_count": "3", "total_budget": "600", "valid_from": "2026-12-01",
            "valid_until": "2027-02-28", "resource_kinds": ["livestream_room"], **overrides}


def _create_batch(admin, **overrides) -> str:
    response = admin.post("/admin/money/batches", data=_batch_form(**overrides))
    assert response.status_code == 302, _text(response)
    location = response.headers["Location"]
    assert re.search(r"/admin/money/batches/\d+$", location)
    return location


# ---- programs ------------------------------------------------------------------------------


def _program_form(**overrides) -> dict:
    return {
        "code": "huangpu-audio-support", "name_zh": "黄浦录音扶持", "name_en": "Huangpu Audio Support",
        "district": "huangpu", "funding": "quota", "eligibility": "certified_creator",
        "coverage_percent": "80", "no_show_policy": "release",
        "tiers-0-code": "S", "tiers-0-name_zh": "标准", "tiers-0-name_en": "Standard",
        "tiers-0-cap": "20,000", "tiers-1-code": "", "tiers-1-name_zh": "", "tiers-1-name_en": "",
        "tiers-1-cap": "", "tiers-2-code": "P", "tiers-2-name_zh": "高级", "tiers-2-name_en": "",
        "tiers-2-cap": "50000.50", "resource_kinds": ["recording_studio", "photo_studio"],
        **overrides,
    }


def test_admin_adds_a_third_program_and_resources_accept_it(api):
    from app.catalog.models import Resource, Venue

    admin = _signed_in(api.app, ADMIN)
    page = _text(admin.get("/admin/money/programs"))
    assert "杨浦直播券" in page or "Yangpu Live-stream Voucher" in page
    assert "¥300,000.00" in page  # tier A of the Huangpu program
    ftc = _in_db(api.app, lambda s: s.scalar(select(Venue.id).where(Venue.code == "bund-ftc")))

    response = admin.post("/admin/money/programs", data=_program_form(venue_ids=[str(ftc)]),
                          follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert "Program huangpu-audio-support added" in page
    assert "¥20,000.00" in page and "¥50,000.50" in page

    programs = api.get("/api/v1/programs").get_json()["items"]
    assert len(programs) == 3
    added = next(p for p in programs if p["code"] == "huangpu-audio-support")
    assert added["funding"] == "quota" and added["coverage_percent"] == 80
    assert added["no_show_policy"] == "release"
    assert sorted(added["tiers"], key=lambda t: t["code"]) == [
        {"code": "P", "name": "高级", "cap_fen": 5_000_050},
        {"code": "S", "name": "标准", "cap_fen": 2_000_000}]
    expected = _in_db(api.app, lambda s: sorted(s.scalars(select(Resource.id).where(
        Resource.venue_id == ftc, Resource.kind.in_(["recording_studio", "photo_studio"])))))
    assert expected and added["resource_ids"] == expected


def test_wrong_program_form_shows_the_problems_and_saves_nothing(api):
    admin = _signed_in(api.app, ADMIN)
    response = admin.post("/admin/money/programs", data=_program_form(
        funding="voucher", **{"tiers-0-cap": "lots"}))
    assert response.status_code == 422
    page = _text(response)
    assert "Nothing was saved" in page
    assert "Tier 1: Annual cap (yuan)" in page  # the row the person typed into
    assert 'value="huangpu-audio-support"' in page  # what was typed is kept
    # the service's own checks run too: vouchers are not for certified creators
    response = admin.post("/admin/money/programs", data=_program_form(funding="voucher"))
    assert response.status_code == 422
    assert "Vouchers go to resident enterprises" in _text(response)
    assert len(api.get("/api/v1/programs").get_json()["items"]) == 2


# ---- batches and issuing -------------------------------------------------------------------


def test_admin_creates_a_batch_and_issues_vouchers_the_creator_sees(api):
    admin = _signed_in(api.app, ADMIN)
    page = _text(admin.get("/admin/money/batches"))
    assert "2026冬季杨浦直播券（演示）" in page
    assert "Issued 5 / 200" in page
    batch_url = _create_batch(admin)
    before = {v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]}

    response = admin.post(batch_url, data={"enterprise_id": str(_demo_enterprise_id(api.app)),
                                           "count": "3"}, follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert "3 vouchers issued to 上海星河互动文化传媒有限公司（演示）" in page
    assert "Issued 3 / 3" in page

    mine = [v for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]
            if v["code"] not in before]
    assert len(mine) == 3
    assert {(v["face_value_fen"], v["valid_until"], v["program"]) for v in mine} == {
        (20000, "2027-02-28", VOUCHER_PROGRAM)}
    for voucher in mine:
        assert f"<code>{voucher['code']}</code>" in page  # listed on the batch page
    assert "Issued 3 / 3" in _text(admin.get("/admin/money/batches"))


def test_issuing_beyond_the_count_shows_an_error_and_issues_nothing(api):
    admin = _signed_in(api.app, ADMIN)
    batch_url = _create_batch(admin)
    enterprise = str(_demo_enterprise_id(api.app))
    assert admin.post(batch_url, data={"enterprise_id": enterprise, "count": "2"}).status_code == 302

    response = admin.post(batch_url, data={"enterprise_id": enterprise, "count": "2"})
    assert response.status_code == 409
    page = _text(response)
    assert "no vouchers or budget left" in page
    assert "Issued so far: 2 of 3" in page and "Nothing was issued" in page

    response = admin.post(batch_url, data={"enterprise_id": enterprise, "count": "none"})
    assert response.status_code == 422
    assert "Must be a whole number" in _text(response)

    batches = api.get("/api/v1/admin/voucher-batches", ADMIN).get_json()["items"]
    batch = next(b for b in batches if b["name"] == "2027春季直播券（测试）")
    assert batch["issued_count"] == 2 and batch["counts"] == {"issued": 2}


def test_wrong_batch_form_is_shown_again_with_its_problems(api):
    admin = _signed_in(api.app, ADMIN)
    response = admin.post("/admin/money/batches", data=_batch_form(
        face_value="two hundred", valid_until="2026-11-01"))
    assert response.status_code == 422
    page = _text(response)
    assert "An amount in yuan" in page
    assert 'value="2027春季直播券（测试）"' in page
    response = admin.post("/admin/money/batches", data=_batch_form(valid_until="2026-11-01"))
    assert response.status_code == 422
    assert "Must not be before valid_from" in _text(response)
    names = [b["name"] for b in api.get("/api/v1/admin/voucher-batches", ADMIN).get_json()["items"]]
    assert "2027春季直播券（测试）" not in names


# ---- search and void -----------------------------------------------------------------------


def _first_issued_code(api) -> str:
    found = api.get("/api/v1/admin/vouchers?status=issued", ADMIN).get_json()["items"]
    return found[0]["code"]


def test_void_from_the_search_page(api):
    admin = _signed_in(api.app, ADMIN)
    code = _first_issued_code(api)
    page = _text(admin.get(f"/admin/money/vouchers?q={code.lower()}"))
    assert code in page
    void_url = f"/admin/money/vouchers/{code}/void"
    assert f'action="{void_url}"' in page
    assert "上海星河" in _text(admin.get("/admin/money/vouchers?q=星河&status=issued"))

    response = admin.post(void_url, data={"reason": "  ", "q": code})
    assert response.status_code == 422
    assert "Give a reason" in _text(response)
    assert api.get(f"/api/v1/admin/vouchers?q={code}", ADMIN).get_json()["items"][0]["status"] \
        == "issued"

    response = admin.post(void_url, data={"reason": "企业已迁出", "q": code}, follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert f"Voucher {code} is void" in page
    assert f'action="{void_url}"' not in page  # a void voucher offers no void button
    assert api.get(f"/api/v1/admin/vouchers?q={code}", ADMIN).get_json()["items"][0]["status"] \
        == "void"
    assert code not in [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]]
    # voiding twice is refused with a clear word, not a crash
    again = admin.post(void_url, data={"reason": "again"})
    assert again.status_code == 409
    assert "is now Void" in _text(again)


def test_unknown_voucher_code_is_not_found(api):
    admin = _signed_in(api.app, ADMIN)
    assert admin.post("/admin/money/vouchers/ZZZZ-ZZZZ/void", data={"reason": "x"}).status_code == 404


# ---- who may ---------------------------------------------------------------------------------


def test_money_pages_are_for_administrators_only(api):
    creator = _signed_in(api.app, CREATOR)
    for path in ("/admin/money/batches", "/admin/money/programs", "/admin/money/vouchers"):
        assert creator.get(path).status_code == 403
    assert creator.post("/admin/money/batches", data=_batch_form()).status_code == 403
    names = [b["name"] for b in api.get("/api/v1/admin/voucher-batches", ADMIN).get_json()["items"]]
    assert "2027春季直播券（测试）" not in names
    anonymous = api.app.test_client().get("/admin/money/batches")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_admin_navigation_links_the_money_pages(api):
    nav = _text(_signed_in(api.app, ADMIN).get("/admin/"))
    for path in ("/admin/money/programs", "/admin/money/batches", "/admin/money/vouchers"):
        assert f'href="{path}"' in nav


# ---- the creator's wallet ------------------------------------------------------------------


def test_wallet_shows_voucher_codes_to_the_creator(api):
    codes = [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]]
    assert len(codes) == 5
    page = _text(_signed_in(api.app, CREATOR, english=False).get("/me"))
    for code in codes:
        assert '<p class="voucher-code" aria-label="' in page
        assert f">{code}</p>" in page
    assert "¥300.00" in page  # face value
    assert "2027-03-31" in page  # valid until
    assert "杨浦直播券" in page  # the program's name, not its code
    assert "直播间" in page and "录音室" in page  # where it can be used


def test_wallet_shows_the_annual_quota_with_a_meter(api):
    page = _text(_signed_in(api.app, HP_CREATOR, english=False).get("/me"))
    assert "黄浦共享服务" in page
    assert "¥300,000.00" in page
    assert re.search(r'<meter class="quota-meter" min="0" max="30000000" value="0"', page)
    assert 'style="' not in page  # the CSP allows no inline styles


# ---- with CSRF on, as in production ---------------------------------------------------------


@pytest.fixture
def strict_app(backend, tmp_path, frozen_clock):
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog
    from app.extensions import db

    app = _make_app(backend, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_money_forms_carry_the_csrf_token(strict_app):
    client = strict_app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert client.post("/login", data={"email": ADMIN, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    page = _text(client.get("/admin/money/vouchers?status=issued"))
    code = re.search(r'action="/admin/money/vouchers/([^/"]+)/void"', page).group(1)
    assert client.post(f"/admin/money/vouchers/{code}/void",
                       data={"reason": "no token"}).status_code == 400
    response = client.post(f"/admin/money/vouchers/{code}/void",
                           data={"reason": "left V聚场", "csrf_token": _token(page)})
    assert response.status_code == 302
    for path in ("/admin/money/programs", "/admin/money/batches"):
        page = _text(client.get(path))
        assert page.count('<form method="post"') <= page.count('name="csrf_token"')


def test_finance_reads_vouchers_but_cannot_void(seeded):
    client = seeded.test_client()
    client.post("/login", data={"email": "finance@demo.local", "password": "demo12345"})
    page = client.get("/admin/money/vouchers")
    assert page.status_code == 200
    assert "void-form" not in page.get_data(as_text=True)
    code = client.get("/api/v1/admin/vouchers").get_json()["items"][0]["code"]
    assert client.post(f"/admin/money/vouchers/{code}/void", data={"reason": "x"}).status_code == 403
