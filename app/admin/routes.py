"""Administration: edit the catalog, publish the list, certify creators, enterprises, audit.

Also the operator's own view of their venues. Every write is audited in the service layer.
"""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts import passwords
from app.accounts import service as accounts
from app.accounts.models import Enterprise, User
from app.accounts.routes import emailed_link
from app.accounts.schemas import (
    CertificationSchema,
    CertifyRequestSchema,
    EndMembershipRequestSchema,
    MembershipSchema,
    ResetSentSchema,
    UserChangeSchema,
    UserSchema,
)
from app.admin.hours import hours_from_form, rows_from_form, rows_from_hours
from app.admin.schemas import (
    AuditEntrySchema,
    OperatorVenueSchema,
    PublishRequestSchema,
    ResourceChangeSchema,
)
from app.audit.models import AuditEntry
from app.audit.present import describe as describe_audit
from app.audit.service import record
from app.booking.service import venue_day
from app.catalog import service as catalog
from app.catalog.models import Program, Resource, Venue
from app.catalog.photos import add_photo, photo_folder
from app.catalog.schemas import ListVersionSchema, ResourceSchema, VenueListSchema
from app.core.api import load
from app.core.auth import require_roles, require_venue_access
from app.core.clock import local_today, now
from app.core.errors import AppError, NotFound, ValidationFailed
from app.core.labels import FIELDS, label
from app.core.messages import error_message
from app.core.money import parse_yuan
from app.extensions import db

admin_pages = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
admin_api = Blueprint("admin_api", __name__, url_prefix="/api/v1")
operator_pages = Blueprint("operator", __name__, url_prefix="/operator",
                           template_folder="templates")


ROLE_LABELS = {"creator": _l("Creator"), "enterprise": _l("Enterprise"),
               "operator": _l("Operator"), "finance": _l("Finance"), "admin": _l("Administrator")}


USERS_PER_PAGE = 200


