"""Programs are data: an administrator adds one, and the resources that accept it, from pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.catalog.models import District, Program, ProgramTier, Resource, resource_programs
from app.core.errors import ValidationFailed
from app.quota.models import QuotaAccount
from app.quota.service import apply_tier

# What an administrator may change on a program; code, funding and eligibility stay, because
# vouchers, accounts and certifications already issued were given under them.
EDITABLE = ("name_zh", "name_en", "description_zh", "description_en", "coverage_percent",
            "no_show_policy", "cross_district", "valid_from", "valid_until", "strike_limit",
            "strike_window_days", "suspension_days")

# Who can be funded how: vouchers go to resident enterprises, quota to certified creators.
VALID_COMBINATIONS = {("voucher", "resident_enterprise"), ("quota", "certified_creator")}


def create_program(session: Session, actor_id: int | None, data: dict) -> Program:
    errors: dict[str, list[str]] = {}
    if session.scalar(select(Program.id).where(Program.code == data["code"])):
        errors["code"] = ["A program with this code exists."]
    if (data["funding"], data["eligibility"]) not in VALID_COMBINATIONS:
        errors["eligibility"] = ["Vouchers go to resident enterprises; quota to certified creators."]
    if data["funding"] == "quota" and not data.get("tiers"):
        errors["tiers"] = ["A quota program needs at least one tier with its annual cap."]
    codes = [t["code"] for t in data.get("tiers", [])]
    if len(codes) != len(set(codes)):
        errors["tiers"] = ["Tier codes must differ."]
    district = _district(session, data.get("district"), errors)
    _check_dates(data.get("valid_from"), data.get("valid_until"), errors)
    if not data.get("venue_ids") and not data.get("resource_kinds"):
        errors["venue_ids"] = ["Choose the venues or resource kinds that accept the program."]
    if errors:
        raise ValidationFailed(errors)
    program = Program(
        code=data["code"], name_zh=data["name_zh"], name_en=data.get("name_en", ""),
        district_id=district.id if district else None, funding=data["funding"],
        eligibility=data["eligibility"], coverage_percent=data.get("coverage_percent", 100),
        no_show_policy=data.get("no_show_policy", "forfeit"),
        cross_district=bool(data.get("cross_district", False)),
        valid_from=data.get("valid_from"), valid_until=data.get("valid_until"),
        strike_limit=data.get("strike_limit", 3),
        strike_window_days=data.get("strike_window_days", 90),
        suspension_days=data.get("suspension_days", 30),
        description_zh=data.get("description_zh", ""), description_en=data.get("description_en", ""),
        active=True,
    )
    program.tiers = [ProgramTier(code=t["code"], name_zh=t["name_zh"],
                                 name_en=t.get("name_en", ""), cap_fen=t["cap_fen"])
                     for t in data.get("tiers", [])]
    session.add(program)
    session.flush()
    accepting = accept_on(session, program, data.get("venue_ids", []), data.get("resource_kinds", []))
    record(session, actor_id, "program.create", "program", program.code, after={
        **{k: v.isoformat() if isinstance(v, date) else v for k, v in data.items() if k != "tiers"},
        "tiers": [dict(t) for t in data.get("tiers", [])], "resources": [r.id for r in accepting]})
    return program


def _district(session: Session, code: str | None, errors: dict) -> District | None:
    if not code:
        return None
    district = session.scalar(select(District).where(District.code == code))
    if district is None:
        errors["district"] = ["Unknown district."]
    return district


def _check_dates(valid_from: date | None, valid_until: date | None, errors: dict) -> None:
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = ["The last day comes before the first."]


def update_program(session: Session, actor_id: int | None, program: Program,
                   data: dict) -> Program:
    """Change a program's texts, rules and tiers; audited with what it was before.

    ``data`` holds only what changes (a district of "" or None makes the program city-wide).
    Tiers are matched by code: a new code adds a tier, a known one changes its names and cap.
    A cap change reaches every year account on that tier at once, but never below what the
    account already holds or consumed (``apply_tier``).
    """
    errors: dict[str, list[str]] = {}
    before = describe_program(session, program)
    district = _district(session, data.get("district"), errors)
    _check_dates(data.get("valid_from", program.valid_from),
                 data.get("valid_until", program.valid_until), errors)
    codes = [t["code"] for t in data.get("tiers", [])]
    if len(codes) != len(set(codes)):
        errors["tiers"] = ["Tier codes must differ."]
    if program.funding == "voucher" and codes:
        errors["tiers"] = ["Only quota programs have tiers."]
    if errors:
        raise ValidationFailed(errors)
    for name in EDITABLE:
        if name in data:
            setattr(program, name, data[name])
    if "district" in data:
        program.district = district
    for change in data.get("tiers", []):
        _set_tier(session, program, change)
    session.flush()
    record(session, actor_id, "program.update", "program", program.code, before=before,
           after=describe_program(session, program))
    return program


def _set_tier(session: Session, program: Program, change: dict) -> None:
    tier = next((t for t in program.tiers if t.code == change["code"]), None)
    if tier is None:
        program.tiers.append(ProgramTier(code=change["code"], name_zh=change["name_zh"],
                                         name_en=change.get("name_en", ""),
                                         cap_fen=change["cap_fen"]))
        return
    tier.name_zh, tier.name_en = change["name_zh"], change.get("name_en", tier.name_en)
    if tier.cap_fen == change["cap_fen"]:
        return
    tier.cap_fen = change["cap_fen"]
    for user_id, year in session.execute(select(QuotaAccount.user_id, QuotaAccount.year).where(
            QuotaAccount.program_id == program.id, QuotaAccount.tier_code == tier.code)).all():
        apply_tier(session, user_id, program.id, year, tier.code, tier.cap_fen)


def set_active(session: Session, actor_id: int | None, program: Program, active: bool) -> Program:
    """Close (no new booking uses it; holds and vouchers given are honoured) or reopen."""
    was = program.active
    program.active = active
    session.flush()
    record(session, actor_id, "program.reopen" if active else "program.close", "program",
           program.code, before={"active": was}, after={"active": active})
    return program


def create_district(session: Session, actor_id: int | None, data: dict) -> District:
    if session.scalar(select(District.id).where(District.code == data["code"])):
        raise ValidationFailed({"code": ["A district with this code exists."]})
    district = District(code=data["code"], name_zh=data["name_zh"],
                        name_en=data.get("name_en", ""))
    session.add(district)
    session.flush()
    record(session, actor_id, "district.create", "district", district.code, after=dict(data))
    return district


def describe_district(district: District) -> dict:
    return {"id": district.id, "code": district.code, "name": district.name_zh,
            "name_en": district.name_en}


def accept_on(session: Session, program: Program, venue_ids: list[int],
              resource_kinds: list[str]) -> list[Resource]:
    """Resources at the given venues and/or of the given kinds now accept the program."""
    query = select(Resource)
    if venue_ids:
        query = query.where(Resource.venue_id.in_(venue_ids))
    if resource_kinds:
        query = query.where(Resource.kind.in_(resource_kinds))
    resources = list(session.scalars(query))
    for resource in resources:
        if program not in resource.programs:
            resource.programs.append(program)
    session.flush()
    return resources


def describe_program(session: Session, program: Program) -> dict:
    resource_ids = list(session.scalars(select(resource_programs.c.resource_id).where(
        resource_programs.c.program_id == program.id)))
    return {
        "id": program.id, "code": program.code, "name": program.name_zh, "name_en": program.name_en,
        "funding": program.funding, "eligibility": program.eligibility,
        "coverage_percent": program.coverage_percent, "no_show_policy": program.no_show_policy,
        "district": program.district.code if program.district else None,
        "cross_district": program.cross_district, "active": program.active,
        "description": program.description_zh, "description_en": program.description_en,
        "valid_from": program.valid_from.isoformat() if program.valid_from else None,
        "valid_until": program.valid_until.isoformat() if program.valid_until else None,
        "strike_policy": {"limit": program.strike_limit, "window_days": program.strike_window_days,
                          "suspension_days": program.suspension_days},
        "tiers": [{"code": t.code, "name": t.name_zh, "cap_fen": t.cap_fen} for t in program.tiers],
        "resource_ids": sorted(resource_ids),
    }
