"""Hot paths through gunicorn on PostgreSQL, measured with wrk: the targets of issue 12.

    .venv/bin/python bench/booking_bench.py                  # 100k bookings, 10 s per figure
    .venv/bin/python bench/booking_bench.py --quick          # 3 s per figure, fewer rooms to scan
    .venv/bin/python bench/booking_bench.py --record         # also write docs/benchmarks.md
    .venv/bin/python bench/booking_bench.py --floor          # also the floor (bench/floor_app.py)
    .venv/bin/python bench/booking_bench.py --writes-only --workers 4 --threads 4
                                                             # booking and scan under other settings
    .venv/bin/python bench/booking_bench.py --app-dir DIR --section booking-before --record
                                                             # serve another checkout (before/after)

One run seeds a fresh database (bench/seed.py), starts gunicorn (2 gthread workers x 8 threads)
and measures with wrk, on the same two cores:
  - the same server's bare endpoint (GET /bench/bare: every request hook, no work): the yardstick;
  - /healthz; the published list, plain and answered 304; one resource; its page; the list page;
  - availability for 14 days with 100k bookings (1 connection for p95, 32 for throughput);
  - booking (POST /api/v1/bookings, self-pay, a distinct free slot each) at 32 connections,
    with CPU milliseconds per booking in gunicorn's workers and in PostgreSQL's backends;
  - scanning (POST /api/v1/checkins, a distinct booking happening now each, a third paid by
    voucher and a third by quota) at 32 connections, with CPU per scan likewise, and at 4
    connections (a front desk's scanners, not a crowd of them);
  - for reference, a one-line Flask app under the same gunicorn settings;
  - with --floor, after the app's checks: the same SQL as a booking and as a scan, run by
    psycopg alone in a plain Flask app (bench/floor_app.py), under the same settings and wrk
    script: what this machine allows any Python code of those two requests.
Each figure is printed with its ratio to the bare endpoint of the same run, which cancels much
of the noise of a shared machine. Afterwards: overlapping active bookings (must be 0) and the
reconciliation of every month the run touched (must be clean); exit status 1 otherwise.

Targets: booking >= 500/s and >= 6 % of the bare endpoint at 32 connections; scan p95 < 50 ms at
32 connections; availability p95 < 25 ms (14 days, 100k bookings); the list >= 2,000/s at 32.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.common import (  # noqa: E402
    ROOT,
    CpuMeter,
    drop_database,
    fresh_database,
    gunicorn,
    wrk,
    wrk_available,
)
from bench.seed import BenchData, seed  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
DATABASE = "venuebook_bench"
SECRET = "bench-secret"
WORKERS, THREADS = 2, 8
SCAN_CODES = 6000  # bookings happening now, to scan (2,400 with --quick)
RESULT = '"result":"([%w_]+)"'  # what a scan answered, counted by the wrk script


@dataclass
class Figure:
    name: str
    connections: int
    wrk: dict
    cpu_ms: tuple[float, float] | None = None  # per success: web, PostgreSQL
    successes: int = 0
    bare_rps: float = 0.0  # the bare endpoint, measured just before: the load of that moment

    @property
    def rps(self) -> float:
        return self.wrk["rps"]


@dataclass
class Run:
    figures: dict[str, Figure] = field(default_factory=dict)
    overlaps: int = -1
    reconciliation: list[str] = field(default_factory=list)
    reconciled: bool = False

    def add(self, key: str, figure: Figure) -> Figure:
        self.figures[key] = figure
        print(f"  {figure.name}: {figure.rps:,.0f}/s, p95 {figure.wrk['p95_ms']:.1f} ms", flush=True)
        return figure


def _lines(path: Path, token_bodies) -> str:
    path.write_text("".join(f"{token}\t{json.dumps(body)}\n" for token, body in token_bodies))
    return str(path)


def _post(port: int, key: str, lines: str, seconds: float, connections: int = 32) -> dict:
    return wrk(port, key, seconds, connections, script="bodies.lua",
               args=[key, lines, str(min(2, connections)), RESULT if "checkins" in key else ""])


def _bare_now(port: int, seconds: float) -> float:
    """The bare endpoint right now: others share the machine and its load drifts."""
    return wrk(port, "/bench/bare", seconds / 2, 32)["rps"]


def _booking_bodies(data: BenchData, slots) -> list[tuple[str, dict]]:
    """A booking request per slot, the creators taking turns."""
    return [(data.creator_tokens[i % len(data.creator_tokens)],
             {"resource_id": r, "start": s, "end": e}) for i, (r, s, e) in enumerate(slots)]


def _scan_bodies(data: BenchData, codes) -> list[tuple[str, dict]]:
    return [(data.operator_token, {"code": code, "device": "bench"}) for code in codes]


def _measured_posts(server, key: str, bodies, warm_count: int, seconds: float, scratch: Path,
                    name: str) -> tuple[dict, float, CpuMeter]:
    """Warm up on the first ``warm_count`` bodies (8 connections), take the bare endpoint's rate
    at that moment, then post the others for ``seconds`` at 32 connections with the CPU of the
    web workers and of PostgreSQL metered: (wrk's figures, the bare rate, the CPU meter)."""
    _post(server.port, key, _lines(scratch / f"warm-{name}", bodies[:warm_count]),
          max(1.0, seconds / 5), 8)
    bare = _bare_now(server.port, seconds)
    with CpuMeter(server, DATABASE) as cpu:
        figures = _post(server.port, key, _lines(scratch / name, bodies[warm_count:]), seconds)
    return figures, bare, cpu


def measure_app(data: BenchData, app_dir: Path, seconds: float, scratch: Path,
                workers: int = WORKERS, threads: int = THREADS, writes_only: bool = False,
                app_codes: int | None = None) -> Run:
    """The app's figures; its scan run is given the first ``app_codes`` codes (all by default:
    with --floor the rest are the floor's)."""
    run = Run()
    warm = max(1.0, seconds / 5)
    rid = data.listed_ids[0]
    today = date.today().isoformat()
    availability = f"/api/v1/resources/{rid}/availability?from={today}&days=14"
    bookings = _booking_bodies(data, data.slots)
    scans = _scan_bodies(data, data.scan_codes[:app_codes])
    with gunicorn(data.url, workers, threads, {"SECRET_KEY": SECRET}, app_dir=app_dir,
                  module="wsgi_bench:app", pythonpath=BENCH_DIR, probe="/bench/bare") as server:
        port = server.port

        def get(key: str, name: str, path: str, connections: int = 32, headers=None) -> Figure:
            wrk(port, path, warm, connections, headers=headers)
            bare = _bare_now(port, seconds)
            figure = Figure(name, connections, wrk(port, path, seconds, connections,
                                                   headers=headers), bare_rps=bare)
            return run.add(key, figure)

        wrk(port, "/bench/bare", warm, 32)
        figure = run.add("bare", Figure("bare endpoint (GET /bench/bare)", 32,
                                        wrk(port, "/bench/bare", seconds, 32)))
        figure.bare_rps = figure.rps
        if not writes_only:
            get("healthz", "GET /healthz", "/healthz")
            get("list", "published list (GET /api/v1/resources)", "/api/v1/resources")
            etag = _etag(port, "/api/v1/resources")
            if etag:
                get("list_304", "published list, If-None-Match (304)", "/api/v1/resources",
                    headers={"If-None-Match": etag})
            get("resource", f"one resource (GET /api/v1/resources/{rid})", f"/api/v1/resources/{rid}")
            get("resource_page", f"its page (GET /resources/{rid})", f"/resources/{rid}")
            get("list_page", "list page (GET /)", "/")
            get("availability_1", "availability, 14 days, 1 connection", availability, connections=1)
            get("availability", "availability, 14 days", availability)

        figures, bare, cpu = _measured_posts(server, "/api/v1/bookings", bookings, 400, seconds,
                                             scratch, "bookings")
        created = figures["statuses"].get("201", 0)
        run.add("booking", Figure("booking (POST /api/v1/bookings, self-pay)", 32, figures,
                                  _per(cpu, created), created, bare))

        warm_count = min(200, len(scans) // 10)
        figures, bare, cpu = _measured_posts(server, "/api/v1/checkins", scans, warm_count,
                                             seconds, scratch, "scans")
        checked_in = figures["captured"].get("ok", 0)
        run.add("scan", Figure("scan (POST /api/v1/checkins)", 32, figures,
                               _per(cpu, figures["requests"]), checked_in, bare))
        # the same at a front desk's own pace: a few scanners, not 32 at once; codes not yet used
        rest = scans[warm_count + figures["requests"] + 200:]
        figures = _post(port, "/api/v1/checkins", _lines(scratch / "desk-scans", rest), seconds,
                        connections=4)
        run.add("scan_4", Figure("scan, 4 connections (a desk's scanners)", 4, figures,
                                 successes=figures["captured"].get("ok", 0), bare_rps=bare))
    if writes_only:
        return run
    with gunicorn(data.url, workers, threads, module="one_line_app:app", pythonpath=BENCH_DIR,
                  probe="/bench/bare") as server:
        wrk(server.port, "/bench/bare", warm, 32)
        run.add("one_line", Figure("reference: one-line Flask app, same gunicorn settings", 32,
                                   wrk(server.port, "/bench/bare", seconds, 32),
                                   bare_rps=run.figures["bare"].rps))
    return run


def measure_floor(data: BenchData, app_dir: Path, seconds: float, scratch: Path, run: Run,
                  workers: int, threads: int, first_code: int) -> None:
    """The same database work without the app around it (bench/floor_app.py), under the same
    gunicorn settings and wrk script: what the machine allows a booking and a scan in Python.
    Its slots are the app's, eight and twelve weeks later (the floor checks no rule but the
    overlap); its codes are those the app's scan run was not given."""
    later = [(r, (datetime.fromisoformat(s) + timedelta(weeks=w)).isoformat(),
              (datetime.fromisoformat(e) + timedelta(weeks=w)).isoformat())
             for w in (8, 12) for r, s, e in data.slots]
    with gunicorn(data.url, workers, threads, app_dir=app_dir, module="floor_app:app",
                  pythonpath=BENCH_DIR, probe="/bench/bare") as server:
        figures, bare, cpu = _measured_posts(server, "/api/v1/bookings",
                                             _booking_bodies(data, later), 400, seconds, scratch,
                                             "floor")
        created = figures["statuses"].get("201", 0)
        run.add("floor", Figure("floor: a booking's SQL with psycopg alone (bench/floor_app.py)",
                                32, figures, _per(cpu, created), created, bare))
        figures, bare, cpu = _measured_posts(server, "/api/v1/checkins",
                                             _scan_bodies(data, data.scan_codes[first_code:]),
                                             200, seconds, scratch, "floor-scans")
        run.add("floor_scan", Figure("floor: a scan's SQL with psycopg alone (bench/floor_app.py)",
                                     32, figures, _per(cpu, figures["requests"]),
                                     figures["captured"].get("ok", 0), bare))


def settle(url: str) -> None:
    """Vacuum the seeded tables and write their pages out (a checkpoint) before measuring, so
    that neither autovacuum nor the checkpoint of the seed lands inside a measured run."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
            try:
                conn.execute(text("CHECKPOINT"))
            except Exception as err:  # noqa: BLE001 - a role without the right still measures
                print(f"no checkpoint before measuring ({type(err).__name__})", flush=True)
    finally:
        engine.dispose()


def _etag(port: int, path: str) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.getheader("ETag")


def _per(cpu: CpuMeter, count: int) -> tuple[float, float] | None:
    if not count:
        return None
    return cpu.web_seconds * 1000 / count, cpu.pg_seconds * 1000 / count


def overlaps(url: str) -> int:
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


def reconcile_months(url: str) -> tuple[bool, list[str]]:
    """Reconcile this month and the next (bookings reach four weeks ahead)."""
    from app import create_app
    from app.core.clock import local_today
    from app.extensions import db
    from app.finance.reconcile import format_report, reconcile

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "LOG_LEVEL": "WARNING"})
    today = local_today()
    months = sorted({today.strftime("%Y-%m"), (today + timedelta(days=31)).strftime("%Y-%m")})
    with app.app_context():
        reports = [reconcile(db.session, month) for month in months]
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return all(r.ok for r in reports), [format_report(r) for r in reports]


def table(run: Run) -> str:
    lines = ["| measurement | connections | requests | req/s | bare alongside, req/s | × bare "
             "| p50 ms | p95 ms | p99 ms | answers |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for figure in run.figures.values():
        w = figure.wrk
        answers = ", ".join(f"{code}×{n}" for code, n in sorted(w["statuses"].items()))
        if w["captured"]:
            answers += " (" + ", ".join(f"{k}×{n}" for k, n in sorted(w["captured"].items())) + ")"
        if w["socket_errors"] or w["timeouts"]:
            answers += f"; socket errors {w['socket_errors']}, timeouts {w['timeouts']}"
        if w["exhausted"]:
            answers += f"; {w['exhausted']} repeated (prepared lines ran out)"
        lines.append(f"| {figure.name} | {figure.connections} | {w['requests']:,} | {figure.rps:,.0f} "
                     f"| {figure.bare_rps:,.0f} | {_share(figure.rps, figure.bare_rps)} "
                     f"| {w['p50_ms']:.1f} | {w['p95_ms']:.1f} | {w['p99_ms']:.1f} | {answers} |")
    return "\n".join(lines)


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def verdicts(run: Run, bookings: int) -> list[str]:
    f = run.figures
    bare = f["bare"].rps
    booking, scan = f["booking"], f["scan"]
    booked_rps = booking.successes / booking.wrk["seconds"]
    booked_share = booked_rps / booking.bare_rps if booking.bare_rps else 0.0

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    out = [f"- bare endpoint {bare:,.0f}/s" + ("" if "one_line" not in f else (
        f"; the one-line Flask app reaches {f['one_line'].rps:,.0f}/s under the same settings, "
        f"so the app's per-request hooks leave {_share(bare, f['one_line'].rps)} of gunicorn's "
        "ceiling")),
        f"- booking at 32 connections: {booked_rps:,.0f} bookings/s (201 answers), "
        f"{_share(booked_rps, booking.bare_rps)} of the bare endpoint alongside (target >= 500/s "
        "and >= 6 %: "
        f"{met(booked_rps >= 500 and booked_share >= 0.06)})",
        f"- scan at 32 connections: p95 {scan.wrk['p95_ms']:.1f} ms over {scan.wrk['requests']:,} "
        f"scans, {scan.successes:,} of them check-ins (target p95 < 50 ms: "
        f"{met(scan.wrk['p95_ms'] < 50)})",
    ]
    if "scan_4" in f:
        desk = f["scan_4"]
        out.append(f"- scan at 4 connections (a desk's scanners): p95 {desk.wrk['p95_ms']:.1f} ms, "
                   f"{desk.rps:,.0f}/s, {desk.successes:,} check-ins")
    if "list" in f:  # not in a --writes-only run
        p95 = f["availability_1"].wrk["p95_ms"]
        out += [
            f"- availability, 14 days, {bookings:,} bookings: p95 {p95:.1f} ms on 1 connection "
            f"(target < 25 ms: {met(p95 < 25)})",
            f"- published list at 32 connections: {f['list'].rps:,.0f}/s, "
            f"{_share(f['list'].rps, f['list'].bare_rps)} of the bare endpoint alongside "
            f"(target >= 2,000/s: {met(f['list'].rps >= 2000)})",
        ]
    if "floor" in f:
        floor = f["floor"]
        floor_rps = floor.successes / floor.wrk["seconds"]
        out.append(f"- floor: a booking's SQL with psycopg alone, no app around it, books "
                   f"{floor_rps:,.0f}/s at 32 connections ({_share(booked_rps, floor_rps)} of it "
                   "reached by the app)")
        out.append(f"- floor: a scan's SQL with psycopg alone: p95 "
                   f"{f['floor_scan'].wrk['p95_ms']:.1f} ms at 32 connections, "
                   f"{f['floor_scan'].rps:,.0f}/s (the app: {scan.rps:,.0f}/s)")
    for key, what in (("booking", "booking"), ("scan", "scan"), ("floor", "floor booking"),
                      ("floor_scan", "floor scan")):
        cpu = f[key].cpu_ms if key in f else None
        if cpu:
            out.append(f"- CPU per {what}: {cpu[0]:.1f} ms in the web workers, {cpu[1]:.1f} ms in "
                       "PostgreSQL's backends (/proc, during the measured run; per 201 for "
                       "bookings, per answer for scans)")
    out.append(f"- overlapping active bookings afterwards: {run.overlaps}; reconciliation: "
               + ("all invariants hold" if run.reconciled else "VIOLATIONS"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="3 s per figure, fewer rooms to scan")
    parser.add_argument("--seconds", type=float, help="seconds per figure (default 10, quick 3)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="serve the app from here")
    parser.add_argument("--section", default="booking", help="the docs section --record writes")
    parser.add_argument("--record", action="store_true", help="write the table to docs/benchmarks.md")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per worker")
    parser.add_argument("--floor", action="store_true",
                        help="also the booking's SQL alone, without the app (bench/floor_app.py)")
    parser.add_argument("--writes-only", action="store_true",
                        help="only the bare endpoint, booking and scanning (to compare settings)")
    args = parser.parse_args(argv)
    if not wrk_available():
        print("wrk is needed: apt-get install wrk")
        return 2
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    if args.app_dir.resolve() != ROOT:  # seed, serve and reconcile with that checkout's app
        sys.path.insert(0, str(args.app_dir.resolve()))
    random.seed(7)
    url = fresh_database(DATABASE)
    try:
        print(f"seeding {args.bookings:,} bookings ...", flush=True)
        app_codes = SCAN_CODES * 4 // 10 if args.quick else SCAN_CODES
        # the floor scans faster than the app: twice as many codes of its own
        data = seed(url, args.bookings, SECRET, scans=app_codes * (3 if args.floor else 1))
        print(f"{len(data.slots):,} free slots to book, {len(data.scan_codes):,} codes to scan",
              flush=True)
        settle(url)
        with tempfile.TemporaryDirectory() as scratch:
            run = measure_app(data, args.app_dir.resolve(), seconds, Path(scratch),
                              args.workers, args.threads, args.writes_only, app_codes)
        run.overlaps = overlaps(url)
        run.reconciled, run.reconciliation = reconcile_months(url)
        if args.floor:
            with tempfile.TemporaryDirectory() as scratch:
                measure_floor(data, args.app_dir.resolve(), seconds, Path(scratch), run,
                              args.workers, args.threads, app_codes)
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            drop_database(DATABASE)
    text_table = table(run)
    lines = verdicts(run, args.bookings)
    print(text_table)
    print("\n".join(lines))
    print("\n".join(run.reconciliation))
    if args.record:
        from bench.record import record_section

        app_note = "" if args.app_dir.resolve() == ROOT else f" (app served from {args.app_dir})"
        record_section(args.section, f"Hot paths: booking, scanning, the published list{app_note}",
                       text_table, lines + [
                           f"- gunicorn {args.workers} gthread workers × {args.threads} threads; wrk with 2 "
                           f"threads on the same 2 cores; {seconds:.0f} s per figure after a "
                           "warm-up; the machine was shared with other test runs."],
                       "bench/booking_bench.py" + ("" if args.section == "booking"
                                                   else f" --section {args.section}"))
    return 0 if run.overlaps == 0 and run.reconciled else 1


if __name__ == "__main__":
    sys.exit(main())
