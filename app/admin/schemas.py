from marshmallow import Schema, fields, validate

from app.catalog.models import RESOURCE_KINDS
from app.catalog.schemas import VenueSchema
from app.core.schemas import ID

__all__ = ["ResourceChangeSchema", "AuditEntrySchema", "PublishRequestSchema",
           "OperatorVenueSchema"]

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", error="Use HH:MM.")


class ResourceChangeSchema(Schema):
    code = fields.String(validate=validate.Length(min=1, max=60))
    venue_id = fields.Integer(validate=ID)
    name_zh = fields.String(validate=validate.Length(min=1, max=120))
    name_en = fields.String(validate=validate.Length(max=160))
    kind = fields.String(validate=validate.OneOf(RESOURCE_KINDS))
    style_zh = fields.String(validate=validate.Length(max=60))
    style_en = fields.String(validate=validate.Length(max=60))
    capacity = fields.Integer()
    area_sqm = fields.Integer()
    equipment = fields.List(fields.String(validate=validate.Length(max=120)))
    description_zh = fields.String()
    description_en = fields.String()
    photo_url = fields.String(validate=validate.Length(max=300))
    hourly_rate_fen = fields.Integer(strict=True)
    peak_rate_fen = fields.Integer(strict=True)
    peak_start = fields.String(validate=HHMM)
    peak_end = fields.String(validate=HHMM)
    slot_minutes = fields.Integer()
    min_minutes = fields.Integer()
    max_minutes = fields.Integer()
    buffer_minutes = fields.Integer()
    min_notice_minutes = fields.Integer()
    max_advance_days = fields.Integer()
    cancel_deadline_hours = fields.Integer()
    checkin_opens_minutes = fields.Integer()
    no_show_after_minutes = fields.Integer()
    opening_hours = fields.Dict(allow_none=True)
    programs = fields.List(fields.String())
    active = fields.Boolean()


class PublishRequestSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


class VenueResourceSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    active = fields.Boolean(required=True)


class OperatorVenueSchema(VenueSchema):
    """A venue as its operator sees it: with every resource, active or not."""

    resources = fields.List(fields.Nested(VenueResourceSchema), required=True)
