"""Voucher steps: batches, issuing, and every state transition with its ledger entry.

Each transition is one conditional UPDATE (``WHERE status = <from>``): of two requests racing
for the same voucher, exactly one changes it; the other sees zero rows and is refused.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, cast, insert, or_, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Enterprise, EnterpriseMember, Residency, User
from app.audit.service import record
from app.booking.guard import lock_booking
from app.catalog.models import Program, Resource
from app.core.clock import now as clock_now
from app.core.clock import to_local
from app.core.db import write_core
from app.core.errors import AppError, Conflict, NotFound, ValidationFailed
from app.ledger.service import Line, move, post
from app.payments import service as payments
from app.vouchers import rules
from app.vouchers.models import Voucher, VoucherBatch, VoucherEvent


def not_usable(reason: str, **details) -> AppError:
    return AppError("voucher_not_usable", status=422, details={"reason": reason, **details})


# ---- batches and issuing -------------------------------------------------------------------


def create_batch(session: Session, actor_id: int | None, *, program_code: str, name: str,
                 face_value_fen: int, total_count: int, total_budget_fen: int,
                 valid_from: date, valid_until: date, venue_ids: list[int] | None = None,
                 resource_kinds: list[str] | None = None) -> VoucherBatch:
    program = session.scalar(select(Program).where(Program.code == program_code))
    errors: dict[str, list[str]] = {}
    if program is None or program.funding != "voucher":
        errors["program"] = ["Not a voucher program."]
    if not name.strip():
        errors["name"] = ["Required."]
    elif session.scalar(select(VoucherBatch.id).where(VoucherBatch.name == name.strip())):
        errors["name"] = ["A batch with this name exists."]
    if face_value_fen <= 0:
        errors["face_value_fen"] = ["Must be positive."]
    if total_count <= 0:
        errors["total_count"] = ["Must be positive."]
    if total_budget_fen < face_value_fen:
        errors["total_budget_fen"] = ["Must cover at least one voucher."]
    if valid_until < valid_from:
        errors["valid_until"] = ["Must not be before valid_from."]
    if errors:
        raise ValidationFailed(errors)
    batch = VoucherBatch(program_id=program.id, name=name.strip(), face_value_fen=face_value_fen,
                         total_count=total_count, total_budget_fen=total_budget_fen,
                         issued_count=0, valid_from=valid_from, valid_until=valid_until,
                         venue_ids=sorted(venue_ids or []), resource_kinds=sorted(resource_kinds or []),
                         created_by_id=actor_id)
    session.add(batch)
    session.flush()
    record(session, actor_id, "voucher_batch.create", "voucher_batch", batch.id, after={
        "program": program.code, "name": batch.name, "face_value_fen": face_value_fen,
        "total_count": total_count, "total_budget_fen": total_budget_fen,
        "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
        "venue_ids": batch.venue_ids, "resource_kinds": batch.resource_kinds})
    return batch


def issue_vouchers(session: Session, actor_id: int | None, batch: VoucherBatch,
                   enterprise: Enterprise, count: int) -> list[Voucher]:
    """Issue ``count`` vouchers of a batch to an enterprise, never beyond its count or budget."""
    if count <= 0 or count > 10_000:
        raise ValidationFailed({"count": ["Between 1 and 10000."]})
    claimed = session.execute(
        update(VoucherBatch)
        .where(VoucherBatch.id == batch.id,
               VoucherBatch.issued_count + count <= VoucherBatch.total_count,
               # BIGINT, as in the table's CHECK: 32-bit products overflow on large batches
               cast(VoucherBatch.issued_count + count, BigInteger) * VoucherBatch.face_value_fen
               <= VoucherBatch.total_budget_fen)
        .values(issued_count=VoucherBatch.issued_count + count)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(batch)
        raise Conflict("batch_exhausted", details={
            "issued_count": batch.issued_count, "total_count": batch.total_count,
            "remaining_budget_fen": batch.total_budget_fen - batch.issued_count * batch.face_value_fen})
    session.refresh(batch)
    moment = clock_now()
    vouchers = []
    for _ in range(count):
        vouchers.append(Voucher(
            code=_unique_code(session), batch_id=batch.id, program_id=batch.program_id,
            enterprise_id=enterprise.id, face_value_fen=batch.face_value_fen,
            valid_from=batch.valid_from, valid_until=batch.valid_until, status="issued",
            issued_at=moment))
    session.add_all(vouchers)
    session.flush()
    lines = [Line("vouchers_issued", v.face_value_fen, program_id=v.program_id, voucher_id=v.id)
             for v in vouchers]
    lines.append(Line("program_budget", -sum(v.face_value_fen for v in vouchers),
                      program_id=batch.program_id))
    post(session, "voucher.issue", lines, at=moment, actor_id=actor_id, program_id=batch.program_id,
         memo=f"batch {batch.name} → {enterprise.name}")
    session.add_all([VoucherEvent(voucher_id=v.id, from_status=None, to_status="issued", at=moment,
                                  actor_id=actor_id, note=f"issued to {enterprise.name}")
                     for v in vouchers])
    record(session, actor_id, "voucher_batch.issue", "voucher_batch", batch.id,
           after={"enterprise_id": enterprise.id, "count": count,
                  "codes": [v.code for v in vouchers][:50]})
    return vouchers


def _unique_code(session: Session) -> str:
    for _ in range(10):
        code = rules.new_code()
        if session.scalar(select(Voucher.id).where(Voucher.code == code)) is None:
            return code
    raise AppError("internal_error", status=500, message="could not find a free voucher code")


# ---- reading -------------------------------------------------------------------------------


def find(session: Session, code: str) -> Voucher | None:
    return session.scalar(select(Voucher).where(Voucher.code == rules.normalise_code(code)))


def require(session: Session, code: str) -> Voucher:
    voucher = find(session, code)
    if voucher is None:
        raise NotFound()
    return voucher


def enterprises_of_user(session: Session, user_id: int, day: date) -> list[int]:
    """The enterprises the creator is a member of on ``day`` (joined, and not yet left)."""
    return [m.enterprise_id for m in session.scalars(select(EnterpriseMember).where(
        EnterpriseMember.user_id == user_id)) if m.covers(day)]


def has_residency(session: Session, enterprise_id: int, program_id: int, day: date) -> bool:
    residencies = session.scalars(select(Residency).where(
        Residency.enterprise_id == enterprise_id, Residency.program_id == program_id))
    return any(r.covers(day) for r in residencies)


def usable_for(session: Session, voucher: Voucher, user: User, resource: Resource, day: date) -> None:
    """Raise ``voucher_not_usable`` with the reason when this voucher cannot pay for this slot."""
    if voucher.status != "issued":
        raise not_usable("not_available", status=voucher.status)
    if voucher.enterprise_id not in enterprises_of_user(session, user.id, day):
        raise not_usable("not_yours")
    if not rules.valid_on(voucher.valid_from, voucher.valid_until, day):
        raise not_usable("not_valid_on_this_day", valid_from=voucher.valid_from.isoformat(),
                         valid_until=voucher.valid_until.isoformat())
    if not has_residency(session, voucher.enterprise_id, voucher.program_id, day):
        raise not_usable("no_residency")
    if voucher.program_id not in {p.id for p in resource.programs}:
        raise not_usable("resource_does_not_accept_program")
    if not voucher.program.applies(resource.venue, day):
        raise not_usable("program_not_in_force_here")
    batch = voucher.batch
    if batch.venue_ids and resource.venue_id not in batch.venue_ids:
        raise not_usable("venue_not_in_batch")
    if batch.resource_kinds and resource.kind not in batch.resource_kinds:
        raise not_usable("kind_not_in_batch")


def usable_vouchers(session: Session, user: User, today: date, resource: Resource | None = None,
                    day: date | None = None) -> list[Voucher]:
    """Vouchers of the user's enterprises that are issued and still valid (for ``resource``)."""
    enterprise_ids = enterprises_of_user(session, user.id, day or today)
    if not enterprise_ids:
        return []
    vouchers = session.scalars(select(Voucher).where(
        Voucher.enterprise_id.in_(enterprise_ids), Voucher.status == "issued",
        Voucher.valid_until >= today).order_by(Voucher.valid_until, Voucher.id)).all()
    if resource is None:
        return list(vouchers)
    usable = []
    for voucher in vouchers:
        try:
            usable_for(session, voucher, user, resource, day or today)
        except AppError:
            continue
        usable.append(voucher)
    return usable


