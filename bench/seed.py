"""The data the benchmarks run on, in a fresh PostgreSQL database.

- the published list from ``seed/`` and the demo accounts;
- creators with bearer tokens (self-pay: no voucher, no quota);
- ``total`` bookings on the listed resources: mornings and evenings of the next 14 days taken,
  the rest history (plain inserts of self-paid bookings, which carry no ledger entries; in the
  current month only cancelled and no-show ones, which need no check-in, so that the months a
  run reconciles hold nothing the inserts could not account for);
- free slots every booking rule accepts, spread over the listed resources and the next 4 weeks,
  so that a booking run books distinct slots instead of colliding on a few;
- a hall of rooms (a venue of its own, never published, open round the clock) with one booking
  happening now per room, made by the app's own booking step: a third self-paid, a third paid
  by voucher and a third by quota; and their check-in codes for a front desk to scan.

Reconciliation afterwards therefore checks real vouchers, quota holds and journal entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select, text

HISTORY_SLOTS = [(9, 0, 11, 0), (11, 30, 13, 30), (14, 0, 16, 0), (16, 30, 18, 30), (19, 0, 21, 0)]
FUTURE_SEEDED = [(9, 0, 11, 0), (19, 0, 21, 0)]
SCAN_VENUE = "bench-scan-hall"
SCAN_MINUTES = 180
SCAN_FUNDING = ("self", "voucher", "quota")
ROUND_THE_CLOCK = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class BenchData:
    url: str
    secret: str
    creator_tokens: list[str]
    listed_ids: list[int]
    quota_ids: set[int] = field(default_factory=set)  # listed resources a quota program pays for
    slots: list[tuple[int, str, str]] = field(default_factory=list)
    operator_token: str = ""
    scan_codes: list[str] = field(default_factory=list)
    scan_funding: list[str] = field(default_factory=list)  # per code: self, voucher or quota


def seed(url: str, total: int, secret: str, creators: int = 64, scans: int = 0) -> BenchData:
    """Fill the database at ``url`` (already created and empty); see the module docstring."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts.seed import load_demo
    from app.accounts.service import create_user, issue_token
    from app.booking.rules import LOCAL
    from app.catalog.models import Resource
    from app.catalog.seed import load_catalog
    from app.catalog.service import current_version
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        load_catalog(db.session)
        load_demo(db.session)
        users, tokens = [], []
        for n in range(creators):
            user = create_user(db.session, f"bench{n}@example.com", "bench-pass-1", ["creator"])
            users.append(user.id)
            tokens.append(issue_token(db.session, user))
        db.session.commit()
        listed = {item["id"] for item in current_version(db.session).snapshot["items"]}
        resources = [r for r in db.session.scalars(select(Resource).order_by(Resource.id))
                     if r.id in listed]
        today = datetime.now(LOCAL).date()
        taken = _insert_bookings(db.session, resources, users, today, total)
        data = BenchData(url=url, secret=secret, creator_tokens=tokens,
                         listed_ids=[r.id for r in resources],
                         quota_ids={r.id for r in resources
                                    if any(p.funding == "quota" for p in r.programs)},
                         slots=free_slots(resources, today, taken))
        if scans:
            data.operator_token, codes = _scan_hall(db.session, scans, secret)
            data.scan_codes = [code for code, _ in codes]
            data.scan_funding = [funding for _, funding in codes]
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return data


def _post_receivables(session) -> None:
    """What the lifecycle posts for a booking's self-pay, for the rows inserted above: the
    ledger owes each booking what it still owes (reconciliation invariant 11 holds)."""
    from app.booking.models import Booking
    from app.catalog.models import Resource
    from app.ledger.models import JournalEntry, JournalLine
    from app.ledger.service import period_of
    from app.payments.rules import outstanding_fen

    owed = [(booking_id, venue_id, user_id, at, outstanding_fen(status, self_pay, paid, late))
            for booking_id, venue_id, user_id, at, status, self_pay, paid, late in session.execute(
                select(Booking.id, Resource.venue_id, Booking.creator_id, Booking.created_at,
                       Booking.status, Booking.self_pay_fen, Booking.paid_fen, Booking.late_cancel)
                .join(Resource, Resource.id == Booking.resource_id))]
    owed = [row for row in owed if row[4]]
    for chunk in range(0, len(owed), 5000):
        part = owed[chunk:chunk + 5000]
        ids = session.scalars(insert(JournalEntry).returning(
            JournalEntry.id, sort_by_parameter_order=True), [
            {"posted_at": at, "period": period_of(at), "kind": "selfpay.due", "memo": "",
             "booking_id": booking_id, "venue_id": venue_id}
            for booking_id, venue_id, _, at, _ in part]).all()
        session.execute(insert(JournalLine), [
            {"entry_id": entry_id, "account": account, "amount_fen": sign * fen,
             "booking_id": booking_id, "venue_id": venue_id, "user_id": user_id}
            for entry_id, (booking_id, venue_id, user_id, _, fen) in zip(ids, part, strict=True)
            for account, sign in (("selfpay_receivable", 1), ("selfpay_income", -1))])


