"""Check-in API, QR images, signing keys, and the front-desk scanner page."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.service import mask_phone
from app.booking import lifecycle
from app.booking.lifecycle import CheckInOutcome
from app.booking.models import Booking
from app.booking.present import describe_booking
from app.booking.schemas import BookingSchema
from app.booking.service import booked_terms, visible_booking
from app.catalog.models import Venue
from app.checkin import desk, keys, manifest, qr, service, sync
from app.checkin.schemas import (
    CheckinRequestSchema,
    CheckinResultSchema,
    ManifestQuerySchema,
    ManifestSchema,
    SigningKeySchema,
    SyncRequestSchema,
    SyncResultSchema,
)
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import local_today, now, to_local
from app.core.errors import AppError, Forbidden, ValidationFailed
from app.core.i18n import localized
from app.extensions import db

checkin_api = Blueprint("checkin_api", __name__, url_prefix="/api/v1")
checkin_pages = Blueprint("checkin", __name__, template_folder="templates")

# Schema instances are reusable and costly to build: every scan uses these two.
CHECKIN_REQUEST = CheckinRequestSchema()
CHECKIN_RESULT = CheckinResultSchema()

RESULT_MESSAGES = {
    "ok": _l("Checked in. Welcome!"),
    "already_checked_in": _l("Already checked in — nothing was charged twice."),
    "wrong_venue": _l("This booking is for another venue."),
    "too_early": _l("Too early: check-in opens shortly before the start."),
    "too_late": _l("Too late: this booking has ended."),
    "cancelled": _l("This booking is cancelled or was a no-show."),
    "invalid": _l("Not a code of this system. Ask for the booking's QR code or its 8-character "
                  "booking code."),
}
SYNC_MESSAGES = {
    **RESULT_MESSAGES,
    "ok": _l("Checked in."),
    "duplicate": _l("Another device checked this booking in first: nothing was charged twice."),
    "conflict": _l("The booking changed while this desk was offline (cancelled, or a no-show): "
                   "nothing was checked in. Please resolve it with the creator."),
}


def _message(outcome: CheckInOutcome) -> str:
    """The answer in words, with what the desk needs to tell the creator (the right venue, when
    check-in opens, when the booking ended), never another venue's booking details."""
    booking = outcome.booking
    if outcome.result == "invalid" and outcome.reason == "expired":
        return _("This code has expired: its booking has ended.")
    if booking is None:
        return str(RESULT_MESSAGES[outcome.result])
    resource = booking.resource
    if outcome.result == "wrong_venue":
        return _("This booking is for %(venue)s, not this desk.",
                 venue=localized(resource.venue, "name"))
    if outcome.result == "too_early":
        opens = booking.start_at - timedelta(minutes=booked_terms(booking).checkin_opens_minutes)
        return _("Too early: check-in opens at %(opens)s.",
                 opens=to_local(opens).strftime("%Y-%m-%d %H:%M"))
    if outcome.result == "too_late":
        return _("Too late: this booking ended at %(end)s.",
                 end=to_local(booking.end_at).strftime("%Y-%m-%d %H:%M"))
    if outcome.result == "cancelled":
        return (_("This booking was recorded as a no-show.") if booking.status == "no_show"
                else _("This booking was cancelled."))
    if outcome.result == "already_checked_in" and booking.status == "completed":
        return _("This booking has finished (checked in and out).")
    return str(RESULT_MESSAGES[outcome.result])


def describe_outcome(outcome: CheckInOutcome) -> dict:
    checkin = outcome.checkin
    return {
        "result": outcome.result,
        "message": _message(outcome),
        "booking": describe_booking(outcome.booking) if outcome.booking is not None
        and outcome.result != "wrong_venue" else None,
        "checkin": None if checkin is None else {
            "at": to_local(checkin.at).isoformat(),
            "operator": checkin.operator.display_name if checkin.operator else None,
            "method": checkin.method, "device": checkin.device},
        "scan_id": outcome.scan_id,
    }


