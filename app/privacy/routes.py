"""Pages for personal information: the notice and consent, downloads, erasure; the staff view."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.accounts.models import User
from app.core.auth import require_roles
from app.core.clock import now
from app.core.errors import AppError, NotFound
from app.core.i18n import is_english
from app.extensions import db
from app.privacy import rules, service

privacy_pages = Blueprint("privacy", __name__, template_folder="templates")


@privacy_pages.get("/me/privacy")
@require_roles()
def privacy_page():
    language = "en" if is_english() else "zh"
    return render_template(
        "privacy/privacy.html", version=rules.CURRENT_NOTICE,
        notice=rules.NOTICES[rules.CURRENT_NOTICE][language],
        consented=service.consented_version(db.session, current_user.id))


@privacy_pages.post("/me/privacy/consent")
@require_roles()
def consent():
    service.accept_notice(db.session, current_user, request.form.get("version", ""), now())
    db.session.commit()
    flash(_("Thank you: your consent to the privacy notice is recorded."), "success")
    return redirect(url_for("privacy.privacy_page"))


def _download(body: str, mimetype: str, extension: str) -> Response:
    name = f"personal-data-{current_user.id}.{extension}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@privacy_pages.get("/me/privacy/export.json")
@require_roles()
def export_json():
    data = service.personal_data(db.session, current_user)
    return _download(json.dumps(data, ensure_ascii=False, indent=2), "application/json", "json")


@privacy_pages.get("/me/privacy/export.csv")
@require_roles()
def export_csv():
    data = service.personal_data(db.session, current_user)
    return _download(service.personal_data_csv(data), "text/csv; charset=utf-8", "csv")


@privacy_pages.post("/me/privacy/erase")
@require_roles()
def erase():
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the deletion."), "error")
        return redirect(url_for("privacy.privacy_page"))
    try:
        service.erase(db.session, current_user, now(),
                      retention_years=int(current_app.config["RETENTION_FINANCE_YEARS"]),
                      secret=current_app.config["SECRET_KEY"])
    except AppError as err:
        db.session.rollback()
        flash(_("Your data cannot be deleted yet: cancel or finish your open bookings first.")
              if err.code == "erasure_blocked" else (err.message or err.code), "error")
        return redirect(url_for("privacy.privacy_page"))
    db.session.commit()
    logout_user()
    flash(_("Your personal data has been deleted."), "success")
    return redirect(url_for("accounts.login"))


@privacy_pages.get("/admin/users/<int:user_id>/personal-data")
@require_roles("admin")
def staff_view(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    data = service.view_personal_data(db.session, current_user, user)
    db.session.commit()  # the audit entry is kept even if rendering fails later
    return render_template("privacy/staff_view.html", data=data)
