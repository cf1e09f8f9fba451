"""Eight front-desk devices scan the same code at once: one ok, seven already_checked_in,
one redemption in the ledger (PostgreSQL, a connection per scan)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.checkin.models import CheckIn, Scan
from app.extensions import db
from app.ledger.models import JournalEntry
from tests.helpers import CREATOR, OP_VJC, at, post_concurrently


@pytest.fixture
def pg_app(make_pg_app):
    return make_pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 12, "max_overflow": 0})


@pytest.mark.postgres
def test_eight_simultaneous_scans_redeem_once(pg_app):
    from app.accounts.service import issue_token, require_user
    from app.catalog.models import Resource

    with pg_app.app_context():
        creator = issue_token(db.session, require_user(db.session, CREATOR))
        desks = [issue_token(db.session, require_user(db.session, OP_VJC)) for _ in range(8)]
        room = db.session.scalar(select(Resource.id).where(Resource.code == "vjc-live-01"))
        db.session.commit()
    client = pg_app.test_client()
    auth = {"Authorization": f"Bearer {creator}"}
    code = client.get("/api/v1/me", headers=auth).get_json()["vouchers"][0]["code"]
    booking = client.post("/api/v1/bookings", headers=auth, json={
        "resource_id": room, "start": at("2026-12-01", "10:00"), "end": at("2026-12-01", "11:00"),
        "voucher_code": code}).get_json()
    import re

    svg = client.get(f"/api/v1/bookings/{booking['id']}/qr.png", headers=auth)
    import io

    import zxingcpp
    from PIL import Image

    text = zxingcpp.read_barcodes(Image.open(io.BytesIO(svg.get_data())))[0].text
    assert re.match(r"^VB1\.", text)
    results = post_concurrently(pg_app, [
        ("/api/v1/checkins", token, {"code": text, "device": f"desk-{n}"})
        for n, token in enumerate(desks)])
    answers = sorted(body["result"] for _, body in results)
    assert answers == ["already_checked_in"] * 7 + ["ok"]
    firsts = {body["checkin"]["at"] for _, body in results}
    assert len(firsts) == 1  # every answer points at the one check-in
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckIn)) == 1
        assert db.session.scalar(select(func.count()).select_from(Scan)) == 8
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "voucher.redeem")) == 1
