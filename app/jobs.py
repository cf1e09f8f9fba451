"""Time-driven jobs and the scheduler process (``flask scheduler run``), never in web workers.

Every job scans for what is due now, so it is idempotent and catches up after downtime by
itself: a run that was missed is simply done by the next one (all jobs also run once at start).
On PostgreSQL one scheduler among several is the leader, holding a session advisory lock on
its own connection; the others wait as standby and take over when the leader's connection
goes away. On SQLite a single scheduler process is assumed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, url_for
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from app.accounts.models import User, UserRole
from app.booking.lifecycle import complete_finished, mark_no_shows
from app.booking.reminders import send_reminders
from app.core.clock import local_today, now
from app.extensions import db
from app.finance.models import Statement
from app.finance.reconcile import reconcile
from app.finance.service import draft
from app.ledger.models import JournalEntry
from app.notify.service import deliver_due, enqueue, sender_from_config
from app.ops.backup import create_backup, prune
from app.ops.models import Heartbeat
from app.ops.rules import BACKUP_PREFIX
from app.payments.online import query_stale_orders, refund_due
from app.payments.providers import app_client
from app.privacy.service import apply_retention
from app.vouchers.service import expire_due

log = logging.getLogger("venuebook.jobs")
LEADER_LOCK_KEY = 7_172_026  # any fixed number; one per site database


# ---- the jobs (each: a session and "now", commits once) -------------------------------------


def job_no_shows(session, moment) -> int:
    return mark_no_shows(session, moment)


def job_complete(session, moment) -> int:
    return complete_finished(session, moment)


def job_expire_vouchers(session, moment) -> int:
    return expire_due(session, moment)


def job_reminders(session, moment) -> int:
    return send_reminders(session, moment, lambda booking: url_for(
        "booking.booking_page", booking_id=booking.id, _external=True))


def _previous_month(moment) -> str:
    first = local_today().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def job_draft_statements(session, moment) -> int:
    """From the 1st: a draft for every venue with paid items last month (once per venue)."""

    month = _previous_month(moment)
    venues = session.scalars(select(JournalEntry.venue_id).distinct().where(
        JournalEntry.kind.in_(("voucher.redeem", "quota.consume")), JournalEntry.period <= month,
        JournalEntry.venue_id.is_not(None))).all()
    made = 0
    for venue_id in venues:
        exists = session.scalar(select(Statement.id).where(Statement.venue_id == venue_id,
                                                           Statement.month == month))
        if exists is None:
            statement = draft(session, None, venue_id, month)
            made += statement.line_count > 0
            if statement.line_count == 0:
                session.delete(statement)
    if made:
        for user in session.scalars(select(User).join(UserRole).where(UserRole.role == "finance")):
            enqueue(session, user, "statements_drafted", f"statements_drafted:{month}:{user.id}",
                    {"month": month, "count": made}, at=moment)
    return made


def job_reconcile(session, moment) -> int:
    """Nightly: reconcile the month of the day that just ended; tell finance about failures."""

    problems = 0
    for month in [(local_today() - timedelta(days=1)).strftime("%Y-%m")]:  # the day just ended
        report = reconcile(session, month)
        if report.ok:
            continue
        problems += len(report.violations)
        summary = "\n".join(f"- [{v.invariant}] {v.object_type} {v.object_id}: {v.message}"
                            for v in report.violations[:20])
        for user in session.scalars(select(User).join(UserRole).where(UserRole.role == "finance")):
            enqueue(session, user, "reconciliation_failed",
                    f"reconciliation_failed:{month}:{local_today().isoformat()}:{user.id}",
                    {"month": month, "count": len(report.violations), "summary": summary},
                    at=moment)
    return problems


def job_deliver(session, moment) -> int:
    return deliver_due(session, sender_from_config(current_app.config), moment)["sent"]


def job_payment_queries(session, moment) -> int:
    """Online orders whose notification is late are confirmed by asking the provider."""
    after = timedelta(minutes=current_app.config["PAYMENT_QUERY_AFTER_MINUTES"])
    return query_stale_orders(session, moment, app_client, after)


def job_online_refunds(session, moment) -> int:
    """Bookings cancelled in time get their online payments back through the provider."""
    return refund_due(session, moment, app_client)


def job_backup(session, moment) -> int:
    """Nightly on SQLite: a backup unless one was made in the last 20 hours; keep BACKUP_KEEP.

    PostgreSQL sites back up with pg_dump from cron and WAL archiving (README, Operations).
    """
    if session.get_bind().dialect.name != "sqlite":
        return 0
    directory = Path(current_app.config["BACKUP_DIR"])
    if directory.is_dir():
        recent = [p for p in directory.iterdir() if p.name.startswith(BACKUP_PREFIX)
                  and p.suffix == ".sqlite3" and time.time() - p.stat().st_mtime < 20 * 3600]
        if recent:
            return 0
    create_backup(db.engine, directory, moment)
    prune(directory, int(current_app.config["BACKUP_KEEP"]))
    return 1


def job_retention(session, moment) -> int:
    """Apply the retention settings (README, Operations): see app.privacy.service."""
    return apply_retention(session, moment,
                           notification_days=int(current_app.config["RETENTION_NOTIFICATION_DAYS"]))


# name: (function, seconds between runs). Order matters at start: no-shows before expiry.
JOBS = {
    "no_shows": (job_no_shows, 60),
    "complete": (job_complete, 60),
    "reminders": (job_reminders, 60),
    "expire_vouchers": (job_expire_vouchers, 3600),
    "draft_statements": (job_draft_statements, 3600),
    "reconcile": (job_reconcile, 24 * 3600),
    "deliver": (job_deliver, 30),
    "payment_queries": (job_payment_queries, 60),
    "online_refunds": (job_online_refunds, 30),
    "backup": (job_backup, 3600),
    "retention": (job_retention, 24 * 3600),
}


def _heartbeat(name: str, ok: bool, result) -> None:
    """Record the run in its own transaction, so a failed job still shows the scheduler alive."""
    try:
        beat = db.session.get(Heartbeat, name) or Heartbeat(job=name)
        beat.last_run_at, beat.ok = now(), ok
        beat.result = int(result) if isinstance(result, int) else None
        db.session.add(beat)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("heartbeat not written", extra={"job": name})


def run_job(app: Flask, name: str):
    """Run one job in its own app context and transaction; errors are logged, not raised."""
    function, _ = JOBS[name]
    with app.app_context(), app.test_request_context(base_url=app.config.get("PUBLIC_URL") or
                                                     "http://127.0.0.1:5000"):
        try:
            result = function(db.session, now())
            db.session.commit()
            log.info("job done", extra={"job": name, "result": result})
            _heartbeat(name, True, result)
            return result
        except Exception:
            db.session.rollback()
            log.exception("job failed", extra={"job": name})
            _heartbeat(name, False, None)
            return None
        finally:
            db.session.remove()


# ---- the scheduler process ------------------------------------------------------------------


class Leadership:
    """Holds PostgreSQL's session advisory lock on a dedicated connection while leading."""

    def __init__(self, url: str):
        # no pool: closing the connection really ends the session, and with it the lock
        self.engine = create_engine(url, poolclass=NullPool) if url else None
        self.connection = None

    @property
    def needed(self) -> bool:
        return self.engine is not None and self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        if not self.needed:
            return True
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return bool(self.connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                                 {"k": LEADER_LOCK_KEY}).scalar())
        except Exception:  # noqa: BLE001 - the database is away: not leader
            self.release()
            return False

    def still_held(self) -> bool:
        if not self.needed:
            return True
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - lost the connection, so lost the lock
            self.release()
            return False

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
        self.connection = None


