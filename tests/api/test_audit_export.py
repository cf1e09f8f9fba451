"""The auditor's archive: journal, audit log and statements of a period, each file's SHA-256
in the manifest; an issued statement is its frozen file, so its issued hash verifies too."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

from openpyxl import load_workbook

from app.extensions import db
from app.finance.models import Statement
from tests.helpers import CREATOR, FINANCE, PASSWORD
from tests.month import MONTH, build_month


def _login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _rows(archive, name):
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8").lstrip("\ufeff"))))


def _sheet_rows(archive, name):
    sheet = load_workbook(io.BytesIO(archive.read(name)), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_every_table_comes_as_csv_and_as_xlsx_with_the_same_rows(seeded, frozen_clock):
    ids = build_month(seeded, frozen_clock)
    response = _login(seeded, FINANCE).get(f"/finance/audit-export.zip?from={MONTH}&to=2027-01")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    listed = {f["name"] for f in json.loads(archive.read("manifest.json"))["files"]}
    for stem in ("journal", "audit_log", "statements"):
        assert {f"{stem}.csv", f"{stem}.xlsx"} <= listed
        # a spreadsheet shows what the CSV holds, cell for cell
        assert _sheet_rows(archive, f"{stem}.xlsx") == _rows(archive, f"{stem}.csv"), stem
    statement_files = {n for n in names if n.startswith("statements/")}
    assert {n.rsplit(".", 1)[1] for n in statement_files} == {"csv", "xlsx"}
    assert len(statement_files) == 2 * len({ids["statement"], ids["draft"]})
    issued_xlsx = next(n for n in statement_files if n.endswith(f"-{ids['statement']}.xlsx"))
    assert any("合计" in row for row in _sheet_rows(archive, issued_xlsx))


def test_finance_downloads_the_period_as_one_verifiable_archive(seeded, frozen_clock, tmp_path):
    ids = build_month(seeded, frozen_clock)
    # the statement was issued on 2 January: its audit entry belongs to January
    response = _login(seeded, FINANCE).get(f"/finance/audit-export.zip?from={MONTH}&to=2027-01")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["period"] == {"from": MONTH, "to": "2027-01"}
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == set(archive.namelist()) - {"manifest.json"}
    for name, digest in listed.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name

    journal = _rows(archive, "journal.csv")
    assert journal[0][:4] == ["entry_id", "posted_at", "period", "kind"]
    kinds = {row[3] for row in journal[1:]}
    assert {"voucher.redeem", "quota.consume"} <= kinds and {row[2] for row in journal[1:]} == {MONTH}
    actions = {row[3] for row in _rows(archive, "audit_log.csv")[1:]}
    assert {"voucher_batch.create", "statement.issue"} <= actions
    statements = {row[0]: row for row in _rows(archive, "statements.csv")[1:]}
    assert statements[str(ids["statement"])][3] == "issued"
    assert statements[str(ids["draft"])][3] == "draft"
    with seeded.app_context():
        issued = db.session.get(Statement, ids["statement"])
        file_name = statements[str(ids["statement"])][-1]
        assert hashlib.sha256(archive.read(file_name)).hexdigest() == issued.file_sha256
        db.session.remove()

    out = tmp_path / "audit.zip"
    result = seeded.test_cli_runner().invoke(
        args=["finance", "audit-export", "--from", MONTH, "--to", "2027-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(zipfile.ZipFile(out).namelist()) == sorted(archive.namelist())


def test_only_finance_and_admins_export(seeded):
    assert _login(seeded, CREATOR).get(f"/finance/audit-export.zip?from={MONTH}").status_code == 403
    assert _login(seeded, FINANCE).get("/finance/audit-export.zip?from=2026-13").status_code == 422
