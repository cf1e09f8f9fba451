"""Statement exports, streamed: rows come from the database in chunks, never all at once."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.clock import to_local
from app.finance.models import Statement, StatementLine
from app.finance.service import CSV_HEADERS

CHUNK = 2000


def _rows(session: Session, statement: Statement) -> Iterator[list]:
    query = (select(StatementLine).where(StatementLine.statement_id == statement.id)
             .order_by(StatementLine.id).execution_options(yield_per=CHUNK))
    for number, line in enumerate(session.scalars(query), 1):
        yield [number, "直播券" if line.kind == "voucher" else "年度额度", line.program_code,
               line.booking_id, line.voucher_code or "", line.resource_name, line.creator_name,
               line.creator_phone, to_local(line.booked_start).strftime("%Y-%m-%d %H:%M"),
               to_local(line.checked_in_at).strftime("%Y-%m-%d %H:%M") if line.checked_in_at else "",
               line.operator_name, line.amount_fen, "是" if line.adjusting else ""]


def stream_csv(session: Session, statement: Statement) -> Iterator[str]:
    """The issued file as it was issued; a draft rendered row by row."""
    if statement.issued_file is not None:
        yield statement.issued_file
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"结算单 {statement.venue.name_zh} {statement.month}（草稿）"])
    writer.writerow(CSV_HEADERS)
    yield "\ufeff" + buffer.getvalue()
    for row in _rows(session, statement):
        buffer.seek(0)
        buffer.truncate()
        row[11] = f"{row[11] / 100:.2f}"
        writer.writerow(row)
        yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(["合计"] + [""] * 10 + [f"{statement.total_fen / 100:.2f}", ""])
    yield buffer.getvalue()


def xlsx_file(session: Session, statement: Statement):
    """A write-only workbook spooled to a temporary file (rows are not kept in memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"结算单 {statement.month}")
    for column, width in zip("ABCDEFGHIJKLM", (6, 10, 26, 9, 16, 28, 10, 15, 17, 17, 14, 14, 8),
                             strict=True):
        sheet.column_dimensions[column].width = width
    title = WriteOnlyCell(sheet, f"结算单 {statement.venue.name_zh} {statement.month}"
                          + ("" if statement.status != "draft" else "（草稿）"))
    title.font = Font(bold=True, size=13)
    sheet.append([title])
    header = []
    for text in CSV_HEADERS:
        cell = WriteOnlyCell(sheet, text)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in _rows(session, statement):
        money = WriteOnlyCell(sheet, row[11] / 100)
        money.number_format = '"¥"#,##0.00'
        row[11] = money
        sheet.append(row)
        count += 1
    total = WriteOnlyCell(sheet, f"=SUM(L3:L{count + 2})" if count else 0)
    total.number_format = '"¥"#,##0.00'
    total.font = Font(bold=True)
    label = WriteOnlyCell(sheet, "合计")
    label.font = Font(bold=True)
    sheet.append([label] + [None] * 10 + [total])
    # the total as a number too, for readers that do not evaluate formulas
    sheet.append(["合计（数值）"] + [None] * 10 + [statement.total_fen / 100])
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return spool
