"""Helpers shared by the JSON routes: parse with a schema, one error shape."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from marshmallow import Schema, ValidationError

from app.core.errors import ValidationFailed
from app.core.messages import message_for


def error_body(code: str, message: str | None = None, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message or message_for(code), "details": details or {}}}


def error_response(status: int, code: str, message: str | None = None, details=None):
    response = jsonify(error_body(code, message, details))
    response.status_code = status
    return response


def load(schema: Schema, data: Any = None, *, source: str = "json") -> dict:
    """Validate input; field errors become a 422 ``validation_error`` listing the fields."""
    if data is None:
        if source == "args":
            data = request.args.to_dict()
        else:
            data = request.get_json(silent=True)
            if data is None:
                raise ValidationFailed({"_body": ["Send a JSON object."]})
    try:
        return schema.load(data)
    except ValidationError as err:
        raise ValidationFailed(err.messages) from err
