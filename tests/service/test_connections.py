"""Pooled connections are not pinged per request, yet a dropped connection costs no request.

- A connection the server closed (restart, pg_terminate_backend) is replaced at checkout,
  without a round trip.
- One that dies unnoticed fails its first statement: a read is then answered from a fresh
  connection, a write answers 500 once and the next request works (the pool was invalidated).
- /healthz is one statement outside any transaction: one round trip.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, select, text

from app.catalog.models import Resource
from app.core import db as core_db
from app.extensions import db
from tests.conftest import pg_admin_url
from tests.helpers import CREATOR, at


def _statements(app):
    """Collect (statement, isolation level) of every statement the app sends."""
    seen: list[tuple[str, str | None]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, conn.get_execution_options().get("isolation_level")))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    return seen


def test_healthz_is_one_statement_outside_a_transaction(app):
    client = app.test_client()
    client.get("/healthz")
    seen = _statements(app)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert seen == [("SELECT 1", "AUTOCOMMIT")]


def test_no_connection_is_pinged(api, monkeypatch):
    pings = []
    with api.app.app_context():
        dialect = type(db.engine.dialect)
    monkeypatch.setattr(dialect, "do_ping", lambda self, conn: pings.append(conn) or True)
    for path in ("/healthz", "/api/v1/resources", "/api/v1/me"):
        assert api.get(path, CREATOR).status_code == 200
    assert pings == []


def _drop_app_connections(app) -> None:
    """Terminate every server session of the app's database, as a restart would."""
    with app.app_context():
        name = db.engine.url.database
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            deadline = time.time() + 20
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n"),
                               {"n": name}).scalar() and time.time() < deadline:
                time.sleep(0.05)
    finally:
        admin.dispose()


def _booking(client, token: str, room: int, hour: str):
    return client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}, json={
        "resource_id": room, "start": at("2026-12-03", hour),
        "end": at("2026-12-03", f"{int(hour[:2]) + 1:02d}:00")})


def _room_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))


def _token(app) -> str:
    from app.accounts.service import issue_token, require_user

    with app.app_context():
        token = issue_token(db.session, require_user(db.session, CREATOR))
        db.session.commit()
        return token


@pytest.mark.postgres
def test_connection_closed_by_the_server_is_replaced_without_an_error(make_pg_app):
    app = make_pg_app()
    token, room = _token(app), _room_id(app)
    client = app.test_client()
    assert client.get("/api/v1/resources").status_code == 200  # the pool holds connections
    _drop_app_connections(app)
    assert client.get("/api/v1/resources").status_code == 200
    _drop_app_connections(app)
    assert _booking(client, token, room, "10:00").status_code == 201
    _drop_app_connections(app)
    assert client.get("/healthz").status_code == 200


@pytest.mark.postgres
def test_connection_lost_unnoticed_is_read_again_or_fails_one_write(make_pg_app, monkeypatch):
    app = make_pg_app()
    token, room = _token(app), _room_id(app)
    client = app.test_client()
    assert client.get("/api/v1/resources").status_code == 200
    # the checkout check misses it: the first statement on the connection finds out
    monkeypatch.setattr(core_db, "connection_lost", lambda dbapi_connection: False)
    _drop_app_connections(app)
    assert client.get("/api/v1/resources").status_code == 200  # read again on a new connection
    _drop_app_connections(app)
    assert client.get(f"/api/v1/resources/{room}/availability?days=1").status_code == 200
    _drop_app_connections(app)
    failed = _booking(client, token, room, "10:00")
    assert failed.status_code == 500  # a write is not repeated behind the client's back
    assert _booking(client, token, room, "10:00").status_code == 201  # the pool was invalidated
