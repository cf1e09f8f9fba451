"""Role boundaries: who may reach which endpoint, and operators only their own venues."""

from __future__ import annotations

from tests.helpers import assert_error

CREATOR = "yp.creator@demo.local"
ADMIN = "admin@demo.local"
FINANCE = "finance@demo.local"
OP_VJC = "operator.vjc@demo.local"
OP_FTC = "operator.ftc@demo.local"


def _venue_id(api, code: str) -> int:
    venues = api.get("/api/v1/venues").get_json()["items"]
    return next(v["id"] for v in venues if v["code"] == code)


def test_creator_cannot_reach_admin_or_finance_endpoints(api):
    resource_id = api.get("/api/v1/resources").get_json()["items"][0]["id"]
    assert_error(api.get("/api/v1/admin/users", CREATOR), 403, "forbidden")
    assert_error(api.post("/api/v1/admin/list-versions", CREATOR, json={}), 403, "forbidden")
    assert_error(api.patch(f"/api/v1/admin/resources/{resource_id}", CREATOR,
                           json={"hourly_rate_fen": 1}), 403, "forbidden")
    assert_error(api.post("/api/v1/admin/users/1/certifications", CREATOR,
                          json={"program": "huangpu-shared-service", "tier": "A"}), 403, "forbidden")
    assert_error(api.get("/api/v1/audit", CREATOR), 403, "forbidden")
    assert_error(api.get("/api/v1/operator/venues", CREATOR), 403, "forbidden")
    # pages refuse too
    response = api.get("/admin/", CREATOR)
    assert response.status_code == 403


def test_anonymous_gets_401_on_protected_api(api):
    assert_error(api.get("/api/v1/admin/users"), 401, "unauthenticated")
    assert_error(api.get("/api/v1/audit"), 401, "unauthenticated")


def test_finance_reads_audit_but_cannot_administer(api):
    assert api.get("/api/v1/audit", FINANCE).status_code == 200
    assert_error(api.get("/api/v1/admin/users", FINANCE), 403, "forbidden")


def test_operator_sees_only_their_venues(api):
    vjc = _venue_id(api, "vjc-chuangzhi")
    ftc = _venue_id(api, "bund-ftc")
    mine = api.get("/api/v1/operator/venues", OP_VJC).get_json()["items"]
    assert [v["code"] for v in mine] == ["vjc-chuangzhi"]
    assert api.get(f"/api/v1/operator/venues/{vjc}", OP_VJC).status_code == 200
    assert_error(api.get(f"/api/v1/operator/venues/{ftc}", OP_VJC), 403, "forbidden")
    assert api.get(f"/api/v1/operator/venues/{ftc}", OP_FTC).status_code == 200
    assert api.get(f"/operator/venues/{ftc}", OP_VJC).status_code == 403
    assert api.get(f"/operator/venues/{vjc}", OP_VJC).status_code == 200
    # administrators see every venue
    assert len(api.get("/api/v1/operator/venues", ADMIN).get_json()["items"]) >= 5


def test_admin_certifies_and_it_is_audited(api):
    users = api.get("/api/v1/admin/users", ADMIN).get_json()["items"]
    creator = next(u for u in users if u["email"] == CREATOR)
    assert "*" in creator["phone"]  # masked outside the account itself
    response = api.post(f"/api/v1/admin/users/{creator['id']}/certifications", ADMIN,
                        json={"program": "huangpu-shared-service", "tier": "C"})
    assert response.status_code == 201
    assert response.get_json()["cap_fen"] == 5_000_000
    me = api.get("/api/v1/me", CREATOR).get_json()
    assert me["quota"][0]["cap_fen"] == 5_000_000
    audit = api.get("/api/v1/audit", ADMIN).get_json()["items"]
    assert audit[0]["action"] == "certify"
    assert audit[0]["after"]["tier"] == "C"
    error = assert_error(
        api.post(f"/api/v1/admin/users/{creator['id']}/certifications", ADMIN,
                 json={"program": "huangpu-shared-service", "tier": "Z"}),
        422, "validation_error")
    assert "tier" in error["details"]["fields"]
