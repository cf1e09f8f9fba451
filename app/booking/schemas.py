from marshmallow import Schema, fields, validate

from app.core.schemas import CALENDAR_DAY, CALENDAR_MOMENT, ID

__all__ = [
    "BookingRequestSchema",
    "BookingSchema",
    "BookingListSchema",
    "CancelRequestSchema",
    "RescheduleRequestSchema",
    "AvailabilityQuerySchema",
    "AvailabilitySchema",
    "QuoteSchema",
    "ClosureRequestSchema",
    "ClosureResultSchema",
    "BookingQuerySchema",
]


class BookingRequestSchema(Schema):
    resource_id = fields.Integer(required=True, strict=True, validate=ID)
    start = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT,
                                 metadata={"example": "2026-12-01T14:00:00+08:00"})
    end = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT,
                               metadata={"example": "2026-12-01T16:00:00+08:00"})
    voucher_code = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=40))
    use_quota = fields.Boolean(load_default=True)


class CancelRequestSchema(Schema):
    accept_late = fields.Boolean(load_default=False, metadata={
        "description": "confirm a cancellation after the free deadline (counts as a no-show "
                       "for vouchers and quota)"})


class RescheduleRequestSchema(Schema):
    start = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)
    end = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)


class PriceSchema(Schema):
    gross_fen = fields.Integer(required=True)
    voucher_fen = fields.Integer(required=True)
    quota_fen = fields.Integer(required=True)
    self_pay_fen = fields.Integer(required=True)


class BookedVenueSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    district = fields.String(required=True)


class BookedResourceSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    venue = fields.Nested(BookedVenueSchema, required=True)


class PaymentStateSchema(Schema):
    paid_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True, metadata={
        "description": "self-pay still owed; negative: a refund is due to the creator"})


class VoucherRefSchema(Schema):
    code = fields.String(required=True)
    status = fields.String(required=True)
    face_value_fen = fields.Integer()


class QrLinksSchema(Schema):
    png = fields.String(required=True)
    svg = fields.String(required=True)


class CreatorRefSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    phone = fields.String()


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["confirmed", "checked_in", "completed", "cancelled", "no_show"]))
    start = fields.String(required=True)
    end = fields.String(required=True)
    short_code = fields.String(allow_none=True, metadata={
        "description": "8 characters to read out at the desk; POST /checkins accepts it as code"})
    list_version = fields.Integer(allow_none=True, metadata={
        "description": "the published list version whose price and rules it was booked on"})
    resource = fields.Nested(BookedResourceSchema, required=True)
    price = fields.Nested(PriceSchema, required=True)
    payment = fields.Nested(PaymentStateSchema)
    voucher = fields.Nested(VoucherRefSchema, allow_none=True)
    program = fields.String(allow_none=True)
    qr = fields.Nested(QrLinksSchema, allow_none=True)
    creator = fields.Nested(CreatorRefSchema)
    cancel_deadline = fields.String()
    late_cancel = fields.Boolean()
    created_at = fields.String()
    checked_in_at = fields.String(allow_none=True)
    checked_out_at = fields.String(allow_none=True)


class BookingListSchema(Schema):
    items = fields.List(fields.Nested(BookingSchema), required=True)


class BookingQuerySchema(Schema):
    venue = fields.Integer(validate=ID)
    date = fields.Date(validate=CALENDAR_DAY)
    status = fields.String(validate=validate.OneOf(
        ["confirmed", "checked_in", "completed", "cancelled", "no_show"]))


class AvailabilityQuerySchema(Schema):
    from_ = fields.Date(data_key="from", validate=CALENDAR_DAY)
    days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=31))


class FreeIntervalSchema(Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    minutes = fields.Integer(required=True)


class DayAvailabilitySchema(Schema):
    date = fields.String(required=True)
    open = fields.String(allow_none=True)
    close = fields.String(allow_none=True)
    free = fields.List(fields.Nested(FreeIntervalSchema), required=True)


class AvailabilitySchema(Schema):
    resource_id = fields.Integer(required=True)
    slot_minutes = fields.Integer(required=True)
    min_minutes = fields.Integer(required=True)
    max_minutes = fields.Integer(required=True)
    days = fields.List(fields.Nested(DayAvailabilitySchema), required=True)


class QuoteSchema(Schema):
    resource_id = fields.Integer(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    price = fields.Nested(PriceSchema, required=True)


class ClosureRequestSchema(Schema):
    start = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)
    end = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class ClosureResultSchema(Schema):
    id = fields.Integer(required=True)
    resource_id = fields.Integer(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    reason = fields.String()
    colliding_bookings = fields.List(fields.Nested(BookingSchema), required=True)
