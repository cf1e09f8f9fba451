"""`flask seed` adds what is missing and leaves what administrators changed as it is."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.catalog.models import District, Program, ProgramTier, Resource
from app.catalog.programs import create_program, update_program
from app.extensions import db

HUANGPU = "huangpu-shared-service"


def _program(code: str) -> Program:
    return db.session.scalar(select(Program).where(Program.code == code))


def _resource(code: str) -> Resource:
    return db.session.scalar(select(Resource).where(Resource.code == code))


def test_seed_twice_around_admin_edits(app, runner):
    assert runner.invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        room = _resource("ftc-live-01")
        room.hourly_rate_fen, room.buffer_minutes = 26600, 30  # the venue's new rate and rule
        _resource("vjc-live-01").programs = []  # detached by an administrator
        update_program(db.session, None, _program(HUANGPU), {
            "coverage_percent": 70, "description_zh": "管理员改过的说明",
            "tiers": [{"code": "A", "name_zh": "A档", "cap_fen": 12_345_00}]})
        create_program(db.session, None, {
            "code": "admin-made", "name_zh": "管理员新建", "funding": "quota",
            "eligibility": "certified_creator", "district": "huangpu",
            "tiers": [{"code": "S", "name_zh": "S", "cap_fen": 100_00}],
            "venue_ids": [room.venue_id]})
        db.session.scalar(select(District).where(District.code == "yangpu")).name_en = "Yangpu Dist."
        # something the seed has and the database lost: the seed adds it again
        db.session.execute(delete(ProgramTier).where(
            ProgramTier.program_id == _program(HUANGPU).id, ProgramTier.code == "C"))
        db.session.commit()

    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output

    with app.app_context():
        room = _resource("ftc-live-01")
        assert (room.hourly_rate_fen, room.buffer_minutes) == (26600, 30)
        assert _resource("vjc-live-01").programs == []
        huangpu = _program(HUANGPU)
        assert huangpu.coverage_percent == 70 and huangpu.description_zh == "管理员改过的说明"
        assert {t.code: t.cap_fen for t in huangpu.tiers}["A"] == 12_345_00
        assert "C" in {t.code for t in huangpu.tiers}
        assert "admin-made" in {p.code for p in room.programs}
        assert db.session.scalar(select(District.name_en).where(
            District.code == "yangpu")) == "Yangpu Dist."


OFFICIAL = "每年最高30万元"
OURS = "示例规则，可由管理员修改"


def test_the_seed_marks_our_assumptions_as_configurable(app, runner):
    """The article only says 每年最高30万元; tiers, full coverage and forfeiture are ours."""
    assert runner.invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        programs = db.session.scalars(select(Program)).all()
        assert programs and all(OURS in p.description_zh for p in programs)
        assert all("configurable" in p.description_en for p in programs)
        huangpu = _program(HUANGPU)
        assert OFFICIAL in huangpu.description_zh
        assert all("示例" in t.name_zh for t in huangpu.tiers if t.code != "A")
