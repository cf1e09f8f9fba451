"""Pure catalog facts: labels, opening-hours parsing and filters over a published snapshot."""

from __future__ import annotations

from datetime import time
from typing import Any

from app.catalog.models import WEEKDAYS

KIND_LABELS = {
    "livestream_room": ("直播间", "Live-stream room"),
    "recording_studio": ("录音室", "Recording studio"),
    "photo_studio": ("摄影棚", "Photo studio"),
    "shared_office": ("共享办公", "Shared office"),
    "outdoor_scene": ("户外场景", "Outdoor scene"),
}
WEEKDAY_LABELS = {
    "mon": ("周一", "Mon"), "tue": ("周二", "Tue"), "wed": ("周三", "Wed"), "thu": ("周四", "Thu"),
    "fri": ("周五", "Fri"), "sat": ("周六", "Sat"), "sun": ("周日", "Sun"),
}
# Studios need time to set up; live rooms are booked in shorter blocks (DOMAIN.md).
DEFAULT_MIN_MINUTES = {"recording_studio": 120, "photo_studio": 120}


def default_min_minutes(kind: str) -> int:
    return DEFAULT_MIN_MINUTES.get(kind, 60)


def parse_clock(text: str) -> int:
    """"09:30" -> minutes after midnight; "24:00" is the end of the day (1440)."""
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not (0 <= value <= 1440) or int(minutes or 0) >= 60:
        raise ValueError(f"not a time of day: {text!r}")
    return value


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def valid_opening_hours(hours: Any) -> bool:
    if not isinstance(hours, dict) or not set(hours) <= set(WEEKDAYS):
        return False
    try:
        return all(
            isinstance(span, list | tuple) and len(span) == 2
            and parse_clock(span[0]) < parse_clock(span[1])
            for span in hours.values()
        )
    except (ValueError, TypeError):
        return False


def as_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60) if minutes < 1440 else time(23, 59)


def filter_items(items: list[dict], filters: dict[str, Any]) -> list[dict]:
    """Filter published resource items by district, venue, kind, program and minimum capacity."""

    def keep(item: dict) -> bool:
        if filters.get("district") and item["venue"]["district"] != filters["district"]:
            return False
        venue = filters.get("venue")
        if venue and str(venue) not in (str(item["venue"]["id"]), item["venue"]["code"]):
            return False
        if filters.get("kind") and item["kind"] != filters["kind"]:
            return False
        if filters.get("program") and filters["program"] not in [p["code"] for p in item["programs"]]:
            return False
        if filters.get("capacity") and item["capacity"] < int(filters["capacity"]):
            return False
        return True

    return [item for item in items if keep(item)]


RESOURCE_INT_FIELDS = {
    "capacity": (1, 500),
    "area_sqm": (0, 100000),
    "hourly_rate_fen": (0, 100_000_00),
    "peak_rate_fen": (0, 100_000_00),
    "slot_minutes": (5, 240),
    "min_minutes": (5, 1440),
    "max_minutes": (5, 1440),
    "buffer_minutes": (0, 240),
    "min_notice_minutes": (0, 7 * 1440),
    "max_advance_days": (1, 366),
    "cancel_deadline_hours": (0, 24 * 30),
    "checkin_opens_minutes": (0, 240),
    "no_show_after_minutes": (1, 480),
}


def resource_field_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Field problems in a resource's settings (after merging changes onto current values)."""
    errors: dict[str, list[str]] = {}
    for name, (low, high) in RESOURCE_INT_FIELDS.items():
        value = values.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, int):
            errors[name] = ["Must be a whole number."]
        elif not low <= value <= high:
            errors[name] = [f"Must be between {low} and {high}."]
    if errors:
        return errors
    if values["kind"] not in KIND_LABELS:
        errors["kind"] = ["Unknown kind."]
    if not str(values.get("name_zh") or "").strip():
        errors["name_zh"] = ["Required."]
    if values["min_minutes"] > values["max_minutes"]:
        errors["min_minutes"] = ["Must not exceed the maximum duration."]
    for name in ("min_minutes", "max_minutes"):
        if values[name] % values["slot_minutes"]:
            errors.setdefault(name, []).append("Must be a multiple of the slot length.")
    if values["peak_rate_fen"] < values["hourly_rate_fen"]:
        errors["peak_rate_fen"] = ["The peak rate must not be below the normal rate."]
    try:
        if parse_clock(values["peak_start"]) >= parse_clock(values["peak_end"]):
            errors["peak_end"] = ["The peak window must end after it starts."]
    except (ValueError, KeyError, TypeError):
        errors["peak_start"] = ["Times are HH:MM."]
    hours = values.get("opening_hours")
    if hours is not None and not valid_opening_hours(hours):
        errors["opening_hours"] = ["Give [open, close] as HH:MM per weekday (mon..sun)."]
    return errors
