"""Opening hours as a person edits them: a row per weekday with a tick and two time fields.

Stored as ``{"mon": ["09:00", "24:00"], ...}``; a weekday without a key is closed. A time field
cannot say 24:00, so a closing time of 00:00 means "until midnight".
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.catalog.models import WEEKDAYS
from app.catalog.rules import WEEKDAY_LABELS, parse_clock
from app.core.errors import ValidationFailed
from app.core.i18n import is_english

MIDNIGHT = "24:00"


def rows_from_hours(hours: dict[str, Any] | None) -> list[dict[str, Any]]:
    hours = hours or {}
    return [{"day": day, "open": day in hours,
             "from": hours[day][0] if day in hours else "09:00",
             "until": ("00:00" if hours[day][1] == MIDNIGHT else hours[day][1])
             if day in hours else "00:00"} for day in WEEKDAYS]


def rows_from_form(form) -> list[dict[str, Any]]:
    return [{"day": day, "open": form.get(f"open_{day}") == "on",
             "from": form.get(f"from_{day}", ""), "until": form.get(f"until_{day}", "")}
            for day in WEEKDAYS]


def hours_from_form(form) -> dict[str, list[str]]:
    """The ticked weekdays' spans; ValidationFailed naming each weekday that does not add up."""
    hours: dict[str, list[str]] = {}
    problems = []
    for row in rows_from_form(form):
        if not row["open"]:
            continue
        day_name = WEEKDAY_LABELS[row["day"]][1 if is_english() else 0]
        until = MIDNIGHT if row["until"] == "00:00" else row["until"]
        try:
            opens, closes = parse_clock(row["from"]), parse_clock(until)
        except (ValueError, TypeError):
            problems.append(_("%(day)s: give the opening and closing time.", day=day_name))
            continue
        if closes <= opens:
            problems.append(_("%(day)s: closing must be after opening.", day=day_name))
            continue
        hours[row["day"]] = [row["from"], until]
    if not hours and not problems:
        problems.append(_("Tick at least one day. To close the whole place, untick Active."))
    if problems:
        raise ValidationFailed({"opening_hours": problems})
    return hours
