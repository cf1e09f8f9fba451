"""What every request pays, and only that: no user is looked up for a log line."""

from __future__ import annotations

import logging

from sqlalchemy import event

from app.extensions import db
from tests.helpers import CREATOR, PASSWORD


def _statements(app) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    return seen


def test_public_read_with_a_token_does_not_look_the_token_up(api):
    api.get("/api/v1/resources", CREATOR)
    seen = _statements(api.app)
    assert api.get("/api/v1/resources", CREATOR).status_code == 200
    assert api.get("/healthz", CREATOR).status_code == 200
    assert seen and not any("api_tokens" in statement for statement in seen)


def test_request_log_names_the_user_a_request_loaded(api):
    records: list[dict] = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append({"path": record.path, "user_id": record.user_id})

    logger = logging.getLogger("venuebook.request")
    capture, level = Capture(logging.INFO), logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        me = api.get("/api/v1/me", CREATOR)
        api.get("/api/v1/resources", CREATOR)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
    user_id = me.get_json()["user"]["id"]
    assert records == [
        {"path": "/api/v1/me", "user_id": user_id},
        # a public read never needed the user: the token was not even looked up
        {"path": "/api/v1/resources", "user_id": None},
    ]


def test_signed_in_page_loads_the_user_with_roles_at_once(api):
    client = api.app.test_client()
    client.post("/login", data={"email": CREATOR, "password": PASSWORD})
    client.get("/")
    seen = _statements(api.app)
    page = client.get("/")
    assert page.status_code == 200 and 'action="/logout"' in page.get_data(as_text=True)
    # the photos of the listed resources (a signed-in page is rendered anew, with photos
    # uploaded since), then the user joined with their roles — one each; the list's version
    # number too unless it was read within the last second
    reads = [statement for statement in seen if "list_versions" not in statement]
    assert len(reads) == 2 and len(seen) <= 3, seen
    assert "resource_photos" in reads[0] and "user_roles" in reads[1]
