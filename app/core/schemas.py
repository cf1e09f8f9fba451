"""Schemas shared by every feature: the error body, page wrappers, bounds for input."""

from datetime import UTC, date, datetime

from marshmallow import Schema, fields, validate

__all__ = ["ErrorSchema", "HealthSchema"]

# Integer columns are 32-bit on PostgreSQL: a larger number names no row and fits in no column
# (SQLite overflows at 64 bits). Inputs stay inside, so the answer is a 422, never a driver error.
INT_MAX = 2**31 - 1
ID = validate.Range(min=1, max=INT_MAX, error="Must be an id between {min} and {max}.")
NON_NEGATIVE = validate.Range(min=0, max=INT_MAX)
POSITIVE = validate.Range(min=1, max=INT_MAX)

# Dates far from today are never meant, and near year 1 or 9999 date arithmetic overflows.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)
CALENDAR_DAY = validate.Range(min=EARLIEST_DAY, max=LATEST_DAY,
                              error="Must be a date from {min} to {max}.")
CALENDAR_MOMENT = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2999, 12, 31, tzinfo=UTC),
    error="Must be a time from {min} to {max}.")


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)