def _insert_bookings(session, resources, users: list[int], today: date,
                     total: int) -> dict[int, list[tuple[datetime, datetime]]]:
    """Insert ``total`` self-paid bookings; return the future ones (start, blocked until) by resource."""
    from app.booking.models import Booking
    from app.booking.rules import LOCAL

    rows: list[dict] = []
    taken: dict[int, list[tuple[datetime, datetime]]] = {}
    month_start = today.replace(day=1)

    def add(resource, day: date, slot, status: str) -> None:
        start = datetime.combine(day, time(slot[0], slot[1]), tzinfo=LOCAL)
        end = datetime.combine(day, time(slot[2], slot[3]), tzinfo=LOCAL)
        blocked = end + timedelta(minutes=resource.buffer_minutes)
        if status == "confirmed":
            taken.setdefault(resource.id, []).append((start, blocked))
        rows.append({
            "resource_id": resource.id, "creator_id": random.choice(users),
            "start_at": start, "end_at": end, "blocked_until": blocked, "status": status,
            "gross_fen": 20000, "voucher_fen": 0, "quota_fen": 0, "self_pay_fen": 20000,
            "created_at": start - timedelta(days=3), "late_cancel": False,
            "cancelled_at": start - timedelta(days=1) if status == "cancelled" else None,
        })

    for resource in resources:
        for offset in range(1, 15):
            for slot in FUTURE_SEEDED:
                add(resource, today + timedelta(days=offset), slot, "confirmed")
    offset = 1
    while len(rows) < total:
        for resource in resources:
            for slot in HISTORY_SLOTS:
                if len(rows) >= total:
                    break
                day = today - timedelta(days=offset)
                add(resource, day, slot, random.choice(
                    ["completed", "completed", "completed", "cancelled", "no_show"]
                    if day < month_start else ["cancelled", "no_show"]))
        offset += 1
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(Booking), rows[chunk:chunk + 5000])
    _post_receivables(session)
    session.commit()
    return taken


