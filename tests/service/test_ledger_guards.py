"""The ledger refuses what would make it untrustworthy, in the service and in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.core.errors import AppError
from app.extensions import db
from app.ledger.models import JournalEntry
from app.ledger.service import Line, post


def test_service_refuses_unbalanced_and_unknown_accounts(app):
    with app.app_context():
        with pytest.raises(AppError) as err:
            post(db.session, "test", [Line("vouchers_held", 100), Line("vouchers_issued", -99)])
        assert err.value.code == "unbalanced_entry"
        with pytest.raises(AppError):
            post(db.session, "test", [Line("cash", 100), Line("vouchers_issued", -100)])
        entry_id = post(db.session, "test", [Line("vouchers_held", 100), Line("vouchers_issued", -100)])
        entry = db.session.get(JournalEntry, entry_id)
        assert entry.period == "2026-12" and sorted(line.amount_fen for line in entry.lines) == [-100, 100]


@pytest.fixture
def pg_app(make_pg_app):
    return make_pg_app(seed=False)


@pytest.mark.postgres
def test_postgresql_refuses_an_unbalanced_entry_at_commit(pg_app):
    with pg_app.app_context():
        db.session.execute(text(
            "INSERT INTO journal_entries (posted_at, period, kind, memo) "
            "VALUES (now(), '2026-12', 'raw', '')"))
        db.session.execute(text(
            "INSERT INTO journal_lines (entry_id, account, amount_fen) "
            "VALUES ((SELECT max(id) FROM journal_entries), 'vouchers_held', 100)"))
        with pytest.raises(DatabaseError, match="does not balance"):
            db.session.commit()
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM journal_lines")).scalar() == 0
