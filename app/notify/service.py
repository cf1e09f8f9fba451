"""Enqueue notifications (in the event's transaction) and deliver them with retries."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.db import write_core
from app.notify.messages import TEXTS, render
from app.notify.models import Notification

log = logging.getLogger("venuebook.notify")
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=12)]


_INSERT_NOTE = insert(Notification).returning(Notification.id)


def enqueue(session: Session, user: User, kind: str, dedupe_key: str, values: dict,
            at: datetime, data: dict | None = None, *, new_event: bool = False) -> Notification | None:
    """Write the notification; None when one with the same key exists (idempotent).

    ``new_event``: the key names something created in this very transaction (a new booking),
    so it cannot exist yet and the duplicate check is skipped.
    """
    subject, body = render(kind, user.locale or "zh_Hans_CN", values)
    # The values are kept so the page can show the note in whichever language it is read in.
    row = {"user_id": user.id, "kind": kind, "dedupe_key": dedupe_key[:120], "locale": user.locale,
           "subject": subject[:200], "body": body, "data": {**(data or {}), "values": values},
           "created_at": at, "status": "pending", "attempts": 0, "next_attempt_at": at}
    if new_event:
        # nothing to look up and nothing to track: one insert, built once
        row["id"] = write_core(session, _INSERT_NOTE, row).scalar_one()
        return Notification(**row)
    note = Notification(**row)
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return None
    try:
        with session.begin_nested():
            session.add(note)
            session.flush()
    except IntegrityError:
        return None  # a concurrent run wrote it first
    return note


class LogSender:
    """Default: notifications go to the log (and stay visible in the app)."""

    name = "log"

    def send(self, user: User, note: Notification) -> None:
        log.info("notification", extra={"notification_id": note.id, "user_id": user.id,
                                        "kind": note.kind, "subject": note.subject})


class SmtpSender:
    name = "smtp"

    def __init__(self, host: str, port: int, sender: str, username: str = "", password: str = ""):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password

    def send(self, user: User, note: Notification) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = user.email
        message["Subject"] = note.subject
        message.set_content(note.body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.username:
                smtp.starttls()
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def sender_from_config(config) -> LogSender | SmtpSender:
    if config.get("MAIL_SERVER"):
        return SmtpSender(config["MAIL_SERVER"], config.get("MAIL_PORT", 25),
                          config.get("MAIL_FROM", "noreply@venuebook.local"),
                          config.get("MAIL_USERNAME", ""), config.get("MAIL_PASSWORD", ""))
    return LogSender()


def deliver_due(session: Session, sender, moment: datetime, limit: int = 200) -> dict[str, int]:
    """Send what is due; a failure is retried later with growing pauses, then marked failed."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    due = session.scalars(select(Notification).where(
        Notification.status == "pending", Notification.next_attempt_at <= moment)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)).all()
    for note in due:
        user = session.get(User, note.user_id)
        note.attempts += 1
        try:
            sender.send(user, note)
        except Exception as err:  # noqa: BLE001 - any sender failure is retried
            note.last_error = f"{type(err).__name__}: {err}"[:500]
            if note.attempts > len(BACKOFF):
                note.status = "failed"
                counts["failed"] += 1
            else:
                note.next_attempt_at = moment + BACKOFF[note.attempts - 1]
                counts["retry"] += 1
            continue
        note.status = "sent"
        note.sent_at = moment
        counts["sent"] += 1
    session.flush()
    return counts


def texts_in(note: Notification, language: str) -> tuple[str, str]:
    """The note's subject and body in ``language`` ("zh"/"en"), as sent if it cannot be redone."""
    values = (note.data or {}).get("values")
    if values is None or note.kind not in TEXTS:
        return note.subject, note.body
    try:
        return render(note.kind, language, values)
    except (KeyError, IndexError, ValueError):
        return note.subject, note.body


def for_user(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user_id)
                                .order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(limit)))
