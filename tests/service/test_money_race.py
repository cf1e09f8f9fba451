"""Money under concurrency, on PostgreSQL with one connection per request.

- 20 bookings race for one voucher: one holds it, 19 get ``voucher_not_usable``.
- 30 bookings race against a small annual cap: the cap is used to the last fen, never beyond.
Each has a twin with its guard removed (the conditional UPDATE; the account row lock) that
asserts the race then breaks the invariant, so it fails if the guard stops being what holds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.booking.models import Booking
from app.catalog.models import Resource
from app.extensions import db
from app.vouchers.models import Voucher
from tests.helpers import CREATOR, HP_CREATOR, at, post_concurrently

CAP = 100_000  # ¥1,000


@pytest.fixture
def race_app(make_pg_app):
    return make_pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 36, "max_overflow": 0})


def _token(app, email):
    from app.accounts.service import issue_token, require_user

    with app.app_context():
        token = issue_token(db.session, require_user(db.session, email))
        db.session.commit()
    return token


def _slots(app, count: int, program_code: str) -> list[tuple[int, str, str]]:
    """``count`` distinct one-hour slots on 2026-12-03 in live rooms accepting only that program
    among quota programs."""

    with app.app_context():
        rooms = [r.id for r in db.session.scalars(select(Resource).where(
            Resource.kind == "livestream_room").order_by(Resource.id))
            if [p.code for p in r.programs if p.funding == "quota"] == [program_code]]
    hours = ["10:00", "12:00", "14:00", "16:00"]
    slots = [(room, at("2026-12-03", h), at("2026-12-03", f"{int(h[:2]) + 1:02d}:00"))
             for h in hours for room in rooms]
    return slots[:count]


def _tokens(app, email, count):
    """One token per request: a shared token row would serialise the requests by itself."""
    return [_token(app, email) for _ in range(count)]


def _voucher_race(app):
    tokens = _tokens(app, CREATOR, 20)
    with app.app_context():
        code = db.session.scalar(select(Voucher.code).where(Voucher.status == "issued").limit(1))
    from app.catalog.models import Program

    with app.app_context():
        yangpu = db.session.scalar(select(Program).where(Program.code == "yangpu-livestream-voucher"))
        rooms = [r.id for r in db.session.scalars(select(Resource).where(
            Resource.kind == "livestream_room")) if yangpu in r.programs]
    hours = ["10:00", "12:00", "14:00", "16:00", "18:00"]
    slots = [(room, at("2026-12-03", h), at("2026-12-03", f"{int(h[:2]) + 1:02d}:00"))
             for h in hours for room in rooms][:20]
    assert len(slots) == 20
    results = post_concurrently(app, [
        ("/api/v1/bookings", token, {"resource_id": r, "start": s, "end": e, "voucher_code": code})
        for token, (r, s, e) in zip(tokens, slots, strict=True)])
    with app.app_context():
        using = db.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.voucher_fen > 0))
        voucher = db.session.scalar(select(Voucher).where(Voucher.code == code))
        status = voucher.status
    return results, using, status


@pytest.mark.postgres
def test_20_bookings_one_voucher_one_wins(race_app):
    results, using, status = _voucher_race(race_app)
    statuses = sorted((s, (b.get("error") or {}).get("code")) for s, b in results)
    assert statuses.count((201, None)) == 1
    assert statuses.count((422, "voucher_not_usable")) == 19
    assert using == 1 and status == "held"
    from app.finance.reconcile import reconcile

    with race_app.app_context():
        assert reconcile(db.session, "2026-12").ok


@pytest.mark.postgres
def test_without_the_guard_one_voucher_pays_many(race_app, monkeypatch):
    from sqlalchemy import update

    from app.vouchers import service

    def unguarded(session, voucher, from_status, to_status, *, actor_id, for_booking, at, note="",
                  **columns):
        session.execute(update(Voucher).where(Voucher.id == voucher.id)  # no status condition
                        .values(status=to_status, **columns)
                        .execution_options(synchronize_session=False))
        session.refresh(voucher)
        return True

    monkeypatch.setattr(service, "_transition", unguarded)
    _, using, _ = _voucher_race(race_app)
    assert using > 1  # measured: all 20


def _yangpu_venues() -> list[int]:
    from app.catalog.models import District, Venue

    return list(db.session.scalars(select(Venue.id).join(District).where(District.code == "yangpu")))


def _quota_race(app):
    from app.accounts.service import certify, require_user
    from app.catalog.programs import create_program
    from app.catalog.service import publish_version

    with app.app_context():
        create_program(db.session, None, {
            "code": "race-quota", "name_zh": "竞争额度", "funding": "quota",
            "eligibility": "certified_creator", "coverage_percent": 100,
            "tiers": [{"code": "S", "name_zh": "小", "cap_fen": CAP}],
            "resource_kinds": ["livestream_room"], "venue_ids": _yangpu_venues()})
        certify(db.session, None, require_user(db.session, HP_CREATOR), "race-quota", "S")
        db.session.commit()
        publish_version(db.session, None, "race-quota on Yangpu rooms")  # links count once published
        db.session.commit()
    tokens = _tokens(app, HP_CREATOR, 30)
    slots = _slots(app, 30, "race-quota")
    assert len(slots) == 30
    results = post_concurrently(app, [
        ("/api/v1/bookings", token, {"resource_id": r, "start": s, "end": e})
        for token, (r, s, e) in zip(tokens, slots, strict=True)])
    with app.app_context():
        total = db.session.scalar(select(func.sum(Booking.quota_fen)))  # only race-quota rooms
        from app.catalog.models import Program
        from app.quota.service import used

        program = db.session.scalar(select(Program).where(Program.code == "race-quota"))
        user = require_user(db.session, HP_CREATOR)
        held, consumed = used(db.session, user.id, program.id, 2026)
    return results, total, held + consumed


@pytest.mark.postgres
def test_30_bookings_small_cap_used_to_the_last_fen(race_app):
    results, total, ledger_used = _quota_race(race_app)
    assert [s for s, _ in results].count(201) == 30
    assert total == CAP  # used to the last fen …
    assert ledger_used == CAP  # … and never beyond
    partial = [b["price"] for _, b in results if 0 < b["price"]["quota_fen"] < b["price"]["gross_fen"]]
    assert len(partial) <= 1  # at most one booking straddles the end of the cap


@pytest.mark.postgres
def test_without_the_lock_the_cap_is_exceeded(race_app, monkeypatch):
    from app.quota import service

    original = service._find_account
    monkeypatch.setattr(service, "_find_account",
                        lambda session, user_id, program_id, year, lock: original(
                            session, user_id, program_id, year, lock=False))
    _, total, _ = _quota_race(race_app)
    assert total > CAP  # measured: about eight times the cap
