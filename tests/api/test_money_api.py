"""Vouchers and quota through the API: the split, holds, releases, caps and admin actions."""

from __future__ import annotations

from tests.helpers import (
    ADMIN,
    CREATOR,
    FINANCE,
    HP_CREATOR,
    assert_error,
    at,
    book,
    publish,
    resource_id,
)

YP_ROOM = "vjc-live-01"   # ¥180/h, peak ¥260/h, accepts 杨浦直播券
HP_ROOM = "ftc-live-01"
DAY = "2026-12-02"


def _voucher(api, user=CREATOR) -> dict:
    return api.get("/api/v1/me", user).get_json()["vouchers"][0]


def test_me_shows_vouchers_and_quota(api):
    me = api.get("/api/v1/me", CREATOR).get_json()
    assert len(me["vouchers"]) == 5
    voucher = me["vouchers"][0]
    assert voucher["face_value_fen"] == 30000 and voucher["status"] == "issued"
    assert set(voucher) >= {"code", "face_value_fen", "valid_from", "valid_until", "status"}
    assert me["quota"] == []
    hp = api.get("/api/v1/me", HP_CREATOR).get_json()
    assert hp["vouchers"] == []
    assert hp["quota"][0] | {} == {**hp["quota"][0], "cap_fen": 30_000_000, "held_fen": 0,
                                   "consumed_fen": 0, "remaining_fen": 30_000_000}


def test_voucher_covers_up_to_face_value_and_rest_is_self_pay(api):
    code = _voucher(api)["code"]
    quote = api.post("/api/v1/bookings/quote", CREATOR, json={
        "resource_id": resource_id(api, YP_ROOM), "start": at(DAY, "18:00"), "end": at(DAY, "20:00"),
        "voucher_code": code}).get_json()
    assert quote["price"] == {"gross_fen": 44000, "voucher_fen": 30000, "quota_fen": 0,
                              "self_pay_fen": 14000}
    booking = book(api, YP_ROOM, DAY, "18:00", "20:00", voucher_code=code.lower().replace("-", " "))
    assert booking.status_code == 201, booking.get_json()
    body = booking.get_json()
    assert body["price"] == quote["price"]
    assert body["voucher"]["code"] == code and body["voucher"]["status"] == "held"
    assert body["program"] == "yangpu-livestream-voucher"
    # a held voucher is no longer offered, nor usable again
    assert code not in [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]]
    error = assert_error(book(api, YP_ROOM, DAY, "10:00", "11:00", voucher_code=code), 422,
                         "voucher_not_usable")
    assert error["details"]["reason"] == "not_available"


def test_small_booking_keeps_no_change(api):
    code = _voucher(api)["code"]
    body = book(api, YP_ROOM, DAY, "10:00", "11:00", voucher_code=code).get_json()
    assert body["price"] == {"gross_fen": 18000, "voucher_fen": 18000, "quota_fen": 0,
                             "self_pay_fen": 0}


def test_voucher_refusals_name_the_reason(api):
    code = _voucher(api)["code"]
    error = assert_error(book(api, HP_ROOM, DAY, "10:00", "11:00", HP_CREATOR, voucher_code=code),
                         422, "voucher_not_usable")
    assert error["details"]["reason"] == "not_yours"
    error = assert_error(book(api, HP_ROOM, DAY, "10:00", "11:00", voucher_code=code), 422,
                         "voucher_not_usable")
    assert error["details"]["reason"] == "resource_does_not_accept_program"
    error = assert_error(book(api, YP_ROOM, DAY, "10:00", "11:00", voucher_code="ZZZZ-ZZZZ-ZZZZ"),
                         422, "voucher_not_usable")
    assert error["details"]["reason"] == "unknown_code"
    # nothing was half written: the slot is still free
    assert book(api, YP_ROOM, DAY, "10:00", "11:00", HP_CREATOR).status_code == 201


def test_cancel_in_time_returns_the_voucher_late_cancel_forfeits_it(api):
    codes = [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"][:2]]
    early = book(api, YP_ROOM, "2026-12-05", "10:00", "11:00", voucher_code=codes[0]).get_json()
    api.post(f"/api/v1/bookings/{early['id']}/cancel", CREATOR, json={})
    assert codes[0] in [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]]
    late = book(api, YP_ROOM, "2026-12-01", "20:00", "21:00", voucher_code=codes[1]).get_json()
    cancelled = api.post(f"/api/v1/bookings/{late['id']}/cancel", CREATOR,
                         json={"accept_late": True}).get_json()
    assert cancelled["voucher"]["status"] == "forfeited"
    assert codes[1] not in [v["code"] for v in api.get("/api/v1/me", CREATOR).get_json()["vouchers"]]


def test_quota_holds_and_releases(api):
    body = book(api, HP_ROOM, "2026-12-05", "10:00", "12:00", HP_CREATOR).get_json()
    gross = body["price"]["gross_fen"]
    assert body["price"]["quota_fen"] == gross and body["price"]["self_pay_fen"] == 0
    assert body["program"] == "huangpu-shared-service"
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert quota["held_fen"] == gross
    assert quota["remaining_fen"] == 30_000_000 - gross
    cancelled = api.post(f"/api/v1/bookings/{body['id']}/cancel", HP_CREATOR, json={})
    assert cancelled.status_code == 200
    assert api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]["held_fen"] == 0
    # without quota on request: all self-pay
    own = book(api, HP_ROOM, DAY, "14:00", "15:00", HP_CREATOR, use_quota=False).get_json()
    assert own["price"]["quota_fen"] == 0 and own["price"]["self_pay_fen"] == own["price"]["gross_fen"]


