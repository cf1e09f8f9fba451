"""Assertions shared by the API tests."""

PASSWORD = "demo12345"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


CREATOR = "yp.creator@demo.local"
HP_CREATOR = "hp.creator@demo.local"
ADMIN = "admin@demo.local"
FINANCE = "finance@demo.local"
OP_VJC = "operator.vjc@demo.local"
OP_FTC = "operator.ftc@demo.local"


def resource_id(api, code: str) -> int:
    from sqlalchemy import select

    from app.catalog.models import Resource
    from app.extensions import db

    with api.app.app_context():
        return db.session.scalar(select(Resource.id).where(Resource.code == code))


def at(day: str, hhmm: str) -> str:
    """An ISO time in Shanghai, e.g. at("2026-12-02", "14:00")."""
    return f"{day}T{hhmm}:00+08:00"


def book(api, code: str, day: str, start: str, end: str, as_user: str = CREATOR, **extra):
    return api.post("/api/v1/bookings", as_user,
                    json={"resource_id": resource_id(api, code), "start": at(day, start),
                          "end": at(day, end), **extra},
                    headers=extra.pop("headers", {}) if "headers" in extra else {})
