"""The booking lifecycle called directly, without HTTP: each transition and its money.

A transition that finds the booking moved on by another one refuses with ``state_changed``
and changes nothing; reschedule re-plans voucher, quota and self-pay for the new price.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.service import require_user
from app.booking import lifecycle
from app.booking.guard import StateChanged
from app.booking.models import Booking, BookingEvent
from app.booking.rules import LOCAL
from app.catalog.models import Resource
from app.core import clock
from app.core.errors import NotFound, RuleViolation
from app.extensions import db
from app.finance.reconcile import reconcile
from app.quota.models import QuotaAccount, QuotaHold
from app.quota.service import used
from app.vouchers.models import Voucher
from tests.helpers import CREATOR, HP_CREATOR, OP_FTC, OP_VJC


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL)


def _room(code: str) -> int:
    return db.session.scalar(select(Resource.id).where(Resource.code == code))


def _issued_voucher() -> str:
    return db.session.scalar(select(Voucher.code).where(Voucher.status == "issued")
                             .order_by(Voucher.id).limit(1))


def _price(booking: Booking) -> tuple[int, int, int, int]:
    db.session.refresh(booking)
    return booking.gross_fen, booking.voucher_fen, booking.quota_fen, booking.self_pay_fen


def _clean() -> None:
    report = reconcile(db.session, "2026-12")
    assert report.ok, [(v.invariant, v.object_id, v.message) for v in report.violations]


@pytest.fixture
def ctx(seeded):
    with seeded.app_context():
        yield seeded


def test_voucher_booking_shortened_and_lengthened(ctx):
    """A01 costs ¥180 an hour; the voucher's face is ¥300 and gives no change."""
    creator = require_user(db.session, CREATOR)
    code = _issued_voucher()
    booking = lifecycle.book(db.session, creator, _room("vjc-live-01"), _at(5, 10), _at(5, 12),
                             clock.now(), voucher_code=code)
    db.session.commit()
    assert _price(booking) == (36_000, 30_000, 0, 6_000)

    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 10), _at(5, 11), clock.now())
    db.session.commit()
    assert _price(booking) == (18_000, 18_000, 0, 0)  # never a negative self-pay

    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 14), _at(5, 16), clock.now())
    db.session.commit()
    assert _price(booking) == (36_000, 30_000, 0, 6_000)
    voucher = db.session.scalar(select(Voucher).where(Voucher.code == code))
    assert voucher.status == "held" and voucher.booking_id == booking.id
    _clean()


def test_quota_booking_shrinks_and_regrows_within_the_cap(ctx):
    """F01 costs ¥220 an hour, fully covered by the Huangpu quota while the cap lasts."""
    creator = require_user(db.session, HP_CREATOR)
    booking = lifecycle.book(db.session, creator, _room("ftc-live-01"), _at(5, 10), _at(5, 12),
                             clock.now())
    db.session.commit()
    assert _price(booking) == (44_000, 0, 44_000, 0)

    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 10), _at(5, 11), clock.now())
    db.session.commit()
    assert _price(booking) == (22_000, 0, 22_000, 0)
    account = db.session.scalar(select(QuotaAccount).where(QuotaAccount.user_id == creator.id))
    assert used(db.session, creator.id, account.program_id, 2026) == (22_000, 0)

    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 10), _at(5, 12), clock.now())
    db.session.commit()
    assert _price(booking) == (44_000, 0, 44_000, 0)

    # only ¥300 of the year's cap left: the hold grows to the cap, self-pay takes the rest
    account.cap_fen = 30_000
    db.session.commit()
    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 10), _at(5, 11), clock.now())
    lifecycle.reschedule(db.session, creator, booking.id, _at(5, 10), _at(5, 12), clock.now())
    db.session.commit()
    assert _price(booking) == (44_000, 0, 30_000, 14_000)
    assert used(db.session, creator.id, account.program_id, 2026) == (30_000, 0)
    assert db.session.scalar(select(func.count()).select_from(QuotaHold).where(
        QuotaHold.booking_id == booking.id, QuotaHold.status == "held")) == 1
    _clean()


def test_a_failed_move_changes_nothing(ctx):
    creator = require_user(db.session, HP_CREATOR)
    room = _room("ftc-live-01")
    booking = lifecycle.book(db.session, creator, room, _at(5, 10), _at(5, 12), clock.now())
    lifecycle.book(db.session, creator, room, _at(5, 14), _at(5, 16), clock.now())
    db.session.commit()
    with pytest.raises(Exception) as err:
        lifecycle.reschedule(db.session, creator, booking.id, _at(5, 14), _at(5, 15), clock.now())
    assert getattr(err.value, "code", None) == "slot_taken"
    db.session.rollback()
    assert _price(booking) == (44_000, 0, 44_000, 0)
    assert (booking.start_at, booking.end_at) == (_at(5, 10), _at(5, 12))
    _clean()


