"""Self-pay paid online before arrival, against a local stand-in for WeChat Pay and Alipay that
checks our signed requests and signs its answers and notifications: a paid order, the same
notification twice, a forged one, a wrong amount, a late one confirmed by query, refunds."""

from __future__ import annotations

import logging
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.finance.reconcile import reconcile
from app.jobs import run_job
from app.payments import online, providers
from app.payments.models import OnlineOrder, Payment, ProviderNotification
from app.payments.providers import app_client
from tests.helpers import CREATOR, FINANCE, HP_CREATOR, OP_VJC, assert_error, book
from tests.payment_standin import StandIn, new_key

ROOM = "vjc-live-01"  # ¥180 an hour, no voucher used: all self-pay
BOTH = ["wechat", "alipay"]


@pytest.fixture(scope="module")
def standin():
    server = StandIn()
    yield server
    server.stop()


@pytest.fixture
def paying(api, standin):
    """The API with both providers configured against the stand-in."""
    standin.reset()
    api.app.config.update(standin.config())
    yield api
    assert standin.unsigned_requests == 0, "a request reached the stand-in unsigned"


def _clean(api):
    with api.app.app_context():
        report = reconcile(db.session, "2026-12")
        assert report.ok, [(v.invariant, v.object_id, v.message) for v in report.violations]


def _booking(api, day="2026-12-05", start="10:00", end="11:00") -> int:
    response = book(api, ROOM, day, start, end)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _order(api, booking_id: int, provider: str, as_user=CREATOR):
    return api.post(f"/api/v1/bookings/{booking_id}/payments/online", as_user,
                    json={"provider": provider})


def _open(api, standin, booking_id: int, provider: str) -> dict:
    response = _order(api, booking_id, provider)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    if provider == "alipay":  # the creator's browser opens the signed page URL
        with urllib.request.urlopen(order["pay_url"], timeout=10) as page:
            assert "支付宝" in page.read().decode()
    return order


def _notification(standin, provider: str, order_no: str, **kwargs) -> dict:
    if provider == "wechat":
        headers, body = standin.wechat_notification(order_no, **kwargs)
        return {"data": body, "headers": headers}
    return {"data": standin.alipay_notification(order_no, **kwargs),
            "content_type": "application/x-www-form-urlencoded"}


def _notify(api, provider: str, notification: dict):
    return api.client.post(f"/api/v1/payments/notify/{provider}", **notification)


def _accepted(provider: str, response) -> bool:
    if provider == "wechat":
        return response.status_code == 204
    assert response.status_code == 200
    return response.get_data(as_text=True) == "success"


def _listing(api, booking_id: int) -> dict:
    return api.get(f"/api/v1/bookings/{booking_id}/payments", CREATOR).get_json()


def _outcomes(api) -> list[str]:
    with api.app.app_context():
        return list(db.session.scalars(select(ProviderNotification.outcome)
                                       .order_by(ProviderNotification.id)))


def _paid_at_provider(api, standin, provider: str) -> tuple[int, dict]:
    """A booking whose order the creator has paid at the provider, nobody told us yet."""
    booking_id = _booking(api)
    order = _open(api, standin, booking_id, provider)
    standin.pay(provider, order["order_no"])
    return booking_id, order


def _pay_online(api, standin, provider: str, booking_id: int) -> dict:
    order = _open(api, standin, booking_id, provider)
    standin.pay(provider, order["order_no"])
    assert _accepted(provider, _notify(api, provider, _notification(standin, provider,
                                                                    order["order_no"])))
    return order


@pytest.mark.parametrize("provider", BOTH)
def test_a_paid_order(paying, standin, provider):
    booking_id = _booking(paying)
    order = _open(paying, standin, booking_id, provider)
    assert order["amount_fen"] == 18000 and order["provider"] == provider
    if provider == "wechat":
        assert order["code_url"].startswith("weixin://wxpay/") and order["pay_url"] is None
    else:
        assert order["pay_url"].startswith(standin.url) and order["code_url"] is None
    # the same amount still due: the open order is reused, not a second one opened
    assert _order(paying, booking_id, provider).get_json()["order_no"] == order["order_no"]

    standin.pay(provider, order["order_no"])
    answer = _notify(paying, provider, _notification(standin, provider, order["order_no"]))
    assert _accepted(provider, answer)

    listing = _listing(paying, booking_id)
    assert (listing["paid_fen"], listing["outstanding_fen"]) == (18000, 0)
    [payment] = listing["items"]
    assert payment["method"] == provider and payment["online"] is True
    assert payment["reference"] == standin.__dict__[provider][order["order_no"]].txn_id
    assert _outcomes(paying) == ["paid"]
    assert_error(_order(paying, booking_id, provider), 422, "nothing_due")
    _clean(paying)


