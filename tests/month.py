"""A month of real activity, made only through the services: the restore drill and the
privacy tests run against it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app.accounts.models import Enterprise
from app.accounts.service import require_user
from app.booking import lifecycle
from app.booking.rules import LOCAL
from app.catalog.models import Resource
from app.core import clock
from app.extensions import db
from app.finance import service as finance
from app.finance.models import Statement
from app.vouchers.service import create_batch, issue_vouchers
from tests.helpers import CREATOR, FINANCE, HP_CREATOR, OP_FTC, OP_VJC

MONTH = "2026-12"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL)


def _room(code: str) -> Resource:
    return db.session.scalar(select(Resource).where(Resource.code == code))


def build_month(app, frozen_clock) -> dict:
    """Vouchers issued, redeemed and forfeited, quota consumed, a cancellation, check-ins and an
    issued statement in December 2026. Returns the ids the tests look at."""
    with app.app_context():
        creator = require_user(db.session, CREATOR)
        hp_creator = require_user(db.session, HP_CREATOR)
        op_vjc = require_user(db.session, OP_VJC)
        op_ftc = require_user(db.session, OP_FTC)
        finance_user = require_user(db.session, FINANCE)
        enterprise = db.session.scalar(select(Enterprise))
        batch = create_batch(db.session, finance_user.id, program_code="yangpu-livestream-voucher",
                             name="2026年12月演练批次", face_value_fen=30000, total_count=10,
                             total_budget_fen=300000, valid_from=date(2026, 12, 1),
                             valid_until=date(2027, 1, 31))
        codes = [v.code for v in issue_vouchers(db.session, finance_user.id, batch, enterprise, 3)]
        db.session.commit()
        room = _room("vjc-live-01")
        ftc = _room("ftc-live-01")
        redeemed = lifecycle.book(db.session, creator, room.id, _at(1, 11), _at(1, 12),
                                  clock.now(), voucher_code=codes[0])
        forfeited = lifecycle.book(db.session, creator, room.id, _at(2, 14), _at(2, 15),
                                   clock.now(), voucher_code=codes[1])
        cancelled = lifecycle.book(db.session, creator, room.id, _at(3, 10), _at(3, 11),
                                   clock.now(), voucher_code=codes[2])
        quota = lifecycle.book(db.session, hp_creator, ftc.id, _at(1, 11), _at(1, 12), clock.now())
        db.session.commit()
        lifecycle.cancel(db.session, creator, cancelled.id, clock.now())
        db.session.commit()
        frozen_clock.set(_at(1, 10, 50))
        assert lifecycle.check_in(db.session, op_vjc, redeemed.id, clock.now(),
                                  method="manual").result == "ok"
        assert lifecycle.check_in(db.session, op_ftc, quota.id, clock.now(),
                                  method="manual").result == "ok"
        db.session.commit()
        frozen_clock.set(_at(2, 15, 0))
        assert lifecycle.mark_no_shows(db.session, clock.now()) == 1
        lifecycle.complete_finished(db.session, clock.now())
        db.session.commit()
        frozen_clock.set(datetime(2027, 1, 2, 10, tzinfo=LOCAL))
        statement = finance.draft(db.session, finance_user.id, room.venue_id, MONTH)
        finance.issue(db.session, finance_user.id, statement)
        other = finance.draft(db.session, finance_user.id, ftc.venue_id, MONTH)
        db.session.commit()
        assert statement.line_count == 1 and other.line_count == 1
        ids = {"creator": creator.id, "hp_creator": hp_creator.id, "statement": statement.id,
               "draft": other.id, "bookings": [redeemed.id, forfeited.id, cancelled.id, quota.id]}
        assert db.session.get(Statement, statement.id).status == "issued"
        db.session.remove()
    return ids
