"""The restore drill: a month of data → backup → restore into a fresh database → the same
reconciliation, the same row counts, the issued statement's SHA-256 still verifying."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table

from app import create_app
from app.extensions import db
from app.finance.models import Statement
from app.finance.reconcile import reconcile
from app.jobs import run_job
from tests.conftest import _make_app, base_config, drop_pg_database, fresh_pg_database
from tests.month import MONTH, build_month


def _snapshot(url: str) -> dict:
    """Row count of every table, the month's reconciliation and the issued statement's hash."""
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {name: conn.scalar(select(func.count()).select_from(table(name)))
                  for name in inspect(conn).get_table_names()}
    engine.dispose()
    app = create_app(base_config(url, Path("/nonexistent")))
    with app.app_context():
        report = reconcile(db.session, MONTH).as_dict()
        issued = db.session.scalar(select(Statement).where(Statement.status == "issued"))
        verifies = hashlib.sha256(issued.issued_file.encode("utf-8")).hexdigest() == issued.file_sha256
        db.session.remove()
        db.engine.dispose()
    return {"counts": counts, "reconciliation": report, "statement_verifies": verifies}


def _fresh_target(backend: str, tmp_path: Path) -> str:
    if backend == "postgresql":
        return fresh_pg_database(f"venuebook_restore_{os.getpid()}")
    return f"sqlite:///{tmp_path / 'restored.sqlite3'}"


def test_restore_drill(seeded, backend, tmp_path, frozen_clock):
    build_month(seeded, frozen_clock)
    source_url = seeded.config["SQLALCHEMY_DATABASE_URI"]
    before = _snapshot(source_url)
    assert before["reconciliation"]["ok"], before["reconciliation"]["violations"]
    assert before["counts"]["bookings"] == 4 and before["statement_verifies"]

    made = seeded.test_cli_runner().invoke(args=["backup", "create", "--to", str(tmp_path / "bk")])
    assert made.exit_code == 0, made.output
    backup = Path(made.output.strip().splitlines()[-1])
    assert backup.is_file() and Path(f"{backup}.sha256").is_file()

    target_url = _fresh_target(backend, tmp_path)
    target = create_app(base_config(target_url, tmp_path))
    try:
        restored = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
        assert restored.exit_code == 0, restored.output
        after = _snapshot(target_url)
    finally:
        with target.app_context():
            db.engine.dispose()
        if backend == "postgresql":
            drop_pg_database(target_url.rsplit("/", 1)[1])
    assert after == before


def test_restore_refuses_a_non_empty_database(seeded, tmp_path):
    runner = seeded.test_cli_runner()
    made = runner.invoke(args=["backup", "create", "--to", str(tmp_path / "bk")])
    backup = made.output.strip().splitlines()[-1]
    refused = runner.invoke(args=["backup", "restore", backup])
    assert refused.exit_code != 0
    assert "not empty" in refused.output


def test_restore_refuses_a_damaged_file(seeded, backend, tmp_path):
    made = seeded.test_cli_runner().invoke(args=["backup", "create", "--to", str(tmp_path / "bk")])
    backup = Path(made.output.strip().splitlines()[-1])
    with backup.open("r+b") as handle:  # one byte changed somewhere in the middle
        handle.seek(backup.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    target_url = _fresh_target(backend, tmp_path)
    target = create_app(base_config(target_url, tmp_path))
    try:
        refused = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
        with target.app_context():
            empty = inspect(db.engine).get_table_names() == []
            db.engine.dispose()
    finally:
        if backend == "postgresql":
            drop_pg_database(target_url.rsplit("/", 1)[1])
    assert refused.exit_code != 0
    assert "SHA-256" in refused.output
    assert empty


def test_nightly_sqlite_backup_keeps_the_newest(tmp_path, frozen_clock):
    keep = 2
    app = _make_app("sqlite", tmp_path, BACKUP_KEEP=keep)
    directory = Path(app.config["BACKUP_DIR"])
    for _ in range(4):
        assert run_job(app, "backup") == 1
        assert run_job(app, "backup") == 0  # a second run the same night makes none
        for path in directory.iterdir():  # as if the backups were made a day apart
            os.utime(path, (path.stat().st_mtime - 86400,) * 2)
        frozen_clock.advance(timedelta(days=1))
    kept = sorted(p.name for p in directory.iterdir())
    assert len([n for n in kept if n.endswith(".sqlite3")]) == keep
    assert len([n for n in kept if n.endswith(".sha256")]) == keep
    with app.app_context():
        db.engine.dispose()
