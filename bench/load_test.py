"""Load test: creators browsing, booking and cancelling while operators scan, at once.

    .venv/bin/python bench/load_test.py            # full: 120 s, 24 clients
    .venv/bin/python bench/load_test.py --short    # CI: 15 s, 12 clients

Against gunicorn + PostgreSQL on 127.0.0.1 only; bounded in time and in requests. Prints
requests/s, p50/p95/p99 and errors per endpoint, then reconciles the month and exits 1 on any
server error or violated invariant. ``--record`` writes the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, gunicorn, percentile, request  # noqa: E402

SECRET = "load-test-secret"


def prepare(url: str, creators: int):
    """Catalog, demo accounts, creators (half with vouchers, half with quota), tokens, and
    bookings happening now for the operators to scan."""
    from sqlalchemy import select

    from app import create_app
    from app.accounts.models import Enterprise
    from app.accounts.seed import load_demo
    from app.accounts.service import add_member, certify, create_user, issue_token, require_user
    from app.booking.lifecycle import book
    from app.booking.rules import floor_to_slot
    from app.catalog.models import Resource, Venue
    from app.catalog.seed import load_catalog
    from app.checkin.service import code_for
    from app.core.clock import now
    from app.extensions import db
    from app.vouchers.models import VoucherBatch
    from app.vouchers.service import issue_vouchers

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        load_catalog(db.session)
        load_demo(db.session)
        enterprise = db.session.scalar(select(Enterprise))
        batch = db.session.scalar(select(VoucherBatch))
        tokens = []
        for n in range(creators):
            user = create_user(db.session, f"load{n}@example.com", "load-pass-1", ["creator"])
            if n % 2:
                certify(db.session, None, user, "huangpu-shared-service", "B")
            else:
                add_member(db.session, None, enterprise, user)
            tokens.append(issue_token(db.session, user))
        issue_vouchers(db.session, None, batch, enterprise, 150)
        operators = {}
        for code, email in (("vjc-chuangzhi", "operator.vjc@demo.local"),
                            ("bund-ftc", "operator.ftc@demo.local")):
            venue = db.session.scalar(select(Venue).where(Venue.code == code))
            operators[venue.id] = issue_token(db.session, require_user(db.session, email))
        resources = [(r.id, r.venue_id, r.min_minutes) for r in db.session.scalars(
            select(Resource).where(Resource.active.is_(True)))]
        # bookings in progress now, one per live room, for the front desks to scan
        start = floor_to_slot(now(), 30)
        codes = []
        user = require_user(db.session, "yp.creator@demo.local")
        for room in db.session.scalars(select(Resource).where(Resource.kind == "livestream_room")):
            if room.venue_id not in operators:
                continue
            try:
                with db.session.begin_nested():
                    booking = book(db.session, user, room.id, start,
                                   start + timedelta(minutes=60), start)
                codes.append((room.venue_id, code_for(db.session, booking, SECRET)))
            except Exception:  # noqa: BLE001 - outside opening hours at this time of day
                continue
        db.session.commit()
        db.engine.dispose()
    return app, tokens, operators, resources, codes


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = defaultdict(list)
        self.status = defaultdict(lambda: defaultdict(int))

    def add(self, name: str, status: int, ms: float):
        with self.lock:
            self.latency[name].append(ms)
            self.status[name][status] += 1


def creator_loop(port, token, resources, stats, deadline, budget, rng):
    mine: list[int] = []
    while time.time() < deadline and budget():
        roll = rng.random()
        rid, _, min_minutes = rng.choice(resources)
        if roll < 0.45:
            name, method, path, body = "GET /resources", "GET", "/api/v1/resources", None
            if rng.random() < 0.5:
                name, path = "GET /resources/{id}/availability", f"/api/v1/resources/{rid}/availability?days=7"
        elif roll < 0.85 or not mine:
            day = datetime.now().date() + timedelta(days=rng.randint(1, 14))
            hour = rng.randint(10, 19)
            start = f"{day.isoformat()}T{hour:02d}:00:00+08:00"
            end_minutes = hour * 60 + max(min_minutes, 60)
            end = f"{day.isoformat()}T{end_minutes // 60:02d}:{end_minutes % 60:02d}:00+08:00"
            name, method, path = "POST /bookings", "POST", "/api/v1/bookings"
            body = {"resource_id": rid, "start": start, "end": end}
        else:
            name, method = "POST /bookings/{id}/cancel", "POST"
            path, body = f"/api/v1/bookings/{mine.pop(rng.randrange(len(mine)))}/cancel", {}
        started = time.perf_counter()
        try:
            status, data = request(port, method, path, body, token)
        except OSError:
            status, data = 599, b""
        stats.add(name, status, (time.perf_counter() - started) * 1000)
        if name == "POST /bookings" and status == 201:
            mine.append(json.loads(data)["id"])


def operator_loop(port, token, codes, stats, deadline, budget, rng):
    while time.time() < deadline and budget():
        code = rng.choice(codes) if codes and rng.random() < 0.8 else "VB1.bogus." + uuid.uuid4().hex
        started = time.perf_counter()
        try:
            status, _ = request(port, "POST", "/api/v1/checkins", {"code": code, "device": "load"}, token)
        except OSError:
            status = 599
        stats.add("POST /checkins", status, (time.perf_counter() - started) * 1000)
        time.sleep(0.05)  # a front desk scans a few codes a second at most


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    seconds, clients, max_requests = (15, 12, 4000) if args.short else (120, 24, 40000)
    import os

    url = fresh_database(f"venuebook_load_{os.getpid()}")
    app, tokens, operators, resources, codes = prepare(url, clients)
    stats = Stats()
    counter = {"n": 0}
    counter_lock = threading.Lock()

    def budget() -> bool:
        with counter_lock:
            counter["n"] += 1
            return counter["n"] <= max_requests

    with gunicorn(url, workers=4, threads=4,
                  extra_env={"SECRET_KEY": SECRET}) as server:
        port = server.port
        deadline = time.time() + seconds
        threads = [threading.Thread(target=creator_loop, args=(port, t, resources, stats, deadline,
                                                               budget, random.Random(i)))
                   for i, t in enumerate(tokens)]
        threads += [threading.Thread(target=operator_loop, args=(
            port, token, [c for v, c in codes if v == venue], stats, deadline, budget,
            random.Random(100 + venue))) for venue, token in operators.items()]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | outcomes | server errors |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    server_errors = 0
    for name in sorted(stats.latency):
        values = stats.latency[name]
        outcomes = ", ".join(f"{code}×{count}" for code, count in sorted(stats.status[name].items()))
        errors = sum(count for code, count in stats.status[name].items() if code >= 500)
        server_errors += errors
        lines.append(f"| {name} | {len(values)} | {len(values) / wall:.1f} | {percentile(values, 50):.1f} "
                     f"| {percentile(values, 95):.1f} | {percentile(values, 99):.1f} | {outcomes} | {errors} |")
    table = "\n".join(lines)
    from app.core.clock import local_today
    from app.extensions import db
    from app.finance.reconcile import format_report, reconcile

    with app.app_context():
        reports = [reconcile(db.session, month) for month in sorted({
            local_today().strftime("%Y-%m"), (local_today() + timedelta(days=15)).strftime("%Y-%m")})]
        db.session.rollback()
        db.engine.dispose()
    verdicts = [f"- {sum(len(v) for v in stats.latency.values())} requests in {wall:.0f} s from "
                f"{len(tokens)} creators and {len(operators)} front desks; server errors: {server_errors}",
                "- reconciliation afterwards: " + ("all invariants hold" if all(r.ok for r in reports)
                                                   else "VIOLATIONS")]
    print(table)
    print("\n".join(verdicts))
    for report in reports:
        if not report.ok:
            print(format_report(report))
    if args.record:
        from bench.record import record_section

        record_section("load", "Load test (creators and front desks at once)", table, verdicts,
                       "bench/load_test.py")
    return 0 if server_errors == 0 and all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
