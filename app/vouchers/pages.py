"""Money administration pages: programs, voucher batches, issuing, search and void.

Thin, like the JSON API next door: a form is turned into the shape the API's schema loads
(yuan → fen at this edge), then the program and voucher services do the work. One commit per
successful POST; on any error the session is rolled back and the form is shown again with
its problems next to the fields.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from app.accounts.models import Enterprise
from app.catalog.models import District, Program, Venue
from app.catalog.programs import (
    create_district,
    create_program,
    describe_program,
    set_active,
    update_program,
)
from app.core.auth import require_roles
from app.core.errors import AppError, NotFound, ValidationFailed
from app.core.i18n import localized
from app.core.labels import VOUCHER_STATUS
from app.core.messages import message_for
from app.core.money import format_yuan, parse_yuan
from app.extensions import db
from app.vouchers import service
from app.vouchers.models import VOUCHER_STATES, Voucher, VoucherBatch
from app.vouchers.routes import describe_batch, program_by_code
from app.vouchers.schemas import (
    BatchRequestSchema,
    DistrictRequestSchema,
    IssueRequestSchema,
    ProgramRequestSchema,
    ProgramUpdateSchema,
    VoidRequestSchema,
)

money_pages = Blueprint("money", __name__, url_prefix="/admin/money", template_folder="templates")

TIER_ROWS = 3  # tiers the "add a program" form offers; more can follow through the API
BATCH_VOUCHERS_SHOWN = 500

STATUS_LABELS = VOUCHER_STATUS
FUNDING_LABELS = {"voucher": _l("Vouchers"), "quota": _l("Annual quota")}
ELIGIBILITY_LABELS = {"resident_enterprise": _l("Resident enterprises"),
                      "certified_creator": _l("Certified creators")}
NO_SHOW_LABELS = {"forfeit": _l("Voucher or quota is forfeited"),
                  "release": _l("Voucher or quota is released")}

PROGRAM_FIELDS = {
    "code": _l("Code"), "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"),
    "district": _l("District"), "funding": _l("Funding"), "eligibility": _l("Eligibility"),
    "coverage_percent": _l("Coverage of the fee, in percent"), "no_show_policy": _l("No-show policy"),
    "description_zh": _l("Description (Chinese)"), "description_en": _l("Description (English)"),
    "tiers": _l("Tiers"), "venue_ids": _l("Venues"), "resource_kinds": _l("Resource kinds"),
    "cross_district": _l("Also at venues of other districts"), "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"), "strike_policy": _l("Strike policy"),
    "strike_limit": _l("No-shows that suspend"), "strike_window_days": _l("Within days"),
    "strike_suspension_days": _l("Suspension in days"),
}
STRIKE_FIELDS = ("strike_limit", "strike_window_days", "strike_suspension_days")
DISTRICT_FIELDS = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"),
                   "name_en": _l("Name (English)")}
TIER_FIELDS = {"code": _l("Code"), "name_zh": _l("Name (Chinese)"),
               "name_en": _l("Name (English)"), "cap_fen": _l("Annual cap (yuan)")}
BATCH_FIELDS = {
    "program": _l("Program"), "name": _l("Batch name"), "face_value_fen": _l("Face value (yuan)"),
    "total_count": _l("Number of vouchers"), "total_budget_fen": _l("Total budget (yuan)"),
    "valid_from": _l("Valid from"), "valid_until": _l("Valid until"), "venue_ids": _l("Venues"),
    "resource_kinds": _l("Resource kinds"),
}
ISSUE_FIELDS = {"enterprise_id": _l("Enterprise"), "count": _l("Number to issue")}


@money_pages.context_processor
def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "funding_labels": FUNDING_LABELS,
            "eligibility_labels": ELIGIBILITY_LABELS, "no_show_labels": NO_SHOW_LABELS}


# The creator's wallet (accounts/me.html) gets vouchers as plain dicts with codes and ids; these
# turn them into names in the reader's language. Looked up once per request.


def _by(model, key: str) -> dict:
    cache = g.setdefault("_money_names", {})
    if model.__name__ not in cache:
        cache[model.__name__] = {getattr(o, key): o for o in db.session.scalars(select(model))}
    return cache[model.__name__]


@money_pages.app_template_global()
def program_name(code: str) -> str:
    program = _by(Program, "code").get(code)
    return localized(program, "name") if program is not None else code


@money_pages.app_template_global()
def venue_name(venue_id: int) -> str:
    venue = _by(Venue, "id").get(venue_id)
    return localized(venue, "name") if venue is not None else str(venue_id)


# ---- form handling -------------------------------------------------------------------------


def _flatten(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors ({"tiers": {0: {"cap_fen": [...]}}}) as "tiers.0.cap_fen"."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat.setdefault(name, []).extend(
                str(v) for v in (value if isinstance(value, list) else [value]))
    return flat


def _load(schema: Schema, data: dict, errors: dict[str, list[str]]) -> dict:
    """Validate with the API's schema; our own messages (e.g. about yuan) win for a field."""
    try:
        loaded = schema.load(data)
    except ValidationError as err:
        for name, problems in _flatten(err.messages).items():
            errors.setdefault(name, problems)
        loaded = None
    if errors:
        raise ValidationFailed(errors)
    return loaded


