"""`flask doctor` and /healthz/ready: is this installation safe to keep running?

Each check answers with ok and a line a person can act on. They read only; nothing is repaired
here (a dropped guard comes back with `flask db upgrade`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.checkin.keys import signing_key_usable
from app.core.clock import now
from app.notify.models import Notification
from app.ops.guards import missing_guards
from app.ops.models import Heartbeat
from app.ops.rules import heartbeat_fresh


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _script_heads() -> set[str]:
    directory = current_app.extensions["migrate"].directory
    config = Config()
    config.set_main_option("script_location", str(Path(directory)))
    return set(ScriptDirectory.from_config(config).get_heads())


def check_migrations(session: Session) -> Check:
    current = set(MigrationContext.configure(session.connection()).get_current_heads())
    heads = _script_heads()
    if current == heads:
        return Check("migrations", True, f"at head {', '.join(sorted(heads))}")
    return Check("migrations", False, f"database at {', '.join(sorted(current)) or 'nothing'}, "
                                      f"code at {', '.join(sorted(heads))}: run flask db upgrade")


def check_guards(session: Session) -> Check:
    connection = session.connection()
    missing = [g.name for g in missing_guards(connection)]
    if missing:
        return Check("guards", False, f"missing {', '.join(missing)}: run flask db upgrade")
    if connection.dialect.name == "sqlite":
        # The write-lock path (app.core.locks): writers must queue for the lock, not fail at once.
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        if timeout <= 0 or str(mode).lower() != "wal":
            return Check("guards", False, f"SQLite write lock: busy_timeout={timeout}, "
                                          f"journal_mode={mode} (want > 0 and wal)")
        return Check("guards", True, "append-only and frozen-statement triggers; write lock "
                                     f"queues (busy_timeout {timeout} ms, WAL)")
    return Check("guards", True, "append-only, frozen-statement and balance triggers; "
                                 "bookings_no_overlap exclusion constraint")


def check_signing_key(session: Session) -> Check:
    key_id = signing_key_usable(session, current_app.config["SECRET_KEY"])
    if key_id is None:
        return Check("signing_key", False, "no active signing key that SECRET_KEY can decrypt: "
                                           "run flask keys rotate")
    return Check("signing_key", True, f"signing with {key_id}")


def check_scheduler(session: Session) -> Check:
    max_age = int(current_app.config["SCHEDULER_HEARTBEAT_MAX_AGE"])
    last = session.scalar(select(func.max(Heartbeat.last_run_at)))
    if heartbeat_fresh(last, now(), max_age):
        return Check("scheduler", True, f"last run {last.isoformat(timespec='seconds')}")
    seen = last.isoformat(timespec="seconds") if last else "never"
    return Check("scheduler", False, f"no job ran within {max_age} s (last: {seen}): "
                                     "is flask scheduler run up?")


def check_outbox(session: Session) -> Check:
    lag = int(current_app.config["OUTBOX_MAX_LAG"])
    late = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.status == "pending",
        Notification.next_attempt_at < now() - timedelta(seconds=lag))) or 0
    failed = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.status == "failed")) or 0
    if late:
        return Check("outbox", False, f"{late} notification(s) due for more than {lag} s "
                                      f"({failed} failed for good)")
    return Check("outbox", True, f"nothing overdue ({failed} failed for good)")


def check_reconciliation(session: Session) -> Check:
    beat = session.get(Heartbeat, "reconcile")
    if beat is None:
        return Check("reconciliation", False, "never ran: flask scheduler once reconcile")
    when = beat.last_run_at.isoformat(timespec="seconds")
    if not beat.ok:
        return Check("reconciliation", False, f"the run at {when} failed with an error")
    if beat.result:
        return Check("reconciliation", False, f"{beat.result} violation(s) at {when}: "
                                              "flask finance reconcile --month …")
    return Check("reconciliation", True, f"clean at {when}")


CHECKS = (check_migrations, check_guards, check_signing_key, check_scheduler, check_outbox,
          check_reconciliation)


def run_checks(session: Session) -> list[Check]:
    results = []
    for check in CHECKS:
        try:
            results.append(check(session))
        except Exception as err:  # noqa: BLE001 - a check that cannot run has failed
            session.rollback()
            results.append(Check(check.__name__.removeprefix("check_"), False,
                                 f"{type(err).__name__}: {err}".splitlines()[0]))
    return results
