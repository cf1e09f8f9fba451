"""What every request pays, and only that: no user is looked up for a log line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import event, insert, select, text

from app.accounts.models import User
from app.booking.models import Booking
from app.extensions import db
from tests.conftest import ApiClient
from tests.helpers import CREATOR, OP_VJC, PASSWORD, at, resource_id


def _statements(app) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    return seen


def test_public_read_with_a_token_does_not_look_the_token_up(api):
    api.get("/api/v1/resources", CREATOR)
    seen = _statements(api.app)
    assert api.get("/api/v1/resources", CREATOR).status_code == 200
    assert api.get("/healthz", CREATOR).status_code == 200
    assert seen and not any("api_tokens" in statement for statement in seen)


def test_request_log_names_the_user_a_request_loaded(api):
    records: list[dict] = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append({"path": record.path, "user_id": record.user_id})

    logger = logging.getLogger("venuebook.request")
    capture, level = Capture(logging.INFO), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        me = api.get("/api/v1/me", CREATOR)
        api.get("/api/v1/resources", CREATOR)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    user_id = me.get_json()["user"]["id"]
    assert records == [
        {"path": "/api/v1/me", "user_id": user_id},
        # a public read never needed the user: the token was not even looked up
        {"path": "/api/v1/resources", "user_id": None},
    ]


def test_signed_in_page_loads_the_user_with_roles_at_once(api):
    client = api.app.test_client()
    client.post("/login", data={"email": CREATOR, "password": PASSWORD})
    client.get("/")
    seen = _statements(api.app)
    page = client.get("/")
    assert page.status_code == 200 and 'action="/logout"' in page.get_data(as_text=True)
    # the photos of the listed resources (a signed-in page is rendered anew, with photos
    # uploaded since), then the user joined with their roles — one each; the list's version
    # number too unless it was read within the last second
    reads = [statement for statement in seen if "list_versions" not in statement]
    assert len(reads) == 2 and len(seen) <= 3, seen
    assert "resource_photos" in reads[0] and "user_roles" in reads[1]


# ---- the hot paths: booking and scanning ---------------------------------------------------

DAY, TODAY = "2026-12-02", "2026-12-01"  # the clock stands at 2026-12-01 10:00 in Shanghai


def _writes(seen: list[str]) -> list[str]:
    """The tables written, in order (INSERT INTO t / UPDATE t)."""
    out = []
    for statement in seen:
        words = statement.split()
        if words[0] == "INSERT":
            out.append(f"insert {words[2]}")
        elif words[0] == "UPDATE":
            out.append(f"update {words[1]}")
    return out


def _sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def test_a_self_pay_booking_writes_each_row_once_in_few_statements(api):
    room = resource_id(api, "vjc-live-01")
    body = {"resource_id": room, "start": at(DAY, "10:00"), "end": at(DAY, "11:00"),
            "use_quota": False}
    assert api.post("/api/v1/bookings", CREATOR, json=body).status_code == 201  # the token's use
    seen = _statements(api.app)
    body.update(start=at(DAY, "12:00"), end=at(DAY, "13:00"))
    response = api.post("/api/v1/bookings", CREATOR, json=body)
    assert response.status_code == 201, response.get_json()
    # SQLite takes its write lock with a no-op UPDATE of the room first
    lock = ["update resources"] if _sqlite(api.app) else []
    assert _writes(seen) == lock + ["insert bookings", "insert journal_entries",
                                    "insert journal_lines", "insert notifications"], seen
    # token, resource with its list, the neighbours, the four writes
    assert len(seen) == 7 + len(lock), seen


def test_a_scan_writes_each_row_once_in_few_statements(api):
    booking = api.post("/api/v1/bookings", CREATOR, json={
        "resource_id": resource_id(api, "vjc-live-01"), "start": at(TODAY, "10:00"),
        "end": at(TODAY, "11:00"), "use_quota": False}).get_json()
    api.get("/api/v1/me", OP_VJC)  # the token's first use is recorded
    seen = _statements(api.app)
    response = api.post("/api/v1/checkins", OP_VJC,
                        json={"code": booking["short_code"], "device": "desk-1"})
    assert response.status_code == 200 and response.get_json()["result"] == "ok"
    lock = ["update bookings"] if _sqlite(api.app) else []  # SQLite's write lock, as above
    assert _writes(seen) == lock + ["insert scans", "update bookings", "insert checkins",
                                    "insert booking_events"], seen
    # token, the short code, the locked booking, the desk's venues, the four writes
    assert len(seen) == 8 + len(lock), seen


@pytest.mark.postgres
def test_a_new_slot_reads_only_bookings_that_end_after_it_starts(make_pg_app):
    """With thousands of past bookings of a room and most of a year booked ahead, the look at a
    new slot's neighbours reads only those next to it, also as the prepared statement a busy
    server runs (a generic plan, planned without the statement's values)."""
    app = make_pg_app()
    api = ApiClient(app)
    room = resource_id(api, "vjc-live-01")
    with app.app_context():
        creator = db.session.scalar(select(User.id).where(User.email == CREATOR))
        first = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
        db.session.execute(insert(Booking), [
            {"resource_id": room, "creator_id": creator, "start_at": first + timedelta(hours=2 * n),
             "end_at": first + timedelta(hours=2 * n + 1),
             "blocked_until": first + timedelta(hours=2 * n + 1), "status": "completed",
             "gross_fen": 18000, "voucher_fen": 0, "quota_fen": 0, "self_pay_fen": 18000,
             "paid_fen": 18000, "created_at": first} for n in range(3000)])
        # and the room booked every evening for most of a year ahead
        evening = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
        db.session.execute(insert(Booking), [
            {"resource_id": room, "creator_id": creator, "start_at": evening + timedelta(days=n),
             "end_at": evening + timedelta(days=n, hours=1),
             "blocked_until": evening + timedelta(days=n, hours=1), "status": "confirmed",
             "gross_fen": 18000, "voucher_fen": 0, "quota_fen": 0, "self_pay_fen": 18000,
             "paid_fen": 0, "created_at": first} for n in range(300)])
        db.session.commit()
        db.session.execute(text("ANALYZE bookings"))
        db.session.commit()
    seen: list[tuple[str, dict]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "UNION ALL" in statement and "closures" in statement:
            seen.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    response = api.post("/api/v1/bookings", CREATOR, json={
        "resource_id": room, "start": at(DAY, "10:00"), "end": at(DAY, "11:00")})
    assert response.status_code == 201 and len(seen) == 1
    statement, parameters = seen[0]
    names = re.findall(r"%\((\w+)\)s", statement)
    numbered = statement
    for number, name in enumerate(dict.fromkeys(names), 1):
        numbered = numbered.replace(f"%({name})s", f"${number}")
    values = [parameters[name] for name in dict.fromkeys(names)]
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = psycopg.ClientCursor(raw.driver_connection)
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute("PREPARE neighbours AS " + numbered)
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE neighbours ("
                           + ", ".join(["%s"] * len(values)) + ")", values)
            plan = cursor.fetchone()[0]
            raw.driver_connection.rollback()
        finally:
            raw.invalidate()

    def read(node) -> int:
        own = 0
        if node.get("Relation Name") == "bookings":
            own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                   + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
        return own + sum(read(child) for child in node.get("Plans", []))

    assert read(plan[0]["Plan"]) <= 5, json.dumps(plan, indent=1)
