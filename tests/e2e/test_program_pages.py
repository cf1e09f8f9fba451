"""Programs and districts edited from the administrator's pages, audited like the API."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.test_money_pages import _in_db, _signed_in, _text
from tests.helpers import ADMIN, FINANCE

HUANGPU = "huangpu-shared-service"


def _edit_form(**overrides) -> dict:
    return {"name_zh": "黄浦共享服务", "name_en": "Huangpu Shared Service", "district": "huangpu",
            "coverage_percent": "90", "no_show_policy": "forfeit", "strike_limit": "2",
            "strike_window_days": "60", "strike_suspension_days": "14", "valid_from": "",
            "valid_until": "2027-12-31", "description_zh": "示例规则，可由管理员修改",
            "description_en": "", "tiers-0-code": "A", "tiers-0-name_zh": "A档",
            "tiers-0-name_en": "Tier A", "tiers-0-cap": "250000", **overrides}


def test_admin_edits_a_program_from_its_page(api):
    from app.audit.models import AuditEntry
    from app.catalog.models import Program

    admin = _signed_in(api.app, ADMIN)
    page = admin.get(f"/admin/money/programs/{HUANGPU}")
    assert page.status_code == 200 and "Close the program" in _text(page)
    saved = admin.post(f"/admin/money/programs/{HUANGPU}", data=_edit_form())
    assert saved.status_code == 302, _text(saved)
    program = _in_db(api.app, lambda s: s.scalar(select(Program).where(Program.code == HUANGPU)))
    assert (program.coverage_percent, program.strike_limit, program.strike_window_days,
            program.suspension_days) == (90, 2, 60, 14)
    caps = _in_db(api.app, lambda s: {t.code: t.cap_fen for t in s.scalar(
        select(Program).where(Program.code == HUANGPU)).tiers})
    assert caps["A"] == 25_000_000
    assert _in_db(api.app, lambda s: s.scalar(select(AuditEntry.action).where(
        AuditEntry.object_id == HUANGPU))) == "program.update"


def test_a_wrong_program_edit_is_shown_again_and_saves_nothing(api):
    from app.catalog.models import Program

    admin = _signed_in(api.app, ADMIN)
    wrong = admin.post(f"/admin/money/programs/{HUANGPU}",
                       data=_edit_form(strike_limit="two", valid_from="2028-01-01"))
    assert wrong.status_code == 422
    assert "Nothing was saved" in _text(wrong) and 'value="two"' in _text(wrong)
    assert _in_db(api.app, lambda s: s.scalar(select(Program.strike_limit).where(
        Program.code == HUANGPU))) == 3


def test_admin_closes_and_reopens_a_program_from_its_page(api):
    from app.catalog.models import Program

    admin = _signed_in(api.app, ADMIN)
    url = f"/admin/money/programs/{HUANGPU}/active"
    assert admin.post(url, data={"active": "0"}).status_code == 302
    assert not _in_db(api.app, lambda s: s.scalar(select(Program.active).where(
        Program.code == HUANGPU)))
    assert "Reopen the program" in _text(admin.get(f"/admin/money/programs/{HUANGPU}"))
    admin.post(url, data={"active": "1"})
    assert _in_db(api.app, lambda s: s.scalar(select(Program.active).where(
        Program.code == HUANGPU)))


def test_admin_adds_a_district_from_the_page(api):
    from app.catalog.models import District

    admin = _signed_in(api.app, ADMIN)
    added = admin.post("/admin/money/districts",
                       data={"code": "xuhui", "name_zh": "徐汇区", "name_en": "Xuhui"})
    assert added.status_code == 302
    assert "Xuhui" in _text(admin.get("/admin/money/districts"))
    again = admin.post("/admin/money/districts", data={"code": "xuhui", "name_zh": "徐汇区"})
    assert again.status_code == 422 and "Nothing was saved" in _text(again)
    assert _in_db(api.app, lambda s: len(s.scalars(select(District).where(
        District.code == "xuhui")).all())) == 1
    assert _signed_in(api.app, FINANCE).get("/admin/money/districts").status_code == 403