@pytest.mark.parametrize("provider", BOTH)
def test_the_same_notification_twice_changes_nothing(paying, standin, provider):
    booking_id, order = _paid_at_provider(paying, standin, provider)
    notification = _notification(standin, provider, order["order_no"])
    assert _accepted(provider, _notify(paying, provider, notification))
    assert _accepted(provider, _notify(paying, provider, notification))  # success again
    listing = _listing(paying, booking_id)
    assert len(listing["items"]) == 1 and listing["paid_fen"] == 18000
    assert _outcomes(paying) == ["paid", "duplicate"]
    _clean(paying)


@pytest.mark.parametrize("provider", BOTH)
def test_a_forged_notification_is_refused_and_kept(paying, standin, provider):
    booking_id, order = _paid_at_provider(paying, standin, provider)
    forged = _notification(standin, provider, order["order_no"], key=new_key())
    answer = _notify(paying, provider, forged)
    assert not _accepted(provider, answer)
    if provider == "wechat":
        assert answer.status_code == 400 and answer.get_json()["code"] == "FAIL"
    else:
        assert answer.get_data(as_text=True) == "failure"
    # a genuine notification with its body changed afterwards is forged too
    genuine = _notification(standin, provider, order["order_no"])
    tampered = dict(genuine, data=genuine["data"].replace("1", "2", 1))
    assert not _accepted(provider, _notify(paying, provider, tampered))
    assert _listing(paying, booking_id)["paid_fen"] == 0
    assert _outcomes(paying) == ["forged", "forged"]
    with paying.app.app_context():
        stored = db.session.scalars(select(ProviderNotification)).first()
        assert stored.body == forged["data"] and stored.provider == provider
    _clean(paying)


def test_a_notification_naming_another_signing_key_is_forged_without_asking_anyone(paying,
                                                                                   standin):
    booking_id, order = _paid_at_provider(paying, standin, "wechat")
    notification = _notification(standin, "wechat", order["order_no"])
    notification["headers"]["Wechatpay-Serial"] = "5157F09EFDC096DE15EBE81A47057A72"
    assert not _accepted("wechat", _notify(paying, "wechat", notification))
    assert "/v3/certificates" not in standin.paths  # the SDK would have fetched them
    assert _outcomes(paying) == ["forged"]


def test_a_notification_that_fails_to_apply_is_kept_and_asked_again(paying, standin,
                                                                    monkeypatch):
    booking_id, order = _paid_at_provider(paying, standin, "alipay")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(online, "settle", broken)
    notification = _notification(standin, "alipay", order["order_no"])
    assert not _accepted("alipay", _notify(paying, "alipay", notification))
    assert _outcomes(paying) == ["error"]
    monkeypatch.undo()
    assert _accepted("alipay", _notify(paying, "alipay", notification))  # the provider retries
    assert _listing(paying, booking_id)["paid_fen"] == 18000
    assert _outcomes(paying) == ["error", "paid"]


@pytest.mark.parametrize("provider", BOTH)
def test_an_amount_mismatch_is_refused_and_logged(paying, standin, provider, caplog):
    booking_id, order = _paid_at_provider(paying, standin, provider)
    with caplog.at_level(logging.WARNING, logger="venuebook.payments"):
        answer = _notify(paying, provider, _notification(standin, provider, order["order_no"],
                                                         amount_fen=100))
    assert not _accepted(provider, answer)
    assert any(r.getMessage() == "online payment amount mismatch" for r in caplog.records)
    assert _listing(paying, booking_id)["paid_fen"] == 0
    assert _outcomes(paying) == ["amount_mismatch"]
    _clean(paying)


@pytest.mark.parametrize("provider", BOTH)
def test_a_late_notification_is_confirmed_by_query(paying, standin, provider, frozen_clock):
    booking_id = _booking(paying)
    order = _open(paying, standin, booking_id, provider)
    standin.pay(provider, order["order_no"])  # paid, but the notification does not come

    assert run_job(paying.app, "payment_queries") == 0  # not yet asked: too recent
    frozen_clock.advance(timedelta(minutes=6))
    assert run_job(paying.app, "payment_queries") == 1
    listing = _listing(paying, booking_id)
    assert listing["paid_fen"] == 18000 and len(listing["items"]) == 1
    assert run_job(paying.app, "payment_queries") == 0  # nothing open any more

    # the notification arrives at last: nothing changes
    late = _notify(paying, provider, _notification(standin, provider, order["order_no"]))
    assert _accepted(provider, late)
    assert len(_listing(paying, booking_id)["items"]) == 1
    assert _outcomes(paying) == ["duplicate"]
    _clean(paying)


