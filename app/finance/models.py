"""Monthly settlement statements per venue: draft → issued (frozen) → settled."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Venue
from app.core.clock import now
from app.core.db import Base


class Statement(Base):
    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("venue_id", "month"),
        CheckConstraint("status IN ('draft', 'issued', 'settled')", name="status_known"),
        CheckConstraint("total_fen >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    totals_by_program: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # self-pay the venue collected itself that month (see app.finance.selfpay), shown apart
    # from the subsidy; frozen with the issued file
    selfpay: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column()
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the issued export, byte for byte, and its SHA-256: the numbers as sent
    issued_file: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None] = mapped_column()
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payment_reference: Mapped[str | None] = mapped_column(String(120))
    payment_date: Mapped[date | None] = mapped_column(Date)

    venue: Mapped[Venue] = relationship()
    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement", order_by="StatementLine.id", cascade="all, delete-orphan")


class StatementLine(Base):
    """One paid item: a redeemed voucher or a consumed quota entry, with its check-in evidence."""

    __tablename__ = "statement_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('voucher', 'quota')", name="kind_known"),
        UniqueConstraint("journal_entry_id"),  # an item is paid on one statement only
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id", ondelete="CASCADE"), index=True)
    # No foreign keys to the journal and bookings: lines are built by a join over them, and
    # journal entries can never be deleted (append-only). Per-row key checks made a month of
    # 100k lines several times slower to draft.
    journal_entry_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    program_code: Mapped[str] = mapped_column(String(60))
    booking_id: Mapped[int] = mapped_column(Integer)
    voucher_code: Mapped[str | None] = mapped_column(String(20))
    resource_name: Mapped[str] = mapped_column(String(160))
    creator_name: Mapped[str] = mapped_column(String(120))  # masked
    creator_phone: Mapped[str] = mapped_column(String(40))  # masked
    booked_start: Mapped[datetime] = mapped_column()
    checked_in_at: Mapped[datetime | None] = mapped_column()
    operator_name: Mapped[str] = mapped_column(String(120), default="")
    amount_fen: Mapped[int] = mapped_column(Integer)
    # dated in an earlier, closed month and carried into this one
    adjusting: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(200), default="")

    statement: Mapped[Statement] = relationship(back_populates="lines")


def frozen_statement_ddl(dialect: str) -> list[str]:
    """The database refuses to change an issued statement's numbers or lines."""
    changed = ("NEW.total_fen <> OLD.total_fen OR NEW.line_count <> OLD.line_count "
               "OR NEW.venue_id <> OLD.venue_id OR NEW.month <> OLD.month "
               "OR NEW.file_sha256 IS DISTINCT FROM OLD.file_sha256 "
               "OR NEW.issued_file IS DISTINCT FROM OLD.issued_file")
    line_guard = "(SELECT status FROM statements WHERE id = OLD.statement_id) <> 'draft'"
    if dialect == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION refuse_issued_statement_change() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    IF OLD.status <> 'draft' THEN
                        RAISE EXCEPTION 'an issued statement never changes';
                    END IF;
                    RETURN OLD;
                END IF;
                IF OLD.status <> 'draft' AND ({changed} OR NEW.status = 'draft') THEN
                    RAISE EXCEPTION 'an issued statement never changes';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """,
            "CREATE TRIGGER statements_frozen BEFORE UPDATE OR DELETE ON statements "
            "FOR EACH ROW EXECUTE FUNCTION refuse_issued_statement_change()",
            f"""
            CREATE OR REPLACE FUNCTION refuse_issued_line_change() RETURNS trigger AS $$
            BEGIN
                IF {line_guard} THEN
                    RAISE EXCEPTION 'an issued statement never changes';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """,
            "CREATE TRIGGER statement_lines_frozen BEFORE UPDATE OR DELETE ON statement_lines "
            "FOR EACH ROW EXECUTE FUNCTION refuse_issued_line_change()",
        ]
    sqlite_changed = changed.replace("IS DISTINCT FROM", "IS NOT")
    return [
        f"""CREATE TRIGGER statements_frozen BEFORE UPDATE ON statements
        WHEN OLD.status <> 'draft' AND ({sqlite_changed} OR NEW.status = 'draft')
        BEGIN SELECT RAISE(ABORT, 'an issued statement never changes'); END""",
        """CREATE TRIGGER statements_frozen_delete BEFORE DELETE ON statements
        WHEN OLD.status <> 'draft'
        BEGIN SELECT RAISE(ABORT, 'an issued statement never changes'); END""",
        f"""CREATE TRIGGER statement_lines_frozen BEFORE UPDATE ON statement_lines
        WHEN {line_guard}
        BEGIN SELECT RAISE(ABORT, 'an issued statement never changes'); END""",
        f"""CREATE TRIGGER statement_lines_frozen_delete BEFORE DELETE ON statement_lines
        WHEN {line_guard}
        BEGIN SELECT RAISE(ABORT, 'an issued statement never changes'); END""",
    ]


def _install(target, connection, **kw):
    for statement in frozen_statement_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


from sqlalchemy import event  # noqa: E402

event.listen(StatementLine.__table__, "after_create", _install)
