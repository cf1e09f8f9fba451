from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.booking.schemas import BookingSchema
from app.core.schemas import ID

__all__ = ["CheckinRequestSchema", "CheckinResultSchema", "SigningKeySchema"]


class CheckinRequestSchema(Schema):
    code = fields.String(validate=validate.Length(min=1, max=600), metadata={
        "description": "the QR code's text, or the booking's 8-character short code"})
    booking_id = fields.Integer(strict=True, validate=ID,
                                metadata={"description": "manual check-in"})
    device = fields.String(load_default="", validate=validate.Length(max=120))

    @validates_schema
    def _one_of(self, data, **kwargs):
        if bool(data.get("code")) == bool(data.get("booking_id")):
            raise ValidationError("Send either code (scan) or booking_id (manual check-in).", "code")


class CheckinInfoSchema(Schema):
    at = fields.String(required=True)
    operator = fields.String(allow_none=True)
    method = fields.String(required=True)
    device = fields.String()


class CheckinResultSchema(Schema):
    result = fields.String(required=True, validate=validate.OneOf(
        ["ok", "already_checked_in", "wrong_venue", "too_early", "too_late", "cancelled", "invalid"]))
    message = fields.String(required=True)
    booking = fields.Nested(BookingSchema, allow_none=True)
    checkin = fields.Nested(CheckinInfoSchema, allow_none=True)
    scan_id = fields.Integer()


class SigningKeySchema(Schema):
    key_id = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "raw 32 bytes, base64url"})
    algorithm = fields.String(required=True)
    active = fields.Boolean()
    created_at = fields.String()