def test_the_owner_checks_the_payment(paying, standin):
    booking_id = _booking(paying)
    order = _open(paying, standin, booking_id, "wechat")
    checked = paying.post(f"/api/v1/bookings/{booking_id}/payments/online/check", CREATOR)
    assert checked.status_code == 200 and checked.get_json()["paid_fen"] == 0
    standin.pay("wechat", order["order_no"])
    assert_error(paying.post(f"/api/v1/bookings/{booking_id}/payments/online/check",
                             HP_CREATOR), 404, "not_found")
    checked = paying.post(f"/api/v1/bookings/{booking_id}/payments/online/check", CREATOR)
    assert checked.get_json()["paid_fen"] == 18000
    _clean(paying)


def test_an_order_follows_what_is_still_due(paying, standin):
    booking_id = _booking(paying)
    first = _open(paying, standin, booking_id, "wechat")
    paid = paying.post(f"/api/v1/bookings/{booking_id}/payments", OP_VJC,
                       json={"method": "cash", "amount_fen": 8000})
    assert paid.status_code == 201
    second = _open(paying, standin, booking_id, "wechat")
    assert second["order_no"] != first["order_no"] and second["amount_fen"] == 10000
    with paying.app.app_context():
        statuses = dict(db.session.execute(select(OnlineOrder.order_no, OnlineOrder.status)).all())
    assert statuses == {first["order_no"]: "closed", second["order_no"]: "created"}
    standin.pay("wechat", second["order_no"])
    assert _accepted("wechat", _notify(paying, "wechat",
                                       _notification(standin, "wechat", second["order_no"])))
    assert _listing(paying, booking_id)["outstanding_fen"] == 0
    _clean(paying)