def free_slots(resources, today: date, taken: dict) -> list[tuple[int, str, str]]:
    """Every non-overlapping slot of minimum length in the next 4 weeks that the app's own rules
    accept and no seeded booking blocks, shuffled: (resource id, start, end) in ISO form."""
    from app.booking.rules import LOCAL, ResourceRules, RuleBroken, check_request, opening_window

    now = datetime.now(LOCAL)
    slots = []
    for resource in resources:
        rules = ResourceRules.of(resource)
        length = timedelta(minutes=rules.min_minutes)
        # the next start leaves the buffer free and stays on the slot grid
        step_minutes = -(-(rules.min_minutes + rules.buffer_minutes) // rules.slot_minutes)
        step = timedelta(minutes=step_minutes * rules.slot_minutes)
        busy = taken.get(resource.id, [])
        for offset in range(2, 29):
            day = today + timedelta(days=offset)
            window = opening_window(rules, day)
            if window is None:
                continue
            start = window.start
            while start + length <= window.end:
                end = start + length
                blocked = end + timedelta(minutes=rules.buffer_minutes)
                start_next = start + step
                if any(start < other_end and other_start < blocked for other_start, other_end in busy):
                    start = start_next
                    continue
                try:
                    check_request(rules, start, end, now)
                except RuleBroken:
                    start = start_next
                    continue
                slots.append((resource.id, start.astimezone(LOCAL).isoformat(),
                              end.astimezone(LOCAL).isoformat()))
                start = start_next
    random.shuffle(slots)
    return slots


def _booking_step():
    """The app's own step that books and plans payment: ``book(session, creator, resource_id,
    start, end, now, voucher_code=..., use_quota=...)``. It moved from
    ``booking.service.create_booking`` to ``booking.lifecycle.book``; --app-dir may serve either."""
    try:
        from app.booking.lifecycle import book
    except ImportError:
        from app.booking.funding import plan_for_request
        from app.booking.service import create_booking

        def book(session, creator, resource_id, start, end, now, *, voucher_code=None,
                 use_quota=True):
            return create_booking(session, creator, resource_id, start, end, now,
                                  plan_funding=plan_for_request(creator, {
                                      "voucher_code": voucher_code, "use_quota": use_quota}))
    return book


def _scan_hall(session, count: int, secret: str) -> tuple[str, list[tuple[str, str]]]:
    """A venue of ``count`` rooms, each with one booking happening now, made by the app's own
    booking step; (operator token, [(check-in code, how the booking is paid)])."""
    from app.accounts.models import Enterprise
    from app.accounts.service import add_member, certify, create_user, issue_token
    from app.booking.models import Booking
    from app.booking.rules import LOCAL, floor_to_slot
    from app.catalog.models import District, Program, Resource, Venue
    from app.catalog.service import publish_version
    from app.checkin.service import code_for
    from app.core.clock import now as clock_now
    from app.vouchers.service import create_batch, issue_vouchers

    district = session.scalar(select(District).where(District.code == "yangpu"))
    programs = list(session.scalars(select(Program).where(Program.code.in_(
        ["yangpu-livestream-voucher", "huangpu-shared-service"]))))
    venue = Venue(code=SCAN_VENUE, district_id=district.id, name_zh="基准测试扫码厅",
                  name_en="Benchmark scan hall", address_zh="（基准测试）", opening_hours=ROUND_THE_CLOCK,
                  active=True)
    session.add(venue)
    session.flush()
    rooms = []
    for n in range(count):
        room = Resource(code=f"bench-scan-{n:05d}", venue_id=venue.id, name_zh=f"扫码间 {n}",
                        kind="livestream_room", hourly_rate_fen=10000, peak_rate_fen=10000,
                        min_minutes=60, max_minutes=480, equipment=[])
        room.programs = programs
        rooms.append(room)
    session.add_all(rooms)
    session.flush()
    # Bookings are made on the published list's terms: the hall is published for them, and
    # unlisted again below, so the list the other figures read stays the catalog's.
    publish_version(session, None, note="bench scan hall")
    session.commit()  # the published list is read on its own connection
    operator = create_user(session, "bench.desk@example.com", "bench-pass-1", ["operator"],
                           venue_ids=[venue.id])
    enterprise = session.scalar(select(Enterprise))  # the demo enterprise, resident in Yangpu
    voucher_payers, quota_payers = [], []
    for n in range(8):
        payer = create_user(session, f"bench.voucher{n}@example.com", "bench-pass-1", ["creator"])
        add_member(session, None, enterprise, payer)
        voucher_payers.append(payer)
        payer = create_user(session, f"bench.quota{n}@example.com", "bench-pass-1", ["creator"])
        certify(session, None, payer, "huangpu-shared-service", "A")
        quota_payers.append(payer)
    by_voucher = count // 3 + 1
    today = datetime.now(LOCAL).date()
    batch = create_batch(session, None, program_code="yangpu-livestream-voucher",
                         name="基准测试扫码券", face_value_fen=10000, total_count=by_voucher,
                         total_budget_fen=by_voucher * 10000, valid_from=today - timedelta(days=1),
                         valid_until=today + timedelta(days=2))
    vouchers = []
    for chunk in range(0, by_voucher, 10_000):
        vouchers += issue_vouchers(session, None, batch, enterprise,
                                   min(10_000, by_voucher - chunk))
    # starts on the slot grid before now; ends within today, so opening hours hold
    moment = clock_now()
    midnight = datetime.combine(moment.astimezone(LOCAL).date() + timedelta(days=1), time(0),
                                tzinfo=LOCAL)
    end = min(floor_to_slot(moment, 30) + timedelta(minutes=SCAN_MINUTES), midnight)
    start = end - timedelta(minutes=SCAN_MINUTES)
    booked_at = start - timedelta(hours=1)
    book = _booking_step()
    made: list[tuple[int, str]] = []
    for n, room in enumerate(rooms):
        kind = SCAN_FUNDING[n % 3]
        payer = (quota_payers if kind == "quota" else voucher_payers)[n % 8]
        booking = book(session, payer, room.id, start, end, booked_at,
                       voucher_code=vouchers.pop().code if kind == "voucher" else None,
                       use_quota=kind == "quota")
        made.append((booking.id, kind))
    venue.active = False  # never offered to creators: it exists for the front desk only
    session.flush()
    publish_version(session, None, note="bench scan hall closed to creators")
    codes = [(code_for(session, session.get(Booking, booking_id), secret), kind)
             for booking_id, kind in made]
    random.shuffle(codes)
    return issue_token(session, operator), codes
