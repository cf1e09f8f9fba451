"""Catalog steps: publish the list, read published versions, describe resources, export."""

from __future__ import annotations

import csv
import io
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from app.audit.service import record
from app.catalog.models import District, ListVersion, Resource, Venue
from app.catalog.published import (
    PUBLISHED_IN_SESSION,
    FrozenVersion,
    PublishedResource,
    published_lists,
)
from app.catalog.rules import KIND_LABELS, valid_opening_hours
from app.core.clock import now
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.money import fen_to_yuan_number


def describe_venue(venue: Venue) -> dict[str, Any]:
    return {
        "id": venue.id,
        "code": venue.code,
        "name": venue.name_zh,
        "name_en": venue.name_en,
        "district": venue.district.code,
        "district_name": venue.district.name_zh,
        "district_name_en": venue.district.name_en,
        "address": venue.address_zh,
        "address_en": venue.address_en,
        "operator": venue.operator_zh,
        "operator_en": venue.operator_en,
        "phone": venue.phone,
        "opening_hours": venue.opening_hours,
    }


def describe_resource(resource: Resource) -> dict[str, Any]:
    """The published shape of a resource: what the list, the API and exports show."""
    return {
        "id": resource.id,
        "code": resource.code,
        "name": resource.name_zh,
        "name_en": resource.name_en,
        "kind": resource.kind,
        "style": resource.style_zh,
        "style_en": resource.style_en,
        "capacity": resource.capacity,
        "area_sqm": resource.area_sqm,
        "equipment": list(resource.equipment or []),
        "description": resource.description_zh,
        "description_en": resource.description_en,
        "photo_url": resource.photo_url or None,
        "rates": {
            "hourly_fen": resource.hourly_rate_fen,
            "peak_fen": resource.peak_rate_fen,
            "peak_start": resource.peak_start,
            "peak_end": resource.peak_end,
        },
        "rules": {
            "slot_minutes": resource.slot_minutes,
            "min_minutes": resource.min_minutes,
            "max_minutes": resource.max_minutes,
            "buffer_minutes": resource.buffer_minutes,
            "min_notice_minutes": resource.min_notice_minutes,
            "max_advance_days": resource.max_advance_days,
            "cancel_deadline_hours": resource.cancel_deadline_hours,
            "checkin_opens_minutes": resource.checkin_opens_minutes,
            "no_show_after_minutes": resource.no_show_after_minutes,
        },
        "opening_hours": resource.effective_opening_hours,
        "venue": describe_venue(resource.venue),
        "programs": [
            {"code": p.code, "name": p.name_zh, "name_en": p.name_en, "funding": p.funding}
            for p in resource.programs
        ],
        "active": resource.active,
    }


def _listed_resources(session: Session) -> list[Resource]:
    return list(
        session.scalars(
            select(Resource)
            .join(Resource.venue)
            .where(Resource.active.is_(True), Venue.active.is_(True))
            .options(selectinload(Resource.programs), selectinload(Resource.venue))
            .order_by(Venue.district_id, Venue.code, Resource.code)
        )
    )


def publish_version(session: Session, actor_id: int | None, note: str = "") -> ListVersion:
    """Freeze today's catalog as the next numbered version of the published list."""
    items = [describe_resource(r) for r in _listed_resources(session)]
    number = (session.scalar(select(func.max(ListVersion.number))) or 0) + 1
    version = ListVersion(
        number=number,
        published_at=now(),
        published_by_id=actor_id,
        note=note.strip()[:2000],
        resource_count=len(items),
        snapshot={"items": items},
    )
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except IntegrityError as err:
        raise Conflict(message="another version was published at the same moment") from err
    session.info[PUBLISHED_IN_SESSION] = True  # this process sees it once committed
    record(session, actor_id, "list.publish", "list_version", number,
           after={"resource_count": len(items), "note": version.note})
    return version


def current_version(session: Session) -> ListVersion | None:
    return session.scalar(select(ListVersion).order_by(ListVersion.number.desc()).limit(1))


def get_version(session: Session, number: int | None) -> ListVersion:
    version = current_version(session) if number is None else session.scalar(
        select(ListVersion).where(ListVersion.number == number)
    )
    if version is None:
        raise NotFound("no_published_list" if number is None else "not_found")
    return version


def all_versions(session: Session) -> list[ListVersion]:
    return list(session.scalars(select(ListVersion).order_by(ListVersion.number.desc())))


def describe_version(version: ListVersion | FrozenVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "published_at": version.published_at.isoformat(),
        "resource_count": version.resource_count,
        "note": version.note,
    }


@cache
def _resource_and_list():
    """The resource, its venue and district, and the current list's number; built once (every
    booking, quote and resource page reads it), on first use when every model is mapped."""
    latest = select(func.max(ListVersion.number)).scalar_subquery()
    return (select(Resource, latest)
            .options(joinedload(Resource.venue).joinedload(Venue.district))
            .where(Resource.id == bindparam("resource_id")))