def test_the_database_keeps_one_open_order_per_booking_and_provider(paying, standin):
    booking_id = _booking(paying)
    _open(paying, standin, booking_id, "wechat")
    with paying.app.app_context():
        db.session.add(OnlineOrder(order_no="VBSECONDOPEN", booking_id=booking_id,
                                   provider="wechat", amount_fen=18000, status="created"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.add(OnlineOrder(order_no="VBALIPAYOPEN", booking_id=booking_id,
                                   provider="alipay", amount_fen=18000, status="created"))
        db.session.add(OnlineOrder(order_no="VBOLDCLOSED", booking_id=booking_id,
                                   provider="wechat", amount_fen=9000, status="closed"))
        db.session.commit()


@pytest.mark.parametrize("provider", BOTH)
def test_cancelled_in_time_the_provider_refunds(paying, standin, provider):
    booking_id = _booking(paying)
    order = _pay_online(paying, standin, provider, booking_id)
    cancelled = paying.post(f"/api/v1/bookings/{booking_id}/cancel", CREATOR, json={})
    assert cancelled.get_json()["payment"] == {"paid_fen": 18000, "outstanding_fen": -18000}
    _clean(paying)

    assert run_job(paying.app, "online_refunds") == 1
    held = standin.__dict__[provider][order["order_no"]]
    assert held.refunds == {f"{order['order_no']}R1": 18000}
    listing = _listing(paying, booking_id)
    assert (listing["paid_fen"], listing["refunded_fen"], listing["outstanding_fen"]) == (
        18000, 18000, 0)
    assert [p["kind"] for p in listing["items"]] == ["payment", "refund"]  # nothing deleted
    assert run_job(paying.app, "online_refunds") == 0  # given back once
    with paying.app.app_context():
        assert db.session.scalar(select(OnlineOrder.status)) == "refunded"
    _clean(paying)


def test_a_provider_down_leaves_the_booking_cancelled_and_the_refund_due(paying, standin):
    booking_id = _booking(paying)
    _pay_online(paying, standin, "wechat", booking_id)
    standin.fail_refunds = True
    cancelled = paying.post(f"/api/v1/bookings/{booking_id}/cancel", CREATOR, json={})
    assert cancelled.get_json()["status"] == "cancelled"
    assert run_job(paying.app, "online_refunds") == 0
    assert _listing(paying, booking_id)["outstanding_fen"] == -18000  # still owed back
    _clean(paying)
    standin.fail_refunds = False
    assert run_job(paying.app, "online_refunds") == 1
    assert _listing(paying, booking_id)["outstanding_fen"] == 0
    _clean(paying)


def test_a_refund_whose_commit_failed_is_asked_again_under_the_same_number(paying, standin,
                                                                           frozen_clock):
    booking_id = _booking(paying)
    order = _pay_online(paying, standin, "alipay", booking_id)
    paying.post(f"/api/v1/bookings/{booking_id}/cancel", CREATOR, json={})
    with paying.app.test_request_context():
        assert online.refund_due(db.session, frozen_clock(), app_client) == 1
        db.session.rollback()  # the provider refunded; our commit never happened
    assert run_job(paying.app, "online_refunds") == 1
    assert standin.alipay[order["order_no"]].refunds == {f"{order['order_no']}R1": 18000}
    with paying.app.app_context():
        assert db.session.scalar(select(Payment.amount_fen).where(Payment.kind == "refund")) \
            == 18000
    _clean(paying)


@pytest.mark.parametrize("provider", BOTH)
def test_finance_refunds_an_online_payment_through_the_provider(paying, standin, provider):
    booking_id = _booking(paying)
    order = _pay_online(paying, standin, provider, booking_id)
    payment_id = _listing(paying, booking_id)["items"][0]["id"]
    back = paying.post(f"/api/v1/payments/{payment_id}/refund", FINANCE,
                       json={"amount_fen": 5000, "note": "the light was broken"})
    assert back.status_code == 201, back.get_json()
    assert back.get_json()["kind"] == "refund" and back.get_json()["reference"]
    assert standin.__dict__[provider][order["order_no"]].refunds == {
        f"{order['order_no']}R1": 5000}
    assert_error(paying.post(f"/api/v1/payments/{payment_id}/refund", FINANCE,
                             json={"amount_fen": 13001, "note": "too much"}),
                 422, "refund_too_large")
    standin.fail_refunds = True
    assert_error(paying.post(f"/api/v1/payments/{payment_id}/refund", FINANCE,
                             json={"amount_fen": 1000, "note": "provider down"}),
                 502, "provider_unavailable")
    listing = _listing(paying, booking_id)
    assert (listing["refunded_fen"], listing["outstanding_fen"]) == (5000, 5000)
    _clean(paying)


def test_without_credentials_online_payment_is_not_offered(api, standin):
    booking_id = _booking(api)
    assert_error(_order(api, booking_id, "wechat"), 409, "payments_not_configured")
    assert_error(_order(api, booking_id, "alipay"), 409, "payments_not_configured")
    assert_error(api.client.post("/api/v1/payments/notify/wechat", data="{}"), 409,
                 "payments_not_configured")
    page = api.client
    page.post("/login", data={"email": CREATOR, "password": "demo12345"})
    html = page.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="payments"' in html and 'name="provider"' not in html  # balance, no button


def test_without_the_sdk_a_configured_provider_is_not_offered(paying, monkeypatch):
    monkeypatch.setattr(providers, "WeChatPay", None)
    booking_id = _booking(paying)
    assert_error(_order(paying, booking_id, "wechat"), 409, "payments_not_configured")
    assert _order(paying, booking_id, "alipay").status_code == 201


def test_only_the_owner_pays_online(paying):
    booking_id = _booking(paying)
    assert_error(_order(paying, booking_id, "wechat", HP_CREATOR), 404, "not_found")
    assert_error(_order(paying, booking_id, "wechat", OP_VJC), 403, "forbidden")
    assert_error(_order(paying, booking_id, "paypal"), 422, "validation_error")


def test_the_booking_page_shows_the_balance_and_the_wechat_code(paying, standin):
    booking_id = _booking(paying)
    client = paying.app.test_client()
    client.post("/login", data={"email": CREATOR, "password": "demo12345"})
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'id="pay-online"' in html and "¥180.00" in html
    assert html.count('name="provider"') == 2  # WeChat Pay and Alipay offered
    response = client.post(f"/bookings/{booking_id}/pay-online", data={"provider": "wechat"})
    assert response.status_code == 302
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in html
    with paying.app.app_context():
        order_no = db.session.scalar(select(OnlineOrder.order_no))
    standin.pay("wechat", order_no)
    client.post(f"/bookings/{booking_id}/pay-online/check")
    html = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' not in html  # paid: no code any more
    assert "wechat" in html or "微信" in html