# ---- transitions ---------------------------------------------------------------------------


_INSERT_EVENT = insert(VoucherEvent)


def _transition(session: Session, voucher: Voucher, from_status: str, to_status: str, *,
                actor_id: int | None, for_booking: int | None, at: datetime, note: str = "",
                **columns) -> bool:
    """One conditional UPDATE; True when this call moved the voucher, with its event recorded."""
    assert (from_status, to_status) in rules.TRANSITIONS, (from_status, to_status)
    # the row comes back with the UPDATE (the voucher object is refreshed from it): no re-read
    moved = session.scalars(
        update(Voucher).where(Voucher.id == voucher.id, Voucher.status == from_status)
        .values(status=to_status, **columns).returning(Voucher)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).first()
    if moved is None:
        session.refresh(voucher)  # not moved: show the status another request left
        return False
    # an event is written once and never changed: one insert built once
    write_core(session, _INSERT_EVENT, {
        "voucher_id": voucher.id, "from_status": from_status, "to_status": to_status, "at": at,
        "actor_id": actor_id, "booking_id": for_booking, "note": note})
    return True


def _ledger_move(session: Session, kind: str, voucher: Voucher, from_status: str, to_status: str,
                 *, at: datetime, actor_id: int | None, booking_id: int | None = None,
                 venue_id: int | None = None) -> None:
    move(session, kind, voucher.face_value_fen, rules.STATE_ACCOUNT[to_status],
         rules.STATE_ACCOUNT[from_status], program_id=voucher.program_id, voucher_id=voucher.id,
         booking_id=booking_id, venue_id=venue_id, at=at, actor_id=actor_id)


