from marshmallow import Schema, fields, validate

from app.catalog.models import RESOURCE_KINDS
from app.core.schemas import CALENDAR_DAY, ID, NON_NEGATIVE, POSITIVE

__all__ = ["BatchRequestSchema", "BatchSchema", "IssueRequestSchema", "VoucherSchema",
           "VoidRequestSchema", "ProgramRequestSchema", "ProgramSchema", "ResidencyRequestSchema"]


class BatchRequestSchema(Schema):
    program = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    face_value_fen = fields.Integer(required=True, strict=True, validate=POSITIVE)
    total_count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1_000_000))
    total_budget_fen = fields.Integer(required=True, strict=True, validate=POSITIVE)
    valid_from = fields.Date(required=True, validate=CALENDAR_DAY)
    valid_until = fields.Date(required=True, validate=CALENDAR_DAY)
    venue_ids = fields.List(fields.Integer(validate=ID), load_default=list)
    resource_kinds = fields.List(fields.String(validate=validate.OneOf(RESOURCE_KINDS)),
                                 load_default=list)


class BatchSchema(Schema):
    id = fields.Integer(required=True)
    program = fields.String(required=True)
    name = fields.String(required=True)
    face_value_fen = fields.Integer(required=True)
    total_count = fields.Integer(required=True)
    total_budget_fen = fields.Integer(required=True)
    issued_count = fields.Integer(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True)
    venue_ids = fields.List(fields.Integer())
    resource_kinds = fields.List(fields.String())
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class IssueRequestSchema(Schema):
    enterprise_id = fields.Integer(required=True, strict=True, validate=ID)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))


class VoucherSchema(Schema):
    code = fields.String(required=True)
    face_value_fen = fields.Integer(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True)
    status = fields.String(required=True)
    program = fields.String()
    batch = fields.String()
    enterprise = fields.String()
    venue_ids = fields.List(fields.Integer())
    resource_kinds = fields.List(fields.String())


class VoidRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class TierSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=60))
    name_en = fields.String(load_default="", validate=validate.Length(max=60))
    cap_fen = fields.Integer(required=True, strict=True, validate=NON_NEGATIVE)


class ProgramRequestSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{2,59}$"))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.String(load_default="", validate=validate.Length(max=120))
    district = fields.String(load_default=None, allow_none=True)
    funding = fields.String(required=True, validate=validate.OneOf(["voucher", "quota"]))
    eligibility = fields.String(required=True, validate=validate.OneOf(
        ["resident_enterprise", "certified_creator"]))
    coverage_percent = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))
    no_show_policy = fields.String(load_default="forfeit", validate=validate.OneOf(["forfeit", "release"]))
    description_zh = fields.String(load_default="")
    description_en = fields.String(load_default="")
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    venue_ids = fields.List(fields.Integer(validate=ID), load_default=list)
    resource_kinds = fields.List(fields.String(validate=validate.OneOf(RESOURCE_KINDS)),
                                 load_default=list)


class ProgramSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String()
    funding = fields.String(required=True)
    eligibility = fields.String(required=True)
    coverage_percent = fields.Integer(required=True)
    no_show_policy = fields.String(required=True)
    tiers = fields.List(fields.Dict())
    resource_ids = fields.List(fields.Integer())


class ResidencyRequestSchema(Schema):
    program = fields.String(required=True)
    valid_from = fields.Date(required=True, validate=CALENDAR_DAY)
    valid_until = fields.Date(load_default=None, allow_none=True, validate=CALENDAR_DAY)
