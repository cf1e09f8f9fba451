"""The floor under a booking and a scan on this machine: the app's SQL for them, nothing else.

A plain Flask app (no extensions, no hooks) whose two routes do the database work that a
self-paid booking (``POST /api/v1/bookings``) and the scan of a booking's code
(``POST /api/v1/checkins``) cannot do without, with psycopg directly (no ORM, no SQLAlchemy at
request time). A booking: the account behind the bearer token with its roles; the resource with
its venue, district and the current list's number; closures and active bookings near the slot;
the booking row (``INSERT … RETURNING id``: the exclusion constraint refuses an overlap); the
receivable's journal entry and its two lines; the confirmation in the outbox; the commit. A
scan: the account; the verifying keys (the code's signature is checked as the app does); the
booking locked, read with what its answer describes; the operator's venues; the scan; the
booking's new status; the check-in and its event; the commit.

Each statement is the app's own, compiled once from its SQLAlchemy statements, and the server
prepares each after its fifth use as it does for the app. Left out is everything in Python
around those statements: the request hooks (session, CSRF, rate limit, request log, security
headers), marshmallow, the ORM and its unit of work, the booking rules and the price, the
rendering of the confirmation, a voucher's or quota's redemption at the door. It books and
checks in nothing a creator could rely on: it is what the machine allows the same database work
in Python, the ceiling any code of these two requests could reach here.
``bench/booking_bench.py --floor`` serves it under the same gunicorn settings and the same wrk
script as the app's own figures; ``tests/service/test_bench_floor.py`` keeps it in step with
the models.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import configure_mappers

from app import models as _every_model  # noqa: F401  every model mapped, as in the app
from app.accounts.service import _token_digest, _token_user
from app.booking.guard import _with_booking
from app.booking.lifecycle import _CHECKED_IN, _INSERT_CHECKIN, _INSERT_EVENT
from app.booking.models import Booking
from app.booking.service import _INSERT_BOOKING, _obstacles_statement
from app.catalog.service import _resource_and_list
from app.checkin import codes, short_codes
from app.checkin.keys import _VERIFYING, _public_key
from app.checkin.rules import decide
from app.checkin.scans import _INSERT_SCAN
from app.core.auth import _VENUE_IDS
from app.core.locks import _statements
from app.ledger.service import _INSERT_ENTRY, _INSERT_LINES
from app.notify.service import _INSERT_NOTE

configure_mappers()
_DIALECT = postgresql.psycopg.dialect()
_BOOKING_KEYS = ["resource_id", "creator_id", "start_at", "end_at", "blocked_until", "status",
                 "gross_fen", "voucher_fen", "quota_fen", "self_pay_fen", "paid_fen", "program_id",
                 "voucher_id", "created_at", "cancelled_at", "late_cancel", "checked_in_at",
                 "checked_out_at", "short_code", "list_version"]
_ENTRY_KEYS = ["posted_at", "period", "kind", "memo", "actor_id", "booking_id", "voucher_id",
               "program_id", "venue_id", "corrects_id"]
_LINE_KEYS = ["entry_id", "account", "amount_fen", "program_id", "venue_id", "voucher_id",
              "booking_id", "user_id", "year"]
_NOTE_KEYS = ["user_id", "kind", "dedupe_key", "locale", "subject", "body", "data", "created_at",
              "status", "attempts", "next_attempt_at"]


def _compiled(statement, keys=None) -> tuple[str, dict]:
    """The SQL psycopg receives from the app for ``statement``, with its fixed parameters (the
    app's fixed lists, such as the active statuses, are written into the SQL as it does)."""
    compiled = statement.compile(dialect=_DIALECT, column_keys=keys)
    sql, fixed = str(compiled), {}
    for name, bind in compiled.binds.items():
        marker = f"__[POSTCOMPILE_{name}]"
        if marker in sql:
            values = bind.value if isinstance(bind.value, list | tuple) else [bind.value]
            sql = sql.replace(marker, ", ".join(f"'{value}'" for value in values))
        elif bind.value is not None and f"%({name})s" in sql:
            fixed[name] = bind.value
    return sql, fixed


TOKEN, RESOURCE, OBSTACLES = _compiled(_token_user()), _compiled(_resource_and_list()), \
    _compiled(_obstacles_statement(False, "postgresql"))
BOOKING, ENTRY = _compiled(_INSERT_BOOKING, _BOOKING_KEYS), _compiled(_INSERT_ENTRY, _ENTRY_KEYS)
LINES, NOTE = _compiled(_INSERT_LINES, _LINE_KEYS), _compiled(_INSERT_NOTE, _NOTE_KEYS)
KEYS, VENUES = _compiled(_VERIFYING), _compiled(_VENUE_IDS)
LOCK = _compiled(_statements(Booking, "postgresql", _with_booking())[1])
SCAN = _compiled(_INSERT_SCAN, ["at", "raw_code", "operator_id", "device", "method", "result",
                                "reason", "booking_id"])
CHECKED_IN = _compiled(_CHECKED_IN, ["booking_id", "at"])
CHECKIN = _compiled(_INSERT_CHECKIN, ["booking_id", "at", "operator_id", "device", "method",
                                      "scan_id"])
EVENT = _compiled(_INSERT_EVENT, ["booking_id", "at", "actor_id", "kind", "data"])

app = Flask(__name__)
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["DATABASE_URL"].replace(
            "postgresql+psycopg://", "postgresql://"))
    return conn


_POSITIONS: dict[str, dict[str, int]] = {}