def current_terms(session: Session, resource_id: int) -> tuple[Resource | None,
                                                                 PublishedResource | None]:
    """The resource row (with its venue and district) and the row on the current list's terms
    (None where that list does not carry it).

    One round trip: the resource, its venue, its district and the current list's number. What
    that version says of the resource comes from its snapshot, read once per process
    (app.catalog.published).
    """
    found = session.execute(_resource_and_list(), {"resource_id": resource_id}).first()
    if found is None:
        return None, None
    return found[0], published_lists().terms(found[0], found[1])


def published_resource(session: Session, resource_id: int) -> PublishedResource:
    """A resource on the current published list, on that list's terms (404 otherwise)."""
    row, terms = current_terms(session, resource_id)
    if row is None or not row.active or terms is None:
        raise NotFound()
    return terms


# ---- exports -------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    ("编号", "code"),
    ("名称", "name"),
    ("类型", "kind"),
    ("风格", "style"),
    ("场地/载体", "venue"),
    ("区", "district"),
    ("地址", "address"),
    ("容纳人数", "capacity"),
    ("面积（㎡）", "area_sqm"),
    ("平峰价（元/小时）", "hourly_yuan"),
    ("高峰价（元/小时）", "peak_yuan"),
    ("高峰时段", "peak_window"),
    ("可用补贴", "programs"),
    ("设备", "equipment"),
]
MONEY_COLUMNS = {"hourly_yuan", "peak_yuan"}


def export_rows(items: list[dict]) -> list[dict[str, Any]]:
    return [
        {
            "code": item["code"],
            "name": item["name"],
            "kind": KIND_LABELS.get(item["kind"], (item["kind"],))[0],
            "style": item["style"],
            "venue": item["venue"]["name"],
            "district": item["venue"]["district_name"],
            "address": item["venue"]["address"],
            "capacity": item["capacity"],
            "area_sqm": item["area_sqm"],
            "hourly_yuan": item["rates"]["hourly_fen"],
            "peak_yuan": item["rates"]["peak_fen"],
            "peak_window": f"{item['rates']['peak_start']}–{item['rates']['peak_end']}",
            "programs": "、".join(p["name"] for p in item["programs"]),
            "equipment": "、".join(item["equipment"]),
        }
        for item in items
    ]


