"""Input the database cannot hold, or the parser cannot survive, is refused: never a 500.

PostgreSQL text cannot contain a NUL character, and Python's JSON parser recurses once per level
of nesting: both answered 500 ``internal_error`` (and SQLite stored the NUL without a word).
Pages answer an HTML error page in the person's language, the API its JSON error format.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.catalog.models import Resource, Venue
from app.checkin.models import Scan
from app.extensions import db
from tests.helpers import ADMIN, CREATOR, OP_VJC, PASSWORD, assert_error, at, resource_id

NUL = "\x00"
DEEP = "[" * 100_000
TOMORROW = "2026-12-02"


def _signed_in(app, email: str, lang: str | None = None):
    client = app.test_client()
    if lang:
        client.get(f"/lang/{lang}?next=/")
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _assert_error_page(response, status: int, lang: str, message: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f'lang="{lang}"' in page
    assert message in page


def _fields(response, status: int = 422) -> dict:
    return assert_error(response, status, "validation_error")["details"]["fields"]


# ---- NUL characters ------------------------------------------------------------------------


def test_a_scanned_code_with_a_nul_is_stored_as_a_failed_scan(api):
    response = api.post("/api/v1/checkins", OP_VJC,
                        json={"code": "VB1.\u0000", "device": "desk\u00001"})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["result"] == "invalid" and answer["booking"] is None
    with api.app.app_context():
        scan = db.session.scalars(select(Scan)).one()
    # the NUL is shown as U+FFFD: the record says something unreadable arrived
    assert (scan.result, scan.raw_code, scan.device) == ("invalid", "VB1.\ufffd", "desk\ufffd1")
    assert scan.id == answer["scan_id"]


def test_a_nul_in_the_sign_in_form_is_refused_in_the_persons_language(seeded):
    for lang, message in (("en", "Some fields are missing or invalid."),
                          ("zh-CN", "部分字段缺失或无效。")):
        client = seeded.test_client()
        client.get(f"/lang/{lang[:2]}?next=/")
        response = client.post("/login", data={"email": CREATOR + NUL, "password": PASSWORD})
        _assert_error_page(response, 422, lang, message)
        with client.session_transaction() as session:
            assert "_user_id" not in session


def test_a_nul_in_a_calendar_secret_is_not_found(seeded):
    client = seeded.test_client()
    for path in ("/calendar/%00.ics", "/calendar/abc%00def.ics", "/calendar/%00/resources/1.ics"):
        _assert_error_page(client.get(path), 404, "zh-CN", "未找到")


def test_a_nul_in_admin_input_is_refused(api):
    room = resource_id(api, "vjc-live-01")
    with api.app.app_context():
        name_before = db.session.get(Resource, room).name_en
    closure = api.post(f"/api/v1/admin/resources/{room}/closures", ADMIN,
                       json={"start": at(TOMORROW, "10:00"), "end": at(TOMORROW, "12:00"),
                             "reason": "repairs" + NUL})
    assert "reason" in _fields(closure)
    assert "name_en" in _fields(api.patch(f"/api/v1/admin/resources/{room}", ADMIN,
                                          json={"name_en": "Room" + NUL}))
    assert "q" in _fields(api.get("/api/v1/admin/vouchers?q=%00", ADMIN))

    pages = _signed_in(api.app, ADMIN, "en")
    _assert_error_page(pages.post(f"/admin/resources/{room}", data={"name_en": "Room" + NUL}),
                       422, "en", "Some fields are missing or invalid.")
    _assert_error_page(pages.get("/admin/money/vouchers?q=%00"), 422, "en",
                       "Some fields are missing or invalid.")
    with api.app.app_context():
        assert db.session.get(Resource, room).name_en == name_before


# ---- deeply nested JSON --------------------------------------------------------------------


def _json(client, method: str, path: str, body: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(path, method=method, data=body, content_type="application/json",
                       headers=headers)


def test_deeply_nested_json_is_refused_without_a_sign_in(api):
    body = _fields(_json(api.client, "POST", "/api/v1/auth/tokens", DEEP))
    assert "_body" in body


def test_deeply_nested_json_is_refused_by_every_json_endpoint(api):
    room = resource_id(api, "vjc-live-01")
    assert "_body" in _fields(_json(api.client, "POST", "/api/v1/bookings", DEEP,
                                    api.token(CREATOR)))
    assert "_body" in _fields(_json(api.client, "POST", f"/api/v1/admin/resources/{room}/closures",
                                    DEEP, api.token(ADMIN)))
    # nesting inside an otherwise fine object counts as well
    nested = '{"email": "a@b.cn", "password": "x", "label": ' + "[" * 200 + "]" * 200 + "}"
    assert "_body" in _fields(_json(api.client, "POST", "/api/v1/auth/tokens", nested))

    writes = [(re.sub(r"<\w+>", "x", re.sub(r"<int:\w+>", "1", rule.rule)), method)
              for rule in api.app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in sorted(rule.methods & {"POST", "PATCH", "PUT"})]
    assert len(writes) > 15
    for path, method in writes:
        for who in (ADMIN, CREATOR, OP_VJC):
            response = _json(api.client, method, path, DEEP, api.token(who))
            assert response.status_code < 500, (path, who, response.get_data(as_text=True)[:200])
            assert set(response.get_json()) == {"error"}, (path, who)


def test_nonsense_in_the_opening_hours_fields_is_a_form_error(api):
    with api.app.app_context():
        venue = db.session.scalars(select(Venue).order_by(Venue.id)).first()
        before = dict(venue.opening_hours)
        form = {"name_zh": venue.name_zh, "name_en": venue.name_en, "address_zh": venue.address_zh,
                "open_mon": "on", "from_mon": DEEP, "until_mon": "18:00"}
    pages = _signed_in(api.app, ADMIN, "en")
    response = pages.post(f"/admin/venues/{venue.id}", data=form)
    assert response.status_code == 422
    assert "Mon: give the opening and closing time." in response.get_data(as_text=True)
    with api.app.app_context():
        assert db.session.get(Venue, venue.id).opening_hours == before
