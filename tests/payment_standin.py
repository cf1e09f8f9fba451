"""A local stand-in for WeChat Pay API v3 and the Alipay gateway, served on 127.0.0.1.

It keeps its own key pairs (made here with ``cryptography``), checks the signature on every
request the SDKs send, signs every answer and notification the way the real providers do, and
remembers orders and refunds, so the SDKs' real code paths — request signing, response and
notification verification — run without the internet. ``forge`` signs with a key nobody
configured.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, Response, abort, request
from werkzeug.serving import make_server

WECHAT_MCHID = "1900000109"
WECHAT_APPID = "wxd678efh567hg6787"
WECHAT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD"  # our merchant certificate's serial
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001012024"
APIV3_KEY = "a" * 16 + "0123456789abcdef"
ALIPAY_APPID = "2021000117600000"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(key, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(key, text: str, signature: str) -> bool:
    try:
        key.public_key().verify(base64.b64decode(signature), text.encode(), padding.PKCS1v15(),
                                hashes.SHA256())
        return True
    except Exception:  # noqa: BLE001 - any failure is a bad signature
        return False


@dataclass
class Order:
    out_trade_no: str
    total_fen: int
    state: str = "NOTPAY"
    txn_id: str = ""
    refunds: dict[str, int] = field(default_factory=dict)  # refund number → fen


class StandIn:
    def __init__(self):
        self.merchant_key = new_key()   # ours: the stand-in checks our requests with it
        self.platform_key = new_key()   # WeChat Pay's: signs answers and notifications
        self.app_key = new_key()        # ours at Alipay
        self.alipay_key = new_key()     # Alipay's
        self.wechat: dict[str, Order] = {}
        self.alipay: dict[str, Order] = {}
        self.unsigned_requests = 0
        self.fail_refunds = False
        self.paths: list[str] = []
        self.server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        self.wechat.clear()
        self.alipay.clear()
        self.paths.clear()
        self.unsigned_requests = 0
        self.fail_refunds = False

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    def config(self) -> dict:
        """The settings an app needs to use this stand-in as both providers."""
        return {
            "WECHATPAY_MCHID": WECHAT_MCHID, "WECHATPAY_APPID": WECHAT_APPID,
            "WECHATPAY_API_V3_KEY": APIV3_KEY, "WECHATPAY_CERT_SERIAL_NO": WECHAT_SERIAL,
            "WECHATPAY_PRIVATE_KEY": private_pem(self.merchant_key),
            "WECHATPAY_PUBLIC_KEY": public_pem(self.platform_key),
            "WECHATPAY_PUBLIC_KEY_ID": PUBLIC_KEY_ID, "WECHATPAY_GATEWAY": self.url,
            "ALIPAY_APPID": ALIPAY_APPID, "ALIPAY_APP_PRIVATE_KEY": private_pem(self.app_key),
            "ALIPAY_PUBLIC_KEY": public_pem(self.alipay_key),
            "ALIPAY_GATEWAY": f"{self.url}/gateway.do",
        }

    # ---- WeChat Pay API v3 ----------------------------------------------------------------

    def _wechat_signed(self, payload: dict, status: int = 200) -> Response:
        body = json.dumps(payload)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        return Response(body, status=status, content_type="application/json", headers={
            "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Wechatpay-Signature": sign(self.platform_key, f"{timestamp}\n{nonce}\n{body}\n")})

    def _wechat_caller_ok(self) -> bool:
        """The merchant's Authorization header signs method, path, time, nonce and body."""
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        fields = dict(part.split("=", 1) for part in params.split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}
        path = request.full_path.rstrip("?")
        message = (f"{request.method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n"
                   f"{request.get_data(as_text=True)}\n")
        ok = (scheme == "WECHATPAY2-SHA256-RSA2048" and fields.get("mchid") == WECHAT_MCHID
              and verify(self.merchant_key, message, fields["signature"]))
        self.unsigned_requests += not ok
        return ok

    def _wechat_transaction(self, order: Order) -> dict:
        return {"appid": WECHAT_APPID, "mchid": WECHAT_MCHID, "out_trade_no": order.out_trade_no,
                "transaction_id": order.txn_id, "trade_state": order.state,
                "amount": {"total": order.total_fen, "payer_total": order.total_fen,
                           "currency": "CNY"}}

    def wechat_notification(self, order_no: str, *, amount_fen: int | None = None,
                            key=None) -> tuple[dict, str]:
        """The headers and body WeChat Pay posts when ``order_no`` is paid (``key``: forged)."""
        order = self.wechat[order_no]
        resource = self._wechat_transaction(order)
        if amount_fen is not None:
            resource["amount"]["total"] = amount_fen
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(APIV3_KEY.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), b"transaction")
        body = json.dumps({
            "id": secrets.token_hex(8), "create_time": "2026-12-01T10:05:00+08:00",
            "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(),
                         "associated_data": "transaction", "nonce": nonce}})
        timestamp, sig_nonce = str(int(time.time())), secrets.token_hex(16)
        headers = {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": sig_nonce,
                   "Wechatpay-Serial": PUBLIC_KEY_ID,
                   "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
                   "Wechatpay-Signature": sign(key or self.platform_key,
                                               f"{timestamp}\n{sig_nonce}\n{body}\n"),
                   "Content-Type": "application/json"}
        return headers, body

    # ---- Alipay gateway -------------------------------------------------------------------

    def _alipay_signed(self, method: str, payload: dict) -> Response:
        name = method.replace(".", "_") + "_response"
        inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        raw = f'{{"{name}":{inner},"sign":"{sign(self.alipay_key, inner)}"}}'
        return Response(raw, content_type="application/json;charset=utf-8")

    def _alipay_params(self) -> dict | None:
        """The request's parameters when the app's key signed them (all but ``sign``)."""
        params = dict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        signature = params.pop("sign", "")
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        if params.get("app_id") != ALIPAY_APPID or not verify(self.app_key, message, signature):
            self.unsigned_requests += 1
            return None
        params["biz_content"] = json.loads(params.get("biz_content") or "{}")
        return params

    def alipay_notification(self, order_no: str, *, amount_fen: int | None = None,
                            key=None) -> str:
        """The form Alipay posts when ``order_no`` is paid (``key``: forged)."""
        order = self.alipay[order_no]
        fen = order.total_fen if amount_fen is None else amount_fen
        params = {"app_id": ALIPAY_APPID, "out_trade_no": order_no, "trade_no": order.txn_id,
                  "trade_status": order.state, "total_amount": f"{fen / 100:.2f}",
                  "notify_id": secrets.token_hex(12), "notify_type": "trade_status_sync",
                  "notify_time": "2026-12-01 10:05:00", "charset": "utf-8", "version": "1.0",
                  "gmt_payment": "2026-12-01 10:04:59", "subject": "场地预约"}
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params.update(sign=sign(key or self.alipay_key, message), sign_type="RSA2")
        return urlencode(params)

    # ---- the creator pays -----------------------------------------------------------------

    def pay(self, provider: str, order_no: str) -> None:
        order = (self.wechat if provider == "wechat" else self.alipay)[order_no]
        order.state = "SUCCESS" if provider == "wechat" else "TRADE_SUCCESS"
        order.txn_id = ("4200" if provider == "wechat" else "2026") + secrets.token_hex(10)

    def _app(self) -> Flask:
        app = Flask("payment-standin")
        app.before_request(lambda: self.paths.append(request.path) and None)

        @app.post("/v3/pay/transactions/native")
        def wechat_native():
            if not self._wechat_caller_ok():
                abort(401)
            data = request.get_json()
            order = self.wechat.setdefault(data["out_trade_no"], Order(
                data["out_trade_no"], data["amount"]["total"]))
            return self._wechat_signed({"code_url": f"weixin://wxpay/bizpayurl?pr={order.out_trade_no}"})

        @app.get("/v3/pay/transactions/out-trade-no/<order_no>")
        def wechat_query(order_no):
            if not self._wechat_caller_ok():
                abort(401)
            if order_no not in self.wechat:
                return self._wechat_signed({"code": "ORDER_NOT_EXIST"}, 404)
            return self._wechat_signed(self._wechat_transaction(self.wechat[order_no]))

        @app.post("/v3/refund/domestic/refunds")
        def wechat_refund():
            if not self._wechat_caller_ok():
                abort(401)
            if self.fail_refunds:
                return self._wechat_signed({"code": "SYSTEM_ERROR"}, 500)
            data = request.get_json()
            order = self.wechat[data["out_trade_no"]]
            # the same refund number is the same refund: answered again, never paid twice
            order.refunds.setdefault(data["out_refund_no"], data["amount"]["refund"])
            return self._wechat_signed({"refund_id": "5030" + data["out_refund_no"],
                                        "out_refund_no": data["out_refund_no"],
                                        "status": "PROCESSING"})

        @app.get("/gateway.do")
        def alipay_gateway():
            params = self._alipay_params()
            if params is None:
                return Response('{"error_response":{"code":"40002","msg":"Invalid Arguments",'
                                '"sub_code":"isv.invalid-signature"}}',
                                content_type="application/json")
            method, biz = params["method"], params["biz_content"]
            if method == "alipay.trade.page.pay":  # the creator's browser opens the page
                fen = round(float(biz["total_amount"]) * 100)
                self.alipay.setdefault(biz["out_trade_no"], Order(biz["out_trade_no"], fen,
                                                                  "WAIT_BUYER_PAY"))
                return "<html><body>支付宝收银台</body></html>"
            order = self.alipay.get(biz.get("out_trade_no", ""))
            if order is None:
                return self._alipay_signed(method, {"code": "40004", "msg": "Business Failed",
                                                    "sub_code": "ACQ.TRADE_NOT_EXIST"})
            if method == "alipay.trade.query":
                return self._alipay_signed(method, {
                    "code": "10000", "msg": "Success", "out_trade_no": order.out_trade_no,
                    "trade_no": order.txn_id, "trade_status": order.state,
                    "total_amount": f"{order.total_fen / 100:.2f}"})
            if method == "alipay.trade.refund":
                if self.fail_refunds:
                    return self._alipay_signed(method, {"code": "20000",
                                                        "msg": "Service Currently Unavailable"})
                fen = round(float(biz["refund_amount"]) * 100)
                order.refunds.setdefault(biz["out_request_no"], fen)
                return self._alipay_signed(method, {
                    "code": "10000", "msg": "Success", "out_trade_no": order.out_trade_no,
                    "trade_no": order.txn_id, "fund_change": "Y",
                    "refund_fee": f"{sum(order.refunds.values()) / 100:.2f}"})
            abort(400)

        return app
