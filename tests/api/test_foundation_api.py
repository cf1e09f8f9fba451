"""The foundation's API as API.md describes it: health, list, resources, tokens, errors."""

from __future__ import annotations

import csv
import io

from openapi_spec_validator import OpenAPIV30SpecValidator
from openpyxl import load_workbook

from tests.helpers import PASSWORD, assert_error


def test_healthz_answers_with_database(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_resources_list_carries_version_and_shapes(api):
    body = api.get("/api/v1/resources").get_json()
    assert body["list_version"]["number"] == 1
    assert len(body["items"]) >= 24
    item = body["items"][0]
    for key in ("id", "name", "kind", "venue", "rates", "programs"):
        assert key in item
    assert set(item["venue"]) >= {"id", "name", "district"}
    assert isinstance(item["rates"]["hourly_fen"], int)


def test_resources_filters(api):
    items = api.get("/api/v1/resources?district=huangpu").get_json()["items"]
    assert items and all(i["venue"]["district"] == "huangpu" for i in items)
    items = api.get("/api/v1/resources?kind=recording_studio").get_json()["items"]
    assert items and all(i["kind"] == "recording_studio" for i in items)
    items = api.get("/api/v1/resources?program=yangpu-livestream-voucher").get_json()["items"]
    assert items and all(
        "yangpu-livestream-voucher" in [p["code"] for p in i["programs"]] for i in items
    )
    items = api.get("/api/v1/resources?capacity=8").get_json()["items"]
    assert items and all(i["capacity"] >= 8 for i in items)
    venue = items[0]["venue"]
    by_venue = api.get(f"/api/v1/resources?venue={venue['id']}").get_json()["items"]
    assert by_venue and all(i["venue"]["id"] == venue["id"] for i in by_venue)


def test_bad_filter_is_422_with_fields(api):
    error = assert_error(api.get("/api/v1/resources?kind=spaceship&capacity=x"), 422,
                         "validation_error")
    assert set(error["details"]["fields"]) == {"kind", "capacity"}


def test_resource_detail_and_404(api):
    first = api.get("/api/v1/resources").get_json()["items"][0]
    body = api.get(f"/api/v1/resources/{first['id']}").get_json()
    assert body["name"] == first["name"]
    assert body["rules"]["slot_minutes"] == 30
    assert_error(api.get("/api/v1/resources/999999"), 404, "not_found")
    assert_error(api.get("/api/v1/no-such-endpoint"), 404, "not_found")


def test_token_exchange_and_me(api):
    response = api.post("/api/v1/auth/tokens",
                        json={"email": "hp.creator@demo.local", "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["email"] == "hp.creator@demo.local"
    assert me["roles"] == ["creator"]
    quota = me["quota"][0]
    assert quota["program"] == "huangpu-shared-service"
    assert quota["cap_fen"] == 30_000_000
    assert quota["remaining_fen"] == quota["cap_fen"] - quota["held_fen"] - quota["consumed_fen"]


def test_token_errors(api):
    assert_error(api.post("/api/v1/auth/tokens",
                          json={"email": "hp.creator@demo.local", "password": "wrong-password"}),
                 401, "invalid_credentials")
    error = assert_error(api.post("/api/v1/auth/tokens", json={"email": "not-an-email"}),
                         422, "validation_error")
    assert set(error["details"]["fields"]) == {"email", "password"}
    assert_error(api.get("/api/v1/me"), 401, "unauthenticated")
    assert_error(api.get("/api/v1/me", headers={"Authorization": "Bearer nope"}),
                 401, "invalid_token")


def test_export_csv_and_xlsx_rows_and_headers(api):
    items = api.get("/api/v1/resources").get_json()["items"]
    csv_response = api.get("/api/v1/resources/export?format=csv")
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    text = csv_response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["编号", "名称", "类型"]
    assert len(rows) == len(items) + 1
    by_code = {row[0]: row for row in rows[1:]}
    first = items[0]
    assert by_code[first["code"]][1] == first["name"]
    assert by_code[first["code"]][9] == f"{first['rates']['hourly_fen'] / 100:.2f}"

    xlsx_response = api.get("/api/v1/resources/export?format=xlsx")
    assert xlsx_response.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx_response.get_data())).active
    values = list(sheet.values)
    assert values[0][9] == "平峰价（元/小时）"
    assert len(values) == len(items) + 1
    row = next(r for r in values[1:] if r[0] == first["code"])
    assert row[9] == first["rates"]["hourly_fen"] / 100
    assert sheet.cell(2, 10).number_format == '"¥"#,##0.00'

    json_body = api.get("/api/v1/resources/export?format=json").get_json()
    assert len(json_body["items"]) == len(items)
    assert_error(api.get("/api/v1/resources/export?format=pdf"), 422, "validation_error")


def test_openapi_describes_the_api(api):
    spec = api.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/resources", "/api/v1/resources/{resource_id}", "/api/v1/me",
                 "/api/v1/auth/tokens", "/api/v1/resources/export"):
        assert path in spec["paths"], path
    assert "Error" in spec["components"]["schemas"]
    assert "Resource" in spec["components"]["schemas"]


def test_the_openapi_document_is_valid_openapi_3_0(client):
    """Generated clients and standard tooling refuse a document that breaks the spec."""
    spec = client.get("/api/v1/openapi.json").get_json()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:120]}"
              for e in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert errors == []


def test_security_headers_present(api):
    response = api.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
