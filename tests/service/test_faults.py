"""Faults leave nothing half written, and a retry with the same Idempotency-Key gets the
original answer (PostgreSQL).

- The database connection drops in the middle of a booking's transaction.
- The gunicorn worker serving a booking is killed while the booking waits inside its
  transaction (blocked on a voucher row another connection holds).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from app.booking.models import Booking
from app.extensions import db
from app.ledger.models import JournalEntry
from app.vouchers.models import Voucher
from tests.conftest import drop_pg_database, fresh_pg_database, require_pg
from tests.helpers import CREATOR, HP_CREATOR, at


def _counts(app) -> dict:
    with app.app_context():
        return {
            "bookings": db.session.scalar(select(func.count()).select_from(Booking)),
            "entries": db.session.scalar(select(func.count()).select_from(JournalEntry)),
            "held": db.session.scalar(select(func.count()).select_from(Voucher).where(
                Voucher.status == "held")),
        }


@pytest.fixture
def pg_seeded(make_pg_app):
    return make_pg_app()


@pytest.mark.postgres
def test_connection_dropped_mid_transaction(pg_seeded, monkeypatch):
    from app.accounts.service import issue_token, require_user
    from app.catalog.models import Resource
    from app.quota import service as quota

    with pg_seeded.app_context():
        token = issue_token(db.session, require_user(db.session, HP_CREATOR))
        room = db.session.scalar(select(Resource.id).where(Resource.code == "ftc-live-01"))
        db.session.commit()
    before = _counts(pg_seeded)
    real_hold = quota.hold

    def connection_dies(session, *args, **kwargs):
        # the booking row is written; now the server loses this connection
        session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return real_hold(session, *args, **kwargs)

    monkeypatch.setattr(quota, "hold", connection_dies)
    client = pg_seeded.test_client()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-after-drop"}
    body = {"resource_id": room, "start": at("2026-12-02", "10:00"), "end": at("2026-12-02", "11:00")}
    failed = client.post("/api/v1/bookings", json=body, headers=headers)
    assert failed.status_code == 500
    assert failed.get_json()["error"]["code"] == "internal_error"
    assert _counts(pg_seeded) == before  # no booking, no ledger entry, no hold

    monkeypatch.setattr(quota, "hold", real_hold)
    first = client.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/bookings", json=body, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert _counts(pg_seeded)["bookings"] == 1


@pytest.mark.postgres
def test_worker_killed_mid_request(tmp_path):
    require_pg()
    from bench.common import gunicorn, request

    url = fresh_pg_database(f"venuebook_faults_{os.getpid()}")
    secret = "fault-test"
    app = _make_app_for(url, tmp_path, secret)
    with app.app_context():
        from app.accounts.service import issue_token, require_user
        from app.catalog.models import Resource

        token = issue_token(db.session, require_user(db.session, CREATOR))
        voucher = db.session.scalar(select(Voucher).where(Voucher.status == "issued").limit(1))
        code, voucher_id = voucher.code, voucher.id
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
        db.session.commit()
    before = _counts(app)
    engine = create_engine(url)
    start, end = _near_slot()  # the server runs on the real clock
    body = {"resource_id": room, "voucher_code": code, "start": start, "end": end}
    try:
        with gunicorn(url, workers=1, threads=2, extra_env={"SECRET_KEY": secret}) as server:
            blocker = engine.connect()
            blocker.execute(text("SELECT id FROM vouchers WHERE id = :i FOR UPDATE"), {"i": voucher_id})
            outcome: dict = {}

            def send():
                try:
                    outcome["status"] = request(server.port, "POST", "/api/v1/bookings", body, token)[0]
                except Exception as err:  # noqa: BLE001 - the worker dies under us
                    outcome["error"] = type(err).__name__

            thread = threading.Thread(target=send)
            thread.start()
            _wait_until_blocked(engine)
            worker = _worker_pid(server.process.pid)
            os.kill(worker, signal.SIGKILL)  # mid-request, inside the open transaction
            thread.join(timeout=30)
            blocker.rollback()
            blocker.close()
            assert "status" not in outcome or outcome["status"] >= 500
            assert _counts(app) == before  # nothing half written
            _wait_for_worker(server.port)
            headers_key = "killed-worker-retry"
            first = _post(server.port, body, token, headers_key)
            second = _post(server.port, body, token, headers_key)
            assert first[0] == 201 and second == first
            assert _counts(app)["bookings"] == 1 and _counts(app)["held"] == 1
    finally:
        engine.dispose()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_pg_database(url.rsplit("/", 1)[1])


def _make_app_for(url, tmp_path, secret):
    from app.accounts.seed import load_demo
    from app.catalog.seed import load_catalog
    from tests.conftest import base_config

    app = _create(base_config(url, tmp_path) | {"SECRET_KEY": secret})
    with app.app_context():
        db.create_all()
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
    return app


def _create(config):
    from app import create_app

    return create_app(config)


def _near_slot() -> tuple[str, str]:
    """The day after tomorrow, 10:00–11:00 in Shanghai, by the real clock."""
    from datetime import datetime, timedelta

    from app.booking.rules import LOCAL

    day = (datetime.now(LOCAL) + timedelta(days=2)).date()
    return f"{day.isoformat()}T10:00:00+08:00", f"{day.isoformat()}T11:00:00+08:00"


def _wait_until_blocked(engine, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    with engine.connect() as conn:
        while time.time() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                return
            time.sleep(0.1)
    raise AssertionError("the booking never reached the voucher lock")


def _worker_pid(master: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    assert out, "no gunicorn worker"
    return int(out[0])


def _wait_for_worker(port: int, seconds: float = 30) -> None:
    from bench.common import request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("gunicorn did not bring a worker back")


def _post(port, body, token, key):
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/bookings", body=json.dumps(body),
                  headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                           "Idempotency-Key": key})
    response = conn.getresponse()
    result = (response.status, json.loads(response.read()))
    conn.close()
    return result
