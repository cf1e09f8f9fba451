"""Pure decisions for operations: heartbeat freshness, which backups to keep, file names."""

from __future__ import annotations

from datetime import datetime, timedelta

BACKUP_PREFIX = "venuebook-"


def heartbeat_fresh(last_run: datetime | None, moment: datetime, max_age_seconds: int) -> bool:
    return last_run is not None and moment - last_run <= timedelta(seconds=max_age_seconds)


def backup_name(moment: datetime, dialect: str) -> str:
    """A name that sorts by time: venuebook-20261201T020000Z.sqlite3 / .dump."""
    suffix = "sqlite3" if dialect == "sqlite" else "dump"
    return f"{BACKUP_PREFIX}{moment.strftime('%Y%m%dT%H%M%SZ')}.{suffix}"


def backups_to_prune(names: list[str], keep: int) -> list[str]:
    """The oldest backups beyond the newest ``keep`` (names sort by time)."""
    ours = sorted(n for n in names if n.startswith(BACKUP_PREFIX) and not n.endswith(".sha256"))
    return ours[:-keep] if keep > 0 else ours