def test_no_reschedule_or_cancel_after_check_in(ctx, frozen_clock):
    creator = require_user(db.session, CREATOR)
    operator = require_user(db.session, OP_VJC)
    booking = lifecycle.book(db.session, creator, _room("vjc-live-01"), _at(1, 11), _at(1, 12),
                             clock.now(), voucher_code=_issued_voucher())
    db.session.commit()
    frozen_clock.set(_at(1, 10, 50))
    assert lifecycle.check_in(db.session, operator, booking.id, clock.now(),
                              method="manual").result == "ok"
    db.session.commit()
    with pytest.raises(StateChanged) as moved:
        lifecycle.reschedule(db.session, creator, booking.id, _at(1, 13), _at(1, 14), clock.now())
    assert moved.value.details == {"status": "checked_in"}
    db.session.rollback()
    with pytest.raises(StateChanged):
        lifecycle.cancel(db.session, creator, booking.id, clock.now(), accept_late=True)
    db.session.rollback()
    assert _price(booking) == (18_000, 18_000, 0, 0)
    _clean()


def test_second_cancel_changes_nothing(ctx):
    creator = require_user(db.session, CREATOR)
    booking = lifecycle.book(db.session, creator, _room("vjc-live-01"), _at(5, 10), _at(5, 11),
                             clock.now(), voucher_code=_issued_voucher())
    lifecycle.cancel(db.session, creator, booking.id, clock.now())
    db.session.commit()
    with pytest.raises(StateChanged):
        lifecycle.cancel(db.session, creator, booking.id, clock.now())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BookingEvent).where(
        BookingEvent.booking_id == booking.id, BookingEvent.kind == "cancelled")) == 1
    _clean()


def test_check_out_and_no_show_are_one_way(ctx, frozen_clock):
    creator = require_user(db.session, HP_CREATOR)
    operator = require_user(db.session, OP_FTC)
    booking = lifecycle.book(db.session, creator, _room("ftc-live-01"), _at(1, 11), _at(1, 12),
                             clock.now())
    db.session.commit()
    with pytest.raises(RuleViolation):  # not due yet
        lifecycle.mark_no_show(db.session, booking.id, clock.now())
    frozen_clock.set(_at(1, 11, 5))
    lifecycle.check_in(db.session, operator, booking.id, clock.now(), method="manual")
    db.session.commit()
    frozen_clock.set(_at(1, 11, 40))
    with pytest.raises(StateChanged):  # checked in: never a no-show
        lifecycle.mark_no_show(db.session, booking.id, clock.now())
    db.session.rollback()
    lifecycle.check_out(db.session, operator, booking.id, clock.now())
    db.session.commit()
    with pytest.raises(StateChanged):
        lifecycle.check_out(db.session, operator, booking.id, clock.now())
    db.session.rollback()
    assert lifecycle.complete_finished(db.session, _at(1, 13)) == 0
    with pytest.raises(NotFound):  # another venue's desk
        lifecycle.check_out(db.session, require_user(db.session, OP_VJC), booking.id, clock.now())
    _clean()


def test_no_show_sweep_uses_the_same_transition(ctx, frozen_clock):
    creator = require_user(db.session, CREATOR)
    code = _issued_voucher()
    booking = lifecycle.book(db.session, creator, _room("vjc-live-01"), _at(1, 11), _at(1, 12),
                             clock.now(), voucher_code=code)
    db.session.commit()
    frozen_clock.set(_at(1, 11, 31))
    assert lifecycle.mark_no_shows(db.session, clock.now()) == 1
    assert lifecycle.mark_no_shows(db.session, clock.now()) == 0
    db.session.commit()
    db.session.refresh(booking)
    assert booking.status == "no_show"
    assert db.session.scalar(select(Voucher.status).where(Voucher.code == code)) == "forfeited"
    _clean()


def test_voucher_expiry_of_a_held_voucher_moves_its_part_to_self_pay(ctx, frozen_clock):
    from app.vouchers.service import expire_due

    creator = require_user(db.session, CREATOR)
    code = _issued_voucher()
    voucher = db.session.scalar(select(Voucher).where(Voucher.code == code))
    booking = lifecycle.book(db.session, creator, _room("vjc-live-01"), _at(5, 10), _at(5, 11),
                             clock.now(), voucher_code=code)
    db.session.commit()
    voucher.valid_until = _at(3, 0).date()  # an administrator shortened the batch meanwhile
    db.session.commit()
    assert expire_due(db.session, _at(4, 0) + timedelta(hours=1)) == 1
    db.session.commit()
    assert _price(booking) == (18_000, 0, 0, 18_000)
    _clean()
