"""Finance pages: dashboard with charts, monthly statements, reconciliation, period close.

Thin, like the JSON API next door (app/finance/routes.py): forms are checked with the API's
schemas, the finance service does the work, one commit per successful POST. Finance writes;
administrators may look. Exports are the API's own endpoints, linked from here.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import func, select

from app.catalog.models import Venue
from app.core.auth import require_roles
from app.core.clock import local_today, now
from app.core.errors import AppError
from app.core.i18n import localized
from app.core.labels import STATEMENT_STATUS
from app.core.messages import message_for
from app.core.money import format_yuan
from app.extensions import db
from app.finance import service
from app.finance.archive import audit_archive
from app.finance.charts import CHARTS, program_png
from app.finance.models import Statement, StatementLine
from app.finance.programs_report import program_report
from app.finance.reconcile import reconcile
from app.finance.schemas import MonthQuerySchema, SettleRequestSchema
from app.ledger.models import ClosedPeriod
from app.vouchers.pages import STATUS_LABELS as VOUCHER_STATUS_LABELS

finance_pages = Blueprint("finance", __name__, url_prefix="/finance", template_folder="templates")

LINES_SHOWN = 500  # a statement page shows this many lines; the export has all of them

STATEMENT_STATUS_LABELS = STATEMENT_STATUS
KIND_LABELS = {"voucher": _l("Voucher"), "quota": _l("Annual quota")}
# The invariants' English wording is reconcile.INVARIANTS; these msgids let translators see it.
INVARIANT_LABELS = {
    1: _l("No two active bookings of a resource overlap."),
    2: _l("For every creator, program and year: held + consumed ≤ cap."),
    3: _l("Every redeemed voucher and every consumed quota entry has exactly one successful check-in."),
    4: _l("Every journal entry balances; each voucher's state equals what its ledger entries say."),
    5: _l("A statement's total equals the sum of its lines; an issued statement never changes."),
    6: _l("No voucher is redeemed after its last valid day, or twice."),
    7: _l("A booking's status agrees with its check-in, voucher and quota state."),
    8: _l("A booking's voucher part equals what its voucher covered, its quota part its active "
          "holds, and the parts add up to its price."),
    9: _l("Every check-in belongs to a booking that was confirmed when scanned, inside its window."),
    10: _l("A booking's payments minus refunds never exceed its self-pay; an online payment's "
           "amount equals its order's."),
    11: _l("A completed booking's self-pay is collected or listed as outstanding."),
}
PROGRAM_TOTAL_LABELS = {**VOUCHER_STATUS_LABELS, "quota_hold": _l("Quota held"),
                        "quota_consume": _l("Quota consumed"), "quota_release": _l("Quota released")}
VENUE_TOTAL_LABELS = {"voucher": _l("Vouchers redeemed"), "quota": _l("Quota consumed")}
CHART_ALTS = {
    "redemptions": _l("Line chart: redeemed vouchers and consumed quota in yuan per week and "
                      "venue, last 12 weeks."),
    "quota": _l("Bar chart: annual quota held and consumed per creator this year, the 20 "
                "biggest users, names masked."),
    "batches": _l("Stacked bar chart: each voucher batch's vouchers by state, and those not "
                  "issued yet."),
}


@finance_pages.context_processor
def _labels() -> dict:
    return {"statement_labels": STATEMENT_STATUS_LABELS, "kind_labels": KIND_LABELS,
            "can_write": current_user.is_authenticated and current_user.has_role("finance")}


# ---- helpers -------------------------------------------------------------------------------


def previous_month() -> str:
    first = local_today().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _month(value: str | None) -> str | None:
    """A valid "YYYY-MM" from a query or form, or None."""
    try:
        return MonthQuerySchema().load({"month": (value or "").strip()})["month"]
    except ValidationError:
        return None


def _requested_month() -> tuple[str, str | None]:
    """The month asked for (default: last month) and a problem to show when it was not valid."""
    asked = request.values.get("month")
    month = _month(asked)
    if month is not None:
        return month, None
    problem = _("Choose a month as YYYY-MM.") if asked else None
    return previous_month(), problem


def _problem(err: AppError) -> str:
    return message_for(err.code, err.message)


def _statement_page(statement_id: int):
    return redirect(url_for("finance.statement", statement_id=statement_id))


# ---- dashboard -----------------------------------------------------------------------------


@finance_pages.get("/")
@require_roles("finance", "admin")
def dashboard():
    month = previous_month()
    by_status = dict(db.session.execute(
        select(Statement.status, func.count()).where(Statement.month == month)
        .group_by(Statement.status)).all())
    venues = db.session.scalar(select(func.count()).select_from(Venue).where(Venue.active))
    return render_template("finance/dashboard.html", month=month, by_status=by_status,
                           venue_count=venues, charts=CHART_ALTS)


@finance_pages.get("/charts/<name>.png")
@require_roles("finance", "admin")
def chart(name: str):
    if name not in CHART_ALTS:
        abort(404)
    # imported here: matplotlib is loaded by the first chart, not by every app that starts

    png = CHARTS[name](db.session)
    db.session.rollback()  # read only: end the transaction before the bytes go out
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})


# ---- the district's report per program -----------------------------------------------------


@finance_pages.get("/programs")
@require_roles("finance", "admin")
def programs():
    month, problem = _requested_month()
    report = program_report(db.session, month)
    return render_template("finance/programs.html", month=month, problem=problem,
                           report=report), (422 if problem else 200)


@finance_pages.get("/programs/<code>/chart.png")
@require_roles("finance", "admin")
def program_chart(code: str):
    month = _month(request.args.get("month"))
    row = next((r for r in program_report(db.session, month) if r["program"] == code),
               None) if month else None
    if row is None:
        abort(404)
    png = program_png(row)
    db.session.rollback()  # read only, as for the dashboard's charts
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=60"})


# ---- statements ----------------------------------------------------------------------------


@finance_pages.route("/statements", methods=["GET", "POST"])
@require_roles("finance", "admin")
def statements():
    month, problem = _requested_month()
    status = 200 if problem is None else 422
    if request.method == "POST":
        if not current_user.has_role("finance"):
            abort(403)
        venue_id = request.form.get("venue_id", "")
        if problem is None and not venue_id.isdigit():
            problem, status = _("Choose a venue."), 422
        if problem is None:
            try:
                statement = service.draft(db.session, current_user.id, int(venue_id), month)
                db.session.commit()
                flash(_("Draft statement for %(venue)s, %(month)s: %(n)s lines.",
                        venue=localized(statement.venue, "name"), month=month, n=statement.line_count),
                      "success")
                return _statement_page(statement.id)
            except AppError as err:
                db.session.rollback()
                problem, status = _problem(err), err.status
    rows = service.list_statements(db.session, month, None)
    has_statement = {s.venue_id for s in rows}
    without = [v for v in db.session.scalars(select(Venue).order_by(Venue.code))
               if v.id not in has_statement]
    return render_template("finance/statements.html", month=month, statements=rows,
                           without=without, problem=problem), status


@finance_pages.get("/statements/<int:statement_id>")
@require_roles("finance", "admin")
def statement(statement_id: int):
    return _render_statement(service.get(db.session, statement_id))


def _render_statement(statement: Statement, problem: str | None = None, errors: dict | None = None,
                      form: dict | None = None, status: int = 200):
    lines = db.session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id)
                               .order_by(StatementLine.id).limit(LINES_SHOWN)).all()
    return render_template("finance/statement.html", statement=statement, lines=lines,
                           problem=problem, errors=errors or {}, form=form,
                           today=local_today().isoformat()), status


@finance_pages.post("/statements/<int:statement_id>/refresh")
@require_roles("finance")
def refresh_statement(statement_id: int):
    statement = service.get(db.session, statement_id)
    if statement.status != "draft":
        return _render_statement(statement, _("Only a draft can be refreshed; this statement is %(status)s.",
                                              status=STATEMENT_STATUS_LABELS[statement.status]),
                                 status=409)
    try:
        statement = service.draft(db.session, current_user.id, statement.venue_id, statement.month)
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        return _render_statement(service.get(db.session, statement_id), _problem(err),
                                 status=err.status)
    flash(_("Draft refreshed from the ledger: %(n)s lines, %(total)s.", n=statement.line_count,
            total=format_yuan(statement.total_fen)), "success")
    return _statement_page(statement.id)


@finance_pages.post("/statements/<int:statement_id>/issue")
@require_roles("finance")
def issue_statement(statement_id: int):
    statement = service.get(db.session, statement_id)
    if statement.status != "draft":
        return _render_statement(statement, _("This statement is already %(status)s.",
                                              status=STATEMENT_STATUS_LABELS[statement.status]),
                                 status=409)
    if not request.form.get("confirm"):
        return _render_statement(statement, _("Tick the box to confirm that the numbers are final. "
                                              "Nothing was issued."), status=422)
    try:
        service.issue(db.session, current_user.id, statement)
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        return _render_statement(service.get(db.session, statement_id), _problem(err),
                                 status=err.status)
    flash(_("Statement issued. Its numbers are frozen; SHA-256 %(sha)s.",
            sha=statement.file_sha256), "success")
    return _statement_page(statement.id)


@finance_pages.post("/statements/<int:statement_id>/settle")
@require_roles("finance")
def settle_statement(statement_id: int):
    statement = service.get(db.session, statement_id)
    form = {"payment_reference": (request.form.get("payment_reference") or "").strip(),
            "payment_date": (request.form.get("payment_date") or "").strip()}
    try:
        data = SettleRequestSchema().load(form)
    except ValidationError as err:
        return _render_statement(statement, _("Nothing was saved. Please correct the payment."),
                                 errors=err.messages, form=form, status=422)
    try:
        service.settle(db.session, current_user.id, statement, data["payment_reference"],
                       data["payment_date"])
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        return _render_statement(service.get(db.session, statement_id), _problem(err), form=form,
                                 status=err.status)
    flash(_("Payment %(reference)s recorded; the statement is settled.",
            reference=statement.payment_reference), "success")
    return _statement_page(statement.id)


# ---- reconciliation and closing a month ----------------------------------------------------


def _columns(table: dict, order: list[str]) -> list[str]:
    """The sub-keys used in a totals table, in a stable order (known ones first)."""
    used = {key for cells in table.values() for key in cells}
    return [k for k in order if k in used] + sorted(used - set(order))


def _render_reconciliation(month: str, problem: str | None = None, status: int = 200):
    report = reconcile(db.session, month).as_dict()
    db.session.rollback()  # read only, as in the API
    totals = report["totals"]
    closed = db.session.scalars(select(ClosedPeriod).order_by(ClosedPeriod.period.desc())
                                .limit(12)).all()
    return render_template(
        "finance/reconciliation.html", month=month, report=report, problem=problem,
        invariant_labels=INVARIANT_LABELS,
        violations={n["number"]: [v for v in report["violations"] if v["invariant"] == n["number"]]
                    for n in report["invariants"]},
        program_columns=_columns(totals["by_program"], list(PROGRAM_TOTAL_LABELS)),
        venue_columns=_columns(totals["by_venue"], list(VENUE_TOTAL_LABELS)),
        batch_columns=_columns(totals["by_batch"], list(VOUCHER_STATUS_LABELS)),
        program_labels=PROGRAM_TOTAL_LABELS, venue_labels=VENUE_TOTAL_LABELS,
        batch_labels=VOUCHER_STATUS_LABELS, closed=closed, close_default=previous_month(),
    ), status


@finance_pages.get("/reconciliation")
@require_roles("finance", "admin")
def reconciliation():
    month, problem = _requested_month()
    return _render_reconciliation(month, problem, 200 if problem is None else 422)


@finance_pages.get("/audit-export.zip")
@require_roles("finance", "admin")
def audit_export():
    """The auditor's archive for ?from=YYYY-MM&to=YYYY-MM (one month when only from is given)."""
    first = _month(request.args.get("from"))
    last = _month(request.args.get("to") or request.args.get("from"))
    if first is None or last is None or last < first:
        abort(422)
    body = audit_archive(db.session, first, last, now())
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=audit-{first}-{last}.zip"})


@finance_pages.post("/periods/close")
@require_roles("finance")
def close_period():
    month = _month(request.form.get("month"))
    if month is None:
        return _render_reconciliation(previous_month(), _("Choose a month as YYYY-MM."), 422)
    try:
        closed = service.close_period(db.session, current_user.id, month)
        db.session.commit()
    except AppError as err:
        db.session.rollback()
        return _render_reconciliation(month, _problem(err), err.status)
    flash(_("%(month)s is closed: nothing more is dated in it; later movements land in the open "
            "month.", month=closed.period), "success")
    return redirect(url_for("finance.reconciliation", month=month))
