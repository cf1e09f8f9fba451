"""The OpenAPI 3 document, generated from the routes' docstrings and marshmallow schemas."""

from __future__ import annotations

import re
from http import HTTPStatus

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, current_app, jsonify

openapi_bp = Blueprint("openapi", __name__)

ERROR_RESPONSES = {
    "401": "Not signed in, or the bearer token is wrong or revoked",
    "403": "Signed in without the role or scope for this",
    "404": "Not found",
    "422": "Invalid input; details.fields lists each field's problems",
    "429": "Too many requests",
}


def _schemas():
    from app.accounts import schemas as accounts_schemas
    from app.admin import schemas as admin_schemas
    from app.booking import schemas as booking_schemas
    from app.catalog import schemas as catalog_schemas
    from app.checkin import schemas as checkin_schemas
    from app.core import schemas as core_schemas
    from app.finance import schemas as finance_schemas
    from app.payments import schemas as payment_schemas
    from app.vouchers import schemas as voucher_schemas

    modules = [core_schemas, catalog_schemas, accounts_schemas, admin_schemas,
               booking_schemas, voucher_schemas, checkin_schemas,
               finance_schemas, payment_schemas]
    for module in modules:
        for name in getattr(module, "__all__", []):
            yield name.removesuffix("Schema"), getattr(module, name)


def build_spec(app) -> dict:
    spec = APISpec(
        title="Shared creation venues: booking and vouchers",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": "JSON API. Money is integer fen in fields ending _fen; times are "
                             "ISO 8601 with offset. Errors: {error: {code, message, details}}."},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in _schemas():
        # a schema nested in one registered earlier is already there under the same name
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    for status, description in ERROR_RESPONSES.items():
        response = {"description": description,
                    "content": {"application/json": {"schema": "Error"}}}
        if status == "401":
            response["headers"] = {"WWW-Authenticate": {
                "description": 'Bearer, or Bearer error="invalid_token" for a refused token',
                "schema": {"type": "string"}}}
        spec.components.response(f"Error{status}", response)
    roles: dict[tuple[str, str], tuple[str, ...]] = {}
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not (rule.rule.startswith("/api/v1") or rule.rule == "/healthz"):
                continue
            view = app.view_functions[rule.endpoint]
            if view.__doc__ and "---" in view.__doc__:
                spec.path(view=view, app=app)
                for method in rule.methods - {"HEAD", "OPTIONS"}:
                    roles[_openapi_path(rule.rule), method.lower()] = getattr(
                        view, "required_roles", ())
    return _complete_operations(spec.to_dict(), roles)


def _openapi_path(rule: str) -> str:
    """``/bookings/<int:booking_id>`` as the document names it: ``/bookings/{booking_id}``."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def _error_ref(status: str) -> dict:
    return {"$ref": f"#/components/responses/Error{status}"}


def _complete_operations(document: dict, roles: dict[tuple[str, str], tuple[str, ...]]) -> dict:
    """What every operation of a kind answers, so that docstrings list only their own cases.

    - behind the bearer scheme: 401 without (valid) credentials;
    - behind a role (``require_roles``): 403 for an account without it;
    - with a path parameter: 404 for an id that names nothing;
    - with parameters or a body: 422, since input the database cannot hold (a NUL character)
      or JSON nested too deeply is refused before the view runs (``app.core.request_input``).

    OpenAPI 3.0 also requires a description on every response: one that only names its body's
    schema gets the status's reason phrase.
    """
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            if operation.get("security"):
                responses.setdefault("401", _error_ref("401"))
            if roles.get((path, method)):
                responses.setdefault("403", _error_ref("403"))
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", _error_ref("404"))
            if parameters or operation.get("requestBody"):
                responses.setdefault("422", _error_ref("422"))
            for status, response in responses.items():
                if "$ref" not in response:
                    response.setdefault("description", HTTPStatus(int(status)).phrase)
    return document


@openapi_bp.get("/api/v1/openapi.json")
def openapi_json():
    spec = current_app.extensions.get("venuebook_openapi")
    if spec is None:
        spec = current_app.extensions["venuebook_openapi"] = build_spec(current_app)
    return jsonify(spec)
