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


def publish(api, note: str = "") -> int:
    """Publish the catalog as it is now (program links and prices count from here)."""
    response = api.post("/api/v1/admin/list-versions", ADMIN, json={"note": note})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def book(api, code: str, day: str, start: str, end: str, as_user: str = CREATOR, **extra):
    return api.post("/api/v1/bookings", as_user,
                    json={"resource_id": resource_id(api, code), "start": at(day, start),
                          "end": at(day, end), **extra},
                    headers=extra.pop("headers", {}) if "headers" in extra else {})


def post_concurrently(app, calls: list[tuple[str, str, dict]]) -> list:
    """POST every (path, token, body) at the same moment from its own thread and connection.

    Returns the responses' (status, json) in call order.
    """
    import threading

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, path: str, token: str, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
