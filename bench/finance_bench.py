"""Finance benchmark: a month with 100k redemptions at one venue, on PostgreSQL.

    .venv/bin/python bench/finance_bench.py [--redemptions 100000] [--record]

Seeds the month straight in SQL (bookings, vouchers, check-ins and their journal entries, as
check-in would have written them), then times: drafting the venue's statement, issuing it
(rendering and hashing the file), streaming its XLSX export, and reconciling the month.
Target: statement and reconciliation under 3 s each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text  # noqa: E402

from bench.common import fresh_database  # noqa: E402

MONTH = "2026-12"
SEED_SQL = """
SET session_replication_role = replica;  -- seeding only: skip per-row triggers
INSERT INTO users (email, password_hash, display_name, phone, locale, active, session_nonce, created_at)
SELECT 'bench' || n || '@example.com', 'x', '创作者' || n, '139' || lpad(n::text, 8, '0'),
       'zh_Hans_CN', true, 'n', now()
FROM generate_series(1, 1000) AS n;

INSERT INTO voucher_batches (program_id, name, face_value_fen, total_count, total_budget_fen,
                             issued_count, valid_from, valid_until, venue_ids, resource_kinds, created_at)
VALUES (:program, 'bench batch', 30000, :n, 30000::bigint * :n, :n, '2026-11-01', '2027-03-31', '[]', '[]', now());

INSERT INTO bookings (resource_id, creator_id, start_at, end_at, blocked_until, status, gross_fen,
                      voucher_fen, quota_fen, self_pay_fen, program_id, created_at, late_cancel,
                      checked_in_at, checked_out_at)
SELECT (:rooms)[1 + n % array_length(:rooms, 1)],
       (SELECT min(id) FROM users WHERE email LIKE 'bench%') + n % 1000,
       timestamptz '2026-12-01 01:00+00' + (n % 29) * interval '1 day' + (n % 13) * interval '1 hour',
       timestamptz '2026-12-01 02:00+00' + (n % 29) * interval '1 day' + (n % 13) * interval '1 hour',
       timestamptz '2026-12-01 02:15+00' + (n % 29) * interval '1 day' + (n % 13) * interval '1 hour',
       'completed', 36000, 30000, 0, 6000, :program, timestamptz '2026-11-20 00:00+00', false,
       timestamptz '2026-12-01 01:05+00' + (n % 29) * interval '1 day' + (n % 13) * interval '1 hour',
       timestamptz '2026-12-01 02:00+00' + (n % 29) * interval '1 day' + (n % 13) * interval '1 hour'
FROM generate_series(1, :n) AS n;

INSERT INTO vouchers (code, batch_id, program_id, enterprise_id, face_value_fen, valid_from,
                      valid_until, status, redeemed_booking_id, redeemed_at, issued_at)
SELECT 'BNCH-' || lpad(to_hex(b.id), 9, '0'), (SELECT max(id) FROM voucher_batches), :program, 1,
       30000, '2026-11-01', '2027-03-31', 'redeemed', b.id, b.checked_in_at, timestamptz '2026-11-01'
FROM bookings b WHERE b.status = 'completed';

UPDATE bookings b SET voucher_id = v.id FROM vouchers v WHERE v.redeemed_booking_id = b.id;

INSERT INTO checkins (booking_id, at, operator_id, device, method)
SELECT b.id, b.checked_in_at, :operator, 'bench', 'scan' FROM bookings b WHERE b.status = 'completed';

INSERT INTO journal_entries (posted_at, period, kind, memo, booking_id, voucher_id, program_id, venue_id)
SELECT v.redeemed_at, '2026-12', 'voucher.redeem', '', v.redeemed_booking_id, v.id, :program, :venue
FROM vouchers v WHERE v.code LIKE 'BNCH-%';

INSERT INTO journal_lines (entry_id, account, amount_fen, program_id, venue_id, voucher_id, booking_id)
SELECT e.id, 'vouchers_redeemed', 30000, :program, :venue, e.voucher_id, e.booking_id
FROM journal_entries e WHERE e.kind = 'voucher.redeem' AND e.memo = ''
UNION ALL
SELECT e.id, 'vouchers_held', -30000, :program, :venue, e.voucher_id, e.booking_id
FROM journal_entries e WHERE e.kind = 'voucher.redeem' AND e.memo = '';

