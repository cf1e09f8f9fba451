"""Time-driven jobs with the clock moved: each job's effect, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.booking.models import Booking
from app.booking.strikes import Strike
from app.extensions import db
from app.jobs import run_job
from app.notify.models import Notification
from app.vouchers.models import Voucher
from tests.helpers import CREATOR, HP_CREATOR, OP_VJC, assert_error, book


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _status(api, booking_id, user=CREATOR):
    return api.get(f"/api/v1/bookings/{booking_id}", user).get_json()


def test_no_show_by_the_scheduler_alone(api, frozen_clock):
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    voucher_booking = book(api, "vjc-live-01", "2026-12-01", "14:00", "15:00", voucher_code=code).get_json()
    book(api, "ftc-live-01", "2026-12-01", "14:00", "15:00", HP_CREATOR)
    frozen_clock.set(datetime(2026, 12, 1, 6, 29, tzinfo=UTC))  # 14:29: still in the grace period
    run_job(api.app, "no_shows")
    assert _status(api, voucher_booking["id"])["status"] == "confirmed"
    frozen_clock.set(datetime(2026, 12, 1, 6, 31, tzinfo=UTC))  # 14:31
    assert run_job(api.app, "no_shows") == 2
    after = _status(api, voucher_booking["id"])
    assert after["status"] == "no_show"
    assert after["voucher"]["status"] == "forfeited"  # 杨浦直播券 policy: forfeit
    quota = api.get("/api/v1/me", HP_CREATOR).get_json()["quota"][0]
    assert quota["held_fen"] == 0 and quota["consumed_fen"] == 0  # quota released
    assert api.get("/api/v1/me", CREATOR).get_json()["strikes"] == 1
    assert _count(api.app, Strike) == 2
    notes = api.get("/api/v1/me/notifications", CREATOR).get_json()["items"]
    assert notes[0]["kind"] == "no_show"
    # a second run changes nothing
    assert run_job(api.app, "no_shows") == 0
    assert _count(api.app, Strike) == 2
    assert _count(api.app, Notification, Notification.kind == "no_show") == 2
    # the slot is free again
    assert api.get(f"/api/v1/resources/{voucher_booking['resource']['id']}/availability?days=1"
                   ).get_json()["days"][0]["free"]
    assert api.app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", "2026-12"]).exit_code == 0


def test_three_strikes_suspend_subsidised_bookings(api, frozen_clock):
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        book(api, "ftc-live-01", day, "18:00", "19:00", HP_CREATOR)
    frozen_clock.set(datetime(2026, 12, 4, 2, tzinfo=UTC))
    assert run_job(api.app, "no_shows") == 3
    me = api.get("/api/v1/me", HP_CREATOR).get_json()
    assert me["strikes"] == 3
    error = assert_error(book(api, "ftc-live-01", "2026-12-06", "10:00", "11:00", HP_CREATOR),
                         422, "suspended")
    assert error["details"]["until"].startswith("2027-01-0")
    own = book(api, "ftc-live-01", "2026-12-06", "10:00", "11:00", HP_CREATOR, use_quota=False)
    assert own.status_code == 201  # self-paid bookings stay open
    frozen_clock.set(datetime(2027, 1, 4, 2, tzinfo=UTC))  # 30 days after the third strike
    assert book(api, "ftc-live-01", "2027-01-06", "10:00", "11:00", HP_CREATOR).status_code == 201


def test_reminders_24h_and_1h_once_each(api, frozen_clock):
    booking = book(api, "vjc-live-01", "2026-12-02", "15:00", "16:00").get_json()
    assert run_job(api.app, "reminders") == 0  # 29 h before: nothing yet
    frozen_clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=UTC))  # 23.5 h before
    assert run_job(api.app, "reminders") == 1
    assert run_job(api.app, "reminders") == 0
    frozen_clock.set(datetime(2026, 12, 2, 6, 10, tzinfo=UTC))  # 50 min before
    assert run_job(api.app, "reminders") == 1
    kinds = [n["kind"] for n in api.get("/api/v1/me/notifications", CREATOR).get_json()["items"]]
    assert kinds == ["reminder_1h", "reminder_24h", "booking_confirmed"]
    with api.app.app_context():
        note = db.session.scalar(select(Notification).where(Notification.kind == "reminder_1h"))
        assert "一小时后开始" in note.subject and f"/bookings/{booking['id']}" in note.body


def test_vouchers_expire_after_their_last_day(api, frozen_clock):
    frozen_clock.set(datetime(2027, 3, 31, 15, 59, tzinfo=UTC))  # 23:59 on the last valid day
    assert run_job(api.app, "expire_vouchers") == 0
    frozen_clock.set(datetime(2027, 3, 31, 16, 1, tzinfo=UTC))  # 00:01 the next day
    assert run_job(api.app, "expire_vouchers") == 5
    assert run_job(api.app, "expire_vouchers") == 0
    assert _count(api.app, Voucher, Voucher.status == "expired") == 5
    assert api.get("/api/v1/me", CREATOR).get_json()["vouchers"] == []
    assert api.app.test_cli_runner().invoke(
        args=["finance", "reconcile", "--month", "2027-03"]).exit_code == 0


def test_checked_in_bookings_complete_after_their_end(api, frozen_clock):
    booking = book(api, "vjc-live-01", "2026-12-01", "10:00", "11:00").get_json()
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]})
    frozen_clock.advance(timedelta(hours=1, minutes=1))
    assert run_job(api.app, "complete") == 1
    assert run_job(api.app, "complete") == 0
    assert _status(api, booking["id"])["status"] == "completed"


def test_statements_drafted_on_the_first(api, frozen_clock):
    booking = book(api, "vjc-live-01", "2026-12-01", "10:00", "11:00").get_json()
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": booking["id"]})
    code = api.get("/api/v1/me", CREATOR).get_json()["vouchers"][0]["code"]
    second = book(api, "vjc-live-02", "2026-12-01", "10:00", "11:00", voucher_code=code).get_json()
    api.post("/api/v1/checkins", OP_VJC, json={"booking_id": second["id"]})
    assert run_job(api.app, "draft_statements") == 0  # November had nothing
    frozen_clock.set(datetime(2027, 1, 1, 1, tzinfo=UTC))  # 09:00 on the 1st
    assert run_job(api.app, "draft_statements") == 1
    assert run_job(api.app, "draft_statements") == 0
    statements = api.get("/api/v1/finance/statements?month=2026-12", "finance@demo.local").get_json()
    # the self-paid booking is not public money: only the voucher booking (¥150/h) is on it
    assert [(s["status"], s["total_fen"]) for s in statements["items"]] == [("draft", 15000)]


def test_nightly_reconciliation_tells_finance(api, frozen_clock):
    book(api, "ftc-live-01", "2026-12-01", "10:00", "11:00", HP_CREATOR)
    assert run_job(api.app, "reconcile") == 0
    with api.app.app_context():
        from sqlalchemy import text

        db.session.execute(text("UPDATE vouchers SET status = 'void' WHERE id = 1"))
        db.session.commit()
    assert run_job(api.app, "reconcile") == 1
    assert run_job(api.app, "reconcile") == 1  # still wrong, but finance is told once a day
    notes = api.get("/api/v1/me/notifications", "finance@demo.local").get_json()["items"]
    assert len(notes) == 1 and "status is void, the ledger says issued" in notes[0]["body"]


def test_outbox_retries_with_backoff(api, frozen_clock):
    from app.notify.service import deliver_due

    book(api, "vjc-live-01", "2026-12-02", "10:00", "11:00")

    class Flaky:
        calls = 0

        def send(self, user, note):
            Flaky.calls += 1
            if Flaky.calls < 3:
                raise ConnectionError("smtp down")

    with api.app.app_context():
        from app.core.clock import now

        assert deliver_due(db.session, Flaky(), now())["retry"] == 1
        assert deliver_due(db.session, Flaky(), now())["sent"] == 0  # not due again yet
        frozen_clock.advance(timedelta(minutes=1))
        assert deliver_due(db.session, Flaky(), now())["retry"] == 1
        frozen_clock.advance(timedelta(minutes=5))
        assert deliver_due(db.session, Flaky(), now())["sent"] == 1
        note = db.session.scalar(select(Notification))
        assert note.status == "sent" and note.attempts == 3 and "smtp down" in note.last_error
        db.session.commit()
    assert _count(api.app, Booking) == 1
