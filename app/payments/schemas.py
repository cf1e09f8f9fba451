from marshmallow import Schema, fields, validate

from app.core.schemas import POSITIVE
from app.payments.models import DESK_METHODS, PROVIDERS

__all__ = ["PaymentRequestSchema", "RefundRequestSchema", "PaymentSchema", "PaymentListSchema",
           "OnlineOrderRequestSchema", "OnlineOrderSchema"]


class PaymentRequestSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(DESK_METHODS))
    amount_fen = fields.Integer(required=True, strict=True, validate=POSITIVE)
    reference = fields.String(load_default="", validate=validate.Length(max=120))


class RefundRequestSchema(Schema):
    amount_fen = fields.Integer(strict=True, validate=POSITIVE, load_default=None,
                                metadata={"description": "omit to refund what is left of it"})
    note = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(load_default="", validate=validate.Length(max=120))


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    booking_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["payment", "refund"]))
    method = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    reference = fields.String()
    note = fields.String()
    refund_of_id = fields.Integer(allow_none=True)
    # a Boolean field over ``order_id`` dumped the order's id, not true/false
    online = fields.Function(lambda p: p.order_id is not None, dump_only=True,
                             metadata={"type": "boolean"})
    at = fields.AwareDateTime(required=True)
    recorded_by = fields.Function(lambda p: p.recorded_by.display_name if p.recorded_by else None)


class PaymentListSchema(Schema):
    items = fields.List(fields.Nested(PaymentSchema), required=True)
    paid_fen = fields.Integer(required=True)
    refunded_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True,
                                     metadata={"description": "negative: a refund is due"})


class OnlineOrderRequestSchema(Schema):
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))


class OnlineOrderSchema(Schema):
    order_no = fields.String(required=True)
    provider = fields.String(required=True)
    amount_fen = fields.Integer(required=True)
    status = fields.String(required=True)
    code_url = fields.Function(lambda o: o.pay_url if o.provider == "wechat" else None,
                               metadata={"description": "WeChat Pay: show as a QR code"})
    pay_url = fields.Function(lambda o: o.pay_url if o.provider == "alipay" else None,
                              metadata={"description": "Alipay: open this page"})
