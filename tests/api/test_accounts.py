"""Accounts a person runs themselves: password change, reset by an emailed link, registration
with email verification; and what administrators do to accounts (search, disable, roles,
reset). Emails are read from the outbox, as the mail sender would."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import AccountToken, User
from app.accounts.service import require_user
from app.audit.models import AuditEntry
from app.extensions import db
from app.notify.models import Notification
from app.privacy.models import Consent
from app.privacy.rules import CURRENT_NOTICE
from tests.conftest import _make_app
from tests.helpers import ADMIN, CREATOR, HP_CREATOR, PASSWORD, assert_error, book

NEW_PASSWORD = "a-new-secret-42"
LINK = re.compile(r"http://localhost(/(?:password/reset|verify)/[A-Za-z0-9_-]+)")


def _client(app):
    """A browser that chose English (pages answer in Chinese unless asked otherwise)."""
    client = app.test_client()
    client.get("/lang/en?next=/")
    return client


def _login(app, email, password=PASSWORD, *, chinese=False):
    client = app.test_client() if chinese else _client(app)
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _mails(app, email, kind) -> list[Notification]:
    with app.app_context():
        user = require_user(db.session, email)
        notes = db.session.scalars(select(Notification).where(
            Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)).all()
        db.session.remove()
    return notes


def _link(app, email, kind) -> str:
    """The path of the link in the newest email of ``kind`` to ``email``."""
    return LINK.search(_mails(app, email, kind)[-1].body).group(1)


def _audit(app, action) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.id)).all()
        db.session.remove()
    return entries


def _user_id(app, email) -> int:
    with app.app_context():
        user_id = require_user(db.session, email).id
        db.session.remove()
    return user_id


# ---- password change ------------------------------------------------------------------------


def test_changing_the_password_signs_out_other_devices_and_tokens(api):
    app = api.app
    here, elsewhere = _login(app, CREATOR), _login(app, CREATOR)
    token_before = api.token(CREATOR)
    assert api.get("/api/v1/me", CREATOR).status_code == 200
    page = here.get("/me/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.get_data(as_text=True)

    wrong = here.post("/me/password", data={"current_password": "not-it", "new_password": NEW_PASSWORD,
                                            "repeat": NEW_PASSWORD})
    assert wrong.status_code == 422 and "current password is wrong" in wrong.get_data(as_text=True)
    short = here.post("/me/password", data={"current_password": PASSWORD, "new_password": "short",
                                            "repeat": "short"})
    assert short.status_code == 422 and "Between 8 and 200" in short.get_data(as_text=True)
    differ = here.post("/me/password", data={"current_password": PASSWORD,
                                             "new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and "two new passwords differ" in differ.get_data(as_text=True)
    assert _audit(app, "user.password_change") == []  # nothing changed by the refusals

    done = here.post("/me/password", data={"current_password": PASSWORD,
                                           "new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/me")
    assert here.get("/me").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/me").status_code == 302  # the other device is signed out
    assert_error(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token_before}"}),
                 401, "invalid_token")
    assert _client(app).post("/login", data={"email": CREATOR, "password": PASSWORD}
                                  ).status_code == 401
    _login(app, CREATOR, NEW_PASSWORD)
    [entry] = _audit(app, "user.password_change")
    assert entry.actor_id == _user_id(app, CREATOR) and entry.after == {"tokens_revoked": 1}
    assert _mails(app, CREATOR, "password_changed")  # the owner is told, in case it was not them


def test_password_change_page_needs_a_sign_in_and_speaks_chinese(seeded):
    assert seeded.test_client().get("/me/password").status_code == 302
    client = _login(seeded, CREATOR, chinese=True)
    page = client.get("/me/password", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "修改密码" in page and "当前密码" in page
    wrong = client.post("/me/password", data={"current_password": "x", "new_password": NEW_PASSWORD,
                                              "repeat": NEW_PASSWORD},
                        headers={"Accept-Language": "zh-CN"})
    assert "当前密码不正确" in wrong.get_data(as_text=True)


# ---- password reset ---------------------------------------------------------------------------


def _forgot(client, email):
    return client.post("/password/forgot", data={"email": email})


def test_forgot_password_answers_the_same_for_unknown_addresses(seeded):
    login = _client(seeded).get("/login").get_data(as_text=True)
    assert "/password/forgot" in login and "/register" in login
    known = _forgot(_client(seeded), CREATOR.upper())
    unknown = _forgot(_client(seeded), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert "If an account uses this address" in known.get_data(as_text=True)
    [mail] = _mails(seeded, CREATOR, "password_reset")
    assert "/password/reset/" in mail.body
    with seeded.app_context():
        assert db.session.scalar(select(Notification.id).where(
            Notification.kind == "password_reset").offset(1)) is None  # only the real account's


def test_a_reset_link_works_once_and_ends_other_sign_ins(api, frozen_clock):
    app = api.app
    elsewhere = _login(app, CREATOR)
    token_before = api.token(CREATOR)
    _forgot(_client(app), CREATOR)
    path = _link(app, CREATOR, "password_reset")
    secret = path.rsplit("/", 1)[1]
    with app.app_context():  # only the hash is kept
        row = db.session.scalar(select(AccountToken))
        assert secret not in row.token_hash and len(row.token_hash) == 64
        assert row.expires_at - row.created_at == timedelta(hours=1)
        db.session.remove()

    person = _client(app)
    assert person.get(path).status_code == 200
    mismatch = person.post(path, data={"new_password": NEW_PASSWORD, "repeat": "other-secret-1"})
    assert mismatch.status_code == 422  # a typo does not spend the link
    done = person.post(path, data={"new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    _login(app, CREATOR, NEW_PASSWORD)
    assert elsewhere.get("/me").status_code == 302
    assert_error(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token_before}"}),
                 401, "invalid_token")

    again = person.post(path, data={"new_password": "third-secret-3", "repeat": "third-secret-3"})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert _client(app).get(path).status_code == 410
    _login(app, CREATOR, NEW_PASSWORD)  # the second use changed nothing
    assert [e.object_id for e in _audit(app, "user.password_reset")] == [str(_user_id(app, CREATOR))]


def test_an_expired_or_replaced_reset_link_says_so(seeded, frozen_clock):
    _forgot(_client(seeded), CREATOR)
    first = _link(seeded, CREATOR, "password_reset")
    _forgot(_client(seeded), CREATOR)
    second = _link(seeded, CREATOR, "password_reset")
    assert first != second
    replaced = _client(seeded).get(first)  # only the newest email counts
    assert replaced.status_code == 410 and "expired" in replaced.get_data(as_text=True)
    frozen_clock.advance(timedelta(minutes=61))
    late = _client(seeded).post(second, data={"new_password": NEW_PASSWORD,
                                                   "repeat": NEW_PASSWORD})
    assert late.status_code == 410 and "This link has expired" in late.get_data(as_text=True)
    bogus = seeded.test_client().get("/password/reset/not-a-real-link",
                                     headers={"Accept-Language": "zh-CN"})
    assert bogus.status_code == 404 and "链接无效" in bogus.get_data(as_text=True)
    _login(seeded, CREATOR)  # the password is unchanged


def test_a_reset_does_not_lift_the_sign_in_throttle(backend, tmp_path, frozen_clock):
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog
    from app.extensions import limiter

    app = _make_app(backend, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute",
                    LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    with app.app_context():
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
    limiter.reset()
    try:
        for _ in range(3):
            assert _client(app).post("/login", data={"email": CREATOR, "password": "guess-1"}
                                          ).status_code == 401
        _forgot(_client(app), CREATOR)
        path = _link(app, CREATOR, "password_reset")
        assert _client(app).post(path, data={"new_password": NEW_PASSWORD,
                                                  "repeat": NEW_PASSWORD}).status_code == 302
        throttled = _client(app).post("/login", data={"email": CREATOR,
                                                           "password": NEW_PASSWORD})
        assert throttled.status_code == 429
    finally:
        limiter.reset()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# ---- registration --------------------------------------------------------------------------

NEWCOMER = "new.creator@example.com"
FORM = {"email": NEWCOMER, "display_name": "新主播 小王", "phone": "13911112222",
        "new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD, "consent": "y",
        "notice_version": CURRENT_NOTICE}


def test_register_verify_then_book(api):
    app = api.app
    page = app.test_client().get("/register")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "注册为创作者" in text and "隐私政策" in text
    assert f'value="{CURRENT_NOTICE}"' in text

    # an attempt to grant oneself more than the creator role is ignored
    done = _client(app).post("/register", data={**FORM, "roles": "admin"})
    assert done.status_code == 200 and "Check your email" in done.get_data(as_text=True)
    with app.app_context():
        user = require_user(db.session, NEWCOMER)
        assert user.roles == ["creator"] and not user.email_verified
        consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
        assert consent.notice_version == CURRENT_NOTICE
        db.session.remove()
    [entry] = _audit(app, "user.register")
    assert NEWCOMER not in str(entry.after) and entry.after["notice_version"] == CURRENT_NOTICE

    client = _login(app, NEWCOMER, NEW_PASSWORD)
    me = client.get("/api/v1/me").get_json()
    # signing up grants no subsidy: no quota, no vouchers, no certification
    assert me["quota"] == [] and me["vouchers"] == [] and me["certifications"] == []
    assert me["user"]["email_verified"] is False
    assert "Confirm your email address to book" in client.get("/me").get_data(as_text=True)
    refused = book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00", as_user=NEWCOMER)
    assert_error(refused, 403, "email_not_verified")

    path = _link(app, NEWCOMER, "verify_email")
    assert _client(app).get(path).status_code == 200  # a mail scanner opening it spends nothing
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert client.get("/api/v1/me").get_json()["user"]["email_verified"] is True
    again = _client(app).post(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    booked = book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00", as_user=NEWCOMER)
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["price"]["self_pay_fen"] == booked.get_json()["price"]["gross_fen"]


@pytest.mark.parametrize("change, field_text", [
    ({"consent": ""}, "agree to it"),
    ({"notice_version": "2001-01"}, "privacy notice has changed"),
    ({"phone": "call me"}, "Not a phone number"),
    ({"email": "no-at-sign"}, "Not a valid email"),
    ({"repeat": "something-else"}, "two new passwords differ"),
    ({"new_password": "short", "repeat": "short"}, "Between 8 and 200"),
])
def test_registration_refuses_incomplete_forms(seeded, change, field_text):
    form = {**FORM, **change}
    if not form["consent"]:
        del form["consent"]
    response = _client(seeded).post("/register", data=form)
    assert response.status_code == 422 and field_text in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(select(User).where(User.email == NEWCOMER)) is None
        db.session.remove()


def test_a_taken_email_is_refused_without_saying_more(seeded):
    response = _client(seeded).post("/register", data={**FORM, "email": HP_CREATOR.upper()})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "cannot be registered" in text
    assert "黄浦" not in text and "hp" not in text.split("cannot be registered")[1][:80]
    assert _mails(seeded, HP_CREATOR, "verify_email") == []


def test_verification_link_expires_and_can_be_sent_again(seeded, frozen_clock):
    _client(seeded).post("/register", data=FORM)
    old = _link(seeded, NEWCOMER, "verify_email")
    frozen_clock.advance(timedelta(hours=49))
    late = _client(seeded).post(old)
    assert late.status_code == 410 and "expired" in late.get_data(as_text=True)
    client = _login(seeded, NEWCOMER, NEW_PASSWORD)
    assert client.post("/me/verify/resend").status_code == 302
    fresh = _link(seeded, NEWCOMER, "verify_email")
    assert fresh != old and client.post(fresh).status_code == 302
    assert "already confirmed" in client.post("/me/verify/resend", follow_redirects=True
                                              ).get_data(as_text=True)


# ---- administrators ---------------------------------------------------------------------------


def test_admins_search_accounts_by_email_name_or_phone(api, seeded):
    admin = _login(seeded, ADMIN)
    by_name = admin.get("/admin/users?q=小杨").get_data(as_text=True)
    assert CREATOR in by_name and HP_CREATOR not in by_name
    with seeded.app_context():
        phone = require_user(db.session, HP_CREATOR).phone
        db.session.remove()
    by_phone = admin.get(f"/admin/users?q={phone[-4:]}").get_data(as_text=True)
    assert HP_CREATOR in by_phone and CREATOR not in by_phone
    # the list shows phones masked: the unmasked view is the audited personal-data page
    assert phone not in by_phone and phone[:3] + "****" + phone[-4:] in by_phone
    assert "No account matches" in admin.get("/admin/users?q=%25_none").get_data(as_text=True)
    found = api.get("/api/v1/admin/users?q=HP.CREATOR", ADMIN).get_json()["items"]
    assert [u["email"] for u in found] == [HP_CREATOR]
    assert api.get("/admin/users?q=x", CREATOR).status_code in (302, 403)


def test_a_long_account_list_says_it_is_cut_short(seeded, monkeypatch):
    from app.admin import routes as admin_routes

    admin = _login(seeded, ADMIN)
    assert "Showing the first" not in admin.get("/admin/users").get_data(as_text=True)
    monkeypatch.setattr(admin_routes, "USERS_PER_PAGE", 2)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Showing the first 2 accounts: search to find others." in page
    assert len(re.findall(r'href="/admin/users/\d+"', page)) == 2
    assert CREATOR in admin.get("/admin/users?q=yp.creator").get_data(as_text=True)


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(api):
    app = api.app
    creator_id = _user_id(app, CREATOR)
    session = _login(app, CREATOR)
    token = api.token(CREATOR)
    admin = _login(app, ADMIN)
    done = admin.post(f"/admin/users/{creator_id}/active", data={"active": "0"}, follow_redirects=True)
    assert "Account disabled" in done.get_data(as_text=True)
    assert session.get("/me").status_code == 302
    assert_error(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
                 401, "invalid_token")
    refused = _client(app).post("/login", data={"email": CREATOR, "password": PASSWORD})
    assert refused.status_code == 401 and "account is disabled" in refused.get_data(as_text=True)
    guess = _client(app).post("/login", data={"email": CREATOR, "password": "a-guess-123"})
    assert "disabled" not in guess.get_data(as_text=True)  # a guesser learns nothing
    assert_error(api.client.post("/api/v1/auth/tokens", json={"email": CREATOR,
                                                              "password": PASSWORD}),
                 401, "account_inactive")
    _forgot(_client(app), CREATOR)
    assert _mails(app, CREATOR, "password_reset") == []  # a reset cannot reopen it

    enabled = api.patch(f"/api/v1/admin/users/{creator_id}", ADMIN, json={"active": True})
    assert enabled.status_code == 200 and enabled.get_json()["active"] is True
    _login(app, CREATOR)
    admin_id = _user_id(app, ADMIN)
    assert [(e.actor_id, e.after["active"]) for e in _audit(app, "user.disable")] == [(admin_id, False)]
    assert [(e.actor_id, e.after["active"]) for e in _audit(app, "user.enable")] == [(admin_id, True)]


def test_admins_change_roles_but_not_their_own_admin_role(api):
    app = api.app
    creator_id, admin_id = _user_id(app, CREATOR), _user_id(app, ADMIN)
    page = _login(app, ADMIN, chinese=True).get(f"/admin/users/{creator_id}")
    admin = _login(app, ADMIN)
    assert "停用账户" in page.get_data(as_text=True) and "创作者" in page.get_data(as_text=True)
    admin.post(f"/admin/users/{creator_id}/roles", data={"roles": ["creator", "finance"]})
    assert api.get("/api/v1/finance/reconciliation?month=2026-12", CREATOR).status_code == 200
    [entry] = _audit(app, "user.roles")
    assert entry.actor_id == admin_id and entry.before == {"roles": ["creator"]}
    assert entry.after == {"roles": ["creator", "finance"]}

    assert_error(api.patch(f"/api/v1/admin/users/{creator_id}", ADMIN, json={"roles": ["boss"]}),
                 422, "validation_error")
    assert_error(api.patch(f"/api/v1/admin/users/{admin_id}", ADMIN, json={"roles": ["creator"]}),
                 409, "own_account")
    assert_error(api.patch(f"/api/v1/admin/users/{admin_id}", ADMIN, json={"active": False}),
                 409, "own_account")
    refused = admin.post(f"/admin/users/{admin_id}/active", data={"active": "0"},
                         follow_redirects=True)
    assert "cannot disable your own account" in refused.get_data(as_text=True)
    assert admin.get("/admin/").status_code == 200


def test_admins_send_a_reset_link(api):
    app = api.app
    creator_id = _user_id(app, CREATOR)
    admin = _login(app, ADMIN)
    sent = admin.post(f"/admin/users/{creator_id}/password-reset", follow_redirects=True)
    assert "reset link was emailed" in sent.get_data(as_text=True)
    assert api.post(f"/api/v1/admin/users/{creator_id}/password-reset", ADMIN).status_code == 202
    assert len(_mails(app, CREATOR, "password_reset")) == 2
    path = _link(app, CREATOR, "password_reset")
    assert _client(app).post(path, data={"new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD}
                                  ).status_code == 302
    _login(app, CREATOR, NEW_PASSWORD)
    assert {e.actor_id for e in _audit(app, "user.password_reset_send")} == {_user_id(app, ADMIN)}
    assert_error(api.post("/api/v1/admin/users/999999/password-reset", ADMIN), 404, "not_found")
