import pytest

from app.catalog.rules import filter_items, parse_clock, resource_field_errors, valid_opening_hours
from app.core.money import format_yuan, parse_yuan


@pytest.mark.parametrize("text,fen", [("180", 18000), ("180.5", 18050), ("¥1,234.56", 123456),
                                      ("0.05", 5), ("-3", -300)])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1,23", "¥"])
def test_parse_yuan_refuses(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


def test_format_yuan():
    assert format_yuan(123456) == "¥1,234.56"
    assert format_yuan(5) == "¥0.05"
    assert format_yuan(-300, symbol=False) == "-3.00"


def test_clock_parsing():
    assert parse_clock("09:30") == 570
    assert parse_clock("24:00") == 1440
    with pytest.raises(ValueError):
        parse_clock("25:00")
    assert valid_opening_hours({"mon": ["09:00", "24:00"]})
    assert not valid_opening_hours({"mon": ["18:00", "09:00"]})
    assert not valid_opening_hours({"funday": ["09:00", "10:00"]})


BASE = {
    "name_zh": "直播间", "kind": "livestream_room", "capacity": 2, "area_sqm": 20,
    "hourly_rate_fen": 10000, "peak_rate_fen": 15000, "slot_minutes": 30, "min_minutes": 60,
    "max_minutes": 480, "buffer_minutes": 15, "min_notice_minutes": 0, "max_advance_days": 30,
    "cancel_deadline_hours": 24, "checkin_opens_minutes": 15, "no_show_after_minutes": 30,
    "peak_start": "19:00", "peak_end": "24:00", "opening_hours": None,
}


def test_resource_rules_accept_sane_values():
    assert resource_field_errors(BASE) == {}


@pytest.mark.parametrize("change,field", [
    ({"min_minutes": 90, "slot_minutes": 60}, "min_minutes"),
    ({"min_minutes": 600}, "min_minutes"),
    ({"peak_rate_fen": 5000}, "peak_rate_fen"),
    ({"capacity": 0}, "capacity"),
    ({"hourly_rate_fen": 12.5}, "hourly_rate_fen"),
    ({"peak_start": "22:00", "peak_end": "20:00"}, "peak_end"),
    ({"name_zh": " "}, "name_zh"),
    ({"opening_hours": {"mon": ["10:00"]}}, "opening_hours"),
])
def test_resource_rules_name_the_bad_field(change, field):
    assert field in resource_field_errors({**BASE, **change})


def test_filter_items():
    items = [
        {"venue": {"id": 1, "code": "a", "district": "yangpu"}, "kind": "photo_studio",
         "programs": [{"code": "p1"}], "capacity": 4},
        {"venue": {"id": 2, "code": "b", "district": "huangpu"}, "kind": "livestream_room",
         "programs": [], "capacity": 2},
    ]
    assert len(filter_items(items, {})) == 2
    assert filter_items(items, {"district": "huangpu"}) == [items[1]]
    assert filter_items(items, {"venue": "a"}) == [items[0]]
    assert filter_items(items, {"program": "p1", "capacity": 3}) == [items[0]]
    assert filter_items(items, {"capacity": 5}) == []