@checkin_api.post("/checkins")
@require_roles("operator", "admin")
def create_checkin():
    """Scan a booking's code (or check in by hand with booking_id). Every scan is stored.
    ---
    post:
      tags: [checkin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: CheckinRequest
      responses:
        200:
          content:
            application/json:
              schema: CheckinResult
        404: {$ref: "#/components/responses/Error404"}
        409: {description: voucher or quota changed meanwhile, content: {application/json: {schema: Error}}}
    """
    data = load(CHECKIN_REQUEST)
    outcome = service.check_in(db.session, current_user, moment=now(), code=data.get("code"),
                               booking_id=data.get("booking_id"), device=data["device"])
    body = CHECKIN_RESULT.dump(describe_outcome(outcome))
    db.session.commit()
    return jsonify(body)


@checkin_api.post("/checkins/decode")
@require_roles("operator", "admin")
def decode_frame():
    """Read a QR code from a camera frame (for browsers without BarcodeDetector).
    ---
    post:
      tags: [checkin]
      security: [{bearer: []}]
      requestBody:
        content:
          image/jpeg: {}
          image/png: {}
      responses:
        200:
          content:
            application/json:
              schema: {type: object, properties: {code: {type: string, nullable: true}}}
    """
    # the decoder is loaded only by desks whose browser cannot read QR codes itself
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    data = request.get_data(cache=False)
    if not data:
        raise ValidationFailed({"_body": ["Send the image bytes."]})
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        raise ValidationFailed({"_body": ["Not an image."]}) from err
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return jsonify({"code": results[0].text if results else None})


@checkin_api.post("/bookings/<int:booking_id>/checkout")
@require_roles("operator", "admin")
def checkout(booking_id: int):
    """Record the end of use.
    ---
    post:
      tags: [checkin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200:
          content:
            application/json:
              schema: Booking
        409: {description: "state_changed: another transition of this booking won", content: {application/json: {schema: Error}}}
    """
    booking = lifecycle.check_out(db.session, current_user, booking_id, now())
    db.session.commit()
    return jsonify(BookingSchema().dump(describe_booking(booking)))


def _own_code(booking_id: int) -> str:
    booking = visible_booking(db.session, current_user, booking_id)
    if booking.creator_id != current_user.id:
        raise Forbidden()
    if booking.status not in ("confirmed", "checked_in"):
        raise AppError("not_cancellable", status=422, details={"status": booking.status})
    code = service.code_for(db.session, booking, current_app.config["SECRET_KEY"])
    db.session.commit()  # a first signing key may have been created
    return code


@checkin_api.get("/bookings/<int:booking_id>/qr.png")
@require_roles()
def qr_png(booking_id: int):
    """The booking's check-in QR code as PNG (owner).
    ---
    get:
      tags: [checkin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200: {description: PNG image, content: {image/png: {}}}
        403: {$ref: "#/components/responses/Error403"}
    """
    return Response(qr.png(_own_code(booking_id)), mimetype="image/png",
                    headers={"Cache-Control": "private, no-store"})