def _get(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound()
    return obj


# ---- API -----------------------------------------------------------------------------------


@admin_api.patch("/admin/resources/<int:resource_id>")
@require_roles("admin")
def patch_resource(resource_id: int):
    """Change a resource; the public list changes when a new version is published.
    ---
    patch:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: resource_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: ResourceChange
      responses:
        200:
          content:
            application/json:
              schema: Resource
    """
    resource = _get(Resource, resource_id)
    changes = load(ResourceChangeSchema(partial=True))
    changes.pop("code", None)
    catalog.save_resource(db.session, current_user.id, resource, changes)
    db.session.commit()
    return jsonify(ResourceSchema().dump(catalog.describe_resource(resource)))


@admin_api.post("/admin/list-versions")
@require_roles("admin")
def publish():
    """Publish the catalog as the next version of the list.
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: PublishRequest
      responses:
        201:
          content:
            application/json:
              schema: ListVersion
        409: {description: another version was published meanwhile, content: {application/json: {schema: Error}}}
    """
    data = load(PublishRequestSchema(), request.get_json(silent=True) or {})
    version = catalog.publish_version(db.session, current_user.id, data["note"])
    db.session.commit()
    return jsonify(ListVersionSchema().dump(catalog.describe_version(version))), 201


@admin_api.get("/admin/users")
@require_roles("admin")
def list_users():
    """Accounts, by id; ``q`` keeps those whose email, name or phone contains it.
    ---
    get:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: q, required: false, schema: {type: string}}
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/User"}}
    """
    users = accounts.search_users(db.session, request.args.get("q", "")[:200], limit=1000)
    return jsonify({"items": UserSchema(many=True).dump([accounts.describe_user(u) for u in users])})


@admin_api.patch("/admin/users/<int:user_id>")
@require_roles("admin")
def patch_user(user_id: int):
    """Disable or enable an account, or set its roles (audited with the administrator).
    A disabled account cannot sign in; its sessions end and its API tokens are revoked.
    ---
    patch:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: user_id, required: true, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema: UserChange
      responses:
        200:
          description: the account as it is now
          content:
            application/json:
              schema: User
        404: {$ref: "#/components/responses/Error404"}
        409: {description: "own_account (an administrator cannot disable or demote themselves) or account_erased", content: {application/json: {schema: Error}}}
        422: {$ref: "#/components/responses/Error422"}
    """
    user = _get(User, user_id)
    data = load(UserChangeSchema())
    if "roles" in data:
        accounts.set_roles(db.session, current_user, user, data["roles"])
    if "active" in data:
        accounts.set_active(db.session, current_user, user, data["active"])
    db.session.commit()
    return jsonify(UserSchema().dump(accounts.describe_user(user)))


@admin_api.post("/admin/users/<int:user_id>/password-reset")
@require_roles("admin")
def send_password_reset(user_id: int):
    """Email the account a single-use link to choose a new password (valid one hour).
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: user_id, required: true, schema: {type: integer}}
      responses:
        202:
          description: the link is in the outbox
          content:
            application/json:
              schema: ResetSent
        404: {$ref: "#/components/responses/Error404"}
        409: {description: account_disabled, content: {application/json: {schema: Error}}}
    """
    passwords.send_reset(db.session, current_user, _get(User, user_id), now(),
                         emailed_link("accounts.reset_password"))
    db.session.commit()
    return jsonify(ResetSentSchema().dump({"sent": True})), 202


@admin_api.post("/enterprises/<int:enterprise_id>/members/<int:user_id>/end")
@require_roles("admin", "enterprise")
def end_membership(enterprise_id: int, user_id: int):
    """End a creator's membership of an enterprise (administrator, or the enterprise itself).
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: enterprise_id, required: true, schema: {type: integer}}
        - {in: path, name: user_id, required: true, schema: {type: integer}}
      requestBody:
        required: false
        content:
          application/json:
            schema: EndMembershipRequest
      responses:
        200:
          description: the membership, with its last day
          content:
            application/json:
              schema: Membership
        401: {$ref: "#/components/responses/Error401"}
        403: {$ref: "#/components/responses/Error403"}
        404: {$ref: "#/components/responses/Error404"}
        422: {$ref: "#/components/responses/Error422"}
    """
    data = load(EndMembershipRequestSchema(), request.get_json(silent=True) or {})
    member = accounts.end_membership(db.session, current_user, _get(Enterprise, enterprise_id),
                                     _get(User, user_id), data.get("until") or local_today())
    db.session.commit()
    return jsonify(MembershipSchema().dump(member))


@admin_api.post("/admin/users/<int:user_id>/certifications")
@require_roles("admin")
def certify_user(user_id: int):
    """Certify a creator for a program tier (from today unless valid_from is given).
    ---
    post:
      tags: [admin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: user_id, required: true, schema: {type: integer}}
      requestBody:
        content:
          application/json:
            schema: CertifyRequest
      responses:
        201:
          content:
            application/json:
              schema: Certification
    """
    user = _get(User, user_id)
    data = load(CertifyRequestSchema())
    cert = accounts.certify(db.session, current_user.id, user, data["program"], data["tier"],
                            data.get("valid_from"), data.get("valid_until"))
    db.session.commit()
    return jsonify(CertificationSchema().dump(accounts.describe_certification(cert))), 201


@admin_api.get("/audit")
@require_roles("admin", "finance")
def audit_log():
    """The append-only audit log, newest first (at most 500 entries).
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
                  items: {type: array, items: {$ref: "#/components/schemas/AuditEntry"}}
    """
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500))
    return jsonify({"items": AuditEntrySchema(many=True).dump(entries)})


@admin_api.get("/operator/venues")
@require_roles("operator", "admin")
def operator_venues():
    """The venues this account operates (all of them for administrators).
    ---
    get:
      tags: [operator]
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema: VenueList
    """
    return jsonify(VenueListSchema().dump(
        {"items": [catalog.describe_venue(v) for v in _my_venues()]}))


