"""Booking rules as pure functions: slots, opening hours, buffers, price. No Flask, no session.

Times are aware datetimes; the day, opening hours and slot boundaries are local (Asia/Shanghai).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.catalog.models import WEEKDAYS
from app.catalog.rules import parse_clock

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class ResourceRules:
    slot_minutes: int = 30
    min_minutes: int = 60
    max_minutes: int = 480
    buffer_minutes: int = 15
    min_notice_minutes: int = 0
    max_advance_days: int = 30
    cancel_deadline_hours: int = 24
    hourly_rate_fen: int = 0
    peak_rate_fen: int = 0
    peak_start: str = "19:00"
    peak_end: str = "24:00"
    opening_hours: dict | None = None

    @classmethod
    def of(cls, resource) -> ResourceRules:
        return cls(
            slot_minutes=resource.slot_minutes,
            min_minutes=resource.min_minutes,
            max_minutes=resource.max_minutes,
            buffer_minutes=resource.buffer_minutes,
            min_notice_minutes=resource.min_notice_minutes,
            max_advance_days=resource.max_advance_days,
            cancel_deadline_hours=resource.cancel_deadline_hours,
            hourly_rate_fen=resource.hourly_rate_fen,
            peak_rate_fen=resource.peak_rate_fen,
            peak_start=resource.peak_start,
            peak_end=resource.peak_end,
            opening_hours=resource.effective_opening_hours,
        )


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class RuleBroken(Exception):
    """One booking rule is not met; ``code`` is the API error code."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL)


def opening_window(rules: ResourceRules, day: date) -> Interval | None:
    """The opening hours of ``day`` as aware datetimes, or None when closed."""
    span = (rules.opening_hours or {}).get(WEEKDAYS[day.weekday()])
    if not span:
        return None
    midnight = local_midnight(day)
    # Adding minutes to local midnight is exact: Shanghai has no daylight saving time.
    return Interval(midnight + timedelta(minutes=parse_clock(span[0])),
                    midnight + timedelta(minutes=parse_clock(span[1])))


def on_slot_boundary(moment: datetime, slot_minutes: int) -> bool:
    local = moment.astimezone(LOCAL)
    return local.second == 0 and local.microsecond == 0 and \
        (local.hour * 60 + local.minute) % slot_minutes == 0


def ceil_to_slot(moment: datetime, slot_minutes: int) -> datetime:
    local = moment.astimezone(LOCAL)
    midnight = local_midnight(local.date())
    elapsed = (local - midnight).total_seconds()
    step = slot_minutes * 60
    slots = -(-elapsed // step)
    return midnight + timedelta(seconds=slots * step)


def floor_to_slot(moment: datetime, slot_minutes: int) -> datetime:
    local = moment.astimezone(LOCAL)
    midnight = local_midnight(local.date())
    elapsed = (local - midnight).total_seconds()
    step = slot_minutes * 60
    return midnight + timedelta(seconds=(elapsed // step) * step)


def booking_window(rules: ResourceRules, now: datetime) -> Interval:
    """When bookings may start: from the minimum notice until the maximum advance."""
    return Interval(now + timedelta(minutes=rules.min_notice_minutes),
                    now + timedelta(days=rules.max_advance_days))


def check_request(rules: ResourceRules, start: datetime, end: datetime, now: datetime) -> None:
    """Raise RuleBroken for the first rule a requested slot breaks (before looking at others)."""
    if end <= start:
        raise RuleBroken("validation_error", fields={"end": ["Must be after start."]})
    if not (on_slot_boundary(start, rules.slot_minutes) and on_slot_boundary(end, rules.slot_minutes)):
        raise RuleBroken("not_on_slot_boundary", slot_minutes=rules.slot_minutes)
    minutes = (end - start).total_seconds() / 60
    if minutes < rules.min_minutes:
        raise RuleBroken("too_short", min_minutes=rules.min_minutes)
    if minutes > rules.max_minutes:
        raise RuleBroken("too_long", max_minutes=rules.max_minutes)
    window = booking_window(rules, now)
    if start < window.start:
        raise RuleBroken("too_late_to_book", earliest=window.start.isoformat())
    if start > window.end:
        raise RuleBroken("too_far_ahead", max_advance_days=rules.max_advance_days)
    day = start.astimezone(LOCAL).date()
    opening = opening_window(rules, day)
    if opening is None or start < opening.start or end > opening.end:
        raise RuleBroken(
            "outside_opening_hours",
            opening=None if opening is None else
            [opening.start.astimezone(LOCAL).strftime("%H:%M"),
             "24:00" if opening.end.astimezone(LOCAL).date() > day
             else opening.end.astimezone(LOCAL).strftime("%H:%M")],
        )


def busy_interval(start: datetime, end: datetime, buffer_minutes: int) -> Interval:
    """What an existing booking takes from others: itself widened by the buffer on both sides."""
    buffer = timedelta(minutes=buffer_minutes)
    return Interval(start - buffer, end + buffer)


def overlaps(a: Interval, b: Interval) -> bool:
    return a.start < b.end and b.start < a.end


def subtract(base: Interval, cuts: list[Interval]) -> list[Interval]:
    free = [base]
    for cut in sorted(cuts, key=lambda c: c.start):
        next_free = []
        for piece in free:
            if not overlaps(piece, cut):
                next_free.append(piece)
                continue
            if piece.start < cut.start:
                next_free.append(Interval(piece.start, cut.start))
            if cut.end < piece.end:
                next_free.append(Interval(cut.end, piece.end))
        free = next_free
    return free


def free_intervals(
    rules: ResourceRules,
    day: date,
    now: datetime,
    bookings: list[Interval],
    closures: list[Interval],
) -> list[Interval]:
    """Bookable intervals of ``day``: each can hold a booking of at least the minimum length.

    A booking fits an interval when it starts and ends inside it on slot boundaries.
    """
    opening = opening_window(rules, day)
    if opening is None:
        return []
    window = booking_window(rules, now)
    cuts = [busy_interval(b.start, b.end, rules.buffer_minutes) for b in bookings] + list(closures)
    result = []
    for piece in subtract(opening, cuts):
        start = ceil_to_slot(max(piece.start, window.start), rules.slot_minutes)
        end = floor_to_slot(piece.end, rules.slot_minutes)
        # the latest allowed start is the end of the advance window
        latest_start = floor_to_slot(window.end, rules.slot_minutes)
        if start > latest_start:
            continue
        if (end - start) >= timedelta(minutes=rules.min_minutes):
            result.append(Interval(start, end))
    return result


def price_fen(rules: ResourceRules, start: datetime, end: datetime) -> int:
    """The gross price: each slot at the peak or normal hourly rate, rounded once to the fen."""
    peak_from, peak_until = parse_clock(rules.peak_start), parse_clock(rules.peak_end)
    total = 0  # fen × minutes
    moment = start
    step = timedelta(minutes=rules.slot_minutes)
    while moment < end:
        local = moment.astimezone(LOCAL)
        minute_of_day = local.hour * 60 + local.minute
        rate = rules.peak_rate_fen if peak_from <= minute_of_day < peak_until else rules.hourly_rate_fen
        slot_end = min(moment + step, end)
        total += rate * int((slot_end - moment).total_seconds() // 60)
        moment = slot_end
    return (total + 30) // 60


def cancel_deadline(rules_hours: int, start: datetime) -> datetime:
    return start - timedelta(hours=rules_hours)
