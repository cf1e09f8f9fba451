"""Money administration API: programs, voucher batches, issuing, search, void, residency."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.models import Enterprise
from app.catalog.models import District, Program
from app.catalog.programs import (
    create_district,
    create_program,
    describe_district,
    describe_program,
    set_active,
    update_program,
)
from app.core.api import load
from app.core.auth import require_roles
from app.core.errors import NotFound
from app.extensions import db
from app.vouchers import service
from app.vouchers.models import Voucher, VoucherBatch
from app.vouchers.schemas import (
    BatchRequestSchema,
    BatchSchema,
    DistrictRequestSchema,
    DistrictSchema,
    IssueRequestSchema,
    ProgramRequestSchema,
    ProgramSchema,
    ProgramUpdateSchema,
    ResidencyRequestSchema,
    VoidRequestSchema,
    VoucherSchema,
)

money_api = Blueprint("money_api", __name__, url_prefix="/api/v1")


def describe_batch(batch: VoucherBatch) -> dict:
    counts = dict(db.session.execute(
        select(Voucher.status, func.count()).where(Voucher.batch_id == batch.id)
        .group_by(Voucher.status)).all())
    return {
        "id": batch.id, "program": batch.program.code, "name": batch.name,
        "face_value_fen": batch.face_value_fen, "total_count": batch.total_count,
        "total_budget_fen": batch.total_budget_fen, "issued_count": batch.issued_count,
        "valid_from": batch.valid_from.isoformat(), "valid_until": batch.valid_until.isoformat(),
        "venue_ids": batch.venue_ids, "resource_kinds": batch.resource_kinds,
        "counts": {k: int(v) for k, v in counts.items()},
    }


def _batch(batch_id: int) -> VoucherBatch:
    batch = db.session.get(VoucherBatch, batch_id)
    if batch is None:
        raise NotFound()
    return batch


@money_api.get("/programs")
def list_programs():
    """Subsidy programs with their tiers and the resources accepting them.
    ---
    get:
      tags: [money]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Program"}}
    """
    programs = db.session.scalars(select(Program).order_by(Program.code))
    return jsonify({"items": ProgramSchema(many=True).dump(
        [describe_program(db.session, p) for p in programs])})


@money_api.post("/admin/programs")
@require_roles("admin")
def add_program():
    """Add a program (a row, not code): who is eligible, funding, tiers, which resources accept it.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: ProgramRequest
      responses:
        201:
          content:
            application/json:
              schema: Program
    """
    program = create_program(db.session, current_user.id, load(ProgramRequestSchema()))
    db.session.commit()
    return jsonify(ProgramSchema().dump(describe_program(db.session, program))), 201


def program_by_code(code: str) -> Program:
    program = db.session.scalar(select(Program).where(Program.code == code))
    if program is None:
        raise NotFound()
    return program


@money_api.patch("/admin/programs/<code>")
@require_roles("admin")
def edit_program(code: str):
    """Change a program's names, descriptions, coverage, no-show and strike policy, district,
    dates or tiers; audited. A lower tier cap never drops an account below what it used.
    ---
    patch:
      tags: [admin]
      security: [{bearer: []}]
      parameters: [{name: code, in: path, required: true, schema: {type: string}}]
      requestBody:
        content:
          application/json:
            schema: ProgramUpdate
      responses:
        200:
          content:
            application/json:
              schema: Program
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    program = program_by_code(code)
    update_program(db.session, current_user.id, program, load(ProgramUpdateSchema()))
    db.session.commit()
    return jsonify(ProgramSchema().dump(describe_program(db.session, program)))


def _set_active(code: str, active: bool):
    program = set_active(db.session, current_user.id, program_by_code(code), active)
    db.session.commit()
    return jsonify(ProgramSchema().dump(describe_program(db.session, program)))


@money_api.post("/admin/programs/<code>/close")
@require_roles("admin")
def close_program(code: str):
    """Close a program: no new booking uses it; holds and vouchers already given are honoured.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters: [{name: code, in: path, required: true, schema: {type: string}}]
      responses:
        200:
          content:
            application/json:
              schema: Program
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
    """
    return _set_active(code, False)


@money_api.post("/admin/programs/<code>/reopen")
@require_roles("admin")
def reopen_program(code: str):
    """Reopen a closed program.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters: [{name: code, in: path, required: true, schema: {type: string}}]
      responses:
        200:
          content:
            application/json:
              schema: Program
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
    """
    return _set_active(code, True)