def _fen(form, name: str, key: str, data: dict, errors: dict) -> None:
    try:
        data[key] = parse_yuan(form.get(name) or "")
    except ValueError:
        errors[key] = [_("An amount in yuan, e.g. 300 or 299.50.")]


def _whole(form, name: str, data: dict, errors: dict) -> None:
    try:
        data[name] = int((form.get(name) or "").strip())
    except ValueError:
        errors[name] = [_("Must be a whole number.")]


def _text(form, name: str) -> str:
    return (form.get(name) or "").strip()


def _program_from_form(form) -> dict:
    errors: dict[str, list[str]] = {}
    tiers, rows = _tiers_from_form(form, TIER_ROWS, errors)
    data = {name: _text(form, name) for name in (
        "code", "name_zh", "name_en", "funding", "eligibility", "coverage_percent",
        "no_show_policy", "description_zh", "description_en")}
    data.update(district=_text(form, "district") or None, tiers=tiers,
                venue_ids=form.getlist("venue_ids"), resource_kinds=form.getlist("resource_kinds"))
    try:
        return _load(ProgramRequestSchema(), data, errors)
    except ValidationFailed as err:
        raise ValidationFailed(_form_rows(err.details["fields"], rows)) from err


def _tiers_from_form(form, count: int, errors: dict) -> tuple[list[dict], list[int]]:
    """The tier rows a person filled in (an empty row is no tier), caps in yuan → fen."""
    tiers, rows = [], []
    for row in range(count):
        values = {f: _text(form, f"tiers-{row}-{f}") for f in ("code", "name_zh", "name_en", "cap")}
        if not any(values.values()):
            continue
        tier = {"code": values["code"], "name_zh": values["name_zh"], "name_en": values["name_en"]}
        try:
            tier["cap_fen"] = parse_yuan(values["cap"])
        except ValueError:
            errors[f"tiers.{len(tiers)}.cap_fen"] = [_("An amount in yuan, e.g. 300000.")]
        tiers.append(tier)
        rows.append(row)
    return tiers, rows


def _program_edit_from_form(form, program: Program) -> dict:
    errors: dict[str, list[str]] = {}
    tiers, rows = _tiers_from_form(form, len(program.tiers) + 1, errors)
    data = {name: _text(form, name) for name in (
        "name_zh", "name_en", "coverage_percent", "no_show_policy", "description_zh",
        "description_en")}
    data.update(district=_text(form, "district") or None,
                cross_district=bool(form.get("cross_district")),
                valid_from=_text(form, "valid_from") or None,
                valid_until=_text(form, "valid_until") or None,
                strike_policy={})
    whole: dict = {}
    for name in STRIKE_FIELDS:
        _whole(form, name, whole, errors)
    data["strike_policy"] = {name.removeprefix("strike_"): whole.get(name) for name in STRIKE_FIELDS}
    if tiers:
        data["tiers"] = tiers
    try:
        return _load(ProgramUpdateSchema(), data, errors)
    except ValidationFailed as err:
        raise ValidationFailed(_form_rows(err.details["fields"], rows)) from err


def _form_rows(errors: dict, rows: list[int]) -> dict:
    """Tier errors are counted over the tiers sent; the person sees the form's rows."""
    mapped = {}
    for key, problems in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "tiers" and parts[1].isdigit():
            parts[1] = str(rows[int(parts[1])])
        mapped[".".join(parts)] = problems
    return mapped


def _batch_from_form(form) -> dict:
    errors: dict[str, list[str]] = {}
    data = {"program": _text(form, "program"), "name": _text(form, "name"),
            "valid_from": _text(form, "valid_from"), "valid_until": _text(form, "valid_until"),
            "venue_ids": form.getlist("venue_ids"), "resource_kinds": form.getlist("resource_kinds")}
    _fen(form, "face_value", "face_value_fen", data, errors)
    _fen(form, "total_budget", "total_budget_fen", data, errors)
    _whole(form, "total_count", data, errors)
    return _load(BatchRequestSchema(), data, errors)


