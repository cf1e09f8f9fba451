"""Finance API: statements (draft, issue, settle, export), reconciliation, period close."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file, stream_with_context
from flask_login import current_user

from app.core.api import load
from app.core.auth import require_roles
from app.core.errors import ValidationFailed
from app.extensions import db
from app.finance import exports, programs_report, service
from app.finance.reconcile import reconcile
from app.finance.schemas import (
    MonthQuerySchema,
    ReconciliationSchema,
    SettleRequestSchema,
    StatementQuerySchema,
    StatementRequestSchema,
    StatementSchema,
)

finance_api = Blueprint("finance_api", __name__, url_prefix="/api/v1/finance")


@finance_api.get("/statements")
@require_roles("finance", "admin")
def list_statements():
    """Statements, filtered by month and venue.
    ---
    get:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - in: query
          schema: StatementQuerySchema
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Statement"}}
    """
    args = load(StatementQuerySchema(), source="args")
    statements = service.list_statements(db.session, args.get("month"), args.get("venue"))
    return jsonify({"items": StatementSchema(many=True).dump(
        [service.describe(s, with_lines=False) for s in statements])})


@finance_api.post("/statements")
@require_roles("finance")
def create_statement():
    """Draft (or refresh the draft of) a venue's statement for a month; issued ones stay as issued.
    ---
    post:
      tags: [finance]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: StatementRequest
      responses:
        201:
          content:
            application/json:
              schema: Statement
        404: {$ref: "#/components/responses/Error404"}
    """
    data = load(StatementRequestSchema())
    statement = service.draft(db.session, current_user.id, data["venue_id"], data["month"])
    db.session.commit()
    return jsonify(StatementSchema().dump(service.describe(statement))), 201


@finance_api.get("/statements/<int:statement_id>")
@require_roles("finance", "admin")
def get_statement(statement_id: int):
    """One statement with its lines.
    ---
    get:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: statement_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: Statement
    """
    return jsonify(StatementSchema().dump(service.describe(service.get(db.session, statement_id))))


@finance_api.post("/statements/<int:statement_id>/issue")
@require_roles("finance")
def issue_statement(statement_id: int):
    """Freeze the statement: its file and SHA-256 are stored; issuing again changes nothing.
    ---
    post:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: statement_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: Statement
    """
    statement = service.issue(db.session, current_user.id, service.get(db.session, statement_id))
    db.session.commit()
    return jsonify(StatementSchema().dump(service.describe(statement)))


@finance_api.post("/statements/<int:statement_id>/settle")
@require_roles("finance")
def settle_statement(statement_id: int):
    """Record the payment reference and date; paid items move to settled in the ledger.
    ---
    post:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: statement_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: SettleRequest
      responses:
        200:
          content:
            application/json:
              schema: Statement
        409: {description: already_settled, content: {application/json: {schema: Error}}}
    """
    data = load(SettleRequestSchema())
    statement = service.settle(db.session, current_user.id, service.get(db.session, statement_id),
                               data["payment_reference"], data["payment_date"])
    db.session.commit()
    return jsonify(StatementSchema().dump(service.describe(statement)))


@finance_api.get("/statements/<int:statement_id>/export")
@require_roles("finance", "admin")
def export_statement(statement_id: int):
    """The statement as CSV or XLSX (Chinese headers, yuan, a totals row), streamed.
    ---
    get:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: statement_id, required: true, schema: {type: integer}}
        - {in: query, name: format, schema: {type: string, enum: [csv, xlsx]}}
      responses:
        200:
          description: The file
          content:
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
    """

    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed({"format": ["csv or xlsx"]})
    statement = service.get(db.session, statement_id)
    name = f"statement-{statement.venue.code}-{statement.month}"
    headers = {"X-Content-SHA256": statement.file_sha256} if statement.file_sha256 and fmt == "csv" else {}
    if fmt == "csv":
        return Response(stream_with_context(exports.stream_csv(db.session, statement)),
                        content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv", **headers})
    return send_file(exports.xlsx_file(db.session, statement), as_attachment=True,
                     download_name=f"{name}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@finance_api.get("/programs/report")
@require_roles("finance", "admin")
def program_report():
    """The district's report per program for a month: vouchers, quota by tier, creators and
    enterprises served, bookings, hours per venue and kind, self-pay. JSON, CSV or XLSX.
    ---
    get:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: month, required: true, schema: {type: string, example: "2026-12"}}
        - {in: query, name: format, schema: {type: string, enum: [json, csv, xlsx]}}
      responses:
        200:
          description: The report
          content:
            application/json: {}
            text/csv: {}
            application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: {}
        403: {$ref: "#/components/responses/Error403"}
        422: {$ref: "#/components/responses/Error422"}
    """
    month = load(MonthQuerySchema(), {"month": request.args.get("month", "")})["month"]
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise ValidationFailed({"format": ["json, csv or xlsx"]})
    report = programs_report.program_report(db.session, month)
    name = f"programs-{month}"
    if fmt == "csv":
        return Response(programs_report.render_csv(report), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        return send_file(programs_report.xlsx_file(report, month), as_attachment=True,
                         download_name=f"{name}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return jsonify({"month": month, "items": report})


@finance_api.get("/reconciliation")
@require_roles("finance", "admin")
def reconciliation():
    """Every invariant for the month, each violation listed; totals by program, venue, batch.
    ---
    get:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - in: query
          schema: MonthQuerySchema
      responses:
        200:
          content:
            application/json:
              schema: Reconciliation
    """
    args = load(MonthQuerySchema(), source="args")
    report = reconcile(db.session, args["month"])
    db.session.rollback()
    return jsonify(ReconciliationSchema().dump(report.as_dict()))


@finance_api.post("/periods/<month>/close")
@require_roles("finance")
def close_period(month: str):
    """Close a past month: nothing more is dated in it; late movements land in the open month.
    ---
    post:
      tags: [finance]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: month, required: true, schema: {type: string}}
      responses:
        200:
          description: closed (closing a closed month again changes nothing)
          content:
            application/json:
              schema:
                type: object
                required: [period, closed_at]
                properties:
                  period: {type: string, example: "2026-11"}
                  closed_at: {type: string, format: date-time}
    """
    load(MonthQuerySchema(), {"month": month})
    closed = service.close_period(db.session, current_user.id, month)
    db.session.commit()
    return jsonify({"period": closed.period, "closed_at": closed.closed_at.isoformat()})