def _positions(cur, statement: str) -> dict[str, int]:
    """Where each column name first appears in ``statement``'s rows: read from the first
    answer's description, then kept (the floor does no work per request it need not)."""
    found = _POSITIONS.get(statement)
    if found is None:
        found = {}
        for position, column in enumerate(cur.description):
            found.setdefault(column.name, position)
        _POSITIONS[statement] = found
    return found


def _run(cur, statement: tuple[str, dict], **params):
    sql, fixed = statement
    return cur.execute(sql, {**fixed, **params})


class Refused(Exception):
    def __init__(self, status: int, code: str):
        super().__init__(code)
        self.status, self.code = status, code


def _in_transaction(work):
    """``work(cursor, account id, body, now)`` in one transaction, committed when it answers;
    a refusal (or a lost race for the slot) rolls back and answers in the error format."""
    conn = _connection()
    try:
        with conn.cursor() as cur:
            token = request.headers.get("Authorization", "")[len("Bearer "):]
            user = _run(cur, TOKEN, digest=_token_digest(token)).fetchone()
            if user is None:
                raise Refused(401, "invalid_token")
            answer = work(cur, user[0], request.get_json(), datetime.now().astimezone())
        conn.commit()
        return answer
    except (Refused, psycopg.errors.ExclusionViolation) as err:
        conn.rollback()
        refused = err if isinstance(err, Refused) else Refused(409, "slot_taken")
        return jsonify({"error": {"code": refused.code}}), refused.status
    except Exception:
        conn.rollback()
        raise


@app.post("/api/v1/bookings")
def book():
    return _in_transaction(_book)


def _book(cur, user_id: int, body: dict, now: datetime):
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    resource = _run(cur, RESOURCE, resource_id=body["resource_id"]).fetchone()
    list_number = resource[_positions(cur, "resource")["anon_1"]]
    if _run(cur, OBSTACLES, resource_id=resource[0], start=start, end=end).fetchall():
        raise Refused(409, "slot_taken")
    gross = 10_000
    booking = {"resource_id": resource[0], "creator_id": user_id, "start_at": start,
               "end_at": end, "blocked_until": end + timedelta(minutes=15),
               "status": "confirmed", "gross_fen": gross, "voucher_fen": 0, "quota_fen": 0,
               "self_pay_fen": gross, "paid_fen": 0, "program_id": None, "voucher_id": None,
               "created_at": now, "cancelled_at": None, "late_cancel": False,
               "checked_in_at": None, "checked_out_at": None,
               "short_code": short_codes.new(), "list_version": list_number}
    booking_id = _run(cur, BOOKING, **booking).fetchone()[0]
    entry_id = _run(cur, ENTRY, posted_at=now, period=now.strftime("%Y-%m"), kind="selfpay.due",
                    memo="", actor_id=user_id, booking_id=booking_id, voucher_id=None,
                    program_id=None, venue_id=resource[2], corrects_id=None).fetchone()[0]
    sql, fixed = LINES
    cur.executemany(sql, [{**fixed, "entry_id": entry_id, "account": account,
                           "amount_fen": amount, "program_id": None, "venue_id": resource[2],
                           "voucher_id": None, "booking_id": booking_id, "user_id": user_id,
                           "year": None}
                          for account, amount in (("selfpay_receivable", gross),
                                                  ("selfpay_income", -gross))])
    _run(cur, NOTE, user_id=user_id, kind="booking_confirmed",
         dedupe_key=f"booking_confirmed:{booking_id}", locale="zh_Hans_CN", subject="预约成功",
         body=f"预约 {booking_id} 已确认", data=Jsonb({"booking_id": booking_id}),
         created_at=now, status="pending", attempts=0, next_attempt_at=now, last_error="")
    return jsonify({"id": booking_id, "resource_id": booking["resource_id"],
                    "start": start.isoformat(), "end": end.isoformat(), "status": "confirmed",
                    "short_code": booking["short_code"],
                    "price": {"gross_fen": gross, "self_pay_fen": gross}}), 201


@app.post("/api/v1/checkins")
def scan():
    """The SQL of a scan of a self-paid booking: the account, the verifying keys, the booking
    locked with what its answer describes, the operator's venues, the scan, the booking's new
    status, the check-in and its event; the code's signature is verified as the app does."""
    return _in_transaction(_scan)


def _scan(cur, operator_id: int, body: dict, now: datetime):
    keys = {key_id: _public_key(encoded) for key_id, encoded in _run(cur, KEYS)}
    claims = codes.verify(body["code"], keys, int(now.timestamp()))
    booking = _run(cur, LOCK, pk=claims.booking_id).fetchone()
    column = _positions(cur, "lock")
    venues = {row[0] for row in _run(cur, VENUES, user_id=operator_id)}
    result = decide(booking[column["status"]], booking[column["venue_id"]] in venues, now,
                    booking[column["start_at"]], booking[column["end_at"]], 30)
    device = body.get("device", "")
    scan_id = _run(cur, SCAN, at=now, raw_code=body["code"][:600], operator_id=operator_id,
                   device=device, method="scan", result=result, reason="",
                   booking_id=claims.booking_id).fetchone()[0]
    if result == "ok":
        _run(cur, CHECKED_IN, booking_id=claims.booking_id, at=now)
        _run(cur, CHECKIN, booking_id=claims.booking_id, at=now, operator_id=operator_id,
             device=device, method="scan", scan_id=scan_id)
        _run(cur, EVENT, booking_id=claims.booking_id, at=now, actor_id=operator_id,
             kind="checked_in", data=Jsonb({"method": "scan", "device": device}))
    return jsonify({"result": result, "scan_id": scan_id, "booking": {
        "id": claims.booking_id, "status": "checked_in" if result == "ok" else "confirmed"}})


@app.get("/bench/bare")
def bare():
    return jsonify({"status": "ok"})
