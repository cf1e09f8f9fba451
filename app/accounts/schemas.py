from marshmallow import Schema, fields, validate

from app.core.schemas import CALENDAR_DAY

__all__ = [
    "TokenRequestSchema",
    "TokenSchema",
    "MeSchema",
    "UserSchema",
    "UserChangeSchema",
    "ResetSentSchema",
    "CertifyRequestSchema",
    "CertificationSchema",
    "EndMembershipRequestSchema",
    "MembershipSchema",
]


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    label = fields.String(load_default="api", validate=validate.Length(max=80))


class TokenSchema(Schema):
    token = fields.String(required=True)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String()
    phone = fields.String(metadata={"description": "masked except to the account itself"})
    roles = fields.List(fields.String())
    active = fields.Boolean()
    email_verified = fields.Boolean(metadata={"description": "false until a self-registered "
                                                             "creator follows the emailed link"})


class UserChangeSchema(Schema):
    """What an administrator may change on an account; absent fields stay as they are."""

    active = fields.Boolean()
    roles = fields.List(fields.String(validate=validate.OneOf(
        ["creator", "enterprise", "operator", "finance", "admin"])),
        validate=validate.Length(min=1))


class ResetSentSchema(Schema):
    sent = fields.Boolean(required=True)


class VoucherSummarySchema(Schema):
    code = fields.String(required=True)
    face_value_fen = fields.Integer(required=True)
    valid_from = fields.String()
    valid_until = fields.String()
    status = fields.String(required=True)
    program = fields.String()


class QuotaSchema(Schema):
    program = fields.String(required=True)
    year = fields.Integer(required=True)
    tier = fields.String()
    cap_fen = fields.Integer(required=True)
    held_fen = fields.Integer(required=True)
    consumed_fen = fields.Integer(required=True)
    remaining_fen = fields.Integer(required=True)


class CertificationSchema(Schema):
    id = fields.Integer()
    program = fields.String(required=True)
    tier = fields.String(required=True)
    cap_fen = fields.Integer()
    valid_from = fields.String(required=True)
    valid_until = fields.String(allow_none=True)


class EnterpriseRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    residencies = fields.List(fields.Dict())


class VenueRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    name_en = fields.String()
    code = fields.String()


class MeSchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    roles = fields.List(fields.String(), required=True)
    vouchers = fields.List(fields.Nested(VoucherSummarySchema), required=True)
    quota = fields.List(fields.Nested(QuotaSchema), required=True)
    strikes = fields.Integer(required=True)
    calendar_url = fields.String(allow_none=True)
    certifications = fields.List(fields.Nested(CertificationSchema))
    enterprises = fields.List(fields.Nested(EnterpriseRefSchema))
    venues = fields.List(fields.Nested(VenueRefSchema))


class CertifyRequestSchema(Schema):
    program = fields.String(required=True)
    tier = fields.String(required=True)
    valid_from = fields.Date(validate=CALENDAR_DAY)
    valid_until = fields.Date(validate=CALENDAR_DAY)


class EndMembershipRequestSchema(Schema):
    until = fields.Date(validate=CALENDAR_DAY, metadata={
        "description": "the member's last day (default: today)"})


class MembershipSchema(Schema):
    enterprise_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    since = fields.Date(required=True)
    until = fields.Date(allow_none=True)
