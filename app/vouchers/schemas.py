from marshmallow import Schema, fields, post_load, validate

from app.catalog.models import RESOURCE_KINDS
from app.core.schemas import CALENDAR_DAY, ID, NON_NEGATIVE, POSITIVE

__all__ = ["BatchRequestSchema", "BatchSchema", "IssueRequestSchema", "VoucherSchema",
           "VoidRequestSchema", "ProgramRequestSchema", "ProgramSchema", "ResidencyRequestSchema",
           "ProgramUpdateSchema", "DistrictRequestSchema", "DistrictSchema"]


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


class StrikePolicySchema(Schema):
    limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    window_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3650))
    suspension_days = fields.Integer(required=True, strict=True,
                                     validate=validate.Range(min=0, max=3650))


def _flat_strike_policy(data: dict) -> dict:
    """The API nests the strike policy; the Program row keeps it as three columns."""
    policy = data.pop("strike_policy", None)
    if policy is not None:
        data.update(strike_limit=policy["limit"], strike_window_days=policy["window_days"],
                    suspension_days=policy["suspension_days"])
    return data


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
    cross_district = fields.Boolean(load_default=False)
    valid_from = fields.Date(load_default=None, allow_none=True, validate=CALENDAR_DAY)
    valid_until = fields.Date(load_default=None, allow_none=True, validate=CALENDAR_DAY)
    strike_policy = fields.Nested(StrikePolicySchema, load_default=None, allow_none=True)
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    venue_ids = fields.List(fields.Integer(validate=ID), load_default=list)
    resource_kinds = fields.List(fields.String(validate=validate.OneOf(RESOURCE_KINDS)),
                                 load_default=list)

    @post_load
    def flatten(self, data: dict, **_kwargs) -> dict:
        return _flat_strike_policy(data)


class ProgramUpdateSchema(Schema):
    """What changes on a program; a field left out stays as it is."""

    name_zh = fields.String(validate=validate.Length(min=1, max=120))
    name_en = fields.String(validate=validate.Length(max=120))
    district = fields.String(allow_none=True)
    coverage_percent = fields.Integer(validate=validate.Range(min=1, max=100))
    no_show_policy = fields.String(validate=validate.OneOf(["forfeit", "release"]))
    description_zh = fields.String()
    description_en = fields.String()
    cross_district = fields.Boolean()
    valid_from = fields.Date(allow_none=True, validate=CALENDAR_DAY)
    valid_until = fields.Date(allow_none=True, validate=CALENDAR_DAY)
    strike_policy = fields.Nested(StrikePolicySchema)
    tiers = fields.List(fields.Nested(TierSchema))

    @post_load
    def flatten(self, data: dict, **_kwargs) -> dict:
        return _flat_strike_policy(data)


class ProgramSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String()
    funding = fields.String(required=True)
    eligibility = fields.String(required=True)
    coverage_percent = fields.Integer(required=True)
    no_show_policy = fields.String(required=True)
    district = fields.String(allow_none=True)
    cross_district = fields.Boolean()
    active = fields.Boolean()
    valid_from = fields.String(allow_none=True)
    valid_until = fields.String(allow_none=True)
    strike_policy = fields.Dict(keys=fields.String(), values=fields.Integer())
    description = fields.String()
    description_en = fields.String()
    tiers = fields.List(fields.Dict())
    resource_ids = fields.List(fields.Integer())


class DistrictRequestSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$"))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=80))
    name_en = fields.String(load_default="", validate=validate.Length(max=80))


class DistrictSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String()


class ResidencyRequestSchema(Schema):
    program = fields.String(required=True)
    valid_from = fields.Date(required=True, validate=CALENDAR_DAY)
    valid_until = fields.Date(load_default=None, allow_none=True, validate=CALENDAR_DAY)
