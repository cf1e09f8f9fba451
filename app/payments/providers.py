"""The two payment providers behind one small interface, through their maintained SDKs.

``wechatpayv3`` (WeChat Pay API v3, Native QR) and ``python-alipay-sdk`` (Alipay page pay) sign
our requests and verify the providers' answers and notifications; nothing here re-implements
their cryptography. Both come with the optional ``payments`` extra: without it, or without a
provider's credentials in the config, ``client_for`` answers None and the caller refuses with
``409 payments_not_configured``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl

from flask import current_app, url_for

from app.core.clock import to_local
from app.core.errors import AppError

# Optional dependencies (the ``payments`` extra): imported once at module top, and a missing
# package means "not configured" rather than an app that cannot start.
try:
    from wechatpayv3 import WeChatPay, WeChatPayType
except ImportError:  # pragma: no cover - exercised only without the extra
    WeChatPay = WeChatPayType = None  # type: ignore[assignment,misc]
try:
    from alipay import AliPay
    from alipay.exceptions import AliPayException, AliPayValidationError
except ImportError:  # pragma: no cover
    AliPay = None  # type: ignore[assignment,misc]
    AliPayException = AliPayValidationError = Exception  # type: ignore[assignment,misc]

log = logging.getLogger("venuebook.payments")

WECHAT_GATEWAY = "https://api.mch.weixin.qq.com"
ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
ORDER_TTL = timedelta(hours=2)  # a QR code / payment page left unpaid this long is closed
HTTP_TIMEOUT = (5, 15)  # connect, read: a booking row may be locked while we wait


class ProviderError(AppError):
    """The provider refused or could not be reached; nothing was changed on our side."""

    status = 502
    code = "provider_unavailable"


@dataclass(frozen=True)
class Notice:
    """What a verified notification or query says about one of our orders."""

    order_no: str
    paid: bool
    amount_fen: int
    txn_id: str
    state: str  # the provider's own word: SUCCESS, NOTPAY, TRADE_SUCCESS, WAIT_BUYER_PAY ...


@dataclass(frozen=True)
class Answer:
    """What we send back to a notification, in the provider's format."""

    body: str
    status: int
    content_type: str


class Client(Protocol):
    name: str

    def create(self, order_no: str, amount_fen: int, subject: str, now: datetime) -> str: ...

    def query(self, order_no: str) -> Notice | None: ...

    def refund(self, order_no: str, refund_no: str, amount_fen: int, total_fen: int,
               reason: str) -> str: ...

    def verify(self, headers: Any, body: str) -> Notice | None: ...

    def answer(self, ok: bool) -> Answer: ...


