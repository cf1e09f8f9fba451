"""Booking reads and checks: availability, slot rules, lists, closures. Callers commit.

The transitions (book, cancel, reschedule, …) are in ``app.booking.lifecycle``.

No overlap is ever stored: on PostgreSQL an exclusion constraint refuses it; on SQLite every
booking write first takes the database's write lock, so checks and inserts run one at a time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import (
    Integer,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached

from app.accounts.models import User
from app.audit.service import record
from app.booking import rules
from app.booking.models import ACTIVE_STATUSES, Booking, Closure
from app.catalog.models import Resource, Venue
from app.catalog.published import PublishedResource, published_lists
from app.catalog.service import current_terms
from app.core.clock import to_local
from app.core.db import write_core
from app.core.errors import AppError, Busy, Conflict, NotFound, RuleViolation


def rule_error(broken: rules.RuleBroken) -> AppError:
    if broken.code == "validation_error":
        return AppError("validation_error", status=422, details=broken.details)
    status = 409 if broken.code == "slot_taken" else 422
    return AppError(broken.code, status=status, details=broken.details, params=broken.details)


def take_booking_lock(session: Session, resource_id: int) -> None:
    """Serialise booking writes where the database has no exclusion constraint (SQLite).

    A write statement takes SQLite's single write lock until commit; later writers queue on
    ``busy_timeout``. PostgreSQL needs nothing here: its exclusion constraint decides.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE resources SET id = id WHERE id = :id"), {"id": resource_id})


def bookable_resource(session: Session, resource_id: int) -> PublishedResource:
    """The resource on the terms of the list in force, when it may be booked now.

    A resource the list does not carry (a draft never published) is not bookable, and its
    price and rules are the published ones whatever an administrator has changed since.
    """
    resource, terms = current_terms(session, resource_id)
    if resource is None:
        raise NotFound()
    if not resource.active or not resource.venue.active:
        raise RuleViolation("resource_inactive")
    if terms is None:
        raise RuleViolation("resource_inactive", details={"reason": "not_published"})
    return terms


def booked_terms(booking: Booking) -> PublishedResource | Resource:
    """The terms a booking was made under: its list version's, or (for a booking from before
    versions were recorded) the resource row's."""
    terms = published_lists().terms(booking.resource, booking.list_version)
    return terms if terms is not None else booking.resource


def _blocking(start, end, dialect: str) -> list:
    """Conditions for the active bookings whose blocked range [start_at, blocked_until) meets
    [start, end).

    On PostgreSQL the same test is also written as the range overlap of the table's exclusion
    constraint, with the active statuses as literals: its index then finds exactly those
    bookings, also in the generic plan of a prepared statement, instead of reading every past
    booking of the room."""
    conditions = [
        Booking.status.in_([literal(status, literal_execute=True) for status in ACTIVE_STATUSES]),
        Booking.start_at < end,
        Booking.blocked_until > start,
    ]
    if dialect == "postgresql":
        bounds = literal_column("'[)'")  # in the SQL itself, as in the constraint's expression
        conditions.append(func.tstzrange(Booking.start_at, Booking.blocked_until, bounds).op("&&")(
            func.tstzrange(start, end, bounds)))
    return conditions


def _active_intervals(session: Session, resource_id: int, start: datetime, end: datetime,
                      exclude_id: int | None = None) -> list[rules.Interval]:
    query = select(Booking.start_at, Booking.end_at).where(
        Booking.resource_id == resource_id,
        *_blocking(start, end, session.get_bind().dialect.name),
    )
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    return [rules.Interval(s, e) for s, e in session.execute(query)]


def _closures(session: Session, resource_id: int, start: datetime, end: datetime):
    return list(session.scalars(select(Closure).where(
        Closure.resource_id == resource_id, Closure.start_at < end, Closure.end_at > start)))


@cache
def _obstacles_statement(excluding: bool, dialect: str):
    """Closures and active bookings near [:start, :end) of :resource_id (not :exclude_id, when
    ``excluding``), in one round trip: built once, since every booking, quote and move runs it."""
    moment = Booking.__table__.c.start_at.type
    start, end = bindparam("start", type_=moment), bindparam("end", type_=moment)
    resource_id = bindparam("resource_id", type_=Integer)
    bookings = select(Booking.start_at, Booking.end_at, literal("booking").label("kind"),
                      literal("").label("reason")).where(
        Booking.resource_id == resource_id, *_blocking(start, end, dialect))
    if excluding:
        bookings = bookings.where(Booking.id != bindparam("exclude_id", type_=Integer))
    closures = select(Closure.start_at, Closure.end_at, literal("closure").label("kind"),
                      Closure.reason).where(
        Closure.resource_id == resource_id, Closure.start_at < end, Closure.end_at > start)
    return union_all(closures, bookings)


