"""Personal information: consent to a versioned notice, the creator's download, staff views in
the audit log, deletion that keeps the books reconciled, and the retention sweep."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import JSON, String, Text, select

from app.accounts.service import require_user
from app.audit.models import AuditEntry
from app.extensions import db
from app.finance.models import Statement
from app.finance.reconcile import reconcile
from app.jobs import run_job
from app.notify.models import Notification
from app.privacy.models import Erasure
from app.privacy.rules import CURRENT_NOTICE
from tests.helpers import ADMIN, CREATOR, FINANCE, PASSWORD, book
from tests.month import MONTH, build_month

NAME, PHONE = "杨浦主播 小杨", "13800001234"
NEW_PASSWORD = "erase-me-12345"


def _login(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _everything_stored(app) -> str:
    """Every value in every table, as text."""
    with app.app_context():
        parts = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                parts += [json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v)
                          for v in row]
        db.session.remove()
    return "\n".join(parts)


def _text_columns_holding(app, needles: list[str]) -> list[str]:
    """``table.column: needle`` for every text or JSON column of every table holding a needle."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in db.session.execute(table.select()).mappings():
                for column in columns:
                    value = row[column.name]
                    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) \
                        else str(value or "")
                    found += [f"{table.name}.{column.name}: {n}" for n in needles if n in text]
        db.session.remove()
    return found


def _archive_texts(archive: zipfile.ZipFile) -> list[str]:
    """Every file of the auditor's archive as text (spreadsheets cell by cell)."""
    texts = []
    for name in archive.namelist():
        if name.endswith(".xlsx"):
            book = load_workbook(io.BytesIO(archive.read(name)), read_only=True)
            texts.append("\n".join(str(v) for sheet in book.worksheets
                                   for row in sheet.iter_rows(values_only=True) for v in row
                                   if v is not None))
        else:
            texts.append(archive.read(name).decode("utf-8"))
    return texts


def test_creator_accepts_the_current_notice(api):
    client = _login(api.app, CREATOR)
    page = client.get("/me/privacy").get_data(as_text=True)
    assert CURRENT_NOTICE in page
    assert "脱敏" in page  # the notice's text, in Chinese first
    assert f'name="version" value="{CURRENT_NOTICE}"' in page
    assert client.post("/me/privacy/consent", data={"version": CURRENT_NOTICE}).status_code == 302
    page = client.get("/me/privacy").get_data(as_text=True)
    assert 'id="consent-status"' in page and 'name="version"' not in page
    data = client.get("/me/privacy/export.json").get_json()
    assert [c["notice_version"] for c in data["consents"]] == [CURRENT_NOTICE]


