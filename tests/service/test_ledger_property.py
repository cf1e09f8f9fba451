"""Property: whatever creators book and cancel, the ledger agrees with vouchers and quota.

Random sequences of bookings (with and without voucher or quota), cancellations (in time and
late) and the clock moving on. After each sequence: every invariant reconcile checks holds,
every voucher's state is what the ledger says, and the quota held in the ledger equals what
active bookings hold.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import create_app
from app.accounts.service import require_user
from app.booking import lifecycle
from app.booking.models import ACTIVE_STATUSES, Booking
from app.booking.rules import LOCAL
from app.catalog.models import Resource
from app.core import clock
from app.core.errors import AppError
from app.extensions import db
from app.finance.reconcile import reconcile
from app.ledger.models import JournalLine
from app.vouchers.models import Voucher
from tests.conftest import base_config

ROOMS = ["vjc-live-01", "vjc-live-02", "ftc-live-01", "ftc-live-02"]
CREATORS = ["yp.creator@demo.local", "hp.creator@demo.local"]
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog

    path = tmp_path_factory.mktemp("ledger") / "template.sqlite3"
    app = create_app(base_config(f"sqlite:///{path}", path.parent))
    with app.app_context():
        db.create_all()
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
        db.engine.dispose()
    return path


book_op = st.tuples(st.just("book"), st.integers(0, 1), st.integers(0, len(ROOMS) - 1),
                    st.integers(0, 6), st.integers(9, 20), st.integers(1, 3), st.booleans(),
                    st.booleans())
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 30), st.booleans())
advance_op = st.tuples(st.just("advance"), st.integers(1, 30))
operations = st.lists(st.one_of(book_op, book_op, cancel_op, advance_op), min_size=1, max_size=25)


def _apply(ops, room_ids, fake_clock):
    made: list[int] = []
    for op in ops:
        if op[0] == "advance":
            fake_clock.advance(timedelta(hours=op[1]))
            continue
        if op[0] == "cancel":
            if not made:
                continue
            booking = db.session.get(Booking, made[op[1] % len(made)])
            try:
                lifecycle.cancel(db.session, booking.creator, booking.id, clock.now(),
                                 accept_late=op[2])
                db.session.commit()
            except AppError:
                db.session.rollback()
            continue
        _, who, room, day, hour, hours, with_voucher, with_quota = op
        user = require_user(db.session, CREATORS[who])
        start = datetime(2026, 12, 2 + day, hour, tzinfo=LOCAL)
        code = None
        if with_voucher:
            code = db.session.scalar(select(Voucher.code).where(Voucher.status == "issued").limit(1))
        try:
            booking = lifecycle.book(
                db.session, user, room_ids[room], start, start + timedelta(hours=hours), clock.now(),
                voucher_code=code, use_quota=with_quota)
            db.session.commit()
            made.append(booking.id)
        except AppError:
            db.session.rollback()
    return made


def _check():
    for month in ("2026-12", "2027-01"):
        report = reconcile(db.session, month)
        assert report.ok, [v.message for v in report.violations]
    # every voucher held is held by exactly one active booking that uses it
    for voucher in db.session.scalars(select(Voucher).where(Voucher.status == "held")):
        holder = db.session.get(Booking, voucher.booking_id)
        assert holder.status in ACTIVE_STATUSES and holder.voucher_fen > 0
    # quota held in the ledger == quota of active bookings
    held = db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount_fen), 0)).where(
        JournalLine.account == "quota_held"))
    active_quota = db.session.scalar(select(func.coalesce(func.sum(Booking.quota_fen), 0)).where(
        Booking.status.in_(ACTIVE_STATUSES)))
    assert held == active_quota
    # voucher value is conserved: everything issued sits in exactly one state account
    issued_total = db.session.scalar(select(func.sum(Voucher.face_value_fen)))
    budget = db.session.scalar(select(func.sum(JournalLine.amount_fen)).where(
        JournalLine.account == "program_budget"))
    assert budget == -issued_total


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_ledger_always_matches_vouchers_and_quota(template_db, tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("run") / "db.sqlite3"
    shutil.copy(template_db, path)
    app = create_app(base_config(f"sqlite:///{path}", path.parent))
    fake = clock.FrozenClock(START)
    clock.set_now_source(fake)
    try:
        with app.app_context():
            room_ids = [db.session.scalar(select(Resource.id).where(Resource.code == c)) for c in ROOMS]
            _apply(ops, room_ids, fake)
            _check()
            db.session.remove()
            db.engine.dispose()
    finally:
        clock.set_now_source(None)
