"""A creator books, moves and cancels from the pages; operators see their day."""

from __future__ import annotations

import re

from tests.helpers import CREATOR, OP_FTC, OP_VJC, PASSWORD, resource_id


def _signed_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def _book(client, rid: int, **fields):
    """Book from the confirm page as a person does: the price shown, then its button."""
    query = "&".join(f"{k}={v}" for k, v in fields.items())
    shown = client.get(f"/resources/{rid}/book/confirm?{query}").get_data(as_text=True)
    token = re.search(r'name="quote" value="([^"]*)"', shown)
    return client.post(f"/resources/{rid}/book/confirm",
                       data={**fields, "confirm": "1", "use_quota": "1",
                             "quote": token.group(1) if token else ""})


class _A:
    def __init__(self, app):
        self.app = app


def test_book_move_and_cancel_from_pages(seeded):
    client = _signed_in(seeded, CREATOR)
    rid = resource_id(_A(seeded), "vjc-live-01")
    week = client.get(f"/resources/{rid}/book?from=2026-12-02").get_data(as_text=True)
    assert 'id="day-2026-12-02"' in week
    links = re.findall(r'href="(/resources/\d+/book/confirm\?[^"]+)"', week)
    assert links, "free start times are tappable"
    confirm = client.get(f"/resources/{rid}/book/confirm?date=2026-12-02&time=18:00&minutes=120")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "¥440.00" in page  # 1 h at ¥180 + 1 h peak at ¥260
    done = _book(client, rid, date="2026-12-02", time="18:00", minutes="120", voucher_code="")
    assert done.status_code == 302
    booking_url = done.headers["Location"]
    detail = client.get(booking_url).get_data(as_text=True)
    assert "18:00–20:00" in detail
    mine = client.get("/bookings").get_data(as_text=True)
    assert "12-02 18:00–20:00" in mine
    # my own booking is highlighted in the week view
    week = client.get(f"/resources/{rid}/book?from=2026-12-02").get_data(as_text=True)
    assert 'class="slot mine"' in week

    booking_id = int(booking_url.rstrip("/").rsplit("/", 1)[1])
    client.post(f"/bookings/{booking_id}/reschedule",
                data={"date": "2026-12-04", "time": "10:00", "minutes": "60"})
    assert "2026-12-04 10:00–11:00" in client.get(booking_url).get_data(as_text=True)
    assert "确认取消预约" in client.get(f"/bookings/{booking_id}/cancel").get_data(as_text=True)
    client.post(f"/bookings/{booking_id}/cancel", data={})
    api = client.get(f"/api/v1/bookings/{booking_id}").get_json()
    assert api["status"] == "cancelled"


def test_taken_slot_shows_a_clear_message(seeded):
    client = _signed_in(seeded, CREATOR)
    rid = resource_id(_A(seeded), "vjc-live-01")
    data = {"date": "2026-12-02", "time": "10:00", "minutes": "60", "confirm": "1"}
    shown = client.get(f"/resources/{rid}/book/confirm?date=2026-12-02&time=10:00&minutes=60")
    quote = re.search(r'name="quote" value="([^"]*)"', shown.get_data(as_text=True)).group(1)
    client.post(f"/resources/{rid}/book/confirm", data={**data, "quote": quote})
    again = client.post(f"/resources/{rid}/book/confirm", data={**data, "quote": quote},
                        follow_redirects=True)
    assert "已被预约" in again.get_data(as_text=True) or "already booked" in again.get_data(as_text=True)


def test_operator_day_view_and_venue_day(seeded):
    creator = _signed_in(seeded, CREATOR)
    rid = resource_id(_A(seeded), "vjc-live-01")
    _book(creator, rid, date="2026-12-02", time="14:00", minutes="60")
    operator = _signed_in(seeded, OP_VJC)
    venue_id = creator.get(f"/api/v1/resources/{rid}").get_json()["venue"]["id"]
    page = operator.get(f"/operator/venues/{venue_id}?date=2026-12-02").get_data(as_text=True)
    assert "14:00–15:00" in page and "杨浦主播 小杨" in page
    assert _signed_in(seeded, OP_FTC).get(f"/operator/venues/{venue_id}").status_code == 403
    public = seeded.test_client().get(f"/venues/{venue_id}/day?date=2026-12-02").get_data(as_text=True)
    assert "09:00–13:30" in public  # 14:00 booking with its 15-minute buffer


def test_creator_books_with_voucher_and_sees_the_split(seeded):
    client = _signed_in(seeded, CREATOR)
    rid = resource_id(_A(seeded), "vjc-live-01")
    page = client.get(f"/resources/{rid}/book/confirm?date=2026-12-02&time=18:00&minutes=120")
    html = page.get_data(as_text=True)
    codes = re.findall(r'<option value="([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})"', html)
    assert codes, "the creator's vouchers are offered"
    chosen = client.get(f"/resources/{rid}/book/confirm?date=2026-12-02&time=18:00&minutes=120"
                        f"&voucher_code={codes[0]}").get_data(as_text=True)
    assert "−¥300.00" in chosen and "¥140.00" in chosen  # ¥440 − ¥300 voucher = ¥140 self-pay
    done = _book(client, rid, date="2026-12-02", time="18:00", minutes="120",
                 voucher_code=codes[0])
    detail = client.get(done.headers["Location"]).get_data(as_text=True)
    assert codes[0] in detail and "¥140.00" in detail


def test_certified_creator_books_with_quota_from_pages(seeded):
    client = _signed_in(seeded, "hp.creator@demo.local")
    rid = resource_id(_A(seeded), "ftc-live-01")
    page = client.get(f"/resources/{rid}/book/confirm?date=2026-12-02&time=10:00&minutes=60")
    html = page.get_data(as_text=True)
    assert re.search(r'id="self-pay">¥0.00<', html), "quota covers the whole price"
    _book(client, rid, date="2026-12-02", time="10:00", minutes="60")
    quota = client.get("/api/v1/me").get_json()["quota"][0]
    assert quota["held_fen"] > 0 and quota["remaining_fen"] == quota["cap_fen"] - quota["held_fen"]
