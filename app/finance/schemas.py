from marshmallow import Schema, fields, validate

from app.core.schemas import CALENDAR_DAY, ID

__all__ = ["StatementRequestSchema", "StatementSchema", "SettleRequestSchema", "ReconciliationSchema",
           "StatementQuerySchema",
           "MonthQuerySchema"]

# years 2000-2999, as for dates: month arithmetic near year 1 or 9999 overflows
MONTH = validate.Regexp(r"^2\d{3}-(0[1-9]|1[0-2])$", error="Use YYYY-MM.")


class MonthQuerySchema(Schema):
    month = fields.String(required=True, validate=MONTH)


class StatementQuerySchema(Schema):
    month = fields.String(validate=MONTH)
    venue = fields.Integer(validate=ID)


class StatementRequestSchema(Schema):
    venue_id = fields.Integer(required=True, strict=True, validate=ID)
    month = fields.String(required=True, validate=MONTH)


class SettleRequestSchema(Schema):
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=120))
    payment_date = fields.Date(required=True, validate=CALENDAR_DAY)


class StatementLineSchema(Schema):
    kind = fields.String()
    program = fields.String()
    booking_id = fields.Integer()
    voucher_code = fields.String(allow_none=True)
    resource = fields.String()
    creator = fields.String()
    phone = fields.String()
    booked_start = fields.String()
    checked_in_at = fields.String(allow_none=True)
    operator = fields.String()
    amount_fen = fields.Integer()
    adjusting = fields.Boolean()


class StatementSchema(Schema):
    id = fields.Integer(required=True)
    venue_id = fields.Integer(required=True)
    venue = fields.String()
    month = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["draft", "issued", "settled"]))
    total_fen = fields.Integer(required=True)
    line_count = fields.Integer()
    totals_by_program = fields.Dict()
    subsidy_fen = fields.Integer(metadata={
        "description": "what the district programs owe the venue (vouchers and quota): total_fen"})
    selfpay = fields.Dict(allow_none=True, metadata={
        "description": "self-pay the venue collected itself: collected and refunded by method, "
                       "and the bookings whose self-pay is still outstanding"})
    issued_at = fields.String(allow_none=True)
    file_sha256 = fields.String(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    payment_date = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(StatementLineSchema))


class ReconciliationSchema(Schema):
    month = fields.String(required=True)
    ok = fields.Boolean(required=True)
    invariants = fields.List(fields.Dict(), required=True)
    violations = fields.List(fields.Dict(), required=True)
    totals = fields.Dict(required=True)
