"""`flask doctor` and /healthz/ready on a migrated database: healthy, then each thing broken."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import text

from app import create_app
from app.audit.service import record
from app.extensions import db
from tests.conftest import base_config, drop_pg_database, fresh_pg_database, require_pg


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated(request, tmp_path, frozen_clock):
    """A database made by `flask db upgrade`, a signing key, and every job run once."""
    if request.param == "postgresql":
        require_pg()
        url = fresh_pg_database(f"venuebook_doctor_{os.getpid()}")
    else:
        url = f"sqlite:///{tmp_path / 'doctor.sqlite3'}"
    app = create_app(base_config(url, tmp_path))
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["keys", "rotate"], ["scheduler", "once"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if request.param == "postgresql":
        drop_pg_database(url.rsplit("/", 1)[1])


def _doctor(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    return result.exit_code, result.output


def _sql(app, statement: str) -> None:
    with app.app_context():
        db.session.execute(text(statement))
        db.session.commit()


def test_healthy_installation_passes(migrated):
    code, output = _doctor(migrated)
    assert code == 0, output
    for name in ("migrations", "guards", "signing_key", "scheduler", "outbox", "reconciliation"):
        assert f"[ ok ] {name}" in output
    assert migrated.test_client().get("/healthz/ready").status_code == 200


def test_a_guard_dropped_by_hand_fails_until_db_upgrade(migrated):
    postgres = migrated.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    _sql(migrated, "DROP TRIGGER audit_log_append_only ON audit_log" if postgres
         else "DROP TRIGGER audit_log_no_delete")
    code, output = _doctor(migrated)
    assert code == 1
    assert "[FAIL] guards: missing audit_log_" in output
    ready = migrated.test_client().get("/healthz/ready")
    assert ready.status_code == 503
    assert [c["name"] for c in ready.get_json()["failing"]] == ["guards"]

    assert migrated.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    code, output = _doctor(migrated)
    assert code == 0, output
    with migrated.app_context():
        record(db.session, None, "test.entry", "test", 1)
        db.session.commit()
    with pytest.raises(Exception, match="append-only"):  # the guard really guards again
        _sql(migrated, "DELETE FROM audit_log")


@pytest.mark.postgres
@pytest.mark.parametrize("migrated", ["postgresql"], indirect=True)
def test_the_exclusion_constraint_is_a_guard(migrated):
    _sql(migrated, "ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap")
    code, output = _doctor(migrated)
    assert code == 1 and "missing bookings_no_overlap" in output
    assert migrated.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    assert _doctor(migrated)[0] == 0


def test_migrations_behind_head_fail(migrated):
    assert migrated.test_cli_runner().invoke(args=["db", "downgrade"]).exit_code == 0
    code, output = _doctor(migrated)
    assert code == 1 and "[FAIL] migrations" in output and "flask db upgrade" in output


def test_a_silent_scheduler_fails(migrated, frozen_clock):
    frozen_clock.advance(timedelta(hours=1))
    code, output = _doctor(migrated)
    assert code == 1 and "[FAIL] scheduler" in output


def test_no_signing_key_fails(migrated):
    _sql(migrated, "UPDATE signing_keys SET active = false")
    code, output = _doctor(migrated)
    assert code == 1 and "[FAIL] signing_key" in output and "flask keys rotate" in output


def test_overdue_outbox_and_dirty_reconciliation_fail(migrated, frozen_clock):
    with migrated.app_context():
        db.session.execute(text(
            "INSERT INTO users (email, password_hash, display_name, phone, locale, active, "
            "session_nonce, created_at) VALUES ('x@example.cn', '!', 'x', '', 'zh_Hans_CN', "
            "true, '', :at)"), {"at": frozen_clock().replace(tzinfo=None)})
        db.session.execute(text(
            "INSERT INTO notifications (user_id, kind, dedupe_key, locale, subject, body, data, "
            "created_at, status, attempts, next_attempt_at, last_error) SELECT id, 'x', 'x', "
            "'zh_Hans_CN', 's', 'b', '{}', :at, 'pending', 0, :at, '' FROM users"),
            {"at": (frozen_clock() - timedelta(hours=3)).replace(tzinfo=None)})
        db.session.execute(text("UPDATE scheduler_heartbeats SET result = 2 WHERE job = 'reconcile'"))
        db.session.commit()
    code, output = _doctor(migrated)
    assert code == 1
    assert "[FAIL] outbox: 1 notification(s) due" in output
    assert "[FAIL] reconciliation: 2 violation(s)" in output