@checkin_api.get("/bookings/<int:booking_id>/qr.svg")
@require_roles()
def qr_svg(booking_id: int):
    """The booking's check-in QR code as SVG (owner).
    ---
    get:
      tags: [checkin]
      security: [{bearer: []}]
      parameters:
        - {in: path, name: booking_id, required: true, schema: {type: integer}}
      responses:
        200: {description: SVG image, content: {image/svg+xml: {}}}
        403: {$ref: "#/components/responses/Error403"}
    """
    return Response(qr.svg(_own_code(booking_id)), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


@checkin_api.get("/checkin/keys")
def public_keys():
    """Public keys that verify check-in codes (for scanners working offline).
    ---
    get:
      tags: [checkin]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/SigningKey"}}
    """
    return jsonify({"items": SigningKeySchema(many=True).dump(keys.describe_keys(db.session))})


def my_venues(user, chosen: int | None = None) -> list[Venue]:
    """The venues a desk works for: an operator's own, every venue for an administrator."""
    if user.has_role("admin"):
        venues = db.session.scalars(db.select(Venue).order_by(Venue.code)).all()
    else:
        venues = sorted(user.operated_venues, key=lambda v: v.code)
    if chosen is None:
        return list(venues)
    picked = [v for v in venues if v.id == chosen]
    if not picked:
        raise Forbidden()
    return picked


@checkin_api.get("/checkin/manifest")
@require_roles("operator", "admin")
def offline_manifest():
    """Today's and tomorrow's bookings at my venues and the verification keys, signed, for a
    front-desk device that must keep answering without the network.
    ---
    get:
      tags: [checkin]
      security: [{bearer: []}]
      parameters:
        - {in: query, name: venue, schema: {type: integer}, description: one of my venues only}
      responses:
        200:
          content:
            application/json:
              schema: Manifest
    """
    args = load(ManifestQuerySchema(), source="args")
    moment = now()
    body = manifest.build(db.session, my_venues(current_user, args.get("venue")), local_today(),
                          moment, current_app.config["SECRET_KEY"])
    db.session.commit()  # a first signing key may have been created
    response = jsonify(ManifestSchema().dump(body))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _sync_booking(row) -> dict | None:
    booking = sync.booking_of(db.session, row)
    return manifest.booking_entry(booking) if booking is not None else None


@checkin_api.post("/checkins/sync")
@require_roles("operator", "admin")
def sync_checkins():
    """Scans a device answered offline: the server decides each one as at the moment it was
    scanned. The first valid scan of a booking checks it in; a later one from another device is
    `duplicate`; a booking cancelled meanwhile is `conflict`. Resending a scan_id returns its
    first result.
    ---
    post:
      tags: [checkin]
      security: [{bearer: []}]
      requestBody:
        content:
          application/json:
            schema: SyncRequest
      responses:
        200:
          content:
            application/json:
              schema: SyncResult
    """
    data = load(SyncRequestSchema())
    device_id = data["device_id"]
    results = []
    for scan in data["scans"]:
        row = sync.sync_scan(db.session, current_user, device_id,
                             sync.DeviceScanIn(scan["scan_id"], scan["code"], scan["scanned_at"]),
                             now())
        results.append({"scan_id": row.scan_id, "result": row.result,
                        "message": str(SYNC_MESSAGES[row.result]), "booking": _sync_booking(row)})
        # One transaction per scan: each is decided on its own, and a batch never holds the
        # row locks of many bookings at once (two devices' batches cannot deadlock).
        db.session.commit()
    duplicates = [{"booking": manifest.booking_entry(db.session.get(Booking, row.booking_id)),
                   "device_id": row.device_id, "scanned_at": to_local(row.scanned_at).isoformat()}
                  for row in sync.duplicates_of(db.session, device_id, now())]
    body = SyncResultSchema().dump({"results": results, "duplicates": duplicates,
                                    "synced_at": to_local(now()).isoformat()})
    db.session.commit()
    return jsonify(body)


# ---- pages ---------------------------------------------------------------------------------


@checkin_pages.get("/operator/scan-sw.js")
def scanner_service_worker():
    """Served from /operator/ so that it may control the scanner page (a worker under /static/
    could only control /static/)."""
    response = send_from_directory(current_app.static_folder, "desk-sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@checkin_pages.get("/operator/scan.webmanifest")
def scanner_web_manifest():
    """What makes the scanner installable on a front-desk phone's home screen."""
    return send_from_directory(current_app.static_folder, "desk.webmanifest",
                               mimetype="application/manifest+json", max_age=0)


@checkin_pages.get("/operator/scan")
@require_roles("operator", "admin")
def scanner_page():
    venues = my_venues(current_user)
    chosen = request.args.get("venue", type=int)
    phone = service.phone_digits(request.args.get("phone"))
    venue_ids = [v.id for v in venues if chosen in (None, v.id)]
    bookings = (service.todays_list(db.session, venue_ids, local_today(), phone_ends=phone)
                if venue_ids else [])
    resources = [r for v in venues if v.id in venue_ids
                 for r in sorted(v.resources, key=lambda r: r.code) if r.active]
    creator_q = (request.args.get("creator") or "").strip()[:200]
    creators = desk.find_creators(db.session, creator_q) if creator_q else []
    return render_template("checkin/scanner.html", venues=venues, chosen=chosen, bookings=bookings,
                           phone=phone, mask_phone=mask_phone, resources=resources,
                           creator_q=creator_q, creators=creators)
