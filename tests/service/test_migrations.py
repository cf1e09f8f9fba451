"""Migrations upgrade an empty database to exactly what the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from tests.conftest import base_config, drop_pg_database, fresh_pg_database, require_pg


def _upgrade_and_diff(url: str, tmp_path) -> list:
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        engine = create_engine(url)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            triggers = conn.execute(text(
                "SELECT count(*) FROM information_schema.triggers"
                if engine.dialect.name == "postgresql"
                else "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
            )).scalar()
        engine.dispose()
        db.engine.dispose()
    return diff, triggers


def test_sqlite_upgrade_matches_models(tmp_path):
    diff, triggers = _upgrade_and_diff(f"sqlite:///{tmp_path / 'migrated.sqlite3'}", tmp_path)
    assert diff == []
    assert triggers >= 4


@pytest.mark.postgres
def test_postgresql_upgrade_matches_models(tmp_path):
    require_pg()
    import os

    url = fresh_pg_database(f"venuebook_migrations_{os.getpid()}")
    diff, triggers = _upgrade_and_diff(url, tmp_path)
    assert diff == []
    assert triggers >= 2
    engine = create_engine(url)
    with engine.connect() as conn:
        kinds = conn.execute(text(
            "SELECT contype FROM pg_constraint WHERE conname = 'bookings_no_overlap'")).all()
    engine.dispose()
    drop_pg_database(url.rsplit("/", 1)[1])
    assert kinds == [("x",)]  # the exclusion constraint guarding against double booking