def run_scheduler(app: Flask, standby_seconds: float | None = None, max_seconds: float | None = None) -> None:
    """Wait to lead, then run the jobs on their intervals until stopped or leadership is lost."""
    # APScheduler belongs to the scheduler process only, never loaded by web workers
    from apscheduler.schedulers.background import BackgroundScheduler

    standby = standby_seconds or float(os.environ.get("SCHEDULER_STANDBY_SECONDS", "5"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    started = time.monotonic()
    leadership = Leadership(app.config["SQLALCHEMY_DATABASE_URI"])
    while not stop.is_set():
        if max_seconds and time.monotonic() - started > max_seconds:
            break
        if not leadership.try_acquire():
            print("scheduler: standby (another scheduler leads)", flush=True)
            stop.wait(standby)
            continue
        print(f"scheduler: leader (pid {os.getpid()})", flush=True)
        scheduler = BackgroundScheduler(timezone=app.config["TIMEZONE"],
                                        job_defaults={"coalesce": True, "max_instances": 1,
                                                      "misfire_grace_time": 3600})
        for name in JOBS:  # catch up on whatever came due while no scheduler ran
            run_job(app, name)
        for name, (_, seconds) in JOBS.items():
            scheduler.add_job(run_job, "interval", seconds=seconds, args=[app, name], id=name)
        scheduler.start()
        while not stop.is_set() and leadership.still_held():
            if max_seconds and time.monotonic() - started > max_seconds:
                stop.set()
            stop.wait(standby)
        scheduler.shutdown(wait=True)
        if not stop.is_set():
            print("scheduler: lost leadership, back to standby", flush=True)
    leadership.release()