def export_csv(items: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in EXPORT_COLUMNS])
    for row in export_rows(items):
        writer.writerow(
            [
                f"{row[key] / 100:.2f}" if key in MONEY_COLUMNS else row[key]
                for _, key in EXPORT_COLUMNS
            ]
        )
    # The BOM lets Excel on Windows open the Chinese text correctly.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_xlsx(items: list[dict], version: ListVersion | FrozenVersion) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"共享资源清单 第{version.number}版"
    sheet.append([header for header, _ in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export_rows(items):
        sheet.append(
            [fen_to_yuan_number(row[key]) if key in MONEY_COLUMNS else row[key]
             for _, key in EXPORT_COLUMNS]
        )
    money_columns = [i for i, (_, key) in enumerate(EXPORT_COLUMNS, 1) if key in MONEY_COLUMNS]
    for row in sheet.iter_rows(min_row=2):
        for index in money_columns:
            row[index - 1].number_format = '"¥"#,##0.00'
    widths = {"名称": 28, "场地/载体": 26, "地址": 36, "设备": 60, "可用补贴": 16}
    for index, (header, _) in enumerate(EXPORT_COLUMNS, 1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = widths.get(header, 14)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---- administration ------------------------------------------------------------------------

EDITABLE_RESOURCE_FIELDS = (
    "name_zh", "name_en", "kind", "style_zh", "style_en", "capacity", "area_sqm", "equipment",
    "description_zh", "description_en", "photo_url", "hourly_rate_fen", "peak_rate_fen",
    "peak_start", "peak_end", "slot_minutes", "min_minutes", "max_minutes", "buffer_minutes",
    "min_notice_minutes", "max_advance_days", "cancel_deadline_hours", "checkin_opens_minutes",
    "no_show_after_minutes", "opening_hours", "active",
)


def _resource_values(resource: Resource) -> dict[str, Any]:
    values = {name: getattr(resource, name) for name in EDITABLE_RESOURCE_FIELDS}
    values["programs"] = [p.code for p in resource.programs]
    values["venue_id"] = resource.venue_id
    return values


def save_resource(
    session: Session, actor_id: int | None, resource: Resource | None, changes: dict[str, Any]
) -> Resource:
    """Create (``resource`` None) or change a resource; every change is audited.

    The published list does not change until an administrator publishes a new version.
    """
    from app.catalog.models import Program
    from app.catalog.rules import default_min_minutes, resource_field_errors
    from app.core.errors import ValidationFailed

    creating = resource is None
    if creating:
        kind = changes.get("kind", "livestream_room")
        resource = Resource(
            kind=kind, min_minutes=default_min_minutes(kind), max_minutes=480, slot_minutes=30,
            buffer_minutes=15, min_notice_minutes=0, max_advance_days=30,
            cancel_deadline_hours=24, checkin_opens_minutes=15, no_show_after_minutes=30,
            peak_start="19:00", peak_end="24:00", capacity=1, area_sqm=0, equipment=[],
            active=True, name_en="", style_zh="", style_en="", description_zh="",
            description_en="", photo_url="", hourly_rate_fen=0, peak_rate_fen=0, name_zh="",
        )
        before = None
    else:
        before = _resource_values(resource)
    merged = {**_resource_values(resource), **changes}
    errors = resource_field_errors(merged)
    venue = session.get(Venue, merged.get("venue_id")) if merged.get("venue_id") else None
    if venue is None:
        errors["venue_id"] = ["Unknown venue."]
    program_codes = merged.get("programs") or []
    programs = list(session.scalars(select(Program).where(Program.code.in_(program_codes))))
    if len(programs) != len(set(program_codes)):
        errors["programs"] = ["Unknown program."]
    if creating:
        code = str(changes.get("code") or "").strip()
        if not code:
            errors["code"] = ["Required."]
        elif session.scalar(select(Resource).where(Resource.code == code)):
            errors["code"] = ["This code is taken."]
    if errors:
        raise ValidationFailed(errors)
    for name in EDITABLE_RESOURCE_FIELDS:
        if name in merged:
            setattr(resource, name, merged[name])
    resource.venue_id = venue.id
    resource.programs = programs
    if creating:
        resource.code = str(changes["code"]).strip()
        session.add(resource)
    session.flush()
    record(session, actor_id, "resource.create" if creating else "resource.update", "resource",
           resource.id, before=before, after=_resource_values(resource))
    return resource


def save_venue(session: Session, actor_id: int | None, venue: Venue, changes: dict[str, Any]) -> Venue:
    from app.catalog.rules import valid_opening_hours
    from app.core.errors import ValidationFailed

    fields = ("name_zh", "name_en", "address_zh", "address_en", "operator_zh", "operator_en",
              "phone", "opening_hours", "active")
    before = {name: getattr(venue, name) for name in fields}
    errors = {}
    if "opening_hours" in changes and not valid_opening_hours(changes["opening_hours"]):
        errors["opening_hours"] = ["Give [open, close] as HH:MM per weekday (mon..sun)."]
    if "name_zh" in changes and not str(changes["name_zh"]).strip():
        errors["name_zh"] = ["Required."]
    if errors:
        raise ValidationFailed(errors)
    for name in fields:
        if name in changes:
            setattr(venue, name, changes[name])
    session.flush()
    record(session, actor_id, "venue.update", "venue", venue.id, before=before,
           after={name: getattr(venue, name) for name in fields})
    return venue


VENUE_CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def create_venue(session: Session, actor_id: int | None, code: str, district_id: int | None,
                 changes: dict[str, Any]) -> Venue:
    """A new venue (no resources yet); audited. The public list shows it once it has some."""
    code = code.strip().lower()
    errors: dict[str, list[str]] = {}
    if not (2 <= len(code) <= 60) or not set(code) <= VENUE_CODE_CHARS:
        errors["code"] = ["Use 2 to 60 lowercase letters, digits and hyphens."]
    elif session.scalar(select(Venue.id).where(Venue.code == code)) is not None:
        errors["code"] = ["A venue with this code exists already."]
    if district_id is None or session.get(District, district_id) is None:
        errors["district_id"] = ["Choose a district."]
    for name in ("name_zh", "address_zh"):
        if not str(changes.get(name, "")).strip():
            errors[name] = ["Required."]
    if "opening_hours" in changes and not valid_opening_hours(changes["opening_hours"]):
        errors["opening_hours"] = ["Give [open, close] as HH:MM per weekday (mon..sun)."]
    if errors:
        raise ValidationFailed(errors)
    venue = Venue(code=code, district_id=district_id)
    fields = ("name_zh", "name_en", "address_zh", "address_en", "operator_zh", "operator_en",
              "phone", "opening_hours", "active")
    for name in fields:
        if name in changes:
            setattr(venue, name, changes[name])
    session.add(venue)
    session.flush()
    record(session, actor_id, "venue.create", "venue", venue.id,
           after={"code": code, "district_id": district_id,
                  **{name: getattr(venue, name) for name in fields}})
    return venue


def pending_changes(session: Session) -> dict[str, list[str]]:
    """What publishing now would change against the current version, by resource code."""
    latest = current_version(session)
    old = {item["code"]: item for item in (latest.snapshot["items"] if latest else [])}
    new = {item["code"]: item for item in (describe_resource(r) for r in _listed_resources(session))}
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(code for code in set(old) & set(new) if old[code] != new[code]),
    }