@admin_api.get("/operator/venues/<int:venue_id>")
@require_roles("operator", "admin", "finance")
def operator_venue(venue_id: int):
    """One venue the account operates, with its resources.
    ---
    get:
      tags: [operator]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: venue_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: OperatorVenue
    """
    venue = _get(Venue, venue_id)
    require_venue_access(current_user, venue.id)
    resources = [{"id": r.id, "code": r.code, "name": r.name_zh, "kind": r.kind,
                  "active": r.active} for r in venue.resources]
    return jsonify(OperatorVenueSchema().dump({**catalog.describe_venue(venue),
                                               "resources": resources}))


def _my_venues() -> list[Venue]:
    if current_user.has_role("admin"):
        return list(db.session.scalars(select(Venue).order_by(Venue.code)))
    return sorted(current_user.operated_venues, key=lambda v: v.code)


# ---- pages ---------------------------------------------------------------------------------


@admin_pages.get("/")
@require_roles("admin")
def index():
    return render_template(
        "admin/index.html",
        pending=catalog.pending_changes(db.session),
        latest=catalog.current_version(db.session),
        resources=db.session.scalars(select(Resource).order_by(Resource.code)).all(),
    )


@admin_pages.post("/publish")
@require_roles("admin")
def publish_page():
    version = catalog.publish_version(db.session, current_user.id, request.form.get("note", ""))
    db.session.commit()
    flash(_("Version %(number)s of the list is published.", number=version.number), "success")
    return redirect(url_for("admin.index"))


def _problem(err: Exception) -> str:
    """What went wrong with a form, in the reader's language (never an error code)."""
    if not isinstance(err, AppError):
        return _("Give a valid date.")
    fields = err.details.get("fields") or {}
    if fields:
        return "; ".join(f"{label(FIELDS, name)}: " + "; ".join(gettext(str(p)) for p in problems)
                         for name, problems in fields.items())
    return error_message(err)


def _int_field(form, name: str, errors: dict):
    raw = (form.get(name) or "").strip()
    try:
        return int(raw)
    except ValueError:
        errors[name] = [_("Must be a whole number.")]
        return None


def _resource_changes_from_form(form) -> dict:
    errors: dict = {}
    changes = {
        name: (form.get(name) or "").strip()
        for name in ("name_zh", "name_en", "kind", "style_zh", "style_en", "description_zh",
                     "description_en", "peak_start", "peak_end", "photo_url")
    }
    for name in ("capacity", "area_sqm", "slot_minutes", "min_minutes", "max_minutes",
                 "buffer_minutes", "min_notice_minutes", "max_advance_days",
                 "cancel_deadline_hours", "checkin_opens_minutes", "no_show_after_minutes",
                 "venue_id"):
        changes[name] = _int_field(form, name, errors)
    for name in ("hourly_rate", "peak_rate"):
        try:
            changes[f"{name}_fen"] = parse_yuan(form.get(name) or "")
        except ValueError:
            errors[f"{name}_fen"] = [_("An amount in yuan, e.g. 180 or 180.50.")]
    changes["equipment"] = [line.strip() for line in (form.get("equipment") or "").splitlines()
                            if line.strip()]
    changes["programs"] = form.getlist("programs")
    changes["active"] = form.get("active") == "on"
    try:
        changes["opening_hours"] = hours_from_form(form) if form.get("own_hours") == "on" else None
    except ValidationFailed as err:
        errors.update(err.details["fields"])
    if form.get("code") is not None:
        changes["code"] = form.get("code", "").strip()
    if errors:
        raise ValidationFailed(errors)
    return changes