def _obstacles(session: Session, resource_id: int, start: datetime, end: datetime,
               exclude_id: int | None):
    """Closures and active bookings near [start, end), in one round trip."""
    params = {"resource_id": resource_id, "start": start, "end": end}
    if exclude_id is not None:
        params["exclude_id"] = exclude_id
    statement = _obstacles_statement(exclude_id is not None, session.get_bind().dialect.name)
    # plain rows, no ORM entities: the connection runs it directly
    return session.connection().execute(statement, params).all()


def check_slot(session: Session, resource: Resource, start: datetime, end: datetime,
               now: datetime, exclude_id: int | None = None) -> rules.ResourceRules:
    """Every rule for a new slot, raising the API error of the first one broken."""
    resource_rules = rules.ResourceRules.of(resource)
    try:
        rules.check_request(resource_rules, start, end, now)
    except rules.RuleBroken as broken:
        raise rule_error(broken) from broken
    buffer = timedelta(minutes=resource.buffer_minutes)
    wanted = rules.Interval(start, end + buffer)
    obstacles = _obstacles(session, resource.id, start - buffer, end + buffer, exclude_id)
    for other_start, other_end, kind, reason in obstacles:
        if kind == "closure" and other_start < end and other_end > start:
            raise RuleViolation("outside_opening_hours", details={
                "reason": "closure", "closure": {"start": to_local(other_start).isoformat(),
                                                 "end": to_local(other_end).isoformat(),
                                                 "reason": reason}})
    for other_start, other_end, kind, _ in obstacles:
        if kind == "booking" and rules.overlaps(wanted, rules.Interval(other_start, other_end + buffer)):
            raise Conflict("slot_taken")
    return resource_rules


class ShortCodeTaken(Busy):
    """The new booking's short code was already used (about one in a million at a million
    bookings): nothing was written; the caller rolls back and books again."""


_INSERT_BOOKING = insert(Booking).returning(Booking.id)


def insert_guarded(session: Session, values: dict, *, resource: Resource,
                   creator: User) -> Booking:
    """Insert a new booking (every column in ``values``) and return it, tracked by the session
    as if just read; a race lost to another booking becomes ``slot_taken``.

    One Core insert built once: the unit of work has nothing to decide for a new row. No
    savepoint: a lost race ends the whole request, and its transaction is rolled back. The
    short code is not looked up first: its unique index decides, and a collision raises
    ``ShortCodeTaken`` for the caller to try again.
    """
    try:
        booking_id = write_core(session, _INSERT_BOOKING, values).scalar_one()
    except IntegrityError as err:
        if "bookings_no_overlap" in str(err.orig) or "exclusion" in str(err.orig).lower():
            raise Conflict("slot_taken") from err
        if "short_code" in str(err.orig):
            raise ShortCodeTaken() from err
        raise
    booking = Booking(id=booking_id, **values)
    booking.resource = resource
    booking.creator = creator
    make_transient_to_detached(booking)  # every column is known: nothing to load or write
    session.add(booking)
    return booking


def quote(session: Session, resource: Resource, start: datetime, end: datetime, now: datetime) -> int:
    resource_rules = check_slot(session, resource, start, end, now)
    return rules.price_fen(resource_rules, start, end)


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id, options=[joinedload(Booking.resource)])
    if booking is None:
        raise NotFound()
    return booking


def can_view(user: User, booking: Booking) -> bool:
    if booking.creator_id == user.id or user.has_role("admin", "finance"):
        return True
    return user.has_role("operator") and booking.resource.venue_id in {
        v.id for v in user.operated_venues}


def visible_booking(session: Session, user: User, booking_id: int) -> Booking:
    booking = get_booking(session, booking_id)
    if not can_view(user, booking):
        # someone else's booking is not even confirmed to exist
        raise NotFound()
    return booking


# ---- availability --------------------------------------------------------------------------


