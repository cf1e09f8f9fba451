"""Publishing a version freezes it: later edits and versions never change the past."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from tests.helpers import assert_error

ADMIN = "admin@demo.local"


def test_publish_leaves_past_versions_unchanged(api):
    before = api.get("/api/v1/resources?version=1").get_json()
    target = before["items"][0]
    response = api.patch(f"/api/v1/admin/resources/{target['id']}", ADMIN,
                         json={"hourly_rate_fen": target["rates"]["hourly_fen"] + 1000,
                               "peak_rate_fen": target["rates"]["peak_fen"] + 1000,
                               "name_zh": "改名后的直播间"})
    assert response.status_code == 200
    # not public until published
    assert api.get("/api/v1/resources").get_json() == before

    published = api.post("/api/v1/admin/list-versions", ADMIN, json={"note": "调价"})
    assert published.status_code == 201
    assert published.get_json()["number"] == 2

    current = api.get("/api/v1/resources").get_json()
    changed = next(i for i in current["items"] if i["id"] == target["id"])
    assert current["list_version"]["number"] == 2
    assert changed["name"] == "改名后的直播间"
    assert changed["rates"]["hourly_fen"] == target["rates"]["hourly_fen"] + 1000
    assert api.get("/api/v1/resources?version=1").get_json() == before
    versions = api.get("/api/v1/list-versions").get_json()["items"]
    assert [v["number"] for v in versions] == [2, 1]
    page = api.get("/list/versions/1").get_data(as_text=True)
    assert target["name"] in page


def test_deactivated_resource_leaves_next_version(api):
    target = api.get("/api/v1/resources").get_json()["items"][0]
    api.patch(f"/api/v1/admin/resources/{target['id']}", ADMIN, json={"active": False})
    api.post("/api/v1/admin/list-versions", ADMIN, json={})
    ids = [i["id"] for i in api.get("/api/v1/resources").get_json()["items"]]
    assert target["id"] not in ids
    assert_error(api.get(f"/api/v1/resources/{target['id']}"), 404, "not_found")
    assert target["id"] in [i["id"] for i in
                            api.get("/api/v1/resources?version=1").get_json()["items"]]


def test_invalid_resource_change_is_refused_whole(api):
    target = api.get("/api/v1/resources").get_json()["items"][0]
    error = assert_error(
        api.patch(f"/api/v1/admin/resources/{target['id']}", ADMIN,
                  json={"name_zh": "不应保存", "min_minutes": 600, "max_minutes": 120}),
        422, "validation_error")
    assert "min_minutes" in error["details"]["fields"]
    api.post("/api/v1/admin/list-versions", ADMIN, json={})
    again = api.get(f"/api/v1/resources/{target['id']}").get_json()
    assert again["name"] == target["name"]


@pytest.mark.parametrize("statement", [
    "UPDATE list_versions SET note = 'tampered'",
    "DELETE FROM list_versions",
    "UPDATE audit_log SET action = 'tampered'",
    "UPDATE journal_lines SET amount_fen = amount_fen + 1",
    "DELETE FROM journal_lines",
    "UPDATE journal_entries SET memo = 'tampered'",
    "DELETE FROM journal_entries",
    "UPDATE voucher_events SET to_status = 'void'",
])
def test_database_refuses_to_rewrite_history(seeded, statement):
    with seeded.app_context():
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
        assert db.session.execute(text("SELECT note FROM list_versions")).scalar() == "seed"
