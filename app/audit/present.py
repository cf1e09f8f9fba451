"""The audit log as a person reads it: who by name, what in words, money in yuan.

The stored entries stay as they are (append-only, machine keys); this only describes them.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_pgettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.catalog.models import Program
from app.catalog.rules import KIND_LABELS
from app.core.i18n import localized
from app.core.labels import FIELDS, ROLES, bilingual, label
from app.core.money import format_yuan

ACTIONS = {
    "certify": lazy_pgettext("audit", "Creator certified"),
    "closure.create": lazy_pgettext("audit", "Room closed for maintenance"),
    "district.create": lazy_pgettext("audit", "District added"),
    "enterprise.add_member": lazy_pgettext("audit", "Member added to enterprise"),
    "enterprise.create": lazy_pgettext("audit", "Enterprise created"),
    "enterprise.end_member": lazy_pgettext("audit", "Enterprise membership ended"),
    "list.publish": lazy_pgettext("audit", "List version published"),
    "payment.refund": lazy_pgettext("audit", "Payment refunded"),
    "period.close": lazy_pgettext("audit", "Month closed"),
    "personal_data.erase": lazy_pgettext("audit", "Personal data erased"),
    "personal_data.view": lazy_pgettext("audit", "Personal data viewed"),
    "program.close": lazy_pgettext("audit", "Program closed"),
    "program.create": lazy_pgettext("audit", "Program created"),
    "program.reopen": lazy_pgettext("audit", "Program reopened"),
    "program.update": lazy_pgettext("audit", "Program changed"),
    "residency.record": lazy_pgettext("audit", "Residency recorded"),
    "resource.create": lazy_pgettext("audit", "Resource created"),
    "resource.photo_add": lazy_pgettext("audit", "Photo added"),
    "resource.update": lazy_pgettext("audit", "Resource changed"),
    "statement.issue": lazy_pgettext("audit", "Statement issued"),
    "statement.settle": lazy_pgettext("audit", "Statement settled"),
    "user.create": lazy_pgettext("audit", "Account created"),
    "venue.create": lazy_pgettext("audit", "Venue created"),
    "venue.update": lazy_pgettext("audit", "Venue changed"),
    "voucher.redeem": lazy_pgettext("audit", "Vouchers redeemed"),
    "voucher.void": lazy_pgettext("audit", "Voucher voided"),
    "voucher_batch.create": lazy_pgettext("audit", "Voucher batch created"),
    "voucher_batch.issue": lazy_pgettext("audit", "Vouchers issued"),
}
# The "audit" context keeps these apart from the same English words elsewhere in the pages.
OBJECTS = {
    "booking": lazy_pgettext("audit", "Booking"), "district": lazy_pgettext("audit", "District"), "enterprise": lazy_pgettext("audit", "Enterprise"),
    "list_version": lazy_pgettext("audit", "List version"), "period": lazy_pgettext("audit", "Month"), "program": lazy_pgettext("audit", "Program"),
    "resource": lazy_pgettext("audit", "Resource"), "statement": lazy_pgettext("audit", "Statement"), "user": lazy_pgettext("audit", "Account"),
    "venue": lazy_pgettext("audit", "Venue"), "voucher": lazy_pgettext("audit", "Voucher"), "voucher_batch": lazy_pgettext("audit", "Voucher batch"),
    "vouchers_redeemed": lazy_pgettext("audit", "Vouchers"),
}
# Keys whose values are long or internal: the entry says they changed, not what to.
NOT_SHOWN = {"password_hash", "snapshot", "calendar_secret"}


ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _value(key: str, value: Any, program_names: dict[str, str]) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return format_yuan(value)
    if key == "roles" and isinstance(value, list):
        return "、".join(label(ROLES, role) for role in value)
    if key in ("program", "program_code") and value in program_names:
        return program_names[value]
    if key == "programs" and isinstance(value, list):
        return "、".join(program_names.get(code, code) for code in value)
    if isinstance(value, bool):
        return "✓" if value else "—"
    if value in (None, "", [], {}):
        return "—"
    if key == "resource_kinds" and isinstance(value, list):
        return "、".join(bilingual(KIND_LABELS, kind) for kind in value)
    if isinstance(value, list) and all(isinstance(item, str | int) for item in value):
        text = "、".join(str(item) for item in value)
        return text if len(text) <= 80 else text[:79] + "…"
    if isinstance(value, list | dict):
        return "…"
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return value[:16].replace("T", " ")
    return str(value)


def describe(session: Session, entries: list[AuditEntry]) -> list[dict[str, Any]]:
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_(actor_ids))).all()) if actor_ids else {}
    program_names = {p.code: localized(p, "name") for p in session.scalars(select(Program))}
    described = []
    for e in entries:
        before, after = e.before or {}, e.after or {}
        changes = []
        for key in list(dict.fromkeys([*after, *before])):
            if key in NOT_SHOWN or before.get(key) == after.get(key):
                continue
            changes.append({
                "field": label(FIELDS, key),
                "before": _value(key, before[key], program_names) if key in before else "",
                "after": _value(key, after[key], program_names) if key in after else "",
            })
        described.append({
            "at": e.at, "actor": names.get(e.actor_id, "") if e.actor_id else None,
            "action": label(ACTIONS, e.action),
            "object": f"{label(OBJECTS, e.object_type)} {e.object_id}",
            "changes": changes,
        })
    return described
