"""How a booking is shown: the API shape (and what pages read), links to its QR code."""

from __future__ import annotations

from flask import url_for

from app.accounts.models import User
from app.accounts.service import mask_phone
from app.booking import rules
from app.booking.models import Booking
from app.booking.service import booked_terms
from app.core.clock import to_local
from app.payments.rules import outstanding_fen


def _qr_links(booking: Booking) -> dict | None:
    if booking.status not in ("confirmed", "checked_in"):
        return None
    return {"png": url_for("checkin_api.qr_png", booking_id=booking.id),
            "svg": url_for("checkin_api.qr_svg", booking_id=booking.id)}


def describe_booking(booking: Booking, viewer: User | None = None) -> dict:
    """The API shape of a booking; the creator's phone only to themselves."""
    resource = booking.resource
    venue = resource.venue
    deadline = rules.cancel_deadline(booked_terms(booking).cancel_deadline_hours, booking.start_at)
    creator = booking.creator
    reveal = viewer is not None and viewer.id == booking.creator_id
    return {
        "id": booking.id,
        "status": booking.status,
        "short_code": booking.short_code,
        "list_version": booking.list_version,
        "start": to_local(booking.start_at).isoformat(),
        "end": to_local(booking.end_at).isoformat(),
        "resource": {"id": resource.id, "name": resource.name_zh, "name_en": resource.name_en,
                     "kind": resource.kind,
                     "venue": {"id": venue.id, "name": venue.name_zh, "name_en": venue.name_en,
                               "district": venue.district.code}},
        "price": {"gross_fen": booking.gross_fen, "voucher_fen": booking.voucher_fen,
                  "quota_fen": booking.quota_fen, "self_pay_fen": booking.self_pay_fen},
        "payment": {"paid_fen": booking.paid_fen,
                    "outstanding_fen": outstanding_fen(booking.status, booking.self_pay_fen,
                                                       booking.paid_fen, booking.late_cancel)},
        "voucher": ({"code": booking.voucher.code, "status": booking.voucher.status,
                     "face_value_fen": booking.voucher.face_value_fen}
                    if booking.voucher is not None else None),
        "program": booking.program.code if booking.program is not None else None,
        "qr": _qr_links(booking),
        "creator": {"id": creator.id, "display_name": creator.display_name,
                    "phone": creator.phone if reveal else mask_phone(creator.phone)},
        "cancel_deadline": to_local(deadline).isoformat(),
        "late_cancel": booking.late_cancel,
        "created_at": to_local(booking.created_at).isoformat(),
        "checked_in_at": to_local(booking.checked_in_at).isoformat() if booking.checked_in_at else None,
        "checked_out_at": to_local(booking.checked_out_at).isoformat() if booking.checked_out_at else None,
    }
