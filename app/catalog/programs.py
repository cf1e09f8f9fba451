"""Programs are data: an administrator adds one, and the resources that accept it, from pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.catalog.models import District, Program, ProgramTier, Resource, resource_programs
from app.core.errors import ValidationFailed

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
    district = None
    if data.get("district"):
        district = session.scalar(select(District).where(District.code == data["district"]))
        if district is None:
            errors["district"] = ["Unknown district."]
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
        "valid_from": program.valid_from.isoformat() if program.valid_from else None,
        "valid_until": program.valid_until.isoformat() if program.valid_until else None,
        "strike_policy": {"limit": program.strike_limit, "window_days": program.strike_window_days,
                          "suspension_days": program.suspension_days},
        "tiers": [{"code": t.code, "name": t.name_zh, "cap_fen": t.cap_fen} for t in program.tiers],
        "resource_ids": sorted(resource_ids),
    }
