"""Statement exports, streamed: rows come from the database in chunks, never all at once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.finance import selfpay
from app.finance.models import Statement
from app.finance.service import CSV_HEADERS, line_rows, render_csv


def stream_csv(session: Session, statement: Statement) -> Iterator[str]:
    """The issued file as it was issued; a draft rendered chunk by chunk."""
    if statement.issued_file is not None:
        yield statement.issued_file
        return
    yield from render_csv(session, statement, "（草稿）")


def xlsx_file(session: Session, statement: Statement):
    """A write-only workbook spooled to a temporary file (rows are not kept in memory)."""
    # openpyxl is loaded on the first export, not in every web worker at start
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"结算单 {statement.month}")
    for column, width in zip("ABCDEFGHIJKLM", (6, 10, 26, 9, 16, 28, 10, 15, 17, 17, 14, 14, 8),
                             strict=True):
        sheet.column_dimensions[column].width = width
    bold = Font(bold=True)
    title = WriteOnlyCell(sheet, f"结算单 {statement.venue.name_zh} {statement.month}"
                          + ("（草稿）" if statement.status == "draft" else ""))
    title.font = Font(bold=True, size=13)
    sheet.append([title])
    header = []
    for text in CSV_HEADERS:
        cell = WriteOnlyCell(sheet, text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in line_rows(session, statement):
        money = WriteOnlyCell(sheet, row[11] / 100)
        money.number_format = '"¥"#,##0.00'
        row[11] = money
        sheet.append(row)
        count += 1
    label = WriteOnlyCell(sheet, "合计")
    label.font = bold
    total = WriteOnlyCell(sheet, statement.total_fen / 100)
    total.number_format = '"¥"#,##0.00'
    total.font = bold
    sheet.append([label] + [None] * 10 + [total])
    if statement.selfpay:  # its own sheet: the first stays the district's subsidy, line by line
        own = workbook.create_sheet("自付费用")
        for row in selfpay.csv_rows(statement.selfpay)[1:]:
            own.append(row)
    spool = tempfile.TemporaryFile()
    workbook.save(spool)
    spool.seek(0)
    return spool
