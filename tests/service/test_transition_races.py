"""Two transitions of one booking (or statement) at the same instant, on PostgreSQL.

Each test runs 20 rounds. In every round two threads, each with its own connection, wait at a
barrier and then call the lifecycle (or statement) function a route, page or job calls. Exactly
one wins; the other changes nothing and says why (``state_changed``, a replayed answer, or the
scan result that the booking now deserves). After all rounds every invariant reconciles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.accounts.models import Enterprise
from app.accounts.service import require_user
from app.audit.models import AuditEntry
from app.booking import lifecycle
from app.booking.models import Booking, BookingEvent
from app.booking.rules import LOCAL
from app.booking.strikes import Strike
from app.catalog.models import Resource, Venue
from app.catalog.service import publish_version
from app.checkin.models import CheckIn
from app.core import clock
from app.core.errors import AppError
from app.extensions import db
from app.finance import service as statements
from app.finance.reconcile import reconcile
from app.ledger.models import JournalEntry
from app.vouchers.models import Voucher, VoucherBatch
from app.vouchers.service import issue_vouchers
from tests.helpers import CREATOR, FINANCE, HP_CREATOR, OP_FTC, OP_VJC

ROUNDS = 20


@pytest.fixture
def race_app(make_pg_app):
    app = make_pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 6, "max_overflow": 0})
    with app.app_context():
        batch = db.session.scalar(select(VoucherBatch))
        issue_vouchers(db.session, None, batch, db.session.scalar(select(Enterprise)), 20)
        db.session.commit()
    return app


def race(app, first: Callable, second: Callable) -> tuple:
    """Run both at once, each in its own app context (own session and connection) and commit.

    Returns each side's result, or the ``AppError`` code it raised (its work rolled back).
    """
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(index: int, work: Callable) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[index] = work(db.session)
                db.session.commit()
            except AppError as err:
                db.session.rollback()
                results[index] = err.code
            except Exception as err:  # noqa: BLE001 - the test reports what went wrong
                db.session.rollback()
                results[index] = f"crash: {err!r}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(isinstance(r, str) and r.startswith("crash") for r in results), results
    return tuple(results)


def _round_day(index: int) -> date:
    return date(2026, 12, 3) + timedelta(days=index)  # past the 24 h free-cancel deadline


def _local(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)


def _book(app, index: int, start: str, end: str) -> tuple[int, str]:
    """Even rounds a voucher booking at V聚场, odd rounds a quota booking at 外滩FTC."""
    with app.app_context():
        voucher_round = index % 2 == 0
        creator = require_user(db.session, CREATOR if voucher_round else HP_CREATOR)
        room = db.session.scalar(select(Resource.id).where(
            Resource.code == ("vjc-live-01" if voucher_round else "ftc-live-01")))
        code = db.session.scalar(select(Voucher.code).where(Voucher.status == "issued")
                                 .order_by(Voucher.id).limit(1)) if voucher_round else None
        day = _round_day(index)
        booking = lifecycle.book(db.session, creator, room, _local(day, start), _local(day, end),
                                 clock.now(), voucher_code=code)
        assert booking.voucher_fen > 0 or booking.quota_fen > 0
        db.session.commit()
        return booking.id, OP_VJC if voucher_round else OP_FTC


def _user(email: str):
    return require_user(db.session, email)


def _state(app, booking_id: int) -> tuple[str, int, dict]:
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        checkins = db.session.scalar(select(func.count()).select_from(CheckIn).where(
            CheckIn.booking_id == booking_id))
        events = dict(db.session.execute(
            select(BookingEvent.kind, func.count()).where(BookingEvent.booking_id == booking_id)
            .group_by(BookingEvent.kind)).all())
        return booking.status, checkins, events


def _assert_reconciles(app) -> None:
    with app.app_context():
        for month in ("2026-12", "2027-01"):
            report = reconcile(db.session, month)
            assert report.ok, [(v.invariant, v.object_id, v.message) for v in report.violations]


def _at_booking_time(frozen_clock) -> None:
    frozen_clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))


def _late_cancel_round(app, frozen_clock, index: int) -> tuple[int, str, str]:
    """A booking at 10:30, and at 10:20 (in the check-in window, past the free deadline) its
    creator cancels while the desk checks it in: (booking, cancel's answer, check-in's)."""
    _at_booking_time(frozen_clock)
    booking_id, operator = _book(app, index, "10:30", "11:30")
    frozen_clock.set(_local(_round_day(index), "10:20"))
    cancelled, scanned = race(
        app,
        lambda s, e=CREATOR if index % 2 == 0 else HP_CREATOR:
            lifecycle.cancel(s, _user(e), booking_id, clock.now(), accept_late=True).status,
        lambda s: lifecycle.check_in(s, _user(operator), booking_id, clock.now(),
                                     method="manual").result)
    return booking_id, cancelled, scanned


@pytest.mark.postgres
def test_late_cancel_against_check_in(race_app, frozen_clock):
    for index in range(ROUNDS):
        booking_id, cancelled, scanned = _late_cancel_round(race_app, frozen_clock, index)
        status, checkins, events = _state(race_app, booking_id)
        if cancelled == "cancelled":
            assert scanned == "cancelled" and status == "cancelled" and checkins == 0
        else:
            assert cancelled == "state_changed" and scanned == "ok"
            assert status == "checked_in" and checkins == 1 and "cancelled" not in events
    _assert_reconciles(race_app)


@pytest.mark.postgres
def test_reschedule_against_check_in(race_app, frozen_clock):
    with race_app.app_context():  # a deadline shorter than the check-in window
        for room in db.session.scalars(select(Resource).where(
                Resource.code.in_(("vjc-live-01", "ftc-live-01")))):
            room.cancel_deadline_hours = 0
        publish_version(db.session, None, "moves allowed until the start")  # rules count once published
        db.session.commit()
    for index in range(ROUNDS):
        _at_booking_time(frozen_clock)
        booking_id, operator = _book(race_app, index, "10:30", "11:30")
        day = _round_day(index)
        frozen_clock.set(_local(day, "10:20"))
        moved, scanned = race(
            race_app,
            lambda s, b=booking_id, e=CREATOR if index % 2 == 0 else HP_CREATOR, d=day:
                lifecycle.reschedule(s, _user(e), b, _local(d, "14:00"), _local(d, "15:00"),
                                     clock.now()).status,
            lambda s, b=booking_id, o=operator:
                lifecycle.check_in(s, _user(o), b, clock.now(), method="manual").result)
        status, checkins, events = _state(race_app, booking_id)
        if moved == "confirmed":  # moved first: the desk now sees a booking for 14:00
            assert scanned == "too_early" and status == "confirmed" and checkins == 0
        else:
            assert moved == "state_changed" and scanned == "ok"
            assert status == "checked_in" and "rescheduled" not in events
    _assert_reconciles(race_app)


@pytest.mark.postgres
def test_cancel_against_cancel(race_app, frozen_clock):
    for index in range(ROUNDS):
        _at_booking_time(frozen_clock)
        booking_id, _ = _book(race_app, index, "10:00", "11:00")
        email = CREATOR if index % 2 == 0 else HP_CREATOR
        results = race(race_app,
                       *[lambda s, b=booking_id, e=email:
                         lifecycle.cancel(s, _user(e), b, clock.now()).status] * 2)
        assert sorted(results) == ["cancelled", "state_changed"]
        status, _, events = _state(race_app, booking_id)
        assert status == "cancelled" and events.get("cancelled") == 1
    _assert_reconciles(race_app)


@pytest.mark.postgres
def test_cancel_against_reschedule(race_app, frozen_clock):
    """The creator cancels while a second tab moves the booking: either the move is refused,
    or it happens first and the cancellation then applies to the moved booking."""
    for index in range(ROUNDS):
        _at_booking_time(frozen_clock)
        booking_id, _ = _book(race_app, index, "10:00", "11:00")
        email = CREATOR if index % 2 == 0 else HP_CREATOR
        day = _round_day(index)
        cancelled, moved = race(
            race_app,
            lambda s, b=booking_id, e=email: lifecycle.cancel(s, _user(e), b, clock.now()).status,
            lambda s, b=booking_id, e=email, d=day:
                lifecycle.reschedule(s, _user(e), b, _local(d, "14:00"), _local(d, "16:00"),
                                     clock.now()).status)
        status, _, events = _state(race_app, booking_id)
        assert cancelled == "cancelled" and status == "cancelled"
        assert moved in ("confirmed", "state_changed")
        assert events.get("cancelled") == 1
        assert events.get("rescheduled", 0) == (1 if moved == "confirmed" else 0)
    _assert_reconciles(race_app)


@pytest.mark.postgres
def test_no_show_job_against_check_in(race_app, frozen_clock):
    for index in range(ROUNDS):
        _at_booking_time(frozen_clock)
        booking_id, operator = _book(race_app, index, "10:00", "11:00")
        frozen_clock.set(_local(_round_day(index), "10:30"))  # a no-show now, still in the window
        marked, scanned = race(
            race_app,
            lambda s: lifecycle.mark_no_shows(s, clock.now()),
            lambda s, b=booking_id, o=operator:
                lifecycle.check_in(s, _user(o), b, clock.now(), method="manual").result)
        status, checkins, _ = _state(race_app, booking_id)
        with race_app.app_context():  # strikes would suspend the creators after three rounds
            db.session.execute(delete(Strike))
            db.session.commit()
        if marked == 1:
            assert scanned == "cancelled" and status == "no_show" and checkins == 0
        else:
            assert marked == 0 and scanned == "ok" and status == "checked_in" and checkins == 1
    _assert_reconciles(race_app)


def _issued_statement_round(app, frozen_clock, index: int, issue: bool) -> int:
    """A quota booking checked in on the 1st of a month, and that month's draft statement."""
    first = date(2027, 1, 1) + timedelta(days=31 * index)
    first = first.replace(day=1)
    frozen_clock.set(_local(first, "09:00"))
    with app.app_context():
        creator, operator = _user(HP_CREATOR), _user(OP_FTC)
        room = db.session.scalar(select(Resource.id).where(Resource.code == "ftc-live-01"))
        booking = lifecycle.book(db.session, creator, room, _local(first, "11:00"),
                                 _local(first, "12:00"), clock.now())
        frozen_clock.set(_local(first, "10:50"))
        assert lifecycle.check_in(db.session, operator, booking.id, clock.now(),
                                  method="manual").result == "ok"
        db.session.commit()
        frozen_clock.set(_local((first + timedelta(days=32)).replace(day=2), "09:00"))
        venue_id = db.session.scalar(select(Venue.id).where(Venue.code == "bund-ftc"))
        statement = statements.draft(db.session, None, venue_id, first.strftime("%Y-%m"))
        assert statement.line_count == 1
        if issue:
            statements.issue(db.session, _user(FINANCE).id, statement)
        db.session.commit()
        return statement.id


