"""Fuzz the JSON API against its own OpenAPI document with schemathesis, as each kind of account.

The schema is read from the running app (WSGI, no network) at import time, because
``schema.parametrize()`` needs it while pytest collects. The app lives on its own SQLite file with
the seed catalog and demo accounts, and time stands still as in ``tests/conftest.py``.

Bounded and repeatable: few examples per operation, derandomized, no deadline.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.accounts.seed import load_demo
from app.accounts.service import issue_token, require_user
from app.catalog.seed import load_catalog
from app.core import clock
from app.extensions import db
from tests.conftest import base_config
from tests.helpers import (
    ADMIN,
    CREATOR,
    FINANCE,
    HP_CREATOR,
    OP_VJC,
    assert_error,
    at,
    book,
    resource_id,
)

ROOM = "vjc-live-01"
FROZEN_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, as in conftest
ACCOUNTS = {"admin": ADMIN, "finance": FINANCE, "creator": CREATOR, "operator": OP_VJC,
            "anonymous": None}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
# Files (QR images, CSV/XLSX exports) have no body schema: status and content type only.
FILE_SUFFIXES = ("/qr.png", "/qr.svg", "/export")
# Small for CI; raise it locally (FUZZ_MAX_EXAMPLES=200) to dig deeper.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))


def _build_app():
    """A seeded app on a throwaway SQLite file, and a bearer token per demo account."""
    tmp_path = Path(tempfile.mkdtemp(prefix="venuebook-fuzz-"))
    atexit.register(shutil.rmtree, tmp_path, ignore_errors=True)
    app = create_app(base_config(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}", tmp_path))
    clock.set_now_source(clock.FrozenClock(FROZEN_AT))
    try:
        with app.app_context():
            db.create_all()
            load_catalog(db.session)
            load_demo(db.session)
            db.session.commit()
            tokens = {role: issue_token(db.session, require_user(db.session, email))
                      for role, email in ACCOUNTS.items() if email}
            db.session.commit()
            db.session.remove()
    finally:
        # Collection must not leave time frozen for other modules; ``fuzz_clock`` freezes it
        # again while the fuzzing runs.
        clock.set_now_source(None)
    return app, tokens


APP, TOKENS = _build_app()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@pytest.fixture
def fuzz_clock():
    clock.set_now_source(clock.FrozenClock(FROZEN_AT))
    yield
    clock.set_now_source(None)


@pytest.fixture(scope="module", autouse=True)
def _dispose_fuzz_app():
    yield
    with APP.app_context():
        db.session.remove()
        db.engine.dispose()


def assert_error_shape(response, path: str) -> None:
    """A 4xx under /api/ answers exactly ``{"error": {"code", "message", "details"}}``."""
    if not (400 <= response.status_code < 500 and path.startswith("/api/")):
        return
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), (
        f"{response.status_code} from {path} is {content_type!r}, not JSON")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body


@pytest.mark.parametrize("role", list(ACCOUNTS))
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, role, fuzz_clock):
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role in TOKENS else {}
    response = case.call(headers=headers)
    is_file = case.path.endswith(FILE_SUFFIXES)
    case.validate_response(
        response, checks=CHECKS if is_file else [*CHECKS, response_schema_conformance],
        headers=headers)
    assert_error_shape(response, case.formatted_path)


# ---- what the fuzzing found, pinned down on both databases --------------------------------


def test_ids_beyond_the_integer_columns_are_not_found_or_invalid(api):
    huge = 10**25
    assert_error(api.get(f"/api/v1/resources/{huge}"), 404, "not_found")
    assert_error(api.get(f"/api/v1/bookings/{huge}", ADMIN), 404, "not_found")
    assert_error(api.get(f"/api/v1/resources?version={huge}"), 422, "validation_error")
    assert_error(api.get(f"/api/v1/bookings?venue={huge}", ADMIN), 422, "validation_error")
    error = assert_error(api.post("/api/v1/finance/statements", FINANCE,
                                  json={"venue_id": huge, "month": "2026-11"}),
                         422, "validation_error")
    assert "venue_id" in error["details"]["fields"]
    assert_error(api.post("/api/v1/checkins", OP_VJC, json={"booking_id": huge}),
                 422, "validation_error")


def test_dates_far_from_now_are_invalid_not_a_crash(api):
    assert_error(api.get("/api/v1/finance/reconciliation?month=0000-01", FINANCE),
                 422, "validation_error")
    assert_error(api.get(f"/api/v1/resources/{resource_id(api, ROOM)}/availability?from=9999-12-31"),
                 422, "validation_error")
    error = assert_error(api.post("/api/v1/bookings/quote", CREATOR, json={
        "resource_id": resource_id(api, ROOM), "start": "9999-12-31T23:00:00-12:00",
        "end": "9999-12-31T23:30:00-12:00"}), 422, "validation_error")
    assert set(error["details"]["fields"]) == {"start", "end"}


def test_a_failed_attempt_leaves_its_idempotency_key_usable(api):
    taken = book(api, ROOM, "2026-12-03", "14:00", "15:00", HP_CREATOR).get_json()
    api.get("/api/v1/me", CREATOR)  # the token's use is recorded: the key is the next write
    headers = {"Idempotency-Key": "retry-after-slot-taken"}
    payload = {"resource_id": resource_id(api, ROOM), "start": at("2026-12-03", "14:00"),
               "end": at("2026-12-03", "15:00")}
    failed = api.post("/api/v1/bookings", CREATOR, json=payload, headers=dict(headers))
    assert_error(failed, 409, "slot_taken")
    api.post(f"/api/v1/bookings/{taken['id']}/cancel", HP_CREATOR, json={})
    retried = api.post("/api/v1/bookings", CREATOR, json=payload, headers=dict(headers))
    assert retried.status_code == 201, retried.get_data(as_text=True)
    replayed = api.post("/api/v1/bookings", CREATOR, json=payload, headers=dict(headers))
    assert replayed.status_code == 201
    assert replayed.get_json() == retried.get_json()


def test_operator_venue_lists_its_resources(api):
    venue_id = api.get("/api/v1/operator/venues", OP_VJC).get_json()["items"][0]["id"]
    body = api.get(f"/api/v1/operator/venues/{venue_id}", OP_VJC).get_json()
    assert body["resources"] and set(body["resources"][0]) == {"id", "code", "name", "kind",
                                                               "active"}
    documented = api.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "resources" in documented["OperatorVenue"]["properties"]
