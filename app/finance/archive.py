"""The auditor's export: journal, audit log and statements of a period as one ZIP archive,
with a manifest giving each file's SHA-256 so the auditor can tell nothing was changed.

Every table comes twice, with the same rows: CSV (for tools) and XLSX (for the spreadsheet
an auditor opens). An issued statement's CSV is its frozen file, byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.finance.exports import stream_csv, xlsx_file
from app.finance.models import Statement
from app.finance.reconcile import month_bounds
from app.ledger.models import JournalEntry, JournalLine

JOURNAL_HEADERS = ["entry_id", "posted_at", "period", "kind", "memo", "actor_id", "booking_id",
                   "voucher_id", "entry_program_id", "entry_venue_id", "corrects_id", "line_id",
                   "account", "amount_fen", "program_id", "venue_id", "line_voucher_id",
                   "line_booking_id", "user_id", "year"]
AUDIT_HEADERS = ["id", "at", "actor_id", "action", "object_type", "object_id", "before", "after"]
STATEMENT_HEADERS = ["id", "venue_id", "month", "status", "line_count", "total_fen",
                     "issued_at", "file_sha256", "settled_at", "payment_reference", "file"]


def _cells(rows) -> list[list]:
    return [["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row]
            for row in rows]


def _csv(headers: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _xlsx(title: str, headers: list[str], rows: list[list]) -> bytes:
    # openpyxl is loaded on the first export, not in every web worker at start
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(headers)
    for row in rows:
        # text typed by people may hold control characters a spreadsheet cannot store
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _both(files: dict[str, bytes], stem: str, headers: list[str], rows) -> None:
    """``stem``.csv and ``stem``.xlsx with the same rows."""
    cells = _cells(rows)
    files[f"{stem}.csv"] = _csv(headers, cells)
    files[f"{stem}.xlsx"] = _xlsx(stem.rsplit("/", 1)[-1], headers, cells)


def _journal_rows(session: Session, first: str, last: str):
    query = (select(JournalEntry, JournalLine).join(JournalLine, JournalLine.entry_id == JournalEntry.id)
             .where(JournalEntry.period >= first, JournalEntry.period <= last)
             .order_by(JournalEntry.id, JournalLine.id))
    for entry, line in session.execute(query).yield_per(1000):
        yield [entry.id, entry.posted_at, entry.period, entry.kind, entry.memo, entry.actor_id,
               entry.booking_id, entry.voucher_id, entry.program_id, entry.venue_id,
               entry.corrects_id, line.id, line.account, line.amount_fen, line.program_id,
               line.venue_id, line.voucher_id, line.booking_id, line.user_id, line.year]


def _audit_rows(session: Session, first: str, last: str):
    start, end = month_bounds(first)[0], month_bounds(last)[1]
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.at >= start, AuditEntry.at < end)
                                 .order_by(AuditEntry.id)):
        yield [entry.id, entry.at, entry.actor_id, entry.action, entry.object_type, entry.object_id,
               json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else None,
               json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else None]


def audit_archive(session: Session, first: str, last: str, generated_at: datetime) -> bytes:
    """The archive for months ``first``..``last`` (YYYY-MM, inclusive)."""
    files: dict[str, bytes] = {}
    _both(files, "journal", JOURNAL_HEADERS, _journal_rows(session, first, last))
    _both(files, "audit_log", AUDIT_HEADERS, _audit_rows(session, first, last))
    statements = session.scalars(select(Statement).where(Statement.month >= first,
                                                         Statement.month <= last)
                                 .order_by(Statement.month, Statement.venue_id)).all()
    rows = []
    for statement in statements:
        stem = f"statements/{statement.month}-venue{statement.venue_id}-{statement.id}"
        name = f"{stem}.csv"
        # an issued statement is its frozen file, byte for byte: its SHA-256 is the one issued
        files[name] = "".join(stream_csv(session, statement)).encode("utf-8")
        with xlsx_file(session, statement) as spool:
            files[f"{stem}.xlsx"] = spool.read()
        rows.append([statement.id, statement.venue_id, statement.month, statement.status,
                     statement.line_count, statement.total_fen, statement.issued_at,
                     statement.file_sha256, statement.settled_at, statement.payment_reference, name])
    _both(files, "statements", STATEMENT_HEADERS, rows)
    manifest = {
        "period": {"from": first, "to": last},
        "generated_at": generated_at.isoformat(),
        "files": [{"name": name, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
                  for name, body in sorted(files.items())],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in sorted(files.items()):
            archive.writestr(name, body)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return buffer.getvalue()