def _issue_from_form(form) -> dict:
    errors: dict[str, list[str]] = {}
    data: dict = {}
    _whole(form, "enterprise_id", data, errors)
    _whole(form, "count", data, errors)
    return _load(IssueRequestSchema(), data, errors)


def _described(errors: dict, labels: dict) -> list[tuple[str, list[str]]]:
    """Field errors as (label the person knows, problems), for the summary above a form."""
    described = []
    for key, problems in sorted(errors.items()):
        parts = key.split(".")
        if parts[0] == "tiers" and len(parts) == 3 and parts[1].isdigit():
            label = _("Tier %(n)s: %(field)s", n=int(parts[1]) + 1,
                      field=TIER_FIELDS.get(parts[2], parts[2]))
        else:
            label = str(labels.get(parts[0], parts[0]))
        described.append((label, problems))
    return described


def _batch(batch_id: int) -> VoucherBatch:
    batch = db.session.get(VoucherBatch, batch_id)
    if batch is None:
        raise NotFound()
    return batch


def _venues() -> list[Venue]:
    return list(db.session.scalars(select(Venue).order_by(Venue.code)))


# ---- programs ------------------------------------------------------------------------------


@money_pages.route("/programs", methods=["GET", "POST"])
@require_roles("admin")
def programs():
    errors: dict = {}
    if request.method == "POST":
        try:
            program = create_program(db.session, current_user.id, _program_from_form(request.form))
            accepting = len(describe_program(db.session, program)["resource_ids"])
            db.session.commit()
            flash(_("Program %(code)s added; %(n)s resources accept it once a new version of the list is published.", code=program.code,
                    n=accepting), "success")
            return redirect(url_for("money.programs"))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    rows = db.session.scalars(select(Program).order_by(Program.code)).all()
    return render_template(
        "money/programs.html",
        programs=[(p, describe_program(db.session, p)) for p in rows],
        districts=db.session.scalars(select(District).order_by(District.code)).all(),
        venues=_venues(), tier_rows=range(TIER_ROWS),
        errors=errors, error_list=_described(errors, PROGRAM_FIELDS),
        form=request.form if errors else None,
    ), (422 if errors else 200)


@money_pages.route("/programs/<code>", methods=["GET", "POST"])
@require_roles("admin")
def program_edit(code: str):
    program = program_by_code(code)
    errors: dict = {}
    if request.method == "POST":
        try:
            update_program(db.session, current_user.id, program,
                           _program_edit_from_form(request.form, program))
            db.session.commit()
            flash(_("Program %(code)s saved.", code=program.code), "success")
            return redirect(url_for("money.program_edit", code=program.code))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    return render_template(
        "money/program_edit.html", program=program,
        districts=db.session.scalars(select(District).order_by(District.code)).all(),
        errors=errors, error_list=_described(errors, PROGRAM_FIELDS),
        form=request.form if errors else None,
    ), (422 if errors else 200)


@money_pages.post("/programs/<code>/active")
@require_roles("admin")
def program_active(code: str):
    active = request.form.get("active") == "1"
    set_active(db.session, current_user.id, program_by_code(code), active)
    db.session.commit()
    flash(_("Program %(code)s reopened.", code=code) if active
          else _("Program %(code)s closed: no new bookings; holds already made are honoured.",
                 code=code), "success")
    return redirect(url_for("money.program_edit", code=code))


@money_pages.route("/districts", methods=["GET", "POST"])
@require_roles("admin")
def districts():
    errors: dict = {}
    if request.method == "POST":
        try:
            data = _load(DistrictRequestSchema(), {n: _text(request.form, n) for n in (
                "code", "name_zh", "name_en")}, {})
            district = create_district(db.session, current_user.id, data)
            db.session.commit()
            flash(_("District %(code)s added.", code=district.code), "success")
            return redirect(url_for("money.districts"))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    return render_template(
        "money/districts.html",
        districts=db.session.scalars(select(District).order_by(District.code)).all(),
        errors=errors, error_list=_described(errors, DISTRICT_FIELDS),
        form=request.form if errors else None,
    ), (422 if errors else 200)


# ---- batches -------------------------------------------------------------------------------


