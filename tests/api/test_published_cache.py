"""The published list is served from its version's snapshot: strong ETags, 304 Not Modified,
one cheap statement per request, a new version seen at once after publishing, and each
version's snapshot read once by a process however many threads ask for it at once."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event

from app import create_app
from app.catalog.service import publish_version
from app.extensions import db
from tests.conftest import base_config
from tests.helpers import ADMIN, publish

LIST_URLS = [
    "/api/v1/resources",
    "/api/v1/resources?district=huangpu&capacity=2",
    "/api/v1/resources/export?format=csv",
    "/api/v1/resources/export?format=xlsx&kind=livestream_room",
    "/api/v1/resources/export?format=json",
    "/",
    "/?district=yangpu",
]


def _first_id(api) -> int:
    return api.get("/api/v1/resources").get_json()["items"][0]["id"]


def _statements(app) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, conn.get_execution_options().get("isolation_level")))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    return seen


@pytest.mark.parametrize("url", LIST_URLS)
def test_strong_etag_and_304(api, url):
    first = api.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"v1-') and not etag.startswith("W/")
    again = api.get(url)
    assert again.headers["ETag"] == etag and again.get_data() == first.get_data()
    cached = api.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b"" and cached.headers["ETag"] == etag
    other = api.get(url, headers={"If-None-Match": '"v1-somethingelse"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()


def test_resource_and_its_page_have_etags(api):
    rid = _first_id(api)
    for url in (f"/api/v1/resources/{rid}", f"/resources/{rid}"):
        first = api.get(url)
        assert first.status_code == 200
        assert api.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert api.get("/api/v1/resources", headers={
        "If-None-Match": api.get(f"/api/v1/resources/{rid}").headers["ETag"]}).status_code == 200


def test_an_etag_names_one_body(api):
    bodies: dict[str, set[bytes]] = {}
    for url in LIST_URLS:
        response = api.get(url)
        bodies.setdefault(response.headers["ETag"], set()).add(response.get_data())
    assert all(len(found) == 1 for found in bodies.values())
    # the JSON export is the list itself: one body, one ETag; the rest differ
    assert len(bodies) == len(LIST_URLS) - 1


def test_another_worker_sends_the_same_etag(api):
    """The ETag hashes the bytes: another process with the same version agrees (JSON, CSV)."""
    other = create_app({**{k: api.app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_ENABLED", "LOG_LEVEL")}})
    try:
        for url in ("/api/v1/resources?kind=photo_studio", "/api/v1/resources/export?format=csv",
                    f"/api/v1/resources/{_first_id(api)}"):
            etag = api.get(url).headers["ETag"]
            response = other.test_client().get(url, headers={"If-None-Match": etag})
            assert response.status_code == 304, url
    finally:
        with other.app_context():
            db.engine.dispose()


def test_publishing_is_seen_at_once(api):
    rid = _first_id(api)
    before = {url: api.get(url) for url in ("/api/v1/resources", f"/api/v1/resources/{rid}",
                                            f"/resources/{rid}", "/")}
    assert api.patch(f"/api/v1/admin/resources/{rid}", ADMIN,
                     json={"name_zh": "新版直播间"}).status_code == 200
    # not published yet: the same answer, still 304 for those who have it
    for url, old in before.items():
        assert api.get(url, headers={"If-None-Match": old.headers["ETag"]}).status_code == 304
    assert api.post("/api/v1/admin/list-versions", ADMIN, json={}).status_code == 201
    for url, old in before.items():
        response = api.get(url, headers={"If-None-Match": old.headers["ETag"]})
        assert response.status_code == 200, url
        assert response.headers["ETag"].startswith('"v2-')
        assert "新版直播间" in response.get_data(as_text=True), url
    # the past version stays what it was, byte for byte
    past = api.get("/api/v1/resources?version=1",
                   headers={"If-None-Match": before["/api/v1/resources"].headers["ETag"]})
    assert past.status_code == 304


def test_deactivated_resource_is_gone_before_the_next_version(api):
    rid = _first_id(api)
    assert api.get(f"/api/v1/resources/{rid}").status_code == 200
    api.patch(f"/api/v1/admin/resources/{rid}", ADMIN, json={"active": False})
    assert api.get(f"/api/v1/resources/{rid}").status_code == 404
    assert api.get(f"/resources/{rid}").status_code == 404
    assert rid in [i["id"] for i in api.get("/api/v1/resources").get_json()["items"]]


def test_each_read_is_one_statement_outside_a_transaction(api):
    rid = _first_id(api)
    urls = ["/api/v1/resources?kind=recording_studio", f"/api/v1/resources/{rid}",
            "/api/v1/resources/export?format=csv", "/", f"/resources/{rid}"]
    for url in urls:
        api.get(url)
    seen = _statements(api.app)
    for url in urls:
        seen.clear()
        assert api.get(url).status_code == 200
        # the list's version number may come from the last second's read (no statement at all)
        assert len(seen) <= 1 and all(mode == "AUTOCOMMIT" for _, mode in seen), (url, seen)
        if url.endswith(f"/{rid}"):  # one resource: its version and active flag, every time
            assert len(seen) == 1, (url, seen)


def _with_version_ttl(app, seconds: float):
    app.config["LIST_VERSION_TTL_SECONDS"] = seconds
    app.extensions.pop("published_lists", None)  # made anew with this ttl on first use


def test_the_list_is_answered_without_the_database_and_sees_a_publication_at_once(api):
    _with_version_ttl(api.app, 60)
    api.get("/api/v1/resources")
    seen = _statements(api.app)
    first = api.get("/api/v1/resources")
    assert first.status_code == 200 and seen == []
    api.patch(f"/api/v1/admin/resources/{_first_id(api)}", ADMIN, json={"capacity": 9})
    number = publish(api, "capacity")
    seen.clear()
    after = api.get("/api/v1/resources")
    # which version is current, then the new version's snapshot (once per process)
    assert after.get_json()["list_version"]["number"] == number and len(seen) == 2
    assert after.headers["ETag"] != first.headers["ETag"]


def test_another_process_publication_is_seen_within_the_ttl(api, tmp_path):
    ttl = 2.0
    _with_version_ttl(api.app, ttl)
    other = create_app({**base_config(api.app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                        "LIST_VERSION_TTL_SECONDS": ttl})
    before = api.get("/api/v1/resources").get_json()["list_version"]["number"]
    with other.app_context():
        publish_version(db.session, None, "from another worker")
        db.session.commit()
        db.engine.dispose()
    assert api.get("/api/v1/resources").get_json()["list_version"]["number"] == before  # not yet
    time.sleep(ttl + 0.1)
    assert api.get("/api/v1/resources").get_json()["list_version"]["number"] == before + 1


def test_threads_asking_at_once_for_a_version_not_yet_read_read_it_once(api, monkeypatch):
    """The first requests after a publication arrive together: one thread reads and parses the
    snapshot, the others wait for it instead of each parsing their own copy."""
    from app.catalog import published

    reads = []
    read_alone = published.read_alone

    def slow_read(engine, statement, params=None):
        reads.append(statement)
        time.sleep(0.3)  # a large snapshot takes a while: every other thread arrives meanwhile
        return read_alone(engine, statement, params)

    monkeypatch.setattr(published, "read_alone", slow_read)
    lists, threads = published.PublishedLists(), 8
    arrived, found = threading.Barrier(threads), []

    def ask() -> None:
        with api.app.app_context():
            arrived.wait()
            found.append(lists.version(1))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(reads) == 1
    assert len(found) == threads and all(version is found[0] for version in found)
    assert found[0].number == 1 and found[0].items
    with api.app.app_context():  # a version the database lacks is asked for each time
        assert lists.version(99) is None and lists.version(99) is None
    assert len(reads) == 3
    assert lists._reading == {}  # numbers asked for leave nothing behind, found or not
