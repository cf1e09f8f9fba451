"""The command line of API.md: seed (idempotent), users create / certify / token."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.catalog.models import ListVersion, Resource, Venue
from app.extensions import db


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Venue, Resource, ListVersion, AuditEntry)
        }


def _snapshot(app):
    with app.app_context():
        return db.session.scalars(select(ListVersion.snapshot)).all()


def test_seed_twice_changes_nothing(app, runner):
    first = runner.invoke(args=["seed", "--demo"])
    assert first.exit_code == 0, first.output
    counts, snapshot = _counts(app), _snapshot(app)
    assert counts["Venue"] >= 5 and counts["Resource"] >= 24 and counts["User"] == 6
    assert counts["ListVersion"] == 1
    second = runner.invoke(args=["seed", "--demo"])
    assert second.exit_code == 0, second.output
    assert "list unchanged" in second.output
    assert _counts(app) == counts
    assert _snapshot(app) == snapshot


def test_users_create_certify_token(app, runner):
    assert runner.invoke(args=["seed"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "new.creator@example.com", "--role", "creator",
                                 "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "certify", "new.creator@example.com",
                                 "--program", "huangpu-shared-service", "--tier", "B"])
    assert result.exit_code == 0, result.output
    assert "15000000" in result.output
    result = runner.invoke(args=["users", "token", "new.creator@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["quota"][0]["cap_fen"] == 15_000_000


def test_users_create_refuses_bad_input(app, runner):
    runner.invoke(args=["seed"])
    result = runner.invoke(args=["users", "create", "x@example.com", "--role", "creator",
                                 "--password", "short"])
    assert result.exit_code != 0
    assert "password" in result.output
    result = runner.invoke(args=["users", "certify", "nobody@example.com",
                                 "--program", "huangpu-shared-service", "--tier", "A"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_operator_created_with_venue(app, runner):
    runner.invoke(args=["seed"])
    with app.app_context():
        venue_id = db.session.scalar(select(Venue.id).where(Venue.code == "bund-ftc"))
    result = runner.invoke(args=["users", "create", "desk@example.com", "--role", "operator",
                                 "--venue", str(venue_id), "--password", "desk-pass-1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "desk@example.com"))
        assert [v.code for v in user.operated_venues] == ["bund-ftc"]
