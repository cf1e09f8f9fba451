"""Load the published resource list (and, on request, demo accounts) from ``seed/``.

Adds what is missing and nothing else: rows are matched by their codes, and a row that exists is
left as it is, because administrators edit programs, tiers, rates, rules and links after the first
seed and a re-run must not undo their work. A program↔resource link is made only when the seed
creates one of the two. A new list version is published only when the seed created something and
the catalog differs from the current version.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import (
    DEFAULT_OPENING_HOURS,
    District,
    Program,
    ProgramTier,
    Resource,
    Venue,
)
from app.catalog.rules import default_min_minutes
from app.catalog.service import (
    _listed_resources,
    current_version,
    describe_resource,
    publish_version,
)

SEED_DIR = Path(__file__).resolve().parents[2] / "seed"


def _upsert(session: Session, model, code: str, values: dict[str, Any], counts: dict,
            created: set | None = None, **match):
    """The row with ``code``, created from ``values`` when missing (and then noted in
    ``created``); an existing row is returned untouched."""
    obj = session.scalar(select(model).filter_by(code=code, **match))
    if obj is None:
        obj = model(code=code, **match, **values)
        session.add(obj)
        counts["created"] += 1
        if created is not None:
            created.add(obj)
        session.flush()
    return obj


def load_catalog(session: Session, path: Path | None = None) -> dict[str, int]:
    data = tomllib.loads((path or SEED_DIR / "catalog.toml").read_text(encoding="utf-8"))
    counts = {"created": 0, "published": 0}
    districts = {}
    for row in data["districts"]:
        districts[row["code"]] = _upsert(
            session, District, row["code"],
            {"name_zh": row["name_zh"], "name_en": row["name_en"]}, counts,
        )
    programs = {}
    new_programs: set = set()
    for row in data["programs"]:
        program = _upsert(
            session, Program, row["code"],
            {
                "name_zh": row["name_zh"], "name_en": row["name_en"],
                "district_id": districts[row["district"]].id if row.get("district") else None,
                "funding": row["funding"], "eligibility": row["eligibility"],
                "coverage_percent": row.get("coverage_percent", 100),
                "no_show_policy": row.get("no_show_policy", "forfeit"),
                "description_zh": row.get("description_zh", ""),
                "description_en": row.get("description_en", ""),
            },
            counts, new_programs,
        )
        programs[row["code"]] = program
        for tier in row.get("tiers", []):
            _upsert(
                session, ProgramTier, tier["code"],
                {"name_zh": tier["name_zh"], "name_en": tier["name_en"], "cap_fen": tier["cap_fen"]},
                counts, program_id=program.id,
            )
    new_resources: set = set()
    for row in data["venues"]:
        venue = _upsert(
            session, Venue, row["code"],
            {
                "district_id": districts[row["district"]].id,
                "name_zh": row["name_zh"], "name_en": row["name_en"],
                "address_zh": row["address_zh"], "address_en": row.get("address_en", ""),
                "operator_zh": row.get("operator_zh", ""), "operator_en": row.get("operator_en", ""),
                "phone": row.get("phone", ""),
                "opening_hours": row.get("opening_hours", DEFAULT_OPENING_HOURS),
            },
            counts,
        )
        for res in row.get("resources", []):
            resource = _upsert(
                session, Resource, res["code"],
                {
                    "venue_id": venue.id,
                    "name_zh": res["name_zh"], "name_en": res.get("name_en", ""),
                    "kind": res["kind"],
                    "style_zh": res.get("style_zh", ""), "style_en": res.get("style_en", ""),
                    "capacity": res.get("capacity", 1), "area_sqm": res.get("area_sqm", 0),
                    "equipment": res.get("equipment", []),
                    "description_zh": res.get("description_zh", ""),
                    "description_en": res.get("description_en", ""),
                    "hourly_rate_fen": res["hourly_rate_fen"],
                    "peak_rate_fen": res["peak_rate_fen"],
                    "min_minutes": res.get("min_minutes", default_min_minutes(res["kind"])),
                    "max_minutes": res.get("max_minutes", 480),
                    "buffer_minutes": res.get("buffer_minutes", 15),
                },
                counts, new_resources,
            )
            for code in res.get("programs", []):
                program = programs[code]
                if (resource in new_resources or program in new_programs) \
                        and program not in resource.programs:
                    resource.programs.append(program)
    session.flush()
    session.expire_all()
    latest = current_version(session)
    items = [describe_resource(r) for r in _listed_resources(session)]
    if latest is None or (counts["created"] and latest.snapshot["items"] != items):
        publish_version(session, None, note="seed")
        counts["published"] = 1
    return counts
