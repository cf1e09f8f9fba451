"""Fixtures: an app per test on SQLite and, where a server answers, on PostgreSQL.

PostgreSQL tests never skip in CI (``CI=true``): an unreachable server fails them there.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.core import clock
from app.extensions import db

PG_BASE_URL = os.environ.get("DATABASE_URL_TEST", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One database per test process: two runs on one server (a developer and CI, or parallel
# sessions) never drop each other's tables.
PG_SUITE_DB = f"venuebook_suite_{os.getpid()}"
PASSWORD = "demo12345"
_pg_state: dict[str, object] = {}


def pg_url(database: str) -> str:
    """The server of DATABASE_URL_TEST, with another database name."""
    base = PG_BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return re.sub(r"/[^/]*$", f"/{database}", base)


def pg_admin_url() -> str:
    return pg_url(PG_BASE_URL.rsplit("/", 1)[1])


def pg_reachable() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = create_engine(pg_admin_url())
            with engine.connect():
                pass
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as err:  # noqa: BLE001 - any failure means "not reachable"
            _pg_state["ok"] = False
            _pg_state["why"] = str(err).splitlines()[0]
    return bool(_pg_state["ok"])


def require_pg() -> None:
    if not pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {_pg_state.get('why')}")
        pytest.skip(f"no PostgreSQL server reachable at {PG_BASE_URL}: {_pg_state.get('why')}")


def fresh_pg_database(name: str) -> str:
    """Drop and create database ``name``; return its URL."""
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url(name)


def base_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
        "BACKUP_DIR": str(tmp_path / "backups"),  # never the checkout's instance/
    }


def drop_pg_database(name: str) -> None:
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _drop_suite_databases():
    yield
    if "suite_url" in _pg_state:
        drop_pg_database(PG_SUITE_DB)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    if request.param == "postgresql":
        require_pg()
    return request.param


def _make_app(backend: str, tmp_path: Path, **overrides):
    if backend == "postgresql":
        if "suite_url" not in _pg_state:
            _pg_state["suite_url"] = fresh_pg_database(PG_SUITE_DB)
            _pg_state["schema_ready"] = False
        url = _pg_state["suite_url"]
    else:
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    app = create_app({**base_config(url, tmp_path), **overrides})
    with app.app_context():
        if backend == "postgresql":
            if not _pg_state["schema_ready"]:
                db.drop_all()
                db.create_all()
                _pg_state["schema_ready"] = True
            else:
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                db.session.commit()
        else:
            db.create_all()
    return app


@pytest.fixture
def frozen_clock():
    """Time stands at 2026-12-01 10:00 Asia/Shanghai unless a test moves it."""
    fake = clock.FrozenClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    clock.set_now_source(fake)
    yield fake
    clock.set_now_source(None)


@pytest.fixture
def app(backend, tmp_path, frozen_clock):
    app = _make_app(backend, tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded(app):
    """The seed catalog and the demo accounts."""
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog

    with app.app_context():
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class ApiClient:
    """Calls the JSON API as a given demo account, with a bearer token."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}

    def token(self, email: str) -> str:
        if email not in self.tokens:
            from app.accounts.service import issue_token, require_user

            with self.app.app_context():
                self.tokens[email] = issue_token(db.session, require_user(db.session, email))
                db.session.commit()
        return self.tokens[email]

    def call(self, method: str, path: str, as_user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if as_user:
            headers["Authorization"] = f"Bearer {self.token(as_user)}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, as_user=None, **kw):
        return self.call("GET", path, as_user, **kw)

    def post(self, path, as_user=None, **kw):
        return self.call("POST", path, as_user, **kw)

    def patch(self, path, as_user=None, **kw):
        return self.call("PATCH", path, as_user, **kw)


@pytest.fixture
def api(seeded):
    return ApiClient(seeded)


@pytest.fixture
def make_pg_app(tmp_path, frozen_clock):
    """PostgreSQL apps (seeded by default) for tests that race, or break connections, there."""
    made = []

    def make(seed: bool = True, **overrides):
        from app.accounts.seed import load_demo
        from app.catalog.seed import load_catalog

        require_pg()
        app = _make_app("postgresql", tmp_path, **overrides)
        if seed:
            with app.app_context():
                load_catalog(db.session)
                load_demo(db.session)
                db.session.commit()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
