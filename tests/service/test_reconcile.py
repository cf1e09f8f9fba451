"""`flask finance reconcile` names each planted violation and exits 1; clean data exits 0."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.ledger.models import JournalEntry, JournalLine
from app.vouchers.models import Voucher
from tests.helpers import CREATOR, HP_CREATOR, book

MONTH = "2026-12"


@pytest.fixture
def booked(api):
    """A voucher booking and a quota booking, made the normal way."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    assert book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00", voucher_code=code).status_code == 201
    assert book(api, "ftc-live-01", "2026-12-03", "10:00", "11:00", HP_CREATOR).status_code == 201
    return api


def _reconcile(app):
    result = app.test_cli_runner().invoke(args=["finance", "reconcile", "--month", MONTH])
    return result.exit_code, result.output


def _plant(app, *statements, bypass_triggers=False):
    with app.app_context():
        if bypass_triggers and db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET session_replication_role = replica"))
        for statement, params in statements:
            db.session.execute(text(statement), params)
        db.session.commit()


def _entry(app, kind, lines, voucher_id=None):
    """Insert a journal entry with raw SQL, bypassing the service's balance check."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET session_replication_role = replica"))
        entry = JournalEntry(posted_at=datetime(2026, 12, 3, 3, tzinfo=UTC), period=MONTH, kind=kind,
                             voucher_id=voucher_id)
        db.session.add(entry)
        db.session.flush()
        for account, amount, dims in lines:
            db.session.add(JournalLine(entry_id=entry.id, account=account, amount_fen=amount, **dims))
        db.session.commit()


def test_clean_data_passes(booked):
    code, output = _reconcile(booked.app)
    assert code == 0, output
    assert "all invariants hold" in output


def test_unbalanced_entry_is_named(booked):
    _entry(booked.app, "planted.unbalanced", [("vouchers_held", 500, {})])
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "[FAIL] 4." in output and "planted.unbalanced: debits and credits differ by 500 fen" in output


def test_voucher_state_not_matching_ledger_is_named(booked):
    with booked.app.app_context():
        voucher = db.session.scalar(select(Voucher).where(Voucher.status == "issued"))
        code_text = voucher.code
    _plant(booked.app, ("UPDATE vouchers SET status = 'expired' WHERE code = :c", {"c": code_text}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert f"voucher {code_text}: status is expired, the ledger says issued" in output


def test_quota_over_cap_is_named(booked):
    with booked.app.app_context():
        user_id, program_id = db.session.execute(text(
            "SELECT user_id, program_id FROM quota_accounts")).one()
    _entry(booked.app, "planted.overdraw", [
        ("quota_held", 40_000_000, {"user_id": user_id, "program_id": program_id, "year": 2026}),
        ("quota_commitment", -40_000_000, {"user_id": user_id, "program_id": program_id, "year": 2026}),
    ])
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "[FAIL] 2." in output and "exceeds the cap 30000000 fen" in output


def test_double_redemption_is_named(booked):
    with booked.app.app_context():
        voucher = db.session.scalar(select(Voucher).where(Voucher.status == "held"))
        vid, vcode, face = voucher.id, voucher.code, voucher.face_value_fen
    for _ in range(2):
        _entry(booked.app, "voucher.redeem", [
            ("vouchers_redeemed", face, {"voucher_id": vid}),
            ("vouchers_held", -face, {"voucher_id": vid}),
        ], voucher_id=vid)
    code, output = _reconcile(booked.app)
    assert code == 1
    assert f"voucher {vcode}: redeemed 2 times" in output


PLANT_OVERLAP = (
    "UPDATE bookings SET start_at = (SELECT start_at FROM bookings WHERE id = 1), "
    "end_at = (SELECT end_at FROM bookings WHERE id = 1), "
    "blocked_until = (SELECT blocked_until FROM bookings WHERE id = 1), "
    "resource_id = (SELECT resource_id FROM bookings WHERE id = 1) WHERE id = 2"
)


def test_overlap_is_named_or_refused(booked):
    """SQLite has no exclusion constraint: reconcile finds the overlap. PostgreSQL refuses it."""
    if booked.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):
            _plant(booked.app, (PLANT_OVERLAP, {}))
        return
    _plant(booked.app, (PLANT_OVERLAP, {}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "bookings 1 and 2 of resource" in output


def test_bad_month_is_refused(api):
    result = api.app.test_cli_runner().invoke(args=["finance", "reconcile", "--month", "2026-13"])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_redemption_after_last_valid_day_is_named(booked, frozen_clock):
    frozen_clock.set(datetime(2026, 12, 3, 2, 5, tzinfo=UTC))  # the booking's morning
    with booked.app.app_context():
        voucher = db.session.scalar(select(Voucher).where(Voucher.status == "held"))
        code_text, booking_id = voucher.code, voucher.booking_id
    result = booked.post("/api/v1/checkins", "admin@demo.local", json={"booking_id": booking_id})
    assert result.get_json()["result"] == "ok"
    _plant(booked.app, ("UPDATE vouchers SET valid_until = '2026-11-30' WHERE code = :c",
                        {"c": code_text}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert f"voucher {code_text}: redeemed" in output and "after its last valid day 2026-11-30" in output


def _checked_in_voucher_booking(api, frozen_clock) -> int:
    """A voucher booking today at 11:00, checked in at the desk at 10:50."""
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-02", "2026-12-01", "11:00", "12:00", voucher_code=code).get_json()
    frozen_clock.set(datetime(2026, 12, 1, 2, 50, tzinfo=UTC))
    answer = api.post("/api/v1/checkins", "operator.vjc@demo.local", json={"booking_id": booking["id"]})
    assert answer.get_json()["result"] == "ok"
    return booking["id"]


def test_a_cancelled_booking_that_was_checked_in_is_named(booked, frozen_clock):
    """What the late-cancel race once left behind: cancelled, yet checked in and redeemed."""
    booking_id = _checked_in_voucher_booking(booked, frozen_clock)
    _plant(booked.app, ("UPDATE bookings SET status = 'cancelled', late_cancel = :t, "
                        "cancelled_at = checked_in_at WHERE id = :id", {"id": booking_id, "t": True}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "[FAIL] 7." in output and f"booking {booking_id}: cancelled but checked in" in output
    assert f"booking {booking_id}: cancelled but its voucher" in output
    assert "[FAIL] 9." in output and f"booking {booking_id} is cancelled" in output


def test_a_released_voucher_on_an_active_booking_is_named(booked):
    with booked.app.app_context():
        voucher = db.session.scalar(select(Voucher).where(Voucher.status == "held"))
        code_text, booking_id = voucher.code, voucher.booking_id
    _plant(booked.app, ("UPDATE vouchers SET status = 'issued', booking_id = NULL WHERE code = :c",
                        {"c": code_text}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert f"booking {booking_id}: confirmed with voucher {code_text} issued" in output
    assert f"booking {booking_id}: voucher part" in output  # invariant 8 sees it too


def test_a_quota_part_without_its_hold_is_named(booked):
    with booked.app.app_context():
        booking_id, quota_fen = db.session.execute(text(
            "SELECT id, quota_fen FROM bookings WHERE quota_fen > 0")).one()
    _plant(booked.app, ("UPDATE bookings SET quota_fen = 0, self_pay_fen = self_pay_fen + quota_fen "
                        "WHERE id = :id", {"id": booking_id}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "[FAIL] 8." in output
    assert f"booking {booking_id}: quota part 0 fen, its holds add up to {quota_fen} fen" in output


def test_a_booking_moved_after_its_check_in_is_named(booked, frozen_clock):
    """What the reschedule race once left behind: the checked-in booking moved elsewhere."""
    booking_id = _checked_in_voucher_booking(booked, frozen_clock)
    with booked.app.app_context():
        checkin_id = db.session.scalar(text("SELECT id FROM checkins WHERE booking_id = :id"),
                                       {"id": booking_id})
    _plant(booked.app, (
        "UPDATE bookings SET start_at = :s, end_at = :e, blocked_until = :b WHERE id = :id",
        {"id": booking_id, "s": datetime(2026, 12, 4, 6), "e": datetime(2026, 12, 4, 7),
         "b": datetime(2026, 12, 4, 7, 15)}))
    code, output = _reconcile(booked.app)
    assert code == 1
    assert "[FAIL] 9." in output
    assert f"checkin {checkin_id}: scanned 2026-12-01T10:50:00+08:00 outside booking {booking_id}" in output
