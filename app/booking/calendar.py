"""iCalendar (RFC 5545) feeds at secret URLs: a creator's bookings, a resource's bookings."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event

from app.core.clock import now


def build_calendar(name: str, bookings, host: str, describe) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Shanghai shared creation venues//booking//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    stamp = now()
    for booking in bookings:
        event = Event()
        event.add("uid", f"booking-{booking.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", booking.start_at)
        event.add("dtend", booking.end_at)
        summary, location, description = describe(booking)
        event.add("summary", summary)
        event.add("location", location)
        event.add("description", description)
        event.add("status", "CANCELLED" if booking.status in ("cancelled", "no_show") else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