def test_quota_runs_out_to_the_last_fen_then_self_pay(api):
    users = api.get("/api/v1/admin/users", ADMIN).get_json()["items"]
    hp = next(u for u in users if u["email"] == HP_CREATOR)
    api.post("/api/v1/admin/programs", ADMIN, json={
        "code": "tiny-test-quota", "name_zh": "测试额度", "funding": "quota",
        "eligibility": "certified_creator", "tiers": [{"code": "T", "name_zh": "T", "cap_fen": 25000}],
        "resource_kinds": ["livestream_room"], "venue_ids": []})
    publish(api, "tiny-test-quota on live-stream rooms")
    api.post(f"/api/v1/admin/users/{hp['id']}/certifications", ADMIN,
             json={"program": "tiny-test-quota", "tier": "T"})
    first = book(api, YP_ROOM, DAY, "10:00", "11:00", HP_CREATOR).get_json()  # ¥180
    assert first["price"]["quota_fen"] == 18000
    second = book(api, YP_ROOM, DAY, "14:00", "15:00", HP_CREATOR).get_json()
    assert second["price"] == {"gross_fen": 18000, "voucher_fen": 0, "quota_fen": 7000,
                               "self_pay_fen": 11000}
    third = book(api, YP_ROOM, DAY, "16:00", "17:00", HP_CREATOR).get_json()
    assert third["price"]["quota_fen"] == 0


def test_batches_never_exceed_count_or_budget(api):
    batch = api.post("/api/v1/admin/voucher-batches", ADMIN, json={
        "program": "yangpu-livestream-voucher", "name": "小批次", "face_value_fen": 10000,
        "total_count": 10, "total_budget_fen": 25000, "valid_from": "2026-12-01",
        "valid_until": "2026-12-31"})
    assert batch.status_code == 201
    batch_id = batch.get_json()["id"]
    enterprise_id = 1
    issued = api.post(f"/api/v1/admin/voucher-batches/{batch_id}/issue", ADMIN,
                      json={"enterprise_id": enterprise_id, "count": 2})
    assert issued.status_code == 201
    codes = [v["code"] for v in issued.get_json()["items"]]
    assert all(len(c) == 14 and not set(c) & set("01OI") for c in codes)
    assert_error(api.post(f"/api/v1/admin/voucher-batches/{batch_id}/issue", ADMIN,
                          json={"enterprise_id": enterprise_id, "count": 1}), 409, "batch_exhausted")
    batches = api.get("/api/v1/admin/voucher-batches", FINANCE).get_json()["items"]
    assert next(b for b in batches if b["id"] == batch_id)["issued_count"] == 2
    assert_error(api.post("/api/v1/admin/voucher-batches", CREATOR, json={}), 403, "forbidden")
    error = assert_error(api.post("/api/v1/admin/voucher-batches", ADMIN, json={
        "program": "huangpu-shared-service", "name": "错", "face_value_fen": 100, "total_count": 1,
        "total_budget_fen": 100, "valid_from": "2026-12-02", "valid_until": "2026-12-01"}),
        422, "validation_error")
    assert {"program", "valid_until"} <= set(error["details"]["fields"])


def test_void_and_search(api):
    code = _voucher(api)["code"]
    found = api.get(f"/api/v1/admin/vouchers?q={code[:9]}", ADMIN).get_json()["items"]
    assert [v["code"] for v in found] == [code]
    voided = api.post(f"/api/v1/admin/vouchers/{code}/void", ADMIN, json={"reason": "企业退出"})
    assert voided.get_json()["status"] == "void"
    assert_error(api.post(f"/api/v1/admin/vouchers/{code}/void", ADMIN, json={"reason": "again"}),
                 409, "voucher_state_changed")
    audit = api.get("/api/v1/audit", ADMIN).get_json()["items"]
    assert audit[0]["action"] == "voucher.void" and audit[0]["after"]["reason"] == "企业退出"


def test_a_third_program_works_without_code_change(api):
    response = api.post("/api/v1/admin/programs", ADMIN, json={
        "code": "bund-photo-voucher", "name_zh": "外滩摄影券", "funding": "voucher",
        "eligibility": "resident_enterprise", "no_show_policy": "release",
        "resource_kinds": ["photo_studio"], "venue_ids": []})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["resource_ids"]
    publish(api, "bund-photo-voucher on photo studios")
    api.post("/api/v1/admin/enterprises/1/residencies", ADMIN,
             json={"program": "bund-photo-voucher", "valid_from": "2026-01-01"})
    batch = api.post("/api/v1/admin/voucher-batches", ADMIN, json={
        "program": "bund-photo-voucher", "name": "摄影券第一批", "face_value_fen": 50000,
        "total_count": 5, "total_budget_fen": 250000, "valid_from": "2026-11-01",
        "valid_until": "2027-01-31"}).get_json()
    code = api.post(f"/api/v1/admin/voucher-batches/{batch['id']}/issue", ADMIN,
                    json={"enterprise_id": 1, "count": 1}).get_json()["items"][0]["code"]
    booked = book(api, "ftc-photo-01", DAY, "10:00", "12:00", voucher_code=code)
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["program"] == "bund-photo-voucher"
    assert booked.get_json()["price"]["voucher_fen"] == min(50000, booked.get_json()["price"]["gross_fen"])