def hold(session: Session, voucher: Voucher, booking, *, actor_id: int, at: datetime) -> None:
    """issued → held for a booking; refused when another request got there first."""
    if not _transition(session, voucher, "issued", "held", actor_id=actor_id,
                       for_booking=booking.id, at=at, booking_id=booking.id):
        raise not_usable("not_available", status=voucher.status)
    _ledger_move(session, "voucher.hold", voucher, "issued", "held", at=at, actor_id=actor_id,
                 booking_id=booking.id, venue_id=booking.resource.venue_id)


def release(session: Session, voucher: Voucher, booking, *, actor_id: int | None, at: datetime,
            forfeit: bool = False) -> str:
    """held → issued (cancelled in time) or → forfeited (no-show / late cancel, by policy)."""
    to_status = "forfeited" if forfeit else "issued"
    if not _transition(session, voucher, "held", to_status, actor_id=actor_id,
                       for_booking=booking.id, at=at, booking_id=None):
        raise Conflict("voucher_state_changed", details={"status": voucher.status})
    _ledger_move(session, "voucher.forfeit" if forfeit else "voucher.release", voucher, "held",
                 to_status, at=at, actor_id=actor_id, booking_id=booking.id,
                 venue_id=booking.resource.venue_id)
    return to_status


def redeem(session: Session, voucher: Voucher, booking, *, actor_id: int | None, at: datetime) -> None:
    """held → redeemed at check-in: the covered amount becomes payable to the venue."""
    if to_local_date(at) > voucher.valid_until:
        raise not_usable("expired", valid_until=voucher.valid_until.isoformat())
    if not _transition(session, voucher, "held", "redeemed", actor_id=actor_id,
                       for_booking=booking.id, at=at, booking_id=None,
                       redeemed_booking_id=booking.id, redeemed_at=at):
        raise Conflict("voucher_state_changed", details={"status": voucher.status})
    covered = booking.voucher_fen
    dims = {"program_id": voucher.program_id, "voucher_id": voucher.id, "booking_id": booking.id,
            "venue_id": booking.resource.venue_id}
    post(session, "voucher.redeem", [
        Line("vouchers_redeemed", covered, **dims),
        Line("voucher_breakage", voucher.face_value_fen - covered, **dims),
        Line("vouchers_held", -voucher.face_value_fen, **dims),
    ], at=at, actor_id=actor_id, **dims)