def _audit_count(app, action: str, statement_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.object_id == str(statement_id)))


@pytest.mark.postgres
def test_issue_against_issue(race_app, frozen_clock):
    for index in range(ROUNDS):
        statement_id = _issued_statement_round(race_app, frozen_clock, index, issue=False)
        results = race(race_app, *[
            lambda s, i=statement_id: statements.issue(
                s, _user(FINANCE).id, statements.get(s, i)).file_sha256] * 2)
        assert results[0] == results[1] and len(results[0]) == 64  # one file, both see it
        assert _audit_count(race_app, "statement.issue", statement_id) == 1


@pytest.mark.postgres
def test_settle_against_settle(race_app, frozen_clock):
    for index in range(ROUNDS):
        statement_id = _issued_statement_round(race_app, frozen_clock, index, issue=True)
        results = race(race_app, *[
            lambda s, i=statement_id, ref=ref: statements.settle(
                s, _user(FINANCE).id, statements.get(s, i), ref, clock.now().date()).status
            for ref in ("BANK-A", "BANK-B")])
        assert sorted(results) == ["already_settled", "settled"]
        assert _audit_count(race_app, "statement.settle", statement_id) == 1
        with race_app.app_context():
            assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.kind == "quota.settle",
                JournalEntry.booking_id.in_(select(Booking.id)))) == index + 1
    with race_app.app_context():
        report = reconcile(db.session, "2027-01")
        assert report.ok, report.violations


