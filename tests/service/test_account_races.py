"""Emailed links and registration at the same instant, on PostgreSQL.

A reset link followed twice at once (a double click, two tabs) sets one password: the link's
row is spent by a conditional update, so the second request finds it used. Two registrations of
one address at once make one account: the unique key decides and the loser hears
``email_taken`` rather than a server error. Requests with one token at once do not queue for
the row that notes its last use.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app.accounts import links, passwords, registration
from app.accounts.models import ApiToken, User
from app.accounts.service import issue_token, require_user, user_for_token
from app.audit.models import AuditEntry
from app.core.clock import now
from app.extensions import db
from app.privacy.rules import CURRENT_NOTICE
from tests.helpers import CREATOR
from tests.service.test_transition_races import race

ROUNDS = 10


@pytest.fixture
def race_app(make_pg_app):
    return make_pg_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 0})


def _link_for(secret: str) -> str:
    return f"http://test/password/reset/{secret}"


def test_a_reset_link_followed_twice_at_once_sets_one_password(race_app):
    for round_no in range(ROUNDS):
        with race_app.app_context():
            _, secret = links.issue(db.session, require_user(db.session, CREATOR),
                                    "password_reset", now())
            db.session.commit()

        def reset_to(password, secret=secret):
            return lambda session: passwords.reset_password(session, secret, password, password,
                                                            now()).id

        first, second = f"first-{round_no}-secret", f"second-{round_no}-secret"
        results = race(race_app, reset_to(first), reset_to(second))
        assert sorted(results, key=str).count("link_used") == 1, results
        winner = first if results[1] == "link_used" else second
        with race_app.app_context():
            user = require_user(db.session, CREATOR)
            assert check_password_hash(user.password_hash, winner)
            resets = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "user.password_reset"))
            assert resets == round_no + 1
            db.session.remove()


def test_one_address_registered_twice_at_once_makes_one_account(race_app):
    for round_no in range(ROUNDS):
        email = f"twice-{round_no}@example.com"

        def register(session, email=email):
            return registration.register_creator(
                session, email=email, display_name="同时注册", phone="13700000000",
                password="same-secret-1", repeat="same-secret-1", notice_version=CURRENT_NOTICE,
                locale="zh_Hans_CN", at=now(), link_for=_link_for).id

        results = race(race_app, register, register)
        assert sorted(map(str, results)).count("email_taken") == 1, results
        with race_app.app_context():
            assert db.session.scalar(select(func.count()).select_from(User).where(
                User.email == email)) == 1
            db.session.remove()


def test_requests_with_one_token_do_not_queue_behind_the_one_noting_its_use(race_app):
    """A token's last use is noted by the first request that finds it stale; another request
    with the same token meanwhile (a second scanner of the desk) goes on instead of waiting
    for the first one's transaction to end."""
    with race_app.app_context():
        token = issue_token(db.session, require_user(db.session, CREATOR))
        db.session.commit()
        first, second = Session(db.engine), Session(db.engine)
        try:
            assert user_for_token(first, token) is not None  # notes the use; row held until commit
            second.execute(text("SET LOCAL lock_timeout = '2s'"))  # a queued UPDATE fails here
            assert user_for_token(second, token).email == CREATOR
            second.commit()
            first.commit()
        finally:
            first.close()
            second.close()
        noted = db.session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.id.desc()))
        assert noted is not None
        db.session.remove()