def availability(session: Session, resource: Resource, first_day: date, days: int,
                 now: datetime) -> list[dict]:
    """Free bookable intervals per local day, from opening hours minus everything taken."""
    resource_rules = rules.ResourceRules.of(resource)
    span_start = rules.local_midnight(first_day) - timedelta(days=1)
    span_end = rules.local_midnight(first_day + timedelta(days=days + 1))
    taken = _active_intervals(session, resource.id, span_start, span_end)
    closures = [rules.Interval(c.start_at, c.end_at)
                for c in _closures(session, resource.id, span_start, span_end)]
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        opening = rules.opening_window(resource_rules, day)
        free = rules.free_intervals(resource_rules, day, now, taken, closures) if resource.active else []
        result.append({
            "date": day.isoformat(),
            "open": None if opening is None else to_local(opening.start).isoformat(),
            "close": None if opening is None else to_local(opening.end).isoformat(),
            "free": [{"start": to_local(i.start).isoformat(), "end": to_local(i.end).isoformat(),
                      "minutes": i.minutes} for i in free],
        })
    return result


def slot_starts(interval_start: datetime, interval_end: datetime, resource: Resource) -> list[datetime]:
    """Possible start times inside a free interval (leaving room for the minimum length)."""
    step = timedelta(minutes=resource.slot_minutes)
    latest = interval_end - timedelta(minutes=resource.min_minutes)
    starts, moment = [], interval_start
    while moment <= latest:
        starts.append(moment)
        moment += step
    return starts


# ---- lists ---------------------------------------------------------------------------------


def bookings_of_creator(session: Session, user: User, upcoming_from: datetime | None = None):
    query = select(Booking).where(Booking.creator_id == user.id).options(
        joinedload(Booking.resource).joinedload(Resource.venue))
    if upcoming_from is not None:
        query = query.where(Booking.end_at >= upcoming_from)
    return list(session.scalars(query.order_by(Booking.start_at.desc()).limit(500)))


def bookings_visible_to(session: Session, user: User, *, venue_id: int | None = None,
                        day: date | None = None, status: str | None = None, limit: int = 200):
    query = select(Booking).join(Booking.resource).options(
        joinedload(Booking.resource).joinedload(Resource.venue), joinedload(Booking.creator))
    if not user.has_role("admin", "finance"):
        venue_ids = [v.id for v in user.operated_venues] if user.has_role("operator") else []
        if venue_ids:
            query = query.where((Resource.venue_id.in_(venue_ids)) | (Booking.creator_id == user.id))
        else:
            query = query.where(Booking.creator_id == user.id)
    if venue_id is not None:
        query = query.where(Resource.venue_id == venue_id)
    if day is not None:
        query = query.where(Booking.start_at >= rules.local_midnight(day),
                            Booking.start_at < rules.local_midnight(day + timedelta(days=1)))
    if status is not None:
        query = query.where(Booking.status == status)
    return list(session.scalars(query.order_by(Booking.start_at).limit(limit)).unique())


def venue_day(session: Session, venue: Venue, day: date) -> list[Booking]:
    return list(session.scalars(
        select(Booking).join(Booking.resource)
        .where(Resource.venue_id == venue.id,
               Booking.start_at >= rules.local_midnight(day),
               Booking.start_at < rules.local_midnight(day + timedelta(days=1)))
        .options(joinedload(Booking.creator), joinedload(Booking.resource))
        .order_by(Booking.start_at, Resource.code)).unique())


# ---- closures ------------------------------------------------------------------------------


def add_closure(session: Session, actor_id: int, resource: Resource, start: datetime,
                end: datetime, reason: str) -> tuple[Closure, list[Booking]]:
    """Block a resource; bookings it collides with are returned for an administrator to resolve.

    They are never cancelled silently: the creator keeps the booking until someone acts.
    """
    if end <= start:
        raise AppError("validation_error", status=422,
                       details={"fields": {"end": ["Must be after start."]}})
    closure = Closure(resource_id=resource.id, start_at=start, end_at=end,
                      reason=reason.strip()[:500], created_by_id=actor_id)
    session.add(closure)
    session.flush()
    record(session, actor_id, "closure.create", "resource", resource.id,
           after={"start": start.isoformat(), "end": end.isoformat(), "reason": closure.reason})
    return closure, colliding_bookings(session, closure)


def colliding_bookings(session: Session, closure: Closure) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.resource_id == closure.resource_id,
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.start_at < closure.end_at,
        Booking.end_at > closure.start_at,
    ).order_by(Booking.start_at)))


def closures_of(session: Session, resource_id: int, from_time: datetime) -> list[Closure]:
    return list(session.scalars(select(Closure).where(
        Closure.resource_id == resource_id, Closure.end_at > from_time).order_by(Closure.start_at)))
