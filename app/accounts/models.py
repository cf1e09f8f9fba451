"""People, companies, roles and the facts that make them eligible for programs."""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Program, ProgramTier, Venue
from app.core.clock import now
from app.core.db import Base

ROLES = ("creator", "enterprise", "operator", "finance", "admin")


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(20), default="zh_Hans_CN")
    active: Mapped[bool] = mapped_column(default=True)
    # Accounts an administrator creates are known; a self-registered creator proves the address
    # by following the emailed link before booking.
    email_verified: Mapped[bool] = mapped_column(default=True, server_default="1")
    # Changing it logs out every session of this user (password change, forced sign-out).
    session_nonce: Mapped[str] = mapped_column(String(40), default="")
    calendar_secret: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)

    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    operated_venues: Mapped[list[Venue]] = relationship(secondary="operator_venues")
    memberships: Mapped[list[EnterpriseMember]] = relationship(back_populates="user")

    @property
    def roles(self) -> list[str]:
        return sorted(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.role_rows)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: the nonce ends old sessions when it changes
        return f"{self.id}:{self.session_nonce}"


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('creator', 'enterprise', 'operator', 'finance', 'admin')", name="role_known"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class OperatorVenue(Base):
    """An operator account may scan and see bookings only at these venues."""

    __tablename__ = "operator_venues"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    venue_id: Mapped[int] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True
    )


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    created_at: Mapped[datetime] = mapped_column(default=now)

    members: Mapped[list[EnterpriseMember]] = relationship(back_populates="enterprise")
    residencies: Mapped[list[Residency]] = relationship(back_populates="enterprise")


class EnterpriseMember(Base):
    __tablename__ = "enterprise_members"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    since: Mapped[date] = mapped_column(Date)
    # the last day of membership; a former employee's bookings after it get no voucher
    until: Mapped[date | None] = mapped_column(Date)

    enterprise: Mapped[Enterprise] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")

    def covers(self, day: date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


class Residency(Base):
    """An enterprise settled in a program's scheme (e.g. V聚场) for a period."""

    __tablename__ = "residencies"
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now)

    enterprise: Mapped[Enterprise] = relationship(back_populates="residencies")
    program: Mapped[Program] = relationship()

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class Certification(Base):
    """A creator certified for a quota program at a tier, from a date (until a date or revoked)."""

    __tablename__ = "certifications"
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("program_tiers.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    program: Mapped[Program] = relationship()
    tier: Mapped[ProgramTier] = relationship()

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class ApiToken(Base):
    """A bearer token for scripts and scanner devices. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()


TOKEN_PURPOSES = ("password_reset", "verify_email")


class AccountToken(Base):
    """A single-use link sent by email (password reset, email verification).

    Only the SHA-256 of the link's secret is stored; ``used_at`` makes it single-use and
    ``expires_at`` bounds how long a forwarded or leaked email stays dangerous.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("purpose IN ('password_reset', 'verify_email')", name="purpose_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
