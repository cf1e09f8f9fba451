"""What a front-desk device needs to answer scans without the network, signed by the server.

The manifest lists the verification keys (with their status, so a device that synced it refuses
codes of a retired key) and today's and tomorrow's bookings at the operator's venues: enough to
decide ok / too early / too late / wrong venue on the device, nothing more about the creator
than a masked name. It is signed with the server's Ed25519 signing key over its canonical JSON
(keys sorted, no spaces, UTF-8), so a device can tell a manifest of this server from anything
else it may have been handed.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.booking.models import Booking
from app.booking.rules import local_midnight
from app.booking.service import booked_terms
from app.catalog.models import Resource, Venue
from app.checkin import keys
from app.checkin.models import SigningKey
from app.checkin.rules import window
from app.core.clock import to_local


def mask_name(name: str) -> str:
    """杨**: the desk recognises the person it expects; a lost phone leaks neither names nor
    their length."""
    name = (name or "").strip()
    return name[0] + "**" if name else ""


def key_status(key: SigningKey) -> str:
    if key.retired_at is not None:
        return "retired"
    return "signing" if key.active else "verifying"


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _bookings(session: Session, venue_ids: list[int], first_day: date) -> list[Booking]:
    return list(session.scalars(
        select(Booking).join(Booking.resource)
        .where(Resource.venue_id.in_(venue_ids),
               Booking.start_at >= local_midnight(first_day),
               Booking.start_at < local_midnight(first_day + timedelta(days=2)))
        .options(joinedload(Booking.resource).joinedload(Resource.venue),
                 joinedload(Booking.creator))
        .order_by(Booking.start_at, Booking.id)).unique())


def booking_entry(booking: Booking) -> dict:
    resource = booking.resource
    # the window the booking was made with (its list version), as the server will judge it
    opens, closes = window(booking.start_at, booking.end_at,
                           booked_terms(booking).checkin_opens_minutes)
    return {
        "id": booking.id,
        "short_code": booking.short_code,
        "status": booking.status,
        "start": to_local(booking.start_at).isoformat(),
        "end": to_local(booking.end_at).isoformat(),
        "checkin_opens": to_local(opens).isoformat(),
        "checkin_closes": to_local(closes).isoformat(),
        "resource": {"id": resource.id, "name": resource.name_zh, "name_en": resource.name_en},
        "venue_id": resource.venue_id,
        "name": mask_name(booking.creator.display_name),
    }


def build(session: Session, venues: list[Venue], today: date, moment: datetime,
          secret_key: str) -> dict:
    """The signed manifest for ``venues``; may create the first signing key (caller commits)."""
    key_id, private = keys.signing_key(session, secret_key)
    document = {
        "generated_at": to_local(moment).isoformat(),
        "valid_days": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        "venues": [{"id": v.id, "name": v.name_zh, "name_en": v.name_en} for v in venues],
        "keys": [{"key_id": k.key_id, "public_key": k.public_key, "algorithm": "Ed25519",
                  "status": key_status(k)}
                 for k in session.scalars(select(SigningKey).order_by(SigningKey.created_at))],
        "bookings": [booking_entry(b) for b in _bookings(session, [v.id for v in venues], today)],
    }
    value = base64.urlsafe_b64encode(private.sign(canonical(document))).rstrip(b"=").decode()
    return {**document, "signature": {"key_id": key_id, "algorithm": "Ed25519", "value": value}}
