"""Front-desk devices that were offline sync the same code at the same moment (PostgreSQL, a
connection per request): exactly one check-in and one redemption, the other device is told
`duplicate`, and the month reconciles."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.service import issue_token, require_user
from app.booking.lifecycle import book
from app.booking.models import Booking
from app.booking.rules import LOCAL
from app.catalog.models import Resource
from app.checkin import desk, service, sync
from app.checkin.models import CheckIn, DeviceScan
from app.core.clock import now as clock_now
from app.extensions import db
from app.ledger.models import JournalEntry
from app.vouchers.models import Voucher
from tests.helpers import CREATOR, OP_VJC, at, post_concurrently
from tests.service.test_transition_races import _at_booking_time, _book, _local, _round_day, race


@pytest.fixture
def pg_app(make_pg_app):
    return make_pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 8, "max_overflow": 0})


def _booked_code(app) -> str:
    with app.app_context():
        creator = require_user(db.session, CREATOR)
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
        voucher = db.session.scalar(select(Voucher.code).where(Voucher.status == "issued").limit(1))
        booking = book(db.session, creator, room, datetime(2026, 12, 1, 10, tzinfo=LOCAL),
                       datetime(2026, 12, 1, 12, tzinfo=LOCAL), clock_now(), voucher_code=voucher)
        code = service.code_for(db.session, booking, app.config["SECRET_KEY"])
        db.session.commit()
        return code


def _tokens(app, count: int) -> list[str]:
    with app.app_context():
        tokens = [issue_token(db.session, require_user(db.session, OP_VJC)) for _ in range(count)]
        db.session.commit()
    return tokens


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _reconciles(app) -> bool:
    result = app.test_cli_runner().invoke(args=["finance", "reconcile", "--month", "2026-12"])
    return result.exit_code == 0


@pytest.mark.postgres
def test_two_devices_sync_the_same_code_at_once(pg_app, frozen_clock):
    code = _booked_code(pg_app)
    frozen_clock.advance(timedelta(minutes=20))  # both desks were offline; back at 10:20
    desk_a, desk_b = _tokens(pg_app, 2)
    results = post_concurrently(pg_app, [
        ("/api/v1/checkins/sync", token, {"device_id": device, "scans": [
            {"scan_id": "1", "code": code, "scanned_at": at("2026-12-01", "10:05")}]})
        for device, token in (("phone-a", desk_a), ("phone-b", desk_b))])
    assert [status for status, _ in results] == [200, 200], results
    answers = sorted(body["results"][0]["result"] for _, body in results)
    assert answers == ["duplicate", "ok"]
    assert _count(pg_app, CheckIn) == 1
    assert _count(pg_app, JournalEntry, JournalEntry.kind == "voucher.redeem") == 1
    assert _count(pg_app, DeviceScan) == 2
    assert _reconciles(pg_app)


@pytest.mark.postgres
def test_one_scan_resent_at_once_is_answered_once(pg_app, frozen_clock):
    """The device lost the answer and resent while the first request was still running."""
    code = _booked_code(pg_app)
    frozen_clock.advance(timedelta(minutes=20))
    tokens = _tokens(pg_app, 4)
    body = {"device_id": "phone-a", "scans": [
        {"scan_id": "s-1", "code": code, "scanned_at": at("2026-12-01", "10:05")}]}
    results = post_concurrently(pg_app, [("/api/v1/checkins/sync", t, body) for t in tokens])
    assert [status for status, _ in results] == [200] * 4, results
    assert {body["results"][0]["result"] for _, body in results} == {"ok"}
    assert _count(pg_app, CheckIn) == 1 and _count(pg_app, DeviceScan) == 1
    assert _count(pg_app, JournalEntry, JournalEntry.kind == "voucher.redeem") == 1
    assert _reconciles(pg_app)


@pytest.mark.postgres
def test_an_early_no_show_against_an_offline_scan_arriving(pg_app, frozen_clock):
    """The creator called to cancel and the desk records a no-show while another desk's phone,
    back online, syncs its scan of the same booking: one wins; a lost scan is a conflict."""
    outcomes = set()
    # four rounds: two per creator, so no creator reaches the three strikes that suspend them
    for index in range(4):
        _at_booking_time(frozen_clock)
        booking_id, operator = _book(pg_app, index, "10:30", "11:30")
        with pg_app.app_context():
            code = service.code_for(db.session, db.session.get(Booking, booking_id),
                                    pg_app.config["SECRET_KEY"])
            db.session.commit()
        frozen_clock.set(_local(_round_day(index), "10:40"))
        scan = sync.DeviceScanIn(f"r{index}", code, _local(_round_day(index), "10:35"))
        marked, synced = race(
            pg_app,
            lambda s, b=booking_id, o=operator: desk.no_show_now(
                s, require_user(s, o), b, clock_now()).status,
            lambda s, d=scan, o=operator: sync.sync_scan(
                s, require_user(s, o), "phone-x", d, clock_now()).result)
        with pg_app.app_context():
            status = db.session.get(Booking, booking_id).status
            checkins = db.session.scalar(select(func.count()).select_from(CheckIn).where(
                CheckIn.booking_id == booking_id))
        if status == "no_show":
            assert (marked, synced, checkins) == ("no_show", "conflict", 0)
        else:
            assert (status, marked, synced, checkins) == ("checked_in", "state_changed", "ok", 1)
        outcomes.add(status)
    assert _reconciles(pg_app)
    assert outcomes  # at least one round ran; which side wins is up to the scheduler