-- the vouchers' earlier life: issued, then held (the redemption above moves them on)
INSERT INTO journal_entries (posted_at, period, kind, memo, voucher_id, program_id)
SELECT timestamptz '2026-11-01', '2026-11', 'voucher.issue', 'bench', v.id, :program
FROM vouchers v WHERE v.code LIKE 'BNCH-%';
INSERT INTO journal_lines (entry_id, account, amount_fen, program_id, voucher_id)
SELECT e.id, 'vouchers_held', 30000, :program, e.voucher_id FROM journal_entries e WHERE e.memo = 'bench'
UNION ALL
SELECT e.id, 'program_budget', -30000, :program, e.voucher_id FROM journal_entries e WHERE e.memo = 'bench';
SET session_replication_role = origin;
ANALYZE;
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redemptions", type=int, default=100_000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    from app import create_app
    from app.accounts.seed import load_demo
    from app.catalog.models import Program, Resource, Venue
    from app.catalog.seed import load_catalog
    from app.core import clock
    from app.extensions import db
    from app.finance import exports, service
    from app.finance.reconcile import reconcile

    url = fresh_database("venuebook_bench_finance")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "LOG_LEVEL": "WARNING"})
    from datetime import UTC, datetime

    clock.set_now_source(lambda: datetime(2027, 1, 3, 2, tzinfo=UTC))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        load_catalog(db.session)
        load_demo(db.session)
        db.session.commit()
        venue = db.session.scalar(select(Venue).where(Venue.code == "vjc-chuangzhi"))
        program = db.session.scalar(select(Program.id).where(Program.code == "yangpu-livestream-voucher"))
        rooms = list(db.session.scalars(select(Resource.id).where(Resource.venue_id == venue.id)))
        operator = db.session.scalar(text("SELECT id FROM users WHERE email = 'operator.vjc@demo.local'"))
        started = time.perf_counter()
        raw = db.session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            for statement in [s for s in SEED_SQL.split(";\n") if s.strip()]:
                cursor.execute(statement.replace("%", "%%").replace(":rooms", "%(rooms)s").replace(":program", "%(program)s")
                               .replace(":venue", "%(venue)s").replace(":operator", "%(operator)s")
                               .replace(":n", "%(n)s"),
                               {"rooms": rooms, "program": program, "venue": venue.id,
                                "operator": operator, "n": args.redemptions})
        raw.commit()
        seeded = time.perf_counter() - started
        figures = []

        def timed(label, fn):
            t0 = time.perf_counter()
            value = fn()
            figures.append((label, time.perf_counter() - t0))
            return value

        statement = timed("draft statement (lines in SQL)",
                          lambda: service.draft(db.session, None, venue.id, MONTH))
        db.session.commit()
        timed("issue statement (render file + SHA-256)",
              lambda: service.issue(db.session, None, statement))
        db.session.commit()
        timed("XLSX export (write-only, spooled)",
              lambda: exports.xlsx_file(db.session, statement).close())
        timed("CSV export (the issued file)",
              lambda: sum(len(chunk) for chunk in exports.stream_csv(db.session, statement)))
        report = timed("reconcile the month (all invariants)", lambda: reconcile(db.session, MONTH))
        line_count, total_fen = statement.line_count, statement.total_fen
        db.session.rollback()
        db.engine.dispose()
    lines = ["| measurement | seconds |", "|---|---:|"]
    lines += [f"| {label} | {seconds:.2f} |" for label, seconds in figures]
    table = "\n".join(lines)
    verdicts = [
        f"- {args.redemptions:,} redemptions seeded in {seeded:.1f} s; statement lines: "
        f"{line_count:,}, total ¥{total_fen / 100:,.2f}; reconciliation "
        f"{'clean' if report.ok else 'found ' + str(len(report.violations)) + ' violations'}",
        f"- drafting the statement {figures[0][1]:.2f} s, issuing it {figures[1][1]:.2f} s, "
        f"reconciliation {figures[-1][1]:.2f} s (target < 3 s each: "
        f"{'met' if max(figures[0][1], figures[1][1], figures[-1][1]) < 3 else 'NOT met'}); "
        f"the XLSX export is not in the target and is written row by row",
    ]
    print(table)
    print("\n".join(verdicts))
    if args.record:
        from bench.record import record_section

        record_section("finance", f"Finance: a month with {args.redemptions:,} redemptions", table,
                       verdicts, "bench/finance_bench.py")
    return 0 if report.ok and line_count == args.redemptions else 1


if __name__ == "__main__":
    sys.exit(main())