def test_creator_downloads_what_we_hold_as_json_and_csv(api):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    booking = book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00", voucher_code=code).get_json()
    client = _login(api.app, CREATOR)
    as_json = client.get("/me/privacy/export.json")
    assert as_json.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(as_json.get_data(as_text=True))
    assert data["profile"]["display_name"] == NAME and data["profile"]["phone"] == PHONE
    assert [b["id"] for b in data["bookings"]] == [booking["id"]]
    assert data["enterprises"] and data["notifications"]
    rows = list(csv.reader(io.StringIO(client.get("/me/privacy/export.csv").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["profile", "1", "phone", PHONE] in rows
    assert ["bookings", "1", "id", str(booking["id"])] in rows


def test_staff_views_of_personal_data_are_audited(api):
    with api.app.app_context():
        creator_id = require_user(db.session, CREATOR).id
    admin = _login(api.app, ADMIN)
    page = admin.get(f"/admin/users/{creator_id}/personal-data")
    assert page.status_code == 200 and PHONE in page.get_data(as_text=True)
    admin.get(f"/admin/users/{creator_id}/personal-data")
    with api.app.app_context():
        views = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "personal_data.view")).all()
        admin_id = require_user(db.session, ADMIN).id
        assert [(v.actor_id, v.object_id) for v in views] == [(admin_id, str(creator_id))] * 2
    assert _login(api.app, FINANCE).get(f"/admin/users/{creator_id}/personal-data").status_code == 403


def test_deletion_keeps_the_books_and_removes_name_and_phone_everywhere(seeded, frozen_clock):
    ids = build_month(seeded, frozen_clock)
    assert NAME in _everything_stored(seeded)
    client = _login(seeded, CREATOR)
    refused = client.post("/me/privacy/erase", data={})  # without the confirmation: nothing
    assert refused.status_code == 302 and "/me/privacy" in refused.headers["Location"]
    done = client.post("/me/privacy/erase", data={"confirm": "yes"})
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    assert client.get("/me").status_code == 302  # signed out
    assert seeded.test_client().post("/login", data={"email": CREATOR, "password": PASSWORD}
                                     ).status_code == 401

    with seeded.app_context():
        report = reconcile(db.session, MONTH)
        assert report.ok, report.violations
        issued = db.session.get(Statement, ids["statement"])
        assert issued.status == "issued" and issued.line_count == 1  # money records stay
        pseudonym = db.session.scalar(select(Erasure.pseudonym))
        db.session.remove()
    assert _text_columns_holding(seeded, [NAME, PHONE, CREATOR]) == []
    assert pseudonym in _everything_stored(seeded)

    finance = _login(seeded, FINANCE)
    exports = [finance.get(f"/api/v1/finance/statements/{sid}/export?format=csv").get_data(as_text=True)
               for sid in (ids["statement"], ids["draft"])]
    archive = zipfile.ZipFile(io.BytesIO(finance.get(f"/finance/audit-export.zip?from={MONTH}").data))
    exports += _archive_texts(archive)
    for text in exports:
        assert NAME not in text and PHONE not in text and CREATOR not in text


def test_deletion_leaves_no_trace_of_creators_an_admin_made_or_who_registered(seeded):
    """Both ways an account comes to be write about it (audit log, consent, outbox); after
    deletion no text column anywhere holds the person's name, email or phone."""
    admin = _login(seeded, ADMIN)
    made = {"email": "made.by.admin@example.com", "display_name": "管理员建的 张三",
            "phone": "13712345678"}
    created = admin.post("/admin/users", data={**made, "password": NEW_PASSWORD,
                                               "roles": ["creator"]})
    assert created.status_code == 302
    joined = {"email": "joined.alone@example.com", "display_name": "自己注册 李四",
              "phone": "13687654321"}
    registered = seeded.test_client().post("/register", data={
        **joined, "new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD, "consent": "y",
        "notice_version": CURRENT_NOTICE})
    assert registered.status_code == 200
    needles = [v for person in (made, joined) for v in person.values()]
    assert len(_text_columns_holding(seeded, needles)) >= 6  # they are stored before deletion

    for person in (made, joined):
        client = seeded.test_client()
        assert client.post("/login", data={"email": person["email"], "password": NEW_PASSWORD}
                           ).status_code == 302
        assert client.post("/me/privacy/erase", data={"confirm": "yes"}).status_code == 302
    assert _text_columns_holding(seeded, needles) == []
    finance = _login(seeded, FINANCE)
    archive = zipfile.ZipFile(io.BytesIO(finance.get("/finance/audit-export.zip?from=2026-12").data))
    assert "user.create" in "".join(_archive_texts(archive))
    for text in _archive_texts(archive):
        assert not [n for n in needles if n in text]


def test_deletion_waits_for_open_bookings(api):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    assert book(api, "vjc-live-01", "2026-12-03", "10:00", "11:00", voucher_code=code).status_code == 201
    client = _login(api.app, CREATOR)
    client.post("/me/privacy/erase", data={"confirm": "yes"})
    page = client.get("/me/privacy").get_data(as_text=True)
    assert "open bookings" in page or "未结束的预约" in page
    assert NAME in _everything_stored(api.app)


def test_retention_job_applies_the_periods(api, frozen_clock):
    api.app.config.update(RETENTION_FINANCE_YEARS=1, RETENTION_NOTIFICATION_DAYS=30)
    with api.app.app_context():
        other = require_user(db.session, "hp.creator@demo.local")
        db.session.add(Notification(user_id=other.id, kind="x", dedupe_key="old", locale="zh_Hans_CN",
                                    subject="s", body="b", data={}, status="sent",
                                    created_at=frozen_clock() - timedelta(days=31),
                                    next_attempt_at=frozen_clock() - timedelta(days=31)))
        db.session.commit()
    _login(api.app, CREATOR).post("/me/privacy/erase", data={"confirm": "yes"})
    assert run_job(api.app, "retention") == 1  # the old notification only
    with api.app.app_context():
        assert db.session.scalar(select(Erasure.identity_digest)) is not None
        assert db.session.scalar(select(Notification.id).where(Notification.dedupe_key == "old")) is None
        db.session.remove()
    frozen_clock.advance(timedelta(days=366))
    assert run_job(api.app, "retention") >= 1
    with api.app.app_context():
        erasure = db.session.scalar(select(Erasure))
        assert erasure.identity_digest is None and erasure.purged_at is not None
