"""Program rules as data, honoured on the booking's date: eligibility that ends, programs that
stay in their district, voucher coverage ratios, strike policy per program, closed programs,
months that close before they are issued, and quota for every year in play."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.accounts.models import Enterprise, EnterpriseMember
from app.accounts.service import certify, require_user
from app.booking import lifecycle
from app.catalog.models import District, Program, Venue
from app.catalog.programs import create_program
from app.core import clock
from app.extensions import db
from app.vouchers.models import VoucherBatch
from app.vouchers.service import create_batch, issue_vouchers
from tests.helpers import (
    ADMIN,
    CREATOR,
    FINANCE,
    HP_CREATOR,
    OP_FTC,
    assert_error,
    book,
    publish,
)

HUANGPU_ROOM = "ftc-live-01"  # ¥220 an hour, Huangpu quota
YANGPU_ROOM = "vjc-live-01"   # ¥180 an hour, Yangpu vouchers


def _in_app(api, work):
    with api.app.app_context():
        result = work()
        db.session.commit()
        return result


def _venue_ids(district_code: str) -> list[int]:
    return list(db.session.scalars(select(Venue.id).join(District).where(
        District.code == district_code)))


def test_quota_stops_when_the_certification_ends(api):
    def end_certification():
        user = require_user(db.session, HP_CREATOR)
        certify(db.session, None, user, "huangpu-shared-service", "A", date(2026, 12, 1),
                date(2026, 12, 3))
    _in_app(api, end_certification)
    inside = book(api, HUANGPU_ROOM, "2026-12-03", "10:00", "11:00", HP_CREATOR).get_json()
    assert inside["price"]["quota_fen"] == 22000  # opens the year's account
    after = book(api, HUANGPU_ROOM, "2026-12-20", "10:00", "11:00", HP_CREATOR).get_json()
    assert after["price"]["quota_fen"] == 0 and after["price"]["self_pay_fen"] == 22000


def test_a_program_stays_in_its_district_unless_marked_cross_district(api):
    def huangpu_program_on_yangpu_rooms(code: str, cross: bool):
        program = create_program(db.session, None, {
            "code": code, "name_zh": code, "funding": "quota", "eligibility": "certified_creator",
            "district": "huangpu", "cross_district": cross,
            "tiers": [{"code": "A", "name_zh": "A", "cap_fen": 1_000_000}],
            "venue_ids": _venue_ids("yangpu")})
        certify(db.session, None, require_user(db.session, HP_CREATOR), program.code, "A")
    _in_app(api, lambda: huangpu_program_on_yangpu_rooms("hp-kind-leak", False))
    publish(api)
    stray = book(api, YANGPU_ROOM, "2026-12-03", "10:00", "11:00", HP_CREATOR).get_json()
    assert stray["price"]["quota_fen"] == 0
    _in_app(api, lambda: huangpu_program_on_yangpu_rooms("hp-cross", True))
    publish(api)
    crossing = book(api, YANGPU_ROOM, "2026-12-03", "12:00", "13:00", HP_CREATOR).get_json()
    assert crossing["price"]["quota_fen"] == 18000 and crossing["program"] == "hp-cross"


def test_a_former_member_no_longer_spends_the_enterprises_vouchers(api):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    enterprise_id, user_id = _in_app(api, lambda: (
        db.session.scalar(select(Enterprise.id)), require_user(db.session, CREATOR).id))
    ended = api.post(f"/api/v1/enterprises/{enterprise_id}/members/{user_id}/end", ADMIN,
                     json={"until": "2026-12-04"})
    assert ended.status_code == 200 and ended.get_json()["until"] == "2026-12-04"
    assert book(api, YANGPU_ROOM, "2026-12-04", "10:00", "11:00",
                voucher_code=code).status_code == 201  # the last day still counts
    assert_error(book(api, YANGPU_ROOM, "2026-12-05", "10:00", "11:00", voucher_code=code), 422,
                 "voucher_not_usable")
    assert_error(api.post(f"/api/v1/enterprises/{enterprise_id}/members/{user_id}/end", OP_FTC,
                          json={}), 403, "forbidden")
    with api.app.app_context():
        member = db.session.get(EnterpriseMember, (enterprise_id, user_id))
        assert member.until == date(2026, 12, 4)


def test_a_voucher_covers_its_programs_share_only(api):
    def half_voucher():
        program = create_program(db.session, None, {
            "code": "yp-half", "name_zh": "半额券", "funding": "voucher",
            "eligibility": "resident_enterprise", "district": "yangpu", "coverage_percent": 50,
            "venue_ids": _venue_ids("yangpu")})
        enterprise = db.session.scalar(select(Enterprise))
        from app.accounts.service import record_residency

        record_residency(db.session, None, enterprise, program.code, date(2026, 1, 1), None)
        batch = create_batch(db.session, None, program_code=program.code, name="半额券批次",
                             face_value_fen=20000, total_count=10, total_budget_fen=200000,
                             valid_from=date(2026, 11, 1), valid_until=date(2027, 3, 31))
        return issue_vouchers(db.session, None, batch, enterprise, 1)[0].code
    code = _in_app(api, half_voucher)
    publish(api)
    booked = book(api, YANGPU_ROOM, "2026-12-03", "10:00", "12:00", voucher_code=code).get_json()
    # ¥360: half is ¥180, below the ¥200 face value
    assert booked["price"] == {"gross_fen": 36000, "voucher_fen": 18000, "quota_fen": 0,
                               "self_pay_fen": 18000}
    with api.app.app_context():
        assert db.session.scalar(select(VoucherBatch.name).where(VoucherBatch.name == "半额券批次"))


def test_strikes_follow_each_programs_own_policy(api, frozen_clock):
    def strict_policy():
        program = db.session.scalar(select(Program).where(Program.code == "huangpu-shared-service"))
        program.strike_limit, program.strike_window_days, program.suspension_days = 2, 60, 10
    _in_app(api, strict_policy)
    for day in ("2026-12-02", "2026-12-03"):
        booking = book(api, HUANGPU_ROOM, day, "10:00", "11:00", HP_CREATOR).get_json()
        assert booking["price"]["quota_fen"] > 0
        frozen_clock.set(datetime.fromisoformat(booking["start"]).astimezone(UTC)
                         + timedelta(minutes=31))
        _in_app(api, lambda: lifecycle.mark_no_shows(db.session, clock.now()))
    error = assert_error(book(api, HUANGPU_ROOM, "2026-12-06", "10:00", "11:00", HP_CREATOR), 422,
                         "suspended")
    assert error["details"]["program"] == "huangpu-shared-service"
    assert error["details"]["until"].startswith("2026-12-13")  # 10 days after the second
    self_paid = book(api, HUANGPU_ROOM, "2026-12-06", "10:00", "11:00", HP_CREATOR,
                     use_quota=False)
    assert self_paid.status_code == 201  # suspended from the subsidy, not from booking


def test_a_closed_program_takes_no_new_bookings_but_honours_its_holds(api, frozen_clock):
    held = book(api, HUANGPU_ROOM, "2026-12-01", "11:00", "12:00", HP_CREATOR).get_json()

    def close():
        db.session.scalar(select(Program).where(
            Program.code == "huangpu-shared-service")).active = False
    _in_app(api, close)
    later = book(api, HUANGPU_ROOM, "2026-12-04", "10:00", "11:00", HP_CREATOR).get_json()
    assert later["price"]["quota_fen"] == 0
    frozen_clock.set(datetime(2026, 12, 1, 2, 50, tzinfo=UTC))  # 10:50 at the desk
    assert api.post("/api/v1/checkins", OP_FTC, json={"booking_id": held["id"]}).get_json()[
        "result"] == "ok"
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"]
    assert [(q["year"], q["consumed_fen"]) for q in quota] == [(2026, 22000)]


def test_a_month_is_issued_only_after_it_ends(api, frozen_clock):
    booking = book(api, HUANGPU_ROOM, "2026-12-01", "11:00", "12:00", HP_CREATOR).get_json()
    frozen_clock.set(datetime(2026, 12, 1, 2, 50, tzinfo=UTC))
    api.post("/api/v1/checkins", OP_FTC, json={"booking_id": booking["id"]})
    venue = booking["resource"]["venue"]["id"]
    draft = api.post("/api/v1/finance/statements", FINANCE,
                     json={"venue_id": venue, "month": "2026-12"}).get_json()
    assert draft["status"] == "draft" and draft["total_fen"] == 22000  # a preview any time
    error = assert_error(api.post(f"/api/v1/finance/statements/{draft['id']}/issue", FINANCE), 409,
                         "month_not_closed")
    assert error["details"]["ends"].startswith("2027-01-01T00:00:00+08:00")
    assert_error(api.post(f"/api/v1/finance/statements/{draft['id']}/settle", FINANCE,
                          json={"payment_reference": "X", "payment_date": "2026-12-31"}),
                 422, "not_issued")
    frozen_clock.set(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))  # 2027-01-01 00:00 in Shanghai
    assert api.post(f"/api/v1/finance/statements/{draft['id']}/issue", FINANCE).get_json()[
        "status"] == "issued"


def test_next_years_quota_shows_in_december(api, frozen_clock):
    frozen_clock.set(datetime(2026, 12, 20, 2, 0, tzinfo=UTC))
    january = book(api, HUANGPU_ROOM, "2027-01-05", "10:00", "11:00", HP_CREATOR).get_json()
    assert january["price"]["quota_fen"] == 22000
    quota = {q["year"]: q for q in api.get("/api/v1/me", HP_CREATOR).get_json()["quota"]}
    assert set(quota) == {2026, 2027}
    assert quota[2027]["held_fen"] == 22000 and quota[2026]["held_fen"] == 0
