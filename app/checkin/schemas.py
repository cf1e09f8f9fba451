from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.booking.schemas import BookingSchema
from app.core.schemas import CALENDAR_MOMENT, ID

__all__ = ["CheckinRequestSchema", "CheckinResultSchema", "SigningKeySchema", "ManifestSchema",
           "SyncRequestSchema", "SyncResultSchema", "DeskCreatorListSchema",
           "DeskConfirmationRequestSchema", "DeskConfirmationSchema", "WalkInRequestSchema"]

DEVICE_ID = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$",
                            error="1 to 64 letters, digits or _ . : -")


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


class ManifestKeySchema(Schema):
    key_id = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "raw 32 bytes, base64url"})
    algorithm = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["signing", "verifying", "retired"]),
                           metadata={"description": "a device refuses codes of a retired key"})


class ManifestResourceSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String()


class ManifestBookingSchema(Schema):
    id = fields.Integer(required=True)
    short_code = fields.String(required=True)
    status = fields.String(required=True)
    start = fields.String(required=True)
    end = fields.String(required=True)
    checkin_opens = fields.String(required=True)
    checkin_closes = fields.String(required=True)
    resource = fields.Nested(ManifestResourceSchema, required=True)
    venue_id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "the creator's name, masked"})


class ManifestVenueSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String()


class ManifestSignatureSchema(Schema):
    key_id = fields.String(required=True)
    algorithm = fields.String(required=True)
    value = fields.String(required=True, metadata={
        "description": "Ed25519 over the JSON of every other field, keys sorted, no spaces, "
                       "UTF-8; base64url without padding"})


class ManifestSchema(Schema):
    generated_at = fields.String(required=True)
    valid_days = fields.List(fields.String(), required=True)
    venues = fields.List(fields.Nested(ManifestVenueSchema), required=True)
    keys = fields.List(fields.Nested(ManifestKeySchema), required=True)
    bookings = fields.List(fields.Nested(ManifestBookingSchema), required=True)
    signature = fields.Nested(ManifestSignatureSchema, required=True)


class ManifestQuerySchema(Schema):
    venue = fields.Integer(validate=ID, metadata={"description": "one of my venues only"})


class SyncScanSchema(Schema):
    scan_id = fields.String(required=True, validate=DEVICE_ID,
                            metadata={"description": "unique on the device; a resend returns "
                                                     "the first answer"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=600))
    scanned_at = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)


class SyncRequestSchema(Schema):
    device_id = fields.String(required=True, validate=DEVICE_ID)
    scans = fields.List(fields.Nested(SyncScanSchema), required=True,
                        validate=validate.Length(max=500))


class SyncResultItemSchema(Schema):
    scan_id = fields.String(required=True)
    result = fields.String(required=True, validate=validate.OneOf(
        ["ok", "already_checked_in", "wrong_venue", "too_early", "too_late", "invalid",
         "duplicate", "conflict"]))
    message = fields.String(required=True)
    booking = fields.Nested(ManifestBookingSchema, allow_none=True)


class SyncDuplicateSchema(Schema):
    booking = fields.Nested(ManifestBookingSchema, required=True)
    device_id = fields.String(required=True, metadata={"description": "the device that scanned it again"})
    scanned_at = fields.String(required=True)


class SyncResultSchema(Schema):
    results = fields.List(fields.Nested(SyncResultItemSchema), required=True)
    duplicates = fields.List(fields.Nested(SyncDuplicateSchema), required=True, metadata={
        "description": "later scans by other devices of bookings this device checked in"})
    synced_at = fields.String(required=True)


class DeskCreatorQuerySchema(Schema):
    q = fields.String(required=True, validate=validate.Length(min=3, max=200), metadata={
        "description": "the creator's whole email address or phone number"})


class DeskCreatorSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "masked"})


class DeskCreatorListSchema(Schema):
    items = fields.List(fields.Nested(DeskCreatorSchema), required=True)


class DeskConfirmationRequestSchema(Schema):
    creator_id = fields.Integer(required=True, strict=True, validate=ID)


class DeskConfirmationSchema(Schema):
    id = fields.Integer(required=True)
    expires_at = fields.String(required=True)


class WalkInRequestSchema(Schema):
    creator_id = fields.Integer(required=True, strict=True, validate=ID)
    resource_id = fields.Integer(required=True, strict=True, validate=ID)
    start = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)
    end = fields.AwareDateTime(required=True, validate=CALENDAR_MOMENT)
    confirmation_code = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=12), metadata={
        "description": "the code sent to the creator; without it the booking is self-pay"})
    voucher_code = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=40), metadata={
        "description": "with the confirmation code only; by default the voucher covering most"})