@admin_pages.route("/resources/new", methods=["GET", "POST"])
@admin_pages.route("/resources/<int:resource_id>", methods=["GET", "POST"])
@require_roles("admin")
def edit_resource(resource_id: int | None = None):
    resource = _get(Resource, resource_id) if resource_id else None
    errors: dict = {}
    if request.method == "POST":
        try:
            changes = _resource_changes_from_form(request.form)
            if resource is not None:
                changes.pop("code", None)
            resource = catalog.save_resource(db.session, current_user.id, resource, changes)
            db.session.commit()
            flash(_("Saved as a draft: creators see and pay the published version until you publish a new one."), "success")
            return redirect(url_for("admin.edit_resource", resource_id=resource.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
            if resource_id:
                resource = _get(Resource, resource_id)
    return render_template(
        "admin/resource_form.html",
        resource=resource,
        form=request.form if request.method == "POST" else None,
        errors=errors,
        hours=rows_from_form(request.form) if request.method == "POST" else rows_from_hours(
            resource.opening_hours if resource else None),
        venues=db.session.scalars(select(Venue).order_by(Venue.code)).all(),
        programs=db.session.scalars(select(Program).order_by(Program.code)).all(),
    ), (422 if errors else 200)


@admin_pages.post("/resources/<int:resource_id>/photos")
@require_roles("admin")
def upload_photo(resource_id: int):
    resource = _get(Resource, resource_id)
    upload = request.files.get("photo")
    try:
        add_photo(db.session, current_user.id, resource, upload.stream if upload else BytesIO(),
                  photo_folder())
        db.session.commit()
        flash(_("Photo added."), "success")
    except ValidationFailed as err:
        db.session.rollback()
        flash("; ".join(str(problem) for problem in err.details["fields"]["photo"]), "error")
    return redirect(url_for("admin.edit_resource", resource_id=resource_id))


@admin_pages.route("/venues", methods=["GET"])
@require_roles("admin")
def venues():
    return render_template("admin/venues.html",
                           venues=db.session.scalars(select(Venue).order_by(Venue.code)).all())


@admin_pages.route("/users", methods=["GET", "POST"])
@require_roles("admin")
def users():
    errors: dict = {}
    if request.method == "POST":
        form = request.form
        try:
            venue_ids = [int(v) for v in form.getlist("venues")]
            user = accounts.create_user(
                db.session, form.get("email", ""), form.get("password", ""),
                form.getlist("roles"), display_name=form.get("display_name", ""),
                phone=form.get("phone", ""), venue_ids=venue_ids,
            )
            # no email or name here: the audit log is append-only and must not outlive an erasure
            record(db.session, current_user.id, "user.create", "user", user.id,
                   after={"roles": user.roles, "venues": venue_ids})
            db.session.commit()
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
        except AppError as err:
            db.session.rollback()
            errors = {"email": [err.message or err.code]}
    query = request.args.get("q", "")[:200]
    return render_template(
        "admin/users.html", query=query, role_labels=ROLE_LABELS, shown_at_most=USERS_PER_PAGE,
        # unmasked only on the audited personal-data view
        mask_phone=accounts.mask_phone,
        users=accounts.search_users(db.session, query, limit=USERS_PER_PAGE),
        venues=db.session.scalars(select(Venue).order_by(Venue.code)).all(),
        errors=errors, form=request.form if errors else None,
    ), (422 if errors else 200)


@admin_pages.route("/users/<int:user_id>", methods=["GET", "POST"])
@require_roles("admin")
def user_detail(user_id: int):
    user = _get(User, user_id)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            valid_from = date.fromisoformat(form["valid_from"]) if form.get("valid_from") else None
            accounts.certify(db.session, current_user.id, user, form.get("program", ""),
                             form.get("tier", ""), valid_from)
            db.session.commit()
            flash(_("Certification recorded."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
        except (AppError, ValueError) as err:
            db.session.rollback()
            error = getattr(err, "message", None) or str(err)
    return render_template(
        "admin/user_detail.html", user=user, error=error, role_labels=ROLE_LABELS,
        certifications=accounts.certifications_of(db.session, user.id),
        programs=db.session.scalars(select(Program).where(Program.funding == "quota")).all(),
    ), (422 if error else 200)


def _account_change(user_id: int, change, done: str):
    """Run an administrator's change to an account from its page; errors come back worded."""
    user = _get(User, user_id)
    try:
        change(user)
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@admin_pages.post("/users/<int:user_id>/active")
@require_roles("admin")
def user_active(user_id: int):
    active = request.form.get("active") == "1"
    return _account_change(
        user_id, lambda user: accounts.set_active(db.session, current_user, user, active),
        _("Account enabled.") if active else _("Account disabled: it cannot sign in and its API "
                                                 "tokens are revoked."))


@admin_pages.post("/users/<int:user_id>/roles")
@require_roles("admin")
def user_roles(user_id: int):
    roles = request.form.getlist("roles")
    return _account_change(
        user_id, lambda user: accounts.set_roles(db.session, current_user, user, roles),
        _("Roles saved."))


@admin_pages.post("/users/<int:user_id>/password-reset")
@require_roles("admin")
def user_password_reset(user_id: int):
    return _account_change(
        user_id, lambda user: passwords.send_reset(db.session, current_user, user, now(),
                                                   emailed_link("accounts.reset_password")),
        _("A password reset link was emailed to the account."))


@admin_pages.route("/enterprises", methods=["GET", "POST"])
@require_roles("admin")
def enterprises():
    error = None
    if request.method == "POST":
        form = request.form
        try:
            enterprise = accounts.create_enterprise(
                db.session, current_user.id, form.get("name", "").strip(),
                form.get("credit_code", "").strip().upper())
            db.session.commit()
            return redirect(url_for("admin.enterprise_detail", enterprise_id=enterprise.id))
        except AppError as err:
            db.session.rollback()
            error = _problem(err)
    return render_template(
        "admin/enterprises.html", error=error,
        enterprises=db.session.scalars(select(Enterprise).order_by(Enterprise.id)).all(),
    ), (422 if error else 200)


@admin_pages.route("/enterprises/<int:enterprise_id>", methods=["GET", "POST"])
@require_roles("admin")
def enterprise_detail(enterprise_id: int):
    enterprise = _get(Enterprise, enterprise_id)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "member":
                accounts.add_member(db.session, current_user.id, enterprise,
                                    accounts.require_user(db.session, form.get("email", "")))
            elif form.get("action") == "end_member":
                until = form.get("until")
                accounts.end_membership(db.session, current_user, enterprise,
                                        _get(User, int(form.get("user_id", "0"))),
                                        date.fromisoformat(until) if until else local_today())
            else:
                until = form.get("valid_until")
                accounts.record_residency(
                    db.session, current_user.id, enterprise, form.get("program", ""),
                    date.fromisoformat(form.get("valid_from", "")),
                    date.fromisoformat(until) if until else None)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.enterprise_detail", enterprise_id=enterprise.id))
        except (AppError, ValueError) as err:
            db.session.rollback()
            error = _problem(err)
    return render_template(
        "admin/enterprise_detail.html", enterprise=enterprise, error=error,
        programs=db.session.scalars(
            select(Program).where(Program.eligibility == "resident_enterprise")).all(),
    ), (422 if error else 200)


@admin_pages.get("/audit")
@require_roles("admin", "finance")
def audit_page():
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(300))
    return render_template("admin/audit.html", entries=describe_audit(db.session, entries.all()))


@operator_pages.get("/")
@require_roles("operator", "admin")
def operator_home():
    return render_template("admin/operator.html", venues=_my_venues())


@operator_pages.get("/venues/<int:venue_id>")
@require_roles("operator", "admin", "finance")
def operator_venue_page(venue_id: int):
    venue = _get(Venue, venue_id)
    require_venue_access(current_user, venue.id)
    try:
        day = date.fromisoformat(request.args["date"]) if request.args.get("date") else local_today()
    except ValueError:
        day = local_today()
    return render_template("admin/operator_venue.html", venue=venue, day=day,
                           bookings=venue_day(db.session, venue, day),
                           prev_day=day - timedelta(days=1), next_day=day + timedelta(days=1))
