"""One word per state: the same key reads the same on every page, export and feed, and two
different things (a statement issued, a voucher issued) read as two different words."""

from __future__ import annotations

from flask_babel import force_locale

from app.core.labels import BOOKING_STATUS, ROLES, STATEMENT_STATUS, VOUCHER_STATUS, label


def test_statement_and_voucher_issued_are_different_words(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert label(STATEMENT_STATUS, "issued") == "已出具"
        assert label(VOUCHER_STATUS, "issued") == "已发放"
        assert label(BOOKING_STATUS, "cancelled") == "已取消"
        assert label(ROLES, "operator") == "载体运营方"
    with app.test_request_context(), force_locale("en"):
        assert label(STATEMENT_STATUS, "issued") == "Issued"
        assert label(BOOKING_STATUS, "no_show") == "No-show"


def test_every_state_has_a_chinese_word(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for table in (BOOKING_STATUS, VOUCHER_STATUS, STATEMENT_STATUS, ROLES):
            for key in table:
                word = label(table, key)
                assert word and not word.isascii(), (key, word)
