"""Demo accounts from ``seed/demo.toml``: running it twice changes nothing."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import service
from app.accounts.certifications import certification_on
from app.accounts.models import Enterprise, Residency
from app.catalog.models import Program, Venue
from app.catalog.seed import SEED_DIR
from app.core.clock import local_today
from app.vouchers.models import VoucherBatch
from app.vouchers.service import create_batch, issue_vouchers


def load_demo(session: Session, path: Path | None = None) -> dict[str, int]:
    data = tomllib.loads((path or SEED_DIR / "demo.toml").read_text(encoding="utf-8"))
    counts = {"users": 0, "enterprises": 0}
    enterprises: dict[str, Enterprise] = {}
    for row in data.get("enterprises", []):
        enterprise = session.scalar(
            select(Enterprise).where(Enterprise.credit_code == row["credit_code"])
        )
        if enterprise is None:
            enterprise = service.create_enterprise(session, None, row["name"], row["credit_code"])
            counts["enterprises"] += 1
        residency = row.get("residency")
        if residency and not session.scalar(
            select(Residency).join(Program).where(
                Residency.enterprise_id == enterprise.id, Program.code == residency["program"]
            )
        ):
            service.record_residency(
                session, None, enterprise, residency["program"],
                date.fromisoformat(residency["valid_from"]),
            )
        enterprises[row["credit_code"]] = enterprise
    for row in data["users"]:
        user = service.get_user_by_email(session, row["email"])
        if user is None:
            venue_ids = [
                session.scalar(select(Venue.id).where(Venue.code == code))
                for code in row.get("venues", [])
            ]
            user = service.create_user(
                session, row["email"], data["password"], row["roles"],
                display_name=row.get("display_name", ""), phone=row.get("phone", ""),
                venue_ids=venue_ids,
            )
            counts["users"] += 1
        if row.get("enterprise"):
            service.add_member(session, None, enterprises[row["enterprise"]], user)
        cert = row.get("certify")
        if cert:
            program = session.scalar(select(Program).where(Program.code == cert["program"]))
            if certification_on(session, user.id, program.id, local_today()) is None:
                service.certify(session, None, user, cert["program"], cert["tier"],
                                valid_from=local_today().replace(month=1, day=1))
    counts["vouchers"] = _load_vouchers(session, data, enterprises)
    return counts


def _load_vouchers(session: Session, data: dict, enterprises: dict) -> int:
    issued = 0
    for row in data.get("voucher_batches", []):
        if session.scalar(select(VoucherBatch.id).where(VoucherBatch.name == row["name"])):
            continue
        batch = create_batch(
            session, None, program_code=row["program"], name=row["name"],
            face_value_fen=row["face_value_fen"], total_count=row["total_count"],
            total_budget_fen=row["total_budget_fen"],
            valid_from=date.fromisoformat(row["valid_from"]),
            valid_until=date.fromisoformat(row["valid_until"]),
            resource_kinds=row.get("resource_kinds", []))
        for grant in row.get("issue", []):
            issue_vouchers(session, None, batch, enterprises[grant["enterprise"]], grant["count"])
            issued += grant["count"]
    return issued
