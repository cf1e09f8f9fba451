from marshmallow import Schema, fields, validate

from app.catalog.models import RESOURCE_KINDS
from app.core.schemas import POSITIVE

__all__ = [
    "VenueSchema",
    "ResourceSchema",
    "ResourceListSchema",
    "ListVersionSchema",
    "ResourceQuerySchema",
    "VenueListSchema",
]


class RatesSchema(Schema):
    hourly_fen = fields.Integer(required=True)
    peak_fen = fields.Integer(required=True)
    peak_start = fields.String(required=True)
    peak_end = fields.String(required=True)


class RulesSchema(Schema):
    slot_minutes = fields.Integer()
    min_minutes = fields.Integer()
    max_minutes = fields.Integer()
    buffer_minutes = fields.Integer()
    min_notice_minutes = fields.Integer()
    max_advance_days = fields.Integer()
    cancel_deadline_hours = fields.Integer()
    checkin_opens_minutes = fields.Integer()
    no_show_after_minutes = fields.Integer()


class VenueSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String()
    name = fields.String(required=True)
    name_en = fields.String()
    district = fields.String(required=True)
    district_name = fields.String()
    district_name_en = fields.String()
    address = fields.String()
    address_en = fields.String()
    operator = fields.String()
    operator_en = fields.String()
    phone = fields.String()
    opening_hours = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class VenueListSchema(Schema):
    items = fields.List(fields.Nested(VenueSchema), required=True)


class ProgramRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String()
    funding = fields.String()


class ResourceSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String()
    name = fields.String(required=True)
    name_en = fields.String()
    kind = fields.String(required=True)
    style = fields.String()
    style_en = fields.String()
    capacity = fields.Integer()
    area_sqm = fields.Integer()
    equipment = fields.List(fields.String())
    description = fields.String()
    description_en = fields.String()
    photo_url = fields.String(allow_none=True)
    rates = fields.Nested(RatesSchema, required=True)
    rules = fields.Nested(RulesSchema)
    opening_hours = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    venue = fields.Nested(VenueSchema, required=True)
    programs = fields.List(fields.Nested(ProgramRefSchema), required=True)
    active = fields.Boolean()


class ListVersionSchema(Schema):
    number = fields.Integer(required=True)
    published_at = fields.String(required=True)
    resource_count = fields.Integer(required=True)
    note = fields.String()


class ResourceListSchema(Schema):
    items = fields.List(fields.Nested(ResourceSchema), required=True)
    list_version = fields.Nested(ListVersionSchema, required=True)


class ResourceQuerySchema(Schema):
    district = fields.String()
    venue = fields.String()
    kind = fields.String(validate=validate.OneOf(RESOURCE_KINDS))
    program = fields.String()
    capacity = fields.Integer(validate=POSITIVE)
    version = fields.Integer(validate=POSITIVE)


class ExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx", "json"]))
    version = fields.Integer(validate=POSITIVE)
    district = fields.String()
    venue = fields.String()
    kind = fields.String(validate=validate.OneOf(RESOURCE_KINDS))
    program = fields.String()
    capacity = fields.Integer(validate=POSITIVE)
