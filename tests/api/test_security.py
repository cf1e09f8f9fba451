"""Security properties a user or an attacker would notice.

Sessions (fixation, cookie flags, sign-out), security headers, check-in code forgery and
replay, personal data in exports and logs, and sign-in throttling.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openpyxl import load_workbook
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import func, select

from app.booking.models import Booking
from app.catalog.models import Resource
from app.checkin import codes
from app.checkin.models import CheckIn, Scan
from app.extensions import db
from app.ledger.models import JournalEntry
from tests.conftest import _make_app
from tests.helpers import (
    ADMIN,
    CREATOR,
    FINANCE,
    HP_CREATOR,
    OP_VJC,
    PASSWORD,
    assert_error,
    at,
    book,
)

TODAY = "2026-12-01"  # the clock stands at 10:00 Shanghai
MONTH = "2026-12"
CREATOR_PHONE = "13800001234"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


# ---- helpers -------------------------------------------------------------------------------


def _seed(app) -> None:
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog

    with app.app_context():
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()


@pytest.fixture
def make_app(backend, tmp_path, frozen_clock):
    """A seeded app with settings of the test's choosing (one per test)."""
    made = []

    def make(**overrides):
        app = _make_app(backend, tmp_path, **overrides)
        _seed(app)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def strict_app(make_app):
    """CSRF and rate limits switched on, as in production (tests/e2e/test_pages.py)."""
    from app.extensions import limiter

    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    limiter.reset()
    yield app
    limiter.reset()


