"""The published list as it is served: derived once per version, per process, from its snapshot.

A published version never changes (a database trigger refuses it), so everything derived from
it — a filtered list as JSON, one resource, a page, a CSV or XLSX file — stays right for as
long as the version exists. Each is built once per process and kept with a strong ETag (a
hash of its bytes), so a client that has it gets 304 Not Modified. Which version is current
costs one indexed query, outside any transaction; publishing gives the list a new number, so
the next request sees it and nothing needs invalidating by hand. The cache lives on the app
(``app.extensions``): each app, and each test, has its own.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session

from app.catalog.models import ListVersion, Program, Resource
from app.catalog.rules import filter_items
from app.core.db import read_alone
from app.core.errors import NotFound
from app.extensions import db

FILTER_KEYS = ("district", "venue", "kind", "program", "capacity")
# Renderings per version: filters and paths come from clients, so the number of keys is theirs.
MAX_RENDERINGS = 512
MAX_VERSIONS = 4


class Rendering:
    """Bytes to send and their strong ETag."""

    __slots__ = ("body", "etag")

    def __init__(self, number: int, body: bytes):
        self.body = body
        self.etag = f"v{number}-{hashlib.sha256(body).hexdigest()[:32]}"


class FrozenVersion:
    """One published version: its items, looked up by id, and what has been rendered from it."""

    def __init__(self, number: int, published_at: datetime, resource_count: int, note: str,
                 snapshot: dict[str, Any]):
        self.number = number
        self.published_at = published_at
        self.resource_count = resource_count
        self.note = note
        self.items: list[dict[str, Any]] = snapshot["items"]
        self.by_id: dict[int, dict[str, Any]] = {item["id"]: item for item in self.items}
        self._renderings: OrderedDict[Hashable, Rendering] = OrderedDict()
        self._lock = threading.Lock()

    def filtered(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return filter_items(self.items, filters)

    def rendering(self, key: Hashable, build: Callable[[], bytes]) -> Rendering:
        """The rendering under ``key``, built once (two threads may both build it the first time;
        either result is the same)."""
        with self._lock:
            found = self._renderings.get(key)
            if found is not None:
                self._renderings.move_to_end(key)
                return found
        made = Rendering(self.number, build())
        with self._lock:
            self._renderings[key] = made
            while len(self._renderings) > MAX_RENDERINGS:
                self._renderings.popitem(last=False)
        return made


# What a booking takes from the list: the terms an administrator's draft must not change.
RULE_FIELDS = ("slot_minutes", "min_minutes", "max_minutes", "buffer_minutes",
               "min_notice_minutes", "max_advance_days", "cancel_deadline_hours",
               "checkin_opens_minutes", "no_show_after_minutes")


class PublishedResource:
    """A resource on the terms a list version published: its rates, booking rules, opening
    hours, kind and accepted programs come from the version's snapshot; what the list does not
    freeze (its id, venue, names for messages) comes from the row.

    Booking, quoting, availability and the pages read resources through this, so an
    administrator's unpublished edit changes nothing a creator is charged or offered.
    """

    def __init__(self, row: Resource, item: dict[str, Any], version: int):
        self.row = row
        self.list_version = version
        rates, rules = item["rates"], item["rules"]
        self.hourly_rate_fen: int = rates["hourly_fen"]
        self.peak_rate_fen: int = rates["peak_fen"]
        self.peak_start: str = rates["peak_start"]
        self.peak_end: str = rates["peak_end"]
        for name in RULE_FIELDS:
            setattr(self, name, rules[name])
        self.effective_opening_hours: dict[str, Any] = item["opening_hours"]
        self.kind: str = item["kind"]
        self.program_codes: tuple[str, ...] = tuple(p["code"] for p in item["programs"])
        # known without a query: a self-pay booking of a room no quota program funds reads none
        self.accepts_quota: bool = any(p["funding"] == "quota" for p in item["programs"])
        self._programs: list[Program] | None = None

    @property
    def programs(self) -> list[Program]:
        """The programs the version links to this resource (their own rules are live)."""
        if self._programs is None:
            session = object_session(self.row)
            self._programs = list(session.scalars(
                select(Program).where(Program.code.in_(self.program_codes)).order_by(Program.code)
            )) if self.program_codes else []
        return self._programs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def filter_key(args: dict[str, Any]) -> tuple:
    """The filters that change a list, in one order, as a cache key."""
    return tuple((name, str(args[name])) for name in FILTER_KEYS if args.get(name))


class PublishedLists:
    """The versions this process has read, newest use last."""

    def __init__(self, ttl_seconds: float = 0.0) -> None:
        self._versions: OrderedDict[int, FrozenVersion] = OrderedDict()
        self._reading: dict[int, threading.Lock] = {}  # versions being read, one thread each
        self._lock = threading.Lock()
        self._ttl = ttl_seconds
        self._current: tuple[float, int | None] | None = None  # (when read, number)

    def current_number(self) -> int | None:
        """The current version's number. Read from the database at most every ``ttl``
        seconds (the list's readers need no round trip in between); a publication committed
        by this process is seen at once (``forget_current``), one by another process within
        the ttl. Booking never uses this: it reads the version in its own transaction."""
        seen = self._current
        if seen is not None and time.monotonic() - seen[0] < self._ttl:
            return seen[1]
        # an index-only look at the unique index on number
        number = read_alone(db.engine, "SELECT max(number) FROM list_versions")[0][0]
        self._current = (time.monotonic(), number)
        return number

    def forget_current(self) -> None:
        self._current = None

    def version(self, number: int) -> FrozenVersion | None:
        """Version ``number``, read from the database once per process. Threads that ask for
        a version not yet read wait for the one reading it: a large snapshot costs a second
        of CPU to parse, and a busy worker's threads all asking at once (the first requests
        after a publication) would otherwise each parse it, the server standing still."""
        found = self._held(number)
        if found is not None:
            return found
        with self._lock:
            reading = self._reading.setdefault(number, threading.Lock())
        with reading:
            found = self._held(number)  # read by the thread this one waited for
            if found is not None:
                return found
            try:
                rows = read_alone(db.engine, select(
                    ListVersion.number, ListVersion.published_at, ListVersion.resource_count,
                    ListVersion.note, ListVersion.snapshot).where(ListVersion.number == number))
                if not rows:
                    return None
                made = FrozenVersion(*rows[0])
                with self._lock:
                    self._versions[number] = made
                    while len(self._versions) > MAX_VERSIONS:
                        self._versions.popitem(last=False)
                return made
            finally:
                # numbers come from clients (?version=): none stays here once answered
                with self._lock:
                    self._reading.pop(number, None)

    def _held(self, number: int) -> FrozenVersion | None:
        with self._lock:
            found = self._versions.get(number)
            if found is not None:
                self._versions.move_to_end(number)
            return found

    def requested(self, number: int | None) -> tuple[FrozenVersion, int]:
        """(the version asked for, or the current one; the current number). 404 when missing."""
        current = self.current_number()
        if current is None and number is None:
            raise NotFound("no_published_list")
        version = self.version(number if number is not None else current)
        if version is None:
            raise NotFound("not_found")
        return version, current

    def listed_resource(self, resource_id: int) -> tuple[FrozenVersion, dict[str, Any]]:
        """A resource's item on the current list, while the resource is active; 404 otherwise.

        The version number and the resource's active flag come back in one round trip.
        """
        rows = read_alone(db.engine, select(
            select(func.max(ListVersion.number)).scalar_subquery(), Resource.active,
        ).where(Resource.id == resource_id))
        if not rows or rows[0][0] is None or not rows[0][1]:
            raise NotFound()
        version = self.version(rows[0][0])
        item = version.by_id.get(resource_id) if version is not None else None
        if item is None:
            raise NotFound()
        return version, item

    def item(self, number: int | None, resource_id: int) -> dict[str, Any] | None:
        """What version ``number`` says of a resource; None when the version is unknown or
        does not list it."""
        version = self.version(number) if number is not None else None
        return version.by_id.get(resource_id) if version is not None else None


    def rule(self, number: int | None, resource_id: int, name: str, live: int) -> int:
        """One booking rule of a resource as version ``number`` published it (``live``, the
        row's value, where that version is unknown or does not list the resource)."""
        item = self.item(number, resource_id)
        return item["rules"][name] if item is not None else live

    def terms(self, row: Resource, number: int | None) -> PublishedResource | None:
        """``row`` on the terms of version ``number``; None when that version does not list it."""
        item = self.item(number, row.id)
        return PublishedResource(row, item, number) if item is not None else None


PUBLISHED_IN_SESSION = "list_version_published"


@event.listens_for(Session, "after_commit")
def _see_own_publication(session: Session) -> None:
    """A version this process just published is current for its next request already."""
    if session.info.pop(PUBLISHED_IN_SESSION, False) and has_app_context():
        lists = current_app.extensions.get("published_lists")
        if lists is not None:
            lists.forget_current()


@event.listens_for(Session, "after_rollback")
def _publication_undone(session: Session) -> None:
    session.info.pop(PUBLISHED_IN_SESSION, None)


def published_lists() -> PublishedLists:
    lists = current_app.extensions.get("published_lists")
    if lists is None:
        lists = current_app.extensions.setdefault("published_lists", PublishedLists(
            current_app.config.get("LIST_VERSION_TTL_SECONDS", 0.0)))
    return lists
