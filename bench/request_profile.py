"""Where one request's time goes, endpoint by endpoint, on PostgreSQL.

    .venv/bin/python bench/request_profile.py                      # print the figures
    .venv/bin/python bench/request_profile.py --record --label after
    .venv/bin/python bench/request_profile.py --app-dir /tmp/main --label before --record

The app runs in this process behind Flask's test client with production logging (JSON lines at
INFO, written to /dev/null) and rate limiting on. For each endpoint it counts, from libpq's own
protocol trace, the round trips (ReadyForQuery messages), the statements, the transactions and
the commits of one request, lists that request's statements, and over ``--repeat`` requests
measures CPU per request in this process and in the PostgreSQL backends (/proc/<pid>/stat), and
splits a cProfile of the same requests by area (driver and waiting on PostgreSQL, SQLAlchemy,
marshmallow, templates, logging, ...). ``--app-dir`` profiles another checkout of the app (for
example ``git archive main``) with the same tool and data.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (area, path fragments of the functions whose own time counts for it), first match wins
AREAS = [
    ("psycopg, waiting on PostgreSQL", ("/psycopg",)),
    ("SQLAlchemy ORM", ("/sqlalchemy/orm/",)),
    ("SQLAlchemy Core", ("/sqlalchemy/",)),
    ("marshmallow", ("/marshmallow/",)),
    ("templates", ("/jinja2/", "/markupsafe/")),
    ("Babel", ("/babel/", "/flask_babel/")),
    ("Flask-Login", ("/flask_login/",)),
    ("Flask-Limiter", ("/flask_limiter/", "/limits/")),
    ("CSRF, signing", ("/flask_wtf/", "/wtforms/", "/itsdangerous/")),
    ("logging", ("/logging/", "/pythonjsonlogger/")),
    ("JSON", ("/json/",)),
    ("cryptography", ("/cryptography/",)),
    ("Werkzeug", ("/werkzeug/",)),
    ("Flask, Flask-SQLAlchemy", ("/flask/", "/flask_sqlalchemy/")),
    ("app", ("/app/",)),
]


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: object = None


@dataclass
class Result:
    endpoint: Endpoint
    status: int
    round_trips: int
    statements: list[str]
    transactions: int
    commits: int
    web_ms: float
    pg_ms: float
    areas: list[tuple[str, float]]


class ProtocolTrace:
    """libpq's protocol trace of the pooled connections, on only while one request runs."""

    def __init__(self, engine):
        from sqlalchemy import event

        handle, name = tempfile.mkstemp(prefix="venuebook-trace-")
        os.close(handle)
        self.path = Path(name)
        self.connections: list = []
        self.pids: set[int] = set()
        self.tracing = False
        self.sql: list[str] = []
        event.listen(engine, "connect", self._connected)
        event.listen(engine, "before_cursor_execute", self._executing)

    def _executing(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.tracing:
            self.sql.append(" ".join(statement.split()))

    def _connected(self, dbapi_connection, record) -> None:
        self.connections.append(dbapi_connection)
        self.pids.add(dbapi_connection.info.backend_pid)
        if self.tracing:
            self._trace(dbapi_connection)

    def _trace(self, conn) -> None:
        import psycopg

        conn.pgconn.trace(self._stream.fileno())
        conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def __enter__(self):
        self._stream = open(self.path, "w")  # noqa: SIM115 - closed in __exit__
        self.sql = []
        self.tracing = True
        for conn in self.connections:
            if not conn.closed:
                self._trace(conn)
        return self

    def __exit__(self, *exc) -> None:
        self.tracing = False
        for conn in self.connections:
            if not conn.closed:
                conn.pgconn.untrace()  # flushes libpq's stream
        self._stream.close()

    def messages(self) -> list[tuple[str, str, str]]:
        """(direction F/B, message type, text) of the last traced request."""
        out: list[list[str]] = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t", 3)
            if len(parts) >= 3 and parts[0] in ("F", "B"):
                out.append([parts[0], parts[2], parts[3] if len(parts) > 3 else ""])
            elif out:  # a statement's text goes on over several lines
                out[-1][2] += "\n" + line
        return [(d, kind, body) for d, kind, body in out]

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def backend_cpu_seconds(pids: set[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def read_trace(messages: list[tuple[str, str, str]], sql: list[str]) -> tuple[int, list[str], int, int]:
    """(round trips, statements, transactions, commits) of one request.

    Round trips, transactions and commits come from the protocol; the statements' text from
    SQLAlchemy (a prepared statement is sent by name only), the connection ping from the protocol.
    """
    round_trips = sum(1 for _, kind, _ in messages if kind == "ReadyForQuery")
    queries = [body.strip().strip('"').strip().rstrip(";").upper()
               for direction, kind, body in messages if direction == "F" and kind == "Query"]
    pings = ["; (connection ping, pool_pre_ping)"] * queries.count("")
    # "BEGIN ISOLATION LEVEL ..." once a connection's isolation level was set back explicitly
    begins = sum(1 for query in queries if query.split(" ", 1)[0] == "BEGIN")
    return round_trips, pings + sql, begins, queries.count("COMMIT")


def by_area(profile: cProfile.Profile, requests: int) -> list[tuple[str, float]]:
    """Milliseconds per request of the profile's own time, by area, largest first."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    totals: Counter = Counter()
    for (filename, _, function), (_, _, own, _, _) in stats.items():
        where = filename if filename != "~" else function
        area = next((name for name, parts in AREAS if any(p in where for p in parts)), None)
        if area is None and "psycopg" in function:
            area = "psycopg, waiting on PostgreSQL"
        totals[area or "other (stdlib, test client)"] += own
    return [(name, seconds * 1000 / requests) for name, seconds in totals.most_common()]


def build_app(secret: str, url: str):
    import logging

    from flask import jsonify

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "LOG_JSON": True,
                      "LOG_LEVEL": "INFO", "RATELIMIT_STORAGE_URI": "memory://"})
    # the bare route the benchmarks serve too (bench/wsgi_bench.py): every hook, no work
    app.add_url_rule("/bench/bare", "bench_bare", lambda: jsonify({"status": "ok"}))
    # production logging, written nowhere
    for handler in logging.getLogger("venuebook").handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    with app.app_context():
        engine = db.engine
    return app, engine


def endpoints(data) -> tuple[list[Endpoint], dict]:
    auth = {"Authorization": f"Bearer {data.creator_tokens[0]}"}
    desk = {"Authorization": f"Bearer {data.operator_token}"}
    rid = data.listed_ids[0]
    plain = [
        Endpoint("bare route (GET /bench/bare)", "GET", "/bench/bare"),
        Endpoint("GET /healthz", "GET", "/healthz"),
        Endpoint("GET /api/v1/resources", "GET", "/api/v1/resources"),
        Endpoint("GET /api/v1/resources?district=yangpu", "GET", "/api/v1/resources?district=yangpu"),
        Endpoint(f"GET /api/v1/resources/{rid}", "GET", f"/api/v1/resources/{rid}"),
        Endpoint(f"GET /api/v1/resources/{rid}/availability (14 days)", "GET",
                 f"/api/v1/resources/{rid}/availability?days=14"),
        Endpoint("GET / (list page)", "GET", "/"),
        Endpoint(f"GET /resources/{rid} (page)", "GET", f"/resources/{rid}"),
        Endpoint("GET /api/v1/resources/export?format=csv", "GET",
                 "/api/v1/resources/export?format=csv"),
        Endpoint("GET /api/v1/resources, signed in (token)", "GET", "/api/v1/resources", auth),
    ]
    plain_slots = iter([s for s in data.slots if s[0] not in data.quota_ids])
    quota_slots = iter([s for s in data.slots if s[0] in data.quota_ids])
    codes = {kind: iter([c for c, k in zip(data.scan_codes, data.scan_funding, strict=True)
                         if k == kind]) for kind in ("self", "voucher", "quota")}
    creators = itertools.cycle(data.creator_tokens[1:])

    def booking(name: str, slots) -> Endpoint:
        return Endpoint(name, "POST", "/api/v1/bookings", {"Authorization": f"Bearer {next(creators)}"},
                        dict(zip(("resource_id", "start", "end"), next(slots), strict=True)))

    feeds = {
        "POST /api/v1/bookings (self-pay)": lambda: booking(
            "POST /api/v1/bookings (self-pay)", plain_slots),
        "POST /api/v1/bookings (self-pay, room with a quota program)": lambda: booking(
            "POST /api/v1/bookings (self-pay, room with a quota program)", quota_slots),
        **{f"POST /api/v1/checkins (scan, {label})": lambda kind=kind, label=label: Endpoint(
            f"POST /api/v1/checkins (scan, {label})", "POST", "/api/v1/checkins", desk,
            {"code": next(codes[kind]), "device": "profile"})
           for kind, label in (("self", "self-paid booking"), ("voucher", "voucher"),
                               ("quota", "quota"))},
    }
    return plain, feeds


def run(client, endpoint: Endpoint) -> int:
    return client.open(endpoint.path, method=endpoint.method, headers=endpoint.headers,
                       json=endpoint.body).status_code


def measure(client, trace: ProtocolTrace, make, repeat: int) -> Result:
    # warm: compiled statements, caches, and statements the server prepared (psycopg prepares a
    # statement on its 5th use on a connection; the pool hands out its connections in turn)
    for _ in range(12):
        run(client, make())
    one = make()
    with trace:
        status = run(client, one)
    round_trips, statements, transactions, commits = read_trace(trace.messages(), trace.sql)
    calls = [make() for _ in range(repeat)]
    pg_before = backend_cpu_seconds(trace.pids)
    cpu_before = time.process_time()
    for endpoint in calls[: repeat // 2]:
        run(client, endpoint)
    web_ms = (time.process_time() - cpu_before) * 1000 / (repeat // 2)
    profile = cProfile.Profile()
    profile.enable()
    for endpoint in calls[repeat // 2:]:
        run(client, endpoint)
    profile.disable()
    pg_ms = (backend_cpu_seconds(trace.pids) - pg_before) * 1000 / repeat
    return Result(one, status, round_trips, statements, transactions, commits, web_ms, pg_ms,
                  by_area(profile, repeat - repeat // 2))


def table(results: list[Result]) -> str:
    lines = ["| request | status | round trips | statements | transactions | commits | "
             "CPU ms, web | CPU ms, PostgreSQL | largest areas, ms per request (profiled) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        areas = ", ".join(f"{name} {ms:.1f}" for name, ms in r.areas[:4])
        lines.append(f"| {r.endpoint.name} | {r.status} | {r.round_trips} | {len(r.statements)} | "
                     f"{r.transactions} | {r.commits} | {r.web_ms:.2f} | {r.pg_ms:.2f} | {areas} |")
    return "\n".join(lines)


def statement_lists(results: list[Result], names: tuple[str, ...]) -> str:
    out = []
    for r in results:
        if r.endpoint.name not in names:
            continue
        out.append(f"Statements of one `{r.endpoint.name}` ({r.status}; {r.round_trips} round "
                   f"trips, {r.transactions} transactions, {r.commits} commits):\n")
        out += [f"{n}. `{_short(sql)}`" for n, sql in enumerate(r.statements, 1)]
        out.append("")
    return "\n".join(out)


def _short(sql: str, width: int = 150) -> str:
    import re

    # column lists say nothing about the cost; the tables and conditions do
    sql = re.sub(r"SELECT (.{60}).*? FROM ", r"SELECT \1… FROM ", sql)
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--app-dir", help="profile the app in this directory instead")
    parser.add_argument("--label", default="after", help="the section to record: before or after")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    import random

    from bench.common import drop_database, fresh_database
    from bench.seed import seed

    if args.app_dir:  # after importing bench itself: only the app comes from there
        sys.path.insert(0, str(Path(args.app_dir).resolve()))

    random.seed(7)
    name = f"venuebook_profile_{os.getpid()}"
    url = fresh_database(name)
    try:
        data = seed(url, args.bookings, "profile-secret", scans=3 * (args.repeat // 2 + 15))
        app, engine = build_app(data.secret, url)
        trace = ProtocolTrace(engine)
        client = app.test_client()
        plain, feeds = endpoints(data)
        results = []
        for endpoint in plain:
            results.append(measure(client, trace, lambda e=endpoint: e, args.repeat))
        for make in feeds.values():
            results.append(measure(client, trace, make, args.repeat // 2))
        engine.dispose()
        trace.close()
    finally:
        drop_database(name)
    import app as app_package

    text_table = table(results)
    lists = statement_lists(results, tuple(feeds))
    print(f"app: {Path(app_package.__file__).parent}")
    print(text_table)
    print()
    print(lists)
    if args.record:
        from bench.record import record_section

        record_section(f"profile-{args.label}", f"Profile of one request ({args.label})",
                       text_table + "\n\n" + lists,
                       [f"- {args.bookings:,} bookings; {args.repeat} requests per endpoint "
                        "(bookings and scans: half as many, each a distinct slot or code); web CPU "
                        "includes the test client; PostgreSQL CPU from /proc, 10 ms ticks."],
                       "bench/request_profile.py" + (" --app-dir …" if args.app_dir else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
