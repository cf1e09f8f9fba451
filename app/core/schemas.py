"""Schemas shared by every feature: the error body, page wrappers."""

from marshmallow import Schema, fields

__all__ = ["ErrorSchema", "HealthSchema"]


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