@money_api.get("/districts")
def list_districts():
    """Districts that run programs and have venues.
    ---
    get:
      tags: [catalog]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/District"}}
    """
    districts = db.session.scalars(select(District).order_by(District.code))
    return jsonify({"items": DistrictSchema(many=True).dump(
        [describe_district(d) for d in districts])})


@money_api.post("/admin/districts")
@require_roles("admin")
def add_district():
    """Add a district (audited); its programs and venues follow.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: DistrictRequest
      responses:
        201:
          content:
            application/json:
              schema: District
        403: {$ref: "#/components/responses/Error403"}
        422: {$ref: "#/components/responses/Error422"}
    """
    district = create_district(db.session, current_user.id, load(DistrictRequestSchema()))
    db.session.commit()
    return jsonify(DistrictSchema().dump(describe_district(district))), 201


@money_api.get("/admin/voucher-batches")
@require_roles("admin", "finance")
def list_batches():
    """Voucher batches with counts per state.
    ---
    get:
      tags: [admin]
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Batch"}}
    """
    batches = db.session.scalars(select(VoucherBatch).order_by(VoucherBatch.id.desc()))
    return jsonify({"items": BatchSchema(many=True).dump([describe_batch(b) for b in batches])})


@money_api.post("/admin/voucher-batches")
@require_roles("admin")
def add_batch():
    """Create a voucher batch.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: BatchRequest
      responses:
        201:
          content:
            application/json:
              schema: Batch
    """
    data = load(BatchRequestSchema())
    batch = service.create_batch(db.session, current_user.id, program_code=data.pop("program"), **data)
    db.session.commit()
    return jsonify(BatchSchema().dump(describe_batch(batch))), 201


@money_api.post("/admin/voucher-batches/<int:batch_id>/issue")
@require_roles("admin")
def issue(batch_id: int):
    """Issue vouchers of a batch to an enterprise (never beyond the batch's count or budget).
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: batch_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: IssueRequest
      responses:
        201:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Voucher"}}
        409: {description: batch_exhausted, content: {application/json: {schema: Error}}}
    """
    batch = _batch(batch_id)
    data = load(IssueRequestSchema())
    enterprise = db.session.get(Enterprise, data["enterprise_id"])
    if enterprise is None:
        raise NotFound(message="no such enterprise")
    vouchers = service.issue_vouchers(db.session, current_user.id, batch, enterprise, data["count"])
    db.session.commit()
    return jsonify({"items": VoucherSchema(many=True).dump(
        [service.describe(v) for v in vouchers])}), 201


@money_api.get("/admin/vouchers")
@require_roles("admin", "finance")
def search_vouchers():
    """Search vouchers by code or enterprise name, and by status.
    ---
    get:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: q, schema: {type: string}}
        - {in: query, name: status, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Voucher"}}
    """
    vouchers = service.search(db.session, request.args.get("q", "").strip(),
                              request.args.get("status") or None)
    return jsonify({"items": VoucherSchema(many=True).dump([service.describe(v) for v in vouchers])})


@money_api.post("/admin/vouchers/<code>/void")
@require_roles("admin")
def void_voucher(code: str):
    """Revoke a voucher (issued or held). A booking holding it keeps its slot and pays itself.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: code, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema: VoidRequest
      responses:
        200:
          content:
            application/json:
              schema: Voucher
        409: {description: voucher_state_changed, content: {application/json: {schema: Error}}}
    """
    data = load(VoidRequestSchema())
    voucher = service.void(db.session, current_user.id, service.require(db.session, code),
                           data["reason"])
    db.session.commit()
    return jsonify(VoucherSchema().dump(service.describe(voucher)))


@money_api.post("/admin/enterprises/<int:enterprise_id>/residencies")
@require_roles("admin")
def add_residency(enterprise_id: int):
    """Record an enterprise's residency (e.g. settled in V聚场) for a voucher program.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: enterprise_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: ResidencyRequest
      responses:
        201:
          description: recorded
          content:
            application/json:
              schema:
                type: object
                required: [id, program, valid_from, valid_until]
                properties:
                  id: {type: integer}
                  program: {type: string}
                  valid_from: {type: string, format: date}
                  valid_until: {type: string, format: date, nullable: true}
    """
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound()
    data = load(ResidencyRequestSchema())
    residency = accounts.record_residency(db.session, current_user.id, enterprise, data["program"],
                                          data["valid_from"], data["valid_until"])
    db.session.commit()
    return jsonify({"id": residency.id, "program": data["program"],
                    "valid_from": residency.valid_from.isoformat(),
                    "valid_until": residency.valid_until.isoformat() if residency.valid_until else None}), 201
