"""Booking benchmark: availability latency and booking throughput through gunicorn on PostgreSQL.

    .venv/bin/python bench/booking_bench.py            # 10k and 100k bookings
    .venv/bin/python bench/booking_bench.py --sizes 10000 --quick

For each size it seeds a fresh database, starts gunicorn, measures
  - availability for a 14-day window (p50/p95, sequential requests),
  - booking throughput and latency at concurrency 1, 8 and 32 (distinct free slots),
  - the same server's trivial endpoint (/healthz) at concurrency 32 as the ceiling,
then checks that no two active bookings overlap, prints a table and, with --record, writes
docs/benchmarks.md. Targets: availability p95 < 25 ms at 100k; booking throughput at
concurrency 32 >= 30 % of the trivial endpoint's; zero overlaps.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from bench.common import fresh_database, gunicorn, request, run_load, summary  # noqa: E402

SHANGHAI_OFFSET = "+08:00"
HISTORY_SLOTS = [(9, 0, 11, 0), (11, 30, 13, 30), (14, 0, 16, 0), (16, 30, 18, 30), (19, 0, 21, 0)]
FUTURE_SEEDED = [(9, 0, 11, 0), (19, 0, 21, 0)]
BENCH_SLOTS = [(12, 0), (13, 30), (15, 0), (16, 30)]


def seed(url: str, total: int, creators: int = 64):
    """Catalog, creators with tokens, and ``total`` non-overlapping bookings (mostly history)."""
    from app import create_app
    from app.accounts.service import create_user, issue_token
    from app.booking.models import Booking
    from app.booking.rules import LOCAL
    from app.catalog.models import Resource
    from app.catalog.seed import load_catalog
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        load_catalog(db.session)
        users, tokens = [], []
        for n in range(creators):
            user = create_user(db.session, f"bench{n}@example.com", "bench-pass-1", ["creator"])
            users.append(user.id)
            tokens.append(issue_token(db.session, user))
        db.session.commit()
        resources = db.session.scalars(select(Resource).order_by(Resource.id)).all()
        today = datetime.now(LOCAL).date()
        rows = []

        def add(resource, day, slot, status):
            start = datetime.combine(day, time(slot[0], slot[1]), tzinfo=LOCAL)
            end = datetime.combine(day, time(slot[2], slot[3]), tzinfo=LOCAL)
            rows.append({
                "resource_id": resource.id, "creator_id": random.choice(users),
                "start_at": start, "end_at": end,
                "blocked_until": end + timedelta(minutes=resource.buffer_minutes),
                "status": status, "gross_fen": 20000, "voucher_fen": 0, "quota_fen": 0,
                "self_pay_fen": 20000, "created_at": start - timedelta(days=3),
                "late_cancel": False,
            })

        for resource in resources:  # the next 14 days: mornings and evenings taken
            for offset in range(1, 15):
                for slot in FUTURE_SEEDED:
                    add(resource, today + timedelta(days=offset), slot, "confirmed")
        offset = 1
        while len(rows) < total:
            for resource in resources:
                for slot in HISTORY_SLOTS:
                    if len(rows) >= total:
                        break
                    add(resource, today - timedelta(days=offset), slot,
                        random.choice(["completed", "completed", "completed", "cancelled", "no_show"]))
            offset += 1
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Booking), rows[chunk:chunk + 5000])
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        slots = _bench_slots(resources, today)
        ids = [r.id for r in resources]
        db.engine.dispose()
    return tokens, slots, ids


def _bench_slots(resources, today: date) -> list[tuple[int, str, str]]:
    """Free one-hour slots that every booking rule accepts (checked with the app's own rules)."""
    from app.booking.rules import LOCAL, ResourceRules, RuleBroken, check_request

    now = datetime.now(LOCAL)
    slots = []
    for offset in range(2, 28):
        day = today + timedelta(days=offset)
        for resource in resources:
            rules = ResourceRules.of(resource)
            for hour, minute in BENCH_SLOTS:
                start = datetime.combine(day, time(hour, minute), tzinfo=LOCAL)
                end = start + timedelta(minutes=60)
                try:
                    check_request(rules, start, end, now)
                except RuleBroken:
                    continue
                slots.append((resource.id, start.isoformat(), end.isoformat()))
    random.shuffle(slots)
    return slots


def overlaps(url: str) -> int:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.resource_id = b.resource_id "
            "AND a.id < b.id AND a.status IN ('confirmed','checked_in') "
            "AND b.status IN ('confirmed','checked_in') "
            "AND tstzrange(a.start_at, a.blocked_until) && tstzrange(b.start_at, b.blocked_until)"
        )).scalar()
    engine.dispose()
    return count


