"""The OpenAPI 3 document, generated from the routes' docstrings and marshmallow schemas."""

from __future__ import annotations

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
    from app.vouchers import schemas as voucher_schemas

    modules = [core_schemas, catalog_schemas, accounts_schemas, admin_schemas,
               booking_schemas, voucher_schemas, checkin_schemas,
               finance_schemas]
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
        spec.components.response(
            f"Error{status}",
            {"description": description,
             "content": {"application/json": {"schema": "Error"}}},
        )
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not (rule.rule.startswith("/api/v1") or rule.rule == "/healthz"):
                continue
            view = app.view_functions[rule.endpoint]
            if view.__doc__ and "---" in view.__doc__:
                spec.path(view=view, app=app)
    return _document_common_errors(spec.to_dict())


def _error_ref(status: str) -> dict:
    return {"$ref": f"#/components/responses/Error{status}"}


def _document_common_errors(document: dict) -> dict:
    """Answers every operation of a kind gives, whatever its docstring lists.

    - behind the bearer scheme: 401 without (valid) credentials;
    - taking parameters or a body: 422, since input the database cannot hold (a NUL character)
      or JSON nested too deeply is refused before the view runs (``app.core.request_input``).
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", _error_ref("401"))
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("422", _error_ref("422"))
    return document


@openapi_bp.get("/api/v1/openapi.json")
def openapi_json():
    spec = current_app.extensions.get("venuebook_openapi")
    if spec is None:
        spec = current_app.extensions["venuebook_openapi"] = build_spec(current_app)
    return jsonify(spec)