@pytest.mark.postgres
def test_without_the_row_lock_a_late_cancel_and_a_check_in_both_win(race_app, frozen_clock,
                                                                    monkeypatch):
    """The guard removed (the booking read without its row lock): the race sells the room
    twice — cancelled and checked in, with the voucher or quota paid to the venue."""
    from app.booking import guard

    monkeypatch.setattr(guard, "lock_row", lambda session, model, pk, *options: session.scalar(
        select(model).where(model.id == pk).options(*options)
        .execution_options(populate_existing=True)))
    both_won = 0
    for index in range(ROUNDS):
        _, cancelled, scanned = _late_cancel_round(race_app, frozen_clock, index)
        both_won += cancelled == "cancelled" and scanned == "ok"
    assert both_won > 0
    with race_app.app_context():
        assert not reconcile(db.session, "2026-12").ok  # and reconciliation sees it


@pytest.mark.postgres
def test_two_desks_collect_the_same_self_pay(race_app, frozen_clock):
    """Two front-desk devices record the whole self-pay at once: one payment, one overpaid."""
    from app.payments import service as payments

    with race_app.app_context():
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-02"))
    for index in range(ROUNDS):
        _at_booking_time(frozen_clock)
        with race_app.app_context():
            day = _round_day(index)
            booking = lifecycle.book(db.session, _user(CREATOR), room, _local(day, "10:00"),
                                     _local(day, "11:00"), clock.now(), use_quota=False)
            booking_id, due = booking.id, booking.self_pay_fen
            db.session.commit()
        results = race(race_app, *[
            lambda s, b=booking_id, m=method, fen=due: payments.record_payment(
                s, _user(OP_VJC), b, method=m, amount_fen=fen, at=clock.now()).amount_fen
            for method in ("cash", "wechat")])
        assert sorted(results, key=str) == sorted([due, "overpaid"], key=str)
        with race_app.app_context():
            assert db.session.get(Booking, booking_id).paid_fen == due
    _assert_reconciles(race_app)
