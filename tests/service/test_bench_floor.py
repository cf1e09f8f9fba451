"""The benchmark's floor (bench/floor_app.py) runs the app's own statements: when a model
changes, its figures must fail loudly instead of measuring something else."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import require_pg

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.postgres
def test_floor_books_a_slot_once_and_checks_a_booking_in_once(monkeypatch):
    require_pg()
    from bench.common import drop_database, fresh_database
    from bench.seed import seed

    name = f"venuebook_floor_{os.getpid()}"  # another run on the same server keeps its own
    url = fresh_database(name)
    try:
        data = seed(url, 300, "floor-secret", scans=3)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.syspath_prepend(str(BENCH))
        floor = importlib.import_module("floor_app")
        client = floor.app.test_client()
        creator = {"Authorization": f"Bearer {data.creator_tokens[0]}"}
        resource_id, start, end = data.slots[0]
        slot = {"resource_id": resource_id, "start": start, "end": end}

        first = client.post("/api/v1/bookings", json=slot, headers=creator)
        assert first.status_code == 201, first.get_data(as_text=True)
        again = client.post("/api/v1/bookings", json=slot, headers=creator)
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "slot_taken"
        stranger = client.post("/api/v1/bookings", json=slot,
                               headers={"Authorization": "Bearer not-a-token"})
        assert stranger.status_code == 401

        desk = {"Authorization": f"Bearer {data.operator_token}"}
        code = {"code": data.scan_codes[0], "device": "floor-test"}
        assert client.post("/api/v1/checkins", json=code, headers=desk).get_json()["result"] == "ok"
        assert (client.post("/api/v1/checkins", json=code, headers=desk).get_json()["result"]
                == "already_checked_in")

        engine = create_engine(url)
        with engine.connect() as conn:
            booked = conn.execute(text(
                "SELECT b.status, sum(l.amount_fen), count(l.id) FROM bookings b "
                "JOIN journal_entries e ON e.booking_id = b.id "
                "JOIN journal_lines l ON l.entry_id = e.id WHERE b.id = :id GROUP BY b.status"),
                {"id": first.get_json()["id"]}).one()
            checked = conn.execute(text(
                "SELECT b.status, count(c.id) FROM bookings b JOIN checkins c ON c.booking_id = b.id "
                "WHERE b.id = :id GROUP BY b.status"),
                {"id": client.post("/api/v1/checkins", json=code, headers=desk)
                 .get_json()["booking"]["id"]}).one()
        engine.dispose()
        assert tuple(booked) == ("confirmed", 0, 2)  # a balanced receivable of two lines
        assert tuple(checked) == ("checked_in", 1)
    finally:
        sys.modules.pop("floor_app", None)
        drop_database(name)