@money_pages.route("/batches", methods=["GET", "POST"])
@require_roles("admin")
def batches():
    errors: dict = {}
    if request.method == "POST":
        try:
            data = _batch_from_form(request.form)
            batch = service.create_batch(db.session, current_user.id,
                                         program_code=data.pop("program"), **data)
            db.session.commit()
            flash(_("Batch “%(name)s” created. Issue its vouchers to enterprises here.",
                    name=batch.name), "success")
            return redirect(url_for("money.batch_detail", batch_id=batch.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    rows = db.session.scalars(select(VoucherBatch).order_by(VoucherBatch.id.desc())).all()
    return render_template(
        "money/batches.html",
        batches=[(b, describe_batch(b)) for b in rows],
        programs=db.session.scalars(select(Program).where(Program.funding == "voucher")
                                    .order_by(Program.code)).all(),
        venues=_venues(), errors=errors, error_list=_described(errors, BATCH_FIELDS),
        form=request.form if errors else None,
    ), (422 if errors else 200)


@money_pages.route("/batches/<int:batch_id>", methods=["GET", "POST"])
@require_roles("admin")
def batch_detail(batch_id: int):
    batch = _batch(batch_id)
    errors: dict = {}
    problem = None
    status = 200
    if request.method == "POST":
        try:
            data = _issue_from_form(request.form)
            enterprise = db.session.get(Enterprise, data["enterprise_id"])
            if enterprise is None:
                raise ValidationFailed({"enterprise_id": [_("Choose an enterprise.")]})
            issued = service.issue_vouchers(db.session, current_user.id, batch, enterprise,
                                            data["count"])
            db.session.commit()
            flash(ngettext("%(num)s voucher issued to %(enterprise)s.",
                           "%(num)s vouchers issued to %(enterprise)s.", len(issued),
                           enterprise=enterprise.name), "success")
            return redirect(url_for("money.batch_detail", batch_id=batch.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors, status = err.details["fields"], 422
        except AppError as err:
            db.session.rollback()
            problem, status = _issue_problem(err), err.status
    total = db.session.scalar(select(func.count()).select_from(Voucher)
                              .where(Voucher.batch_id == batch.id))
    return render_template(
        "money/batch_detail.html",
        batch=batch, summary=describe_batch(batch),
        vouchers=db.session.scalars(select(Voucher).where(Voucher.batch_id == batch.id)
                                    .order_by(Voucher.id).limit(BATCH_VOUCHERS_SHOWN)).all(),
        voucher_total=total,
        enterprises=db.session.scalars(select(Enterprise).order_by(Enterprise.name)).all(),
        errors=errors, error_list=_described(errors, ISSUE_FIELDS), problem=problem,
        form=request.form if status != 200 else None,
    ), status


def _issue_problem(err: AppError) -> str:
    message = message_for(err.code, err.message)
    if err.code != "batch_exhausted":
        return message
    details = err.details
    return " ".join([message, _(
        "Issued so far: %(issued)s of %(total)s; budget left %(budget)s. Nothing was issued.",
        issued=details["issued_count"], total=details["total_count"],
        budget=format_yuan(details["remaining_budget_fen"]))])


# ---- vouchers ------------------------------------------------------------------------------


@money_pages.get("/vouchers")
@require_roles("admin", "finance")  # finance follows reconciliation links here; voiding stays admin's
def vouchers():
    return _vouchers_page()


def _vouchers_page(problem: str | None = None, status: int = 200):
    query = _text(request.values, "q")
    state = request.values.get("status") or None
    if state not in VOUCHER_STATES:
        state = None
    return render_template(
        "money/vouchers.html", vouchers=service.search(db.session, query, state), q=query,
        status=state, states=VOUCHER_STATES, problem=problem,
    ), status


@money_pages.post("/vouchers/<code>/void")
@require_roles("admin")
def void_voucher(code: str):
    voucher = service.require(db.session, code)
    try:
        data = _load(VoidRequestSchema(), {"reason": _text(request.form, "reason")}, {})
        service.void(db.session, current_user.id, voucher, data["reason"])
        db.session.commit()
        flash(_("Voucher %(code)s is void.", code=voucher.code), "success")
        return redirect(url_for("money.vouchers", q=_text(request.form, "q") or None,
                                status=request.form.get("status") or None))
    except ValidationFailed:
        db.session.rollback()
        return _vouchers_page(_("Give a reason to void voucher %(code)s. Nothing was changed.",
                                code=voucher.code), 422)
    except AppError as err:
        db.session.rollback()
        return _vouchers_page(" ".join([message_for(err.code, err.message), _(
            "Voucher %(code)s is now %(status)s.", code=voucher.code,
            status=STATUS_LABELS.get(voucher.status, voucher.status))]), err.status)
