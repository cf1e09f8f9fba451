"""The one source of "now", so tests can move time without patching the world."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_now_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now_source()


def set_now_source(source: Callable[[], datetime] | None) -> None:
    global _now_source
    _now_source = source or (lambda: datetime.now(UTC))


def local_now() -> datetime:
    return now().astimezone(SHANGHAI)


def local_today() -> date:
    return local_now().date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


class FrozenClock:
    """A clock for tests: ``clock.set(...)``, ``clock.advance(...)``."""

    def __init__(self, start: datetime):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, delta) -> None:
        self.current = self.current + delta
