"""The one word for each state, role and form field that people read.

Pages, exports and calendar feeds all look words up here, so a status reads the same
everywhere (a statement is 已出具, a voucher 已发放 — two different things, two words).
Unknown keys come back as they are rather than failing a page.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.core.i18n import is_english

BOOKING_STATUS = {
    "confirmed": _l("Confirmed"), "checked_in": _l("Checked in"), "completed": _l("Completed"),
    "cancelled": _l("Cancelled"), "no_show": _l("No-show"),
}
VOUCHER_STATUS = {
    "issued": _l("Issued"), "held": _l("Held"), "redeemed": _l("Redeemed"),
    "settled": _l("Settled"), "expired": _l("Expired"), "void": _l("Void"),
    "forfeited": _l("Forfeited"),
}
STATEMENT_STATUS = {
    "draft": _l("Draft"), "issued": lazy_pgettext("statement", "Issued"),
    "settled": _l("Settled"),
}
ROLES = {
    "creator": _l("Creator"), "enterprise": _l("Enterprise"), "operator": _l("Venue operator"),
    "finance": _l("Finance"), "admin": _l("Administrator"),
}
# Form fields as an error list names them (the page's own label for the same field).
FIELDS = {
    "name_zh": _l("Name (Chinese)"), "name_en": _l("Name (English)"), "code": _l("Code"),
    "kind": _l("Kind"), "venue_id": _l("Venue"), "capacity": _l("Capacity (people)"),
    "area_sqm": _l("Area (㎡)"), "hourly_rate_fen": _l("Rate per hour (yuan)"),
    "peak_rate_fen": _l("Peak rate per hour (yuan)"), "peak_start": _l("Peak from"),
    "peak_end": _l("Peak until"), "slot_minutes": _l("Slot (minutes)"),
    "min_minutes": _l("Shortest booking (minutes)"), "max_minutes": _l("Longest booking (minutes)"),
    "buffer_minutes": _l("Buffer between bookings (minutes)"),
    "min_notice_minutes": _l("Minimum notice (minutes)"),
    "max_advance_days": _l("Bookable days ahead"),
    "cancel_deadline_hours": _l("Free cancellation until (hours before)"),
    "checkin_opens_minutes": _l("Check-in opens (minutes before)"),
    "no_show_after_minutes": _l("No-show after (minutes)"), "opening_hours": _l("Opening hours"),
    "programs": _l("Accepts"), "photo_url": _l("Photo URL (optional)"),
    "valid_from": _l("Valid from"), "valid_until": _l("Valid until"), "email": _l("Email"),
    "start": _l("From"), "end": _l("Until"), "reason": _l("Reason"),
    "address_zh": _l("Address (Chinese)"), "phone": _l("Phone"),
    "address_en": _l("Address (English)"), "operator_zh": _l("Operator (Chinese)"),
    "operator_en": _l("Operator (English)"), "style_zh": _l("Style (Chinese)"),
    "style_en": _l("Style (English)"), "description_zh": _l("Description (Chinese)"),
    "description_en": _l("Description (English)"), "equipment": _l("Equipment"),
    "active": _l("Active"), "name": _l("Name"), "note": _l("Note"), "status": _l("Status"),
    "program": _l("Program"), "tier": _l("Tier"), "tiers": _l("Tiers and annual caps"),
    "roles": _l("Roles"), "venues": _l("Venues"), "venue_ids": _l("Venues"),
    "resource_kinds": _l("Resource kinds"), "resource_ids": _l("Accepting resources"),
    "resources": _l("Accepting resources"), "amount_fen": _l("Amount"),
    "face_value_fen": _l("Face value"), "total_count": _l("Number of vouchers"),
    "total_budget_fen": _l("Total budget"), "cap_fen": _l("Annual cap"),
    "coverage_percent": _l("Coverage"), "funding": _l("Funding"),
    "eligibility": _l("Eligibility"), "no_show_policy": _l("No-show"),
    "district": _l("District"), "credit_code": _l("Unified social credit code"),
    "until": _l("Until"), "user_id": _l("Account"), "payment_id": _l("Payment"),
    "photo_id": _l("Photo"), "width": _l("Width"), "height": _l("Height"),
    "retain_until": _l("Kept until"), "pseudonym": _l("Pseudonym"),
    "resource_count": _l("Resources"), "cross_district": _l("Across districts"),
    "strike_policy": _l("No-show strikes"), "id": _l("Number"),
    "district_id": _l("District"), "enterprise_id": _l("Enterprise"), "count": _l("Count"),
    "codes": _l("Voucher codes"), "booking_id": _l("Booking"), "statement_id": _l("Statement"),
    "month": _l("Month"), "reference": _l("Payment reference"), "method": _l("Method"),
}


def bilingual(table: dict, key: str) -> str:
    """A word from a table of (Chinese, English) pairs such as the resource kinds."""
    pair = table.get(key)
    if not pair:
        return key
    return pair[1] if is_english() else pair[0]


def label(table: dict, key) -> str:
    word = table.get(key)
    return str(word) if word is not None else str(key)