def _get_status(port: int, path: str) -> int:
    return request(port, "GET", path)[0]


def _book_status(port: int, slot: tuple[int, str, str], token: str) -> int:
    body = {"resource_id": slot[0], "start": slot[1], "end": slot[2]}
    return request(port, "POST", "/api/v1/bookings", body, token)[0]


def measure(size: int, quick: bool) -> dict:
    url = fresh_database(f"venuebook_bench_{size}")
    tokens, slots, resource_ids = seed(url, size)
    results: dict = {"size": size}
    with gunicorn(url) as server:
        port = server.port
        today = date.today().isoformat()
        avail_jobs = [
            partial(_get_status, path=f"/api/v1/resources/{random.choice(resource_ids)}"
                                      f"/availability?from={today}&days=14")
            for _ in range(100 if quick else 400)
        ]
        run_load(port, avail_jobs[:20], 1)  # warm up
        latencies, statuses, wall = run_load(port, avail_jobs, 1)
        results["availability"] = {**summary(latencies, wall),
                                   "errors": sum(s != 200 for s in statuses)}
        results["booking"] = {}
        counts = {1: 60, 8: 200, 32: 400} if quick else {1: 150, 8: 400, 32: 800}
        cursor = 0
        for concurrency, count in counts.items():
            batch = slots[cursor:cursor + count]
            cursor += count
            jobs = [partial(_book_status, slot=slot, token=tokens[i % len(tokens)])
                    for i, slot in enumerate(batch)]
            latencies, statuses, wall = run_load(port, jobs, concurrency)
            results["booking"][concurrency] = {**summary(latencies, wall),
                                               "errors": sum(s != 201 for s in statuses)}
        trivial = [partial(_get_status, path="/healthz")] * (1000 if quick else 3000)
        run_load(port, trivial[:100], 8)
        latencies, statuses, wall = run_load(port, trivial, 32)
        results["trivial"] = {**summary(latencies, wall), "errors": sum(s != 200 for s in statuses)}
    results["overlaps"] = overlaps(url)
    return results


def table(all_results: list[dict]) -> str:
    lines = [
        "| bookings | measurement | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in all_results:
        a = r["availability"]
        lines.append(f"| {r['size']:,} | availability, 14 days, sequential | {a['n']} | {a['rps']:.0f} | "
                     f"{a['p50']:.1f} | {a['p95']:.1f} | {a['p99']:.1f} | {a['errors']} |")
        for concurrency, b in r["booking"].items():
            lines.append(f"| {r['size']:,} | POST /bookings, concurrency {concurrency} | {b['n']} | "
                         f"{b['rps']:.0f} | {b['p50']:.1f} | {b['p95']:.1f} | {b['p99']:.1f} | {b['errors']} |")
        t = r["trivial"]
        lines.append(f"| {r['size']:,} | GET /healthz (ceiling), concurrency 32 | {t['n']} | {t['rps']:.0f} | "
                     f"{t['p50']:.1f} | {t['p95']:.1f} | {t['p99']:.1f} | {t['errors']} |")
    return "\n".join(lines)


def verdicts(all_results: list[dict]) -> list[str]:
    out = []
    for r in all_results:
        ratio = r["booking"][32]["rps"] / r["trivial"]["rps"] if r["trivial"]["rps"] else 0
        out.append(f"- {r['size']:,} bookings: availability p95 {r['availability']['p95']:.1f} ms "
                   f"(target < 25 ms: {'met' if r['availability']['p95'] < 25 else 'NOT met'}); "
                   f"booking at concurrency 32 is {ratio:.0%} of the trivial endpoint "
                   f"(target >= 30 %: {'met' if ratio >= 0.30 else 'NOT met'}); "
                   f"overlapping active bookings afterwards: {r['overlaps']}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--quick", action="store_true", help="fewer requests per measurement")
    parser.add_argument("--record", action="store_true", help="write the table to docs/benchmarks.md")
    args = parser.parse_args()
    random.seed(7)
    all_results = [measure(int(size), args.quick) for size in args.sizes.split(",")]
    text_table = table(all_results)
    print(text_table)
    print("\n".join(verdicts(all_results)))
    if args.record:
        from bench.record import record_section

        record_section("booking", "Booking engine (issue: booking)", text_table, verdicts(all_results),
                       "bench/booking_bench.py")
    return 1 if any(r["overlaps"] for r in all_results) else 0


if __name__ == "__main__":
    sys.exit(main())
