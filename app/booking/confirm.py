"""The confirm page's money rules: what is offered, what is warned about, and booking exactly
what the creator saw.

The page shows a price for one choice (slot, duration, voucher, quota) and carries a *quote
token* naming that choice and that price. Booking recomputes everything under the booking's
locks; when the result differs from the token in any way, the booking is rolled back and the
creator is shown the new price instead of being charged something they never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.booking import funding, lifecycle, rules, service
from app.booking.lifecycle import LinkFor
from app.booking.models import Booking
from app.catalog.models import Resource
from app.core.clock import to_local
from app.core.errors import Conflict
from app.core.money import format_yuan
from app.quota import service as quota
from app.vouchers.models import Voucher


@dataclass
class Choice:
    """What the creator picked on the confirm page."""

    resource_id: int
    start: datetime
    end: datetime
    voucher_code: str | None
    use_quota: bool

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class ConfirmView:
    """Everything the confirm page shows for one choice."""

    split: funding.Split
    token: str
    vouchers: list[Voucher]
    has_quota: bool
    warnings: list[str] = field(default_factory=list)


def quote_token(choice: Choice, split: funding.Split) -> str:
    """The choice and its price as one string. Not a secret: the server never trusts it, it
    only compares it with what it computes at booking time."""
    return "|".join(str(part) for part in (
        choice.start.isoformat(), choice.minutes, choice.voucher_code or "",
        int(choice.use_quota), split.gross_fen, split.voucher_fen, split.quota_fen))


def best_voucher(vouchers: list[Voucher], gross_fen: int) -> Voucher | None:
    """The voucher that covers most of this price; of equals, the one expiring first, then the
    smallest face (no change is given, so a bigger face would only be wasted)."""
    if not vouchers:
        return None
    return min(vouchers, key=lambda v: (-min(v.face_value_fen, gross_fen), v.valid_until,
                                        v.face_value_fen, v.id))


def _has_quota(session: Session, user: User, resource: Resource, day: date) -> bool:
    codes = {p.code for p in resource.programs if p.funding == "quota" and p.active}
    return any(row["program"] in codes and row["remaining_fen"] > 0
               for row in quota.summary(session, user, day))


def _warnings(resource: Resource, choice: Choice, split: funding.Split, voucher: Voucher | None,
              now: datetime) -> list[str]:
    found = []
    deadline = rules.cancel_deadline(resource.cancel_deadline_hours, choice.start)
    if now >= deadline:
        if voucher is not None and voucher.program.no_show_policy == "forfeit":
            found.append(_("Less than %(hours)s hours before the start: cancelling counts as a "
                           "no-show and the voucher is forfeited.",
                           hours=resource.cancel_deadline_hours))
        else:
            found.append(_("Less than %(hours)s hours before the start: cancelling counts as a "
                           "no-show.", hours=resource.cancel_deadline_hours))
    if voucher is not None and voucher.face_value_fen > split.voucher_fen:
        found.append(_("Voucher face value %(face)s, this booking uses %(used)s; the difference "
                       "is not given back.", face=format_yuan(voucher.face_value_fen),
                       used=format_yuan(split.voucher_fen)))
    return found


def preselected_voucher(session: Session, user: User, resource: Resource, start: datetime,
                        end: datetime, today: date, asked: str | None) -> str | None:
    """The voucher a fresh confirm page starts on: the creator's choice when they made one
    (``""`` is "no voucher"), else the best voucher they hold for this resource."""
    if asked is not None:
        return asked.strip() or None
    gross = rules.price_fen(rules.ResourceRules.of(resource), start, end)
    best = best_voucher(funding.usable_vouchers_for(session, user, resource, start, today), gross)
    return best.code if best is not None else None


def view(session: Session, user: User, choice: Choice, now: datetime, today: date) -> ConfirmView:
    """The price of ``choice`` now (nothing is held) and what the page offers and warns about."""
    resource = service.bookable_resource(session, choice.resource_id)
    gross = service.quote(session, resource, choice.start, choice.end, now)
    split = funding.preview_split(session, user, resource, choice.start, choice.voucher_code,
                                  choice.use_quota, gross)
    vouchers = funding.usable_vouchers_for(session, user, resource, choice.start, today)
    chosen = next((v for v in vouchers if v.code == choice.voucher_code), None)
    return ConfirmView(split=split, token=quote_token(choice, split), vouchers=vouchers,
                       has_quota=_has_quota(session, user, resource, to_local(choice.start).date()),
                       warnings=_warnings(resource, choice, split, chosen, now))


def book_as_shown(session: Session, creator: User, choice: Choice, token: str | None,
                  now: datetime, link_for: LinkFor) -> Booking:
    """Book ``choice``; refuse when its price differs from the one the page showed. The caller
    rolls back on the error, so nothing is held and nobody is notified."""
    booking = lifecycle.book(session, creator, choice.resource_id, choice.start, choice.end, now,
                             voucher_code=choice.voucher_code, use_quota=choice.use_quota,
                             link_for=link_for)
    split = funding.Split(booking.gross_fen, booking.voucher_fen, booking.quota_fen)
    if token != quote_token(choice, split):
        raise Conflict("price_changed")
    return booking


def cancel_outcome(booking: Booking, now: datetime) -> dict:
    """What cancelling ``booking`` now would do with its voucher and quota (asked before)."""
    deadline = rules.cancel_deadline(service.booked_terms(booking).cancel_deadline_hours,
                                     booking.start_at)
    late = now >= deadline
    voucher = booking.voucher if booking.voucher_fen or booking.voucher_id else None
    forfeits = bool(late and voucher is not None and voucher.program.no_show_policy == "forfeit")
    return {"late": late, "deadline": to_local(deadline), "voucher": voucher,
            "voucher_forfeited": forfeits, "quota_fen": booking.quota_fen}


def cancel_result(booking: Booking) -> str:
    """What happened, in words, after a cancellation."""
    parts = [_("The booking is cancelled.")]
    voucher = booking.voucher
    if voucher is not None and voucher.status == "forfeited":
        parts.append(_("Voucher %(code)s is forfeited (cancelled after the free period).",
                       code=voucher.code))
    elif voucher is not None:
        parts.append(_("Voucher %(code)s is back with your enterprise and can be used again.",
                       code=voucher.code))
    if booking.quota_fen:
        parts.append(_("%(amount)s of annual quota is given back.",
                       amount=format_yuan(booking.quota_fen)))
    return " ".join(parts)


def last_bookable_day(resource: Resource, now: datetime) -> date:
    return to_local(now + timedelta(days=resource.max_advance_days)).date()


def beyond_window(resource: Resource, day: dict, now: datetime) -> bool:
    """Whether bookings for (the rest of) an availability ``day`` have not opened yet."""
    window_end = rules.booking_window(rules.ResourceRules.of(resource), now).end
    return day["close"] is not None and datetime.fromisoformat(day["close"]) > window_end
