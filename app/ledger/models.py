"""The double-entry journal: immutable entries whose signed lines sum to zero.

Accounts are "where value sits" (vouchers issued, held, redeemed …; quota held, consumed …),
with the dimensions a line concerns (program, venue, voucher, booking, creator, year).
Balances are sums of lines; corrections are new entries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now
from app.core.db import Base, make_append_only

ACCOUNTS = (
    "program_budget",       # credit source of voucher value (negative: value issued)
    "vouchers_issued",
    "vouchers_held",
    "vouchers_redeemed",
    "vouchers_settled",
    "vouchers_expired",
    "vouchers_void",
    "vouchers_forfeited",
    "voucher_breakage",     # face value above the price: no change is given
    "quota_commitment",     # credit source of quota holds
    "quota_held",
    "quota_consumed",
    "quota_settled",
    "selfpay_receivable",   # what a creator owes a venue (negative: a refund the venue owes)
    "selfpay_income",       # credit source: the venue's self-pay earnings
    "selfpay_collected",    # self-pay the venue (or its provider account) holds
)


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(default=now, index=True)
    # The accounting month (Asia/Shanghai) the entry belongs to, "YYYY-MM".
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    memo: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    # An adjusting entry names the entry it corrects.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))

    lines: Mapped[list[JournalLine]] = relationship(back_populates="entry", order_by="JournalLine.id")


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index("ix_journal_lines_account_voucher", "account", "voucher_id"),
        Index("ix_journal_lines_quota", "account", "user_id", "program_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(40))
    # Debit positive, credit negative; an entry's lines sum to zero.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    year: Mapped[int | None] = mapped_column(Integer)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")


class ClosedPeriod(Base):
    """A closed accounting month: no entry may be dated in it any more."""

    __tablename__ = "closed_periods"

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(default=now)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


make_append_only(JournalEntry.__table__)
make_append_only(JournalLine.__table__)


def balance_trigger_ddl(dialect: str) -> list[str]:
    """PostgreSQL checks at commit that every entry touched sums to zero, for any client."""
    if dialect != "postgresql":
        return []
    return [
        """
        CREATE OR REPLACE FUNCTION journal_entry_balances() RETURNS trigger AS $$
        DECLARE total bigint;
        BEGIN
            SELECT coalesce(sum(amount_fen), 0) INTO total FROM journal_lines
            WHERE entry_id = NEW.entry_id;
            IF total <> 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'check_violation',
                    MESSAGE = 'journal entry ' || NEW.entry_id || ' does not balance: ' || total;
            END IF;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE CONSTRAINT TRIGGER journal_lines_balance AFTER INSERT ON journal_lines
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balances()
        """,
    ]


def _install_balance_trigger(target, connection, **kw):
    for statement in balance_trigger_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


from sqlalchemy import event  # noqa: E402

event.listen(JournalLine.__table__, "after_create", _install_balance_trigger)
