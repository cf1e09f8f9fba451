"""Administration pages for places: create and edit a venue (opening hours per weekday) and
close a resource for maintenance. Routes hang on the ``admin`` blueprint of ``routes.py``."""

from __future__ import annotations

from datetime import date, datetime, time

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.admin.hours import hours_from_form, rows_from_form, rows_from_hours
from app.admin.routes import admin_pages
from app.booking import service as booking
from app.catalog import service as catalog
from app.catalog.models import District, Resource, Venue
from app.core.auth import require_roles
from app.core.clock import SHANGHAI, local_today, now
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db

VENUE_TEXT_FIELDS = ("name_zh", "name_en", "address_zh", "address_en", "operator_zh",
                     "operator_en", "phone")


def _venue_changes(form) -> dict:
    changes = {name: (form.get(name) or "").strip() for name in VENUE_TEXT_FIELDS}
    changes["active"] = form.get("active") == "on"
    changes["opening_hours"] = hours_from_form(form)
    return changes


def _districts() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.code)))


@admin_pages.route("/venues/new", methods=["GET", "POST"])
@require_roles("admin")
def new_venue():
    errors: dict = {}
    if request.method == "POST":
        form = request.form
        try:
            district = form.get("district_id", "")
            venue = catalog.create_venue(db.session, current_user.id, form.get("code", ""),
                                         int(district) if district.isdigit() else None,
                                         _venue_changes(form))
            db.session.commit()
            flash(_("Venue created. Add its resources, then publish a new version of the list."),
                  "success")
            return redirect(url_for("admin.edit_venue", venue_id=venue.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    form = request.form if request.method == "POST" else None
    return render_template(
        "admin/venue_form.html", venue=None, errors=errors, form=form, districts=_districts(),
        hours=rows_from_form(form) if form is not None else rows_from_hours(
            {day: ["09:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
    ), (422 if errors else 200)


@admin_pages.route("/venues/<int:venue_id>", methods=["GET", "POST"])
@require_roles("admin")
def edit_venue(venue_id: int):
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        raise NotFound()
    errors: dict = {}
    if request.method == "POST":
        try:
            catalog.save_venue(db.session, current_user.id, venue, _venue_changes(request.form))
            db.session.commit()
            flash(_("Saved as a draft: creators see and pay the published version until you publish a new one."), "success")
            return redirect(url_for("admin.edit_venue", venue_id=venue.id))
        except ValidationFailed as err:
            db.session.rollback()
            errors = err.details["fields"]
    form = request.form if errors else None
    return render_template(
        "admin/venue_form.html", venue=venue, errors=errors, form=form,
        hours=rows_from_form(form) if form is not None else rows_from_hours(venue.opening_hours),
    ), (422 if errors else 200)


def _moment(day_text: str, time_text: str, field: str, errors: dict) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day_text), time.fromisoformat(time_text),
                                tzinfo=SHANGHAI)
    except (TypeError, ValueError):
        errors[field] = [_("Give a date and a time.")]
        return None


@admin_pages.route("/resources/<int:resource_id>/closures", methods=["GET", "POST"])
@require_roles("admin")
def closures(resource_id: int):
    """Close a room for maintenance; bookings in the way are listed for someone to call."""
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        raise NotFound()
    errors: dict = {}
    colliding = []
    if request.method == "POST":
        form = request.form
        start = _moment(form.get("start_day", ""), form.get("start_time", ""), "start", errors)
        end = _moment(form.get("end_day", ""), form.get("end_time", ""), "end", errors)
        if start and end and end <= start:
            errors["end"] = [_("Must be after the start.")]
        if not errors:
            _closure, colliding = booking.add_closure(db.session, current_user.id, resource, start,
                                                      end, form.get("reason", ""))
            db.session.commit()
            flash(_("The room is closed from %(start)s to %(end)s.",
                    start=start.strftime("%Y-%m-%d %H:%M"), end=end.strftime("%Y-%m-%d %H:%M")),
                  "success")
    today = local_today().isoformat()
    return render_template(
        "admin/closures.html", resource=resource, errors=errors, colliding=colliding,
        form=request.form if errors else None, today=today,
        closures=booking.closures_of(db.session, resource.id, now()),
    ), (422 if errors else 200)
