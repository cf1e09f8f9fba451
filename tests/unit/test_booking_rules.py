from datetime import date, datetime, timedelta

import pytest

from app.booking.rules import (
    LOCAL,
    Interval,
    ResourceRules,
    RuleBroken,
    check_request,
    free_intervals,
    price_fen,
)

RULES = ResourceRules(hourly_rate_fen=10000, peak_rate_fen=15000,
                      opening_hours={d: ["09:00", "24:00"] for d in
                                     ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=LOCAL)


def t(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=LOCAL)


def test_price_counts_peak_slots_separately():
    assert price_fen(RULES, t(2, 14), t(2, 16)) == 20000
    assert price_fen(RULES, t(2, 18), t(2, 20)) == 10000 + 15000
    assert price_fen(RULES, t(2, 18, 30), t(2, 19, 30)) == 5000 + 7500


def test_price_rounds_once_to_the_fen():
    odd = ResourceRules(hourly_rate_fen=10001, peak_rate_fen=10001, opening_hours=RULES.opening_hours)
    assert price_fen(odd, t(2, 10), t(2, 11, 30)) == 15002  # 15001.5 rounded half up


@pytest.mark.parametrize("start,end,code", [
    (t(2, 10, 15), t(2, 11, 15), "not_on_slot_boundary"),
    (t(2, 10), t(2, 10, 30), "too_short"),
    (t(2, 9), t(2, 17, 30), "too_long"),
    (t(1, 9), t(1, 10), "too_late_to_book"),
    (t(1, 9) + timedelta(days=31), t(1, 10) + timedelta(days=31), "too_far_ahead"),
    (t(2, 8), t(2, 9, 30), "outside_opening_hours"),
    (t(2, 23), t(3, 1), "outside_opening_hours"),
    (t(2, 11), t(2, 10), "validation_error"),
])
def test_each_rule_has_its_code(start, end, code):
    with pytest.raises(RuleBroken) as broken:
        check_request(RULES, start, end, NOW)
    assert broken.value.code == code


def test_a_slot_that_started_can_not_be_booked_but_the_next_one_can():
    check_request(RULES, t(1, 10), t(1, 11), NOW)  # starts now: minimum notice 0
    with pytest.raises(RuleBroken):
        check_request(RULES, t(1, 9, 30), t(1, 10, 30), NOW)


def test_booking_until_midnight_is_inside_opening_hours():
    check_request(RULES, t(2, 22), t(3, 0), NOW)


def test_free_intervals_leave_buffer_around_bookings():
    free = free_intervals(RULES, date(2026, 12, 2), NOW, [Interval(t(2, 12), t(2, 14))], [])
    assert [(i.start, i.end) for i in free] == [(t(2, 9), t(2, 11, 30)), (t(2, 14, 30), t(3, 0))]


def test_free_intervals_start_from_now_and_skip_short_gaps():
    free = free_intervals(RULES, date(2026, 12, 1), t(1, 10, 10), [Interval(t(1, 11, 30), t(1, 12))], [])
    # 10:30 to 11:15 is shorter than the 60-minute minimum
    assert [(i.start, i.end) for i in free] == [(t(1, 12, 30), t(2, 0))]


def test_closures_remove_time():
    free = free_intervals(RULES, date(2026, 12, 2), NOW, [], [Interval(t(2, 9), t(2, 13))])
    assert free[0].start == t(2, 13)