def _session(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def _csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def _session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def _count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.scalar(query)


def _code(app, booking_id: int) -> str:
    from app.checkin.service import code_for

    with app.app_context():
        code = code_for(db.session, db.session.get(Booking, booking_id), app.config["SECRET_KEY"])
        db.session.commit()
        return code


def _scan(api, code, user=OP_VJC) -> dict:
    response = api.post("/api/v1/checkins", user, json={"code": code, "device": "desk-1"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _voucher_booking(api, start="10:00", end="12:00") -> tuple[dict, str]:
    voucher = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    response = book(api, "vjc-live-01", TODAY, start, end, voucher_code=voucher)
    assert response.status_code == 201, response.get_json()
    return response.get_json(), voucher


def _last_scan_reason(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Scan.reason).order_by(Scan.id.desc()).limit(1))


def _booking_status(api, booking_id: int) -> str:
    return api.get(f"/api/v1/bookings/{booking_id}", ADMIN).get_json()["status"]


# ---- sessions ------------------------------------------------------------------------------


def test_sign_in_starts_a_fresh_session(seeded):
    """A cookie planted before sign-in (session fixation) does not become the signed-in one.

    Sessions are signed cookies: an attacker cannot forge one, but can obtain a valid anonymous
    cookie from the site and plant it in a victim's browser. Signing in must not build on it.
    """
    client = seeded.test_client()
    client.get("/lang/en?next=/")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value
    assert {"lang": "en", "planted": "by an attacker"}.items() <= _session(client).items()

    response = client.post("/login", data={"email": CREATOR, "password": PASSWORD})
    assert response.status_code == 302
    after = _session(client)
    assert "planted" not in after  # nothing from before carries over ...
    assert after["lang"] == "en"   # ... except the chosen language, on purpose
    assert after["_user_id"].split(":")[0].isdigit() and ":" in after["_user_id"]
    assert client.get_cookie("session").value != before
    assert client.get("/api/v1/me").status_code == 200

    # the pre-login cookie is still anonymous: the sign-in lives only in the new cookie
    planted = seeded.test_client()
    planted.set_cookie("session", before)
    assert_error(planted.get("/api/v1/me"), 401, "unauthenticated")
    assert planted.get("/me").status_code == 302  # to the sign-in page

    # signing out clears the session in the browser
    assert client.post("/logout").status_code == 302
    assert "_user_id" not in _session(client)
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")


def test_sign_in_renews_the_csrf_token(strict_app):
    client = strict_app.test_client()
    old_token = _csrf_token(client)
    old_raw = _session(client)["csrf_token"]
    response = client.post("/login", data={"email": CREATOR, "password": PASSWORD,
                                           "csrf_token": old_token})
    assert response.status_code == 302
    assert "csrf_token" not in _session(client)  # cleared with the rest of the old session
    new_token = _csrf_token(client, "/me")
    assert _session(client)["csrf_token"] != old_raw
    # a form token from before sign-in is worthless afterwards
    assert client.post("/logout", data={"csrf_token": old_token}).status_code == 400
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": new_token}).status_code == 302
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")


def test_a_cookie_copied_before_sign_out_is_dead_after_it(seeded):
    client = seeded.test_client()
    assert client.post("/login", data={"email": CREATOR, "password": PASSWORD}).status_code == 302
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    thief = seeded.test_client()
    thief.set_cookie("session", stolen)
    assert_error(thief.get("/api/v1/me"), 401, "unauthenticated")


def test_session_cookie_flags(seeded):
    response = seeded.test_client().post("/login", data={"email": CREATOR, "password": PASSWORD})
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on a developer machine still works


@pytest.mark.parametrize("how", ["config", "environment"])
def test_secure_flag_when_configured(make_app, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
        app = make_app()
    else:
        app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().post("/login", data={"email": CREATOR, "password": PASSWORD})
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_browsers_are_told_to_keep_to_https_when_cookies_are_secure(make_app):
    for secure in (True, False):
        client = make_app(SESSION_COOKIE_SECURE=secure).test_client()
        for response in (client.get("/"), client.get("/api/v1/resources"),
                         client.post("/login", data={"email": CREATOR, "password": PASSWORD})):
            if secure:
                hsts = re.fullmatch(r"max-age=(\d+)",
                                    response.headers.get("Strict-Transport-Security", ""))
                assert hsts and int(hsts.group(1)) >= 180 * 86400, response.headers
            else:  # plain http on a developer machine must not be pinned to https
                assert "Strict-Transport-Security" not in response.headers


def test_bearer_tokens_are_stored_hashed(api):
    import hashlib

    from app.accounts.models import ApiToken

    token = api.post("/api/v1/auth/tokens",
                     json={"email": CREATOR, "password": PASSWORD}).get_json()["token"]
    with api.app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_revoked_tokens_and_deactivated_accounts_are_refused(api):
    from sqlalchemy import update

    from app.accounts.models import User
    from app.accounts.service import require_user, revoke_tokens

    assert api.get("/api/v1/me", CREATOR).status_code == 200
    with api.app.app_context():
        assert revoke_tokens(db.session, require_user(db.session, CREATOR)) == 1
        db.session.commit()
    assert_error(api.get("/api/v1/me", CREATOR), 401, "invalid_token")

    browser = api.app.test_client()
    assert browser.post("/login", data={"email": OP_VJC, "password": PASSWORD}).status_code == 302
    assert api.get("/api/v1/me", OP_VJC).status_code == 200
    with api.app.app_context():
        db.session.execute(update(User).where(User.email == OP_VJC).values(active=False))
        db.session.commit()
    assert_error(api.get("/api/v1/me", OP_VJC), 401, "invalid_token")
    assert_error(browser.get("/api/v1/me"), 401, "unauthenticated")
    assert browser.get("/operator/scan").status_code == 302  # back to the sign-in page
    # the right password learns why (a wrong one still hears only invalid_credentials)
    assert_error(api.post("/api/v1/auth/tokens", json={"email": OP_VJC, "password": PASSWORD}),
                 401, "account_inactive")
    assert_error(api.post("/api/v1/auth/tokens", json={"email": OP_VJC, "password": "guess-123"}),
                 401, "invalid_credentials")


# ---- which credentials count -----------------------------------------------------------------


def _signed_in_with_csrf(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": _csrf_token(client)})
    assert response.status_code == 302
    return client


def _booking_body(app) -> dict:
    with app.app_context():
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
    return {"resource_id": room, "start": at("2026-12-02", "10:00"), "end": at("2026-12-02", "11:00")}


def test_a_bearer_header_is_judged_alone_whatever_cookie_comes_with_it(strict_app):
    """The header skips the CSRF check; the cookie must then not authenticate the request."""
    browser = _signed_in_with_csrf(strict_app, CREATOR)
    wrong = {"Authorization": "Bearer x"}
    assert_error(browser.post("/api/v1/bookings", json=_booking_body(strict_app), headers=wrong),
                 401, "invalid_token")
    assert _count(strict_app, Booking) == 0
    assert_error(browser.get("/api/v1/me", headers=wrong), 401, "invalid_token")
    # a valid token speaks for its own account, not for the cookie's
    token = strict_app.test_client().post(
        "/api/v1/auth/tokens", json={"email": HP_CREATOR, "password": PASSWORD}).get_json()["token"]
    me = browser.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["email"] == HP_CREATOR
    # the cookie alone still works, CSRF-checked as before
    assert browser.get("/api/v1/me").get_json()["user"]["email"] == CREATOR
    assert_error(browser.post("/api/v1/bookings", json=_booking_body(strict_app)),
                 400, "csrf_failed")


def test_an_anonymous_api_write_is_asked_to_authenticate(strict_app):
    anonymous = strict_app.test_client()
    anonymous.get("/lang/en?next=/")  # a session cookie without an account changes nothing
    for response in (anonymous.post("/api/v1/bookings", json=_booking_body(strict_app)),
                     anonymous.get("/api/v1/me")):
        assert_error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    response = anonymous.post("/api/v1/bookings", json=_booking_body(strict_app),
                              headers={"Authorization": "Bearer x"})
    assert_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert _count(strict_app, Booking) == 0


# ---- redirects -----------------------------------------------------------------------------

# Each decodes (query string) to a path that a browser reads as another site, or that once
# broke the Location header.
OFF_SITE_NEXT = [
    "/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%0d%0a/evil.example",
    "/%09%0a%09/evil.example", "%09//evil.example", "/%5C/evil.example", "/%5C%09/evil.example",
    "//evil.example", "///evil.example", "https://evil.example/", "https:evil.example",
]


def _host_a_browser_reaches(location: str) -> str:
    """Browsers drop tabs and newlines from a URL and read a backslash as a slash (WHATWG)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("http://localhost/", cleaned)).netloc


def test_next_never_leads_off_site(seeded):
    for target in OFF_SITE_NEXT:
        client = seeded.test_client()
        switched = client.get(f"/lang/en?next={target}")
        assert switched.status_code == 302, target
        assert _host_a_browser_reaches(switched.headers["Location"]) == "localhost", target
        signed_in = client.post(f"/login?next={target}",
                                data={"email": CREATOR, "password": PASSWORD})
        assert signed_in.status_code == 302, target
        assert _host_a_browser_reaches(signed_in.headers["Location"]) == "localhost", target
        assert "_user_id" in _session(client), target


def test_next_keeps_a_local_path(seeded):
    client = seeded.test_client()
    target = "/resources/1/book?from=2026-12-02"
    assert client.get("/lang/en", query_string={"next": target}).headers["Location"] == target
    signed_in = client.post("/login", query_string={"next": "/me"},
                            data={"email": CREATOR, "password": PASSWORD})
    assert signed_in.headers["Location"] == "/me"


# ---- security headers ----------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_security_headers(response, where: str) -> None:
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    scripts = csp.get("script-src", csp["default-src"])
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts), where
    assert csp["object-src"] == ["'none'"], where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["Referrer-Policy"] in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), where


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def test_pages_send_security_headers_and_need_no_inline_script(api):
    booking, _ = _voucher_booking(api)
    room = booking["resource"]["id"]
    anonymous = api.app.test_client()
    signed_in = {}
    for email in (CREATOR, OP_VJC, FINANCE, ADMIN):
        client = api.app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        signed_in[email] = client
    pages = [
        (anonymous, "/", 200), (anonymous, "/login", 200), (anonymous, f"/resources/{room}", 200),
        (anonymous, f"/resources/{room}/book", 200), (anonymous, "/no-such-page", 404),
        (signed_in[CREATOR], f"/bookings/{booking['id']}", 200),
        (signed_in[CREATOR], "/me", 200),
        (signed_in[OP_VJC], "/operator/scan", 200),
        (signed_in[FINANCE], f"/finance/statements?month={MONTH}", 200),
        (signed_in[ADMIN], "/admin/", 200),
        (signed_in[CREATOR], "/admin/", 403),
    ]
    for client, path, status in pages:
        response = client.get(path)
        assert response.status_code == status, path
        assert response.mimetype == "text/html", path
        _assert_security_headers(response, path)
        html = response.get_data(as_text=True)
        # script-src 'self' only works if the pages need no inline script
        assert not INLINE_SCRIPT.search(html), f"inline <script> on {path}"
        assert not EVENT_HANDLER.search(html), f"inline event handler on {path}"


def test_api_responses_send_security_headers_and_no_store(api):
    booking, _ = _voucher_booking(api)
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]})
    vjc = booking["resource"]["venue"]["id"]
    statement = api.post("/api/v1/finance/statements", FINANCE,
                         json={"venue_id": vjc, "month": MONTH}).get_json()
    calls = [
        (None, "/api/v1/resources", 200),
        (None, "/api/v1/openapi.json", 200),
        (None, "/api/v1/me", 401),
        (CREATOR, "/api/v1/me", 200),
        (CREATOR, f"/api/v1/bookings/{booking['id']}", 200),
        (CREATOR, f"/api/v1/bookings/{booking['id']}/qr.png", 200),
        (HP_CREATOR, f"/api/v1/bookings/{booking['id']}", 404),
        (CREATOR, "/api/v1/admin/users", 403),
        (FINANCE, f"/api/v1/finance/statements/{statement['id']}", 200),
        (FINANCE, f"/api/v1/finance/statements/{statement['id']}/export?format=csv", 200),
    ]
    for user, path, status in calls:
        response = api.get(path, user)
        response.get_data()
        response.close()
        assert response.status_code == status, path
        _assert_security_headers(response, path)
        assert "no-store" in response.headers["Cache-Control"], path


def test_xlsx_statement_export_is_not_stored_by_caches(api):
    booking, _ = _voucher_booking(api)
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]})
    vjc = booking["resource"]["venue"]["id"]
    statement = api.post("/api/v1/finance/statements", FINANCE,
                         json={"venue_id": vjc, "month": MONTH}).get_json()
    response = api.get(f"/api/v1/finance/statements/{statement['id']}/export?format=xlsx", FINANCE)
    response.get_data()
    response.close()
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]


# ---- check-in codes: forgery, tampering, expiry, replay ------------------------------------


def test_a_code_signed_with_another_key_under_the_same_key_id_is_invalid(api):
    booking, _ = _voucher_booking(api)
    genuine = _code(api.app, booking["id"])
    claims = codes.read(genuine)
    forged = codes.sign(Ed25519PrivateKey.generate(), claims.key_id, claims.booking_id,
                        claims.expires)
    assert forged != genuine and forged.split(".")[:4] == genuine.split(".")[:4]
    answer = _scan(api, forged)
    assert answer["result"] == "invalid" and answer["booking"] is None
    assert _last_scan_reason(api.app) == "signature"
    # a forger's own key id is not trusted either
    own_key = codes.sign(Ed25519PrivateKey.generate(), "kforged", claims.booking_id, claims.expires)
    assert _scan(api, own_key)["result"] == "invalid"
    assert _last_scan_reason(api.app) == "unknown_key"
    assert _booking_status(api, booking["id"]) == "confirmed"
    assert _count(api.app, JournalEntry, kind="voucher.redeem") == 0
    assert _count(api.app, Scan, result="invalid") == 2  # failed scans are stored too


def test_a_code_for_one_booking_cannot_be_edited_into_another(api):
    mine, _ = _voucher_booking(api)
    other = book(api, "vjc-live-02", TODAY, "10:00", "11:00", HP_CREATOR).get_json()
    code = _code(api.app, mine["id"])
    version, key_id, _booking, expires, signature = code.split(".")
    for edited in (f"{version}.{key_id}.{other['id']}.{expires}.{signature}",
                   f"{version}.{key_id}.{mine['id']}.{int(expires) + 86400}.{signature}"):
        answer = _scan(api, edited)
        assert answer["result"] == "invalid" and answer["booking"] is None
        assert _last_scan_reason(api.app) == "signature"
    assert _booking_status(api, other["id"]) == "confirmed"
    assert _booking_status(api, mine["id"]) == "confirmed"


def test_a_replayed_code_redeems_nothing_again(api):
    booking, voucher = _voucher_booking(api)
    code = _code(api.app, booking["id"])
    first = _scan(api, code)
    assert first["result"] == "ok"
    for _ in range(2):
        again = _scan(api, code)
        assert again["result"] == "already_checked_in"
        assert again["checkin"]["at"] == first["checkin"]["at"]  # the first check-in, unchanged
    assert _count(api.app, JournalEntry, kind="voucher.redeem") == 1
    assert _count(api.app, CheckIn) == 1
    assert _count(api.app, Scan) == 3  # every scan is stored
    found = api.get(f"/api/v1/admin/vouchers?q={voucher}", ADMIN).get_json()["items"]
    assert [v["status"] for v in found] == ["redeemed"]


def test_an_expired_code_is_invalid(api, frozen_clock):
    booking, _ = _voucher_booking(api)  # 10:00-12:00: the code lives until 14:00
    code = _code(api.app, booking["id"])
    frozen_clock.set(datetime(2026, 12, 1, 5, 59, tzinfo=UTC))  # 13:59 Shanghai
    assert _scan(api, code)["result"] == "too_late"  # genuine, but the booking has ended
    frozen_clock.set(datetime(2026, 12, 1, 6, 0, 1, tzinfo=UTC))  # 14:00:01
    answer = _scan(api, code)
    assert answer["result"] == "invalid" and answer["booking"] is None
    assert _last_scan_reason(api.app) == "expired"
    assert _count(api.app, JournalEntry, kind="voucher.redeem") == 0


@pytest.mark.parametrize("statement", [
    "UPDATE scans SET result = 'ok'", "DELETE FROM scans",
    "UPDATE checkins SET device = 'edited'", "DELETE FROM checkins",
])
def test_scans_and_check_ins_cannot_be_rewritten(api, statement):
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    booking, _ = _voucher_booking(api)
    code = _code(api.app, booking["id"])
    _scan(api, code[:-2] + ("AA" if not code.endswith("AA") else "BB"))  # a failed scan
    assert _scan(api, code)["result"] == "ok"
    with api.app.app_context():
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert _count(api.app, Scan) == 2 and _count(api.app, CheckIn) == 1
    assert _count(api.app, Scan, result="invalid") == 1


# ---- personal data -------------------------------------------------------------------------


@pytest.fixture
def drafted(api, frozen_clock):
    """A voucher booking checked in at V聚场 and the month's draft statement; the clock then
    stands in January, when December can be issued."""
    booking, voucher = _voucher_booking(api)
    assert api.post("/api/v1/checkins", OP_VJC,
                    json={"booking_id": booking["id"]}).get_json()["result"] == "ok"
    vjc = booking["resource"]["venue"]["id"]
    statement = api.post("/api/v1/finance/statements", FINANCE,
                         json={"venue_id": vjc, "month": MONTH}).get_json()
    assert statement["line_count"] == 1
    frozen_clock.set(datetime(2027, 1, 2, 2, 0, tzinfo=UTC))
    return {"booking": booking, "voucher": voucher, "statement": statement}


def _assert_masked(text: str, where: str) -> None:
    assert CREATOR_PHONE not in text, where
    assert CREATOR not in text and not EMAIL.search(text), where
    assert not PHONE.search(text), where


def test_statement_exports_mask_the_creator(api, drafted):
    statement_id = drafted["statement"]["id"]
    for state in ("draft", "issued"):
        if state == "issued":
            assert api.post(f"/api/v1/finance/statements/{statement_id}/issue",
                            FINANCE).status_code == 200
        response = api.get(f"/api/v1/finance/statements/{statement_id}/export?format=csv", FINANCE)
        text = response.get_data().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        line = rows[2]
        assert line[4] == drafted["voucher"] and line[7] == "138****1234", line
        assert "小杨" not in line[6]  # the name is cut to its first character
        _assert_masked(text, f"{state} CSV")

        response = api.get(f"/api/v1/finance/statements/{statement_id}/export?format=xlsx", FINANCE)
        sheet = load_workbook(io.BytesIO(response.get_data())).active
        cells = " ".join(str(v) for row in sheet.values for v in row if v is not None)
        assert "138****1234" in cells
        _assert_masked(cells, f"{state} XLSX")
        response.close()

    body = api.get(f"/api/v1/finance/statements/{statement_id}", FINANCE).get_json()
    assert body["lines"][0]["phone"] == "138****1234"
    _assert_masked(json.dumps(body, ensure_ascii=False), "statement JSON")


def test_the_api_shows_the_full_phone_only_to_its_owner(api, drafted):
    booking_id = drafted["booking"]["id"]
    own = api.get(f"/api/v1/bookings/{booking_id}", CREATOR).get_json()
    assert own["creator"]["phone"] == CREATOR_PHONE
    assert api.get("/api/v1/me", CREATOR).get_json()["user"]["phone"] == CREATOR_PHONE
    for viewer in (OP_VJC, FINANCE, ADMIN):
        seen = api.get(f"/api/v1/bookings/{booking_id}", viewer).get_json()
        assert seen["creator"]["phone"] == "138****1234", viewer
        listed = api.get("/api/v1/bookings", viewer).get_json()
        assert CREATOR_PHONE not in json.dumps(listed), viewer
    users = api.get("/api/v1/admin/users", ADMIN).get_json()["items"]
    assert CREATOR_PHONE not in json.dumps(users)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def request_log():
    """The "venuebook.request" lines as production writes them (one JSON object each)."""
    logger = logging.getLogger("venuebook.request")
    capture = _Capture()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(capture)
    yield capture.lines
    logger.removeHandler(capture)
    logger.setLevel(level)


def _user_ids(api) -> dict[str, int]:
    return {u["email"]: u["id"] for u in api.get("/api/v1/admin/users", ADMIN).get_json()["items"]}


def test_request_log_names_users_by_id_only(api, drafted, request_log):
    ids = _user_ids(api)
    booking_id = drafted["booking"]["id"]
    statement_id = drafted["statement"]["id"]
    request_log.clear()
    calls = [
        (CREATOR, "/api/v1/me"), (CREATOR, f"/api/v1/bookings/{booking_id}"),
        (CREATOR, f"/api/v1/bookings/{booking_id}/qr.svg"),
        (OP_VJC, f"/api/v1/bookings?venue={drafted['booking']['resource']['venue']['id']}"),
        (FINANCE, f"/api/v1/finance/statements/{statement_id}/export?format=csv"),
        (ADMIN, "/api/v1/admin/users"), (ADMIN, f"/api/v1/admin/vouchers?q={CREATOR}"),
        (HP_CREATOR, f"/api/v1/bookings/{booking_id}"),
    ]
    for user, path in calls:
        response = api.get(path, user)
        response.get_data()
        response.close()
    # a page sign-in carries the email in its form; the session then carries the user
    client = api.app.test_client()
    client.post("/login", data={"email": CREATOR, "password": PASSWORD})
    client.get("/me")
    client.post("/login", data={"email": CREATOR, "password": "a-wrong-guess"})

    assert len(request_log) == len(calls) + 3
    records = [json.loads(line) for line in request_log]
    for line in request_log:
        assert not EMAIL.search(line), line
        assert not PHONE.search(line), line
    expected = [ids[user] for user, _ in calls] + [ids[CREATOR], ids[CREATOR], ids[CREATOR]]
    assert [r["user_id"] for r in records] == expected
    assert all(r["message"] == "request" and r["path"].startswith("/") for r in records)


def test_request_log_holds_no_bearer_token(api, request_log):
    token = api.token(CREATOR)
    api.get("/api/v1/me", CREATOR)
    api.get("/api/v1/me", headers={"Authorization": "Bearer vb_wrong-token-value"})
    assert request_log
    assert not any(token in line or "vb_wrong-token-value" in line for line in request_log)


def test_request_log_holds_no_calendar_secret(api, request_log):
    book(api, "vjc-live-01", "2026-12-02", "10:00", "11:00")
    url = api.get("/api/v1/me", CREATOR).get_json()["calendar_url"]
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert api.get(url.split("localhost", 1)[1]).status_code == 200
    assert not any(secret in line for line in request_log)


# ---- throttling ----------------------------------------------------------------------------


def test_sign_in_page_is_throttled(strict_app):
    client = strict_app.test_client()
    for email in (CREATOR, ADMIN, FINANCE):  # guessing across accounts counts too
        response = client.post("/login", data={"email": email, "password": "a-wrong-guess",
                                               "csrf_token": _csrf_token(client)})
        assert response.status_code == 401
    response = client.post("/login", data={"email": CREATOR, "password": PASSWORD,
                                           "csrf_token": _csrf_token(client)})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert "_user_id" not in _session(client)  # the right password did not get through
    assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    # reading the sign-in page is not limited
    assert client.get("/login").status_code == 200


# the wait the person is told, in English and in Chinese
RETRY = re.compile(r"(?:try again in |请 ?)(\d+) ?(?:s\b|秒)")


@pytest.fixture
def throttled_app(make_app):
    """Per-address and per-account limits of 3 a minute, in memory."""
    from app.extensions import limiter

    app = make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute",
                   LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    limiter.reset()
    yield app
    limiter.reset()


def _sign_in_from(client, address: str, email: str, password: str):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ)


def _wait_told(response, text: str) -> int:
    """The wait the person reads, which is the one the Retry-After header gives."""
    seconds = int(RETRY.search(text).group(1))
    assert 1 <= seconds <= 61  # a minute's window, rounded up
    assert int(response.headers["Retry-After"]) == seconds
    return seconds


def test_an_account_is_throttled_from_every_address(throttled_app):
    """Guessing one account's password from many addresses stops at the account's limit."""
    for n in range(3):
        guess = _sign_in_from(throttled_app.test_client(), f"198.51.100.{n}", CREATOR, "wrong-guess")
        assert guess.status_code == 401
    person = throttled_app.test_client()
    person.get("/lang/en?next=/")
    response = _sign_in_from(person, "203.0.113.7", CREATOR, PASSWORD)  # the right password
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert "try again in" in response.get_data(as_text=True)
    _wait_told(response, response.get_data(as_text=True))
    assert "_user_id" not in _session(person)
    api = throttled_app.test_client().post("/api/v1/auth/tokens",
                                           json={"email": CREATOR.upper(), "password": PASSWORD},
                                           environ_base={"REMOTE_ADDR": "203.0.113.8"})
    error = assert_error(api, 429, "rate_limited")
    assert error["details"]["retry_after"] == _wait_told(api, error["message"])  # in Chinese
    # other accounts are not held up, and sign-ins that succeed do not count
    for n in range(4):
        other = _sign_in_from(throttled_app.test_client(), f"192.0.2.{n}", HP_CREATOR, PASSWORD)
        assert other.status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy_only(make_app):
    from app.extensions import limiter

    def guesses(app, forwarded_for: list[str]) -> list[int]:
        """One wrong password for each of four accounts, from the given X-Forwarded-For."""
        limiter.reset()
        return [app.test_client().post("/api/v1/auth/tokens",
                                       json={"email": email, "password": "wrong-guess"},
                                       headers={"X-Forwarded-For": address}).status_code
                for email, address in zip((CREATOR, ADMIN, FINANCE, OP_VJC), forwarded_for,
                                          strict=True)]

    settings = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
    behind_nginx = make_app(TRUSTED_PROXY_HOPS=1, **settings)
    # nginx appends the address it saw: four clients, one guess each
    assert guesses(behind_nginx, [f"198.51.100.{n}" for n in range(4)]) == [401] * 4
    assert guesses(behind_nginx, ["198.51.100.1"] * 4) == [401] * 3 + [429]
    # without a trusted proxy the header is the client's own claim: it changes nothing
    direct = make_app(**settings)
    assert guesses(direct, [f"198.51.100.{n}" for n in range(4)]) == [401] * 3 + [429]
    limiter.reset()


REDIS_URL = os.environ.get("RATELIMIT_STORAGE_URI_TEST", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_prefix():
    """This test process's key prefix on the Redis server; its keys are removed afterwards."""
    import redis

    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.exceptions.ConnectionError as err:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {err}")
        pytest.skip(f"no Redis server reachable at {REDIS_URL}: {err}")
    prefix = f"venuebook-test-{os.getpid()}"
    yield prefix
    for key in server.scan_iter(match=f"*{prefix}*"):
        server.delete(key)
    server.close()


def test_workers_sharing_redis_share_the_sign_in_counts(make_app, redis_prefix):
    """Guesses at one account, spread over two workers and four addresses, are counted once.

    Two app instances stand for two gunicorn workers: each builds its own storage connection
    at start, and only what is in Redis is common to them.
    """
    from app import create_app

    first = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL,
                     RATELIMIT_KEY_PREFIX=redis_prefix, LOGIN_RATE_LIMIT="10 per minute",
                     LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")

    def attempt(app, address: str, password: str) -> int:
        return app.test_client().post("/api/v1/auth/tokens",
                                      json={"email": CREATOR, "password": password},
                                      environ_base={"REMOTE_ADDR": address}).status_code

    answers = [attempt(first, f"198.51.100.{n}", "wrong-guess") for n in range(2)]
    second = create_app(dict(first.config))  # what another worker builds at start
    try:
        answers += [attempt(second, "198.51.100.7", "wrong-guess"),
                    attempt(second, "198.51.100.8", PASSWORD)]
    finally:
        with second.app_context():
            db.engine.dispose()
    assert answers == [401, 401, 401, 429]


@pytest.mark.parametrize(("argv", "environ", "storage", "warned"), [
    (["gunicorn", "-w", "4", "wsgi:app"], {}, "memory://", True),
    (["gunicorn", "--workers=3", "-b", "127.0.0.1:8000", "wsgi:app"], {}, "memory://", True),
    (["gunicorn", "wsgi:app"], {"WEB_CONCURRENCY": "2"}, "memory://", True),
    (["gunicorn", "-w", "4", "wsgi:app"], {}, REDIS_URL, False),
    (["gunicorn", "-w", "1", "wsgi:app"], {}, "memory://", False),
    (["flask", "run", "-w", "4"], {}, "memory://", False),  # not gunicorn: -w means nothing
])
def test_several_workers_on_memory_storage_are_warned_at_start(monkeypatch, tmp_path, argv,
                                                               environ, storage, warned):
    from app import create_app

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    logger = logging.getLogger("venuebook.config")
    capture = _Capture()
    logger.addHandler(capture)
    try:
        create_app({"TESTING": True, "SECRET_KEY": "x", "LOG_JSON": False, "LOG_LEVEL": "WARNING",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'warn.sqlite3'}",
                    "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage})
    finally:
        logger.removeHandler(capture)
    warnings = [json.loads(line)["message"] for line in capture.lines]
    if warned:
        assert len(warnings) == 1 and "RATELIMIT_STORAGE_URI" in warnings[0], warnings
    else:
        assert warnings == []