def yuan_text(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def fen_of(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_value())


class WeChatClient:
    """WeChat Pay API v3, Native payment (a ``code_url`` the creator scans), in the merchant
    mode that verifies with WeChat Pay's platform public key (no certificate download)."""

    name = "wechat"

    def __init__(self, config: dict, notify_url: str):
        self.public_key_id = config["WECHATPAY_PUBLIC_KEY_ID"]
        self.sdk = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE, mchid=config["WECHATPAY_MCHID"],
            private_key=config["WECHATPAY_PRIVATE_KEY"],
            cert_serial_no=config["WECHATPAY_CERT_SERIAL_NO"], appid=config["WECHATPAY_APPID"],
            apiv3_key=config["WECHATPAY_API_V3_KEY"], notify_url=notify_url,
            public_key=config["WECHATPAY_PUBLIC_KEY"], public_key_id=self.public_key_id,
            timeout=HTTP_TIMEOUT, logger=log)
        # The SDK has no setting for its gateway; a sandbox or the tests' stand-in is reached
        # by pointing its one attribute elsewhere.
        self.sdk._core._gate_way = config.get("WECHATPAY_GATEWAY") or WECHAT_GATEWAY

    def _call(self, what: str, function, *args, **kwargs) -> dict:
        try:
            code, text = function(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - network, or an answer that failed verification
            raise ProviderError(details={"provider": self.name, "call": what,
                                         "reason": str(err)[:200]}) from err
        data = json.loads(text) if text else {}
        if code not in range(200, 300):
            raise ProviderError(details={"provider": self.name, "call": what, "status": code,
                                         "reason": str(data.get("code", ""))[:60]})
        return data

    def create(self, order_no: str, amount_fen: int, subject: str, now: datetime) -> str:
        data = self._call("pay", self.sdk.pay, description=subject[:127], out_trade_no=order_no,
                          amount={"total": amount_fen, "currency": "CNY"},
                          time_expire=to_local(now + ORDER_TTL).isoformat(timespec="seconds"))
        return data["code_url"]

    def query(self, order_no: str) -> Notice | None:
        return self._notice(self._call("query", self.sdk.query, out_trade_no=order_no))

    def refund(self, order_no: str, refund_no: str, amount_fen: int, total_fen: int,
               reason: str) -> str:
        data = self._call("refund", self.sdk.refund, out_refund_no=refund_no,
                          out_trade_no=order_no, reason=reason[:80] or None,
                          amount={"refund": amount_fen, "total": total_fen, "currency": "CNY"})
        if data.get("status") not in ("SUCCESS", "PROCESSING"):
            raise ProviderError(details={"provider": self.name, "call": "refund",
                                         "reason": str(data.get("status"))})
        return str(data.get("refund_id") or refund_no)

    def verify(self, headers: Any, body: str) -> Notice | None:
        # Only our configured platform key may sign: a notification naming another serial would
        # make the SDK fetch certificates from the gateway on behalf of an anonymous caller.
        if headers.get("Wechatpay-Serial", "") != self.public_key_id:
            return None
        try:
            data = self.sdk.callback(headers, body)
        except Exception:  # noqa: BLE001 - malformed headers or body: not a provider's message
            return None
        if not data:
            return None
        resource = data["resource"]
        if "out_trade_no" not in resource or "amount" not in resource:
            return Notice("", False, 0, "", str(data.get("event_type", "")))  # e.g. a refund
        return self._notice(resource)

    @staticmethod
    def _notice(resource: dict) -> Notice:
        amount = resource.get("amount") or {}
        state = str(resource.get("trade_state", ""))
        return Notice(str(resource.get("out_trade_no", "")), state == "SUCCESS",
                      int(amount.get("total", 0)), str(resource.get("transaction_id", "")), state)

    def answer(self, ok: bool) -> Answer:
        if ok:
            return Answer("", 204, "application/json")
        return Answer(json.dumps({"code": "FAIL", "message": "rejected"}), 400, "application/json")


ALIPAY_PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


class AlipayClient:
    """Alipay 电脑网站支付 (page pay): a signed URL the creator opens, with Alipay's QR code on it."""

    name = "alipay"

    def __init__(self, config: dict, notify_url: str, return_url: str = ""):
        self.appid = config["ALIPAY_APPID"]
        self.return_url = return_url
        self.sdk = AliPay(appid=self.appid, app_notify_url=notify_url,
                          app_private_key_string=config["ALIPAY_APP_PRIVATE_KEY"],
                          alipay_public_key_string=config["ALIPAY_PUBLIC_KEY"], sign_type="RSA2")
        # as for WeChat: the gateway is an attribute of the SDK object, not a parameter
        self.gateway = config.get("ALIPAY_GATEWAY") or ALIPAY_GATEWAY
        self.sdk._gateway = self.gateway

    def _call(self, what: str, function, **kwargs) -> dict:
        try:
            data = function(**kwargs)
        except (AliPayException, AliPayValidationError, OSError, ValueError) as err:
            raise ProviderError(details={"provider": self.name, "call": what,
                                         "reason": str(err)[:200]}) from err
        return data

    def create(self, order_no: str, amount_fen: int, subject: str, now: datetime) -> str:
        signed = self.sdk.api_alipay_trade_page_pay(
            subject=subject[:128], out_trade_no=order_no, total_amount=yuan_text(amount_fen),
            return_url=self.return_url or None,
            time_expire=to_local(now + ORDER_TTL).strftime("%Y-%m-%d %H:%M:%S"))
        return f"{self.gateway}?{signed}"

    def query(self, order_no: str) -> Notice | None:
        data = self._call("query", self.sdk.api_alipay_trade_query, out_trade_no=order_no)
        if data.get("code") != "10000":
            return None  # ACQ.TRADE_NOT_EXIST: the creator never opened the page
        return self._notice(data)

    def refund(self, order_no: str, refund_no: str, amount_fen: int, total_fen: int,
               reason: str) -> str:
        data = self._call("refund", self.sdk.api_alipay_trade_refund,
                          refund_amount=yuan_text(amount_fen), out_trade_no=order_no,
                          out_request_no=refund_no, refund_reason=reason[:80])
        if data.get("code") != "10000":
            raise ProviderError(details={"provider": self.name, "call": "refund",
                                         "reason": str(data.get("sub_code", data.get("code")))})
        return str(data.get("trade_no") or refund_no)

    def verify(self, headers: Any, body: str) -> Notice | None:
        data = dict(parse_qsl(body, keep_blank_values=True))
        signature = data.pop("sign", "")
        try:
            genuine = bool(signature) and self.sdk.verify(data, signature)
        except Exception:  # noqa: BLE001 - a bad signature encoding or sign type: forged
            genuine = False
        if not genuine or data.get("app_id") != self.appid:
            return None
        return self._notice(data)

    @staticmethod
    def _notice(data: dict) -> Notice:
        state = str(data.get("trade_status", ""))
        total = data.get("total_amount") or "0"
        return Notice(str(data.get("out_trade_no", "")), state in ALIPAY_PAID, fen_of(total),
                      str(data.get("trade_no", "")), state)

    def answer(self, ok: bool) -> Answer:
        return Answer("success" if ok else "failure", 200, "text/plain")


WECHAT_SETTINGS = ("WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_API_V3_KEY",
                   "WECHATPAY_CERT_SERIAL_NO", "WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY",
                   "WECHATPAY_PUBLIC_KEY_ID")
ALIPAY_SETTINGS = ("ALIPAY_APPID", "ALIPAY_APP_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")


def configured(config: dict, provider: str) -> bool:
    if provider == "wechat":
        return WeChatPay is not None and all(config.get(k) for k in WECHAT_SETTINGS)
    if provider == "alipay":
        return AliPay is not None and all(config.get(k) for k in ALIPAY_SETTINGS)
    return False


def client_for(config: dict, provider: str, notify_url: str, return_url: str = "") -> Client:
    """The provider's client, or ``409 payments_not_configured``."""
    if not configured(config, provider):
        raise AppError("payments_not_configured", status=409, details={"provider": provider})
    if provider == "wechat":
        return WeChatClient(config, notify_url)
    return AlipayClient(config, notify_url, return_url)


def app_client(provider: str) -> Client:
    """The client built from the running app's settings; notifications come back to this site
    (``PUBLIC_URL`` in jobs, which run in a request context made from it)."""
    return client_for(current_app.config, provider,
                      url_for("online_api.notify", provider=provider, _external=True))