def settle(session: Session, voucher: Voucher, *, actor_id: int | None, at: datetime,
           amount_fen: int, venue_id: int, booking_id: int) -> None:
    """redeemed → settled when the venue's statement is paid."""
    if not _transition(session, voucher, "redeemed", "settled", actor_id=actor_id,
                       for_booking=booking_id, at=at):
        raise Conflict("voucher_state_changed", details={"status": voucher.status})
    move(session, "voucher.settle", amount_fen, "vouchers_settled", "vouchers_redeemed",
         program_id=voucher.program_id, voucher_id=voucher.id, booking_id=booking_id,
         venue_id=venue_id, at=at, actor_id=actor_id)


def end(session: Session, voucher: Voucher, to_status: str, *, actor_id: int | None,
        at: datetime, note: str = "") -> bool:
    """issued|held → expired or void. A held voucher's booking keeps its slot and pays itself.

    A held voucher's booking is locked first, as every booking transition locks it before the
    voucher: a cancel or check-in of that booking and this step then run one after the other.
    """
    booking = None
    if voucher.status == "held" and voucher.booking_id is not None:
        booking = lock_booking(session, voucher.booking_id)
        session.refresh(voucher)
        if voucher.booking_id != (booking.id if booking else None):
            return False  # released or redeemed meanwhile: the next run looks again
    from_status = voucher.status
    if from_status not in ("issued", "held"):
        return False
    holder = voucher.booking_id
    if not _transition(session, voucher, from_status, to_status, actor_id=actor_id,
                       for_booking=holder, at=at, note=note, booking_id=None):
        return False
    _ledger_move(session, f"voucher.{'expire' if to_status == 'expired' else 'void'}", voucher,
                 from_status, to_status, at=at, actor_id=actor_id, booking_id=holder)
    if booking is not None and from_status == "held":
        old_self_pay = booking.self_pay_fen
        booking.self_pay_fen += booking.voucher_fen
        booking.voucher_fen = 0
        payments.adjust_receivable(session, booking, old_self_pay, at, actor_id)
    return True


def void(session: Session, actor_id: int, voucher: Voucher, reason: str) -> Voucher:
    before = voucher.status
    if not end(session, voucher, "void", actor_id=actor_id, at=clock_now(), note=reason):
        raise Conflict("voucher_state_changed", details={"status": voucher.status})
    record(session, actor_id, "voucher.void", "voucher", voucher.code,
           before={"status": before}, after={"status": "void", "reason": reason})
    return voucher


def to_local_date(moment: datetime) -> date:
    return to_local(moment).date()


def describe(voucher: Voucher) -> dict:
    return {
        "code": voucher.code,
        "face_value_fen": voucher.face_value_fen,
        "valid_from": voucher.valid_from.isoformat(),
        "valid_until": voucher.valid_until.isoformat(),
        "status": voucher.status,
        "program": voucher.program.code,
        "batch": voucher.batch.name,
        "enterprise": voucher.enterprise.name,
        "venue_ids": list(voucher.batch.venue_ids or []),
        "resource_kinds": list(voucher.batch.resource_kinds or []),
    }


def search(session: Session, query: str = "", status: str | None = None, limit: int = 200):
    stmt = select(Voucher).order_by(Voucher.id.desc()).limit(limit)
    if query:
        pattern = f"%{rules.normalise_code(query) or query}%"
        stmt = stmt.join(Voucher.enterprise).where(or_(Voucher.code.like(pattern),
                                                       Enterprise.name.like(f"%{query}%")))
    if status:
        stmt = stmt.where(Voucher.status == status)
    return list(session.scalars(stmt))


def expire_due(session: Session, moment: datetime) -> int:
    """Vouchers past their last valid day (Asia/Shanghai) expire; idempotent."""
    today = to_local_date(moment)
    due = session.scalars(select(Voucher).where(Voucher.status.in_(("issued", "held")),
                                                Voucher.valid_until < today)).all()
    return sum(1 for voucher in due if end(session, voucher, "expired", actor_id=None, at=moment,
                                           note="past valid_until"))
