"""Districts, programs, venues and their bookable resources; published list versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now
from app.core.db import Base, make_append_only

RESOURCE_KINDS = (
    "livestream_room",
    "recording_studio",
    "photo_studio",
    "shared_office",
    "outdoor_scene",
)
FUNDING_KINDS = ("voucher", "quota")
ELIGIBILITY_KINDS = ("resident_enterprise", "certified_creator")
NO_SHOW_POLICIES = ("forfeit", "release")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_OPENING_HOURS = {day: ["09:00", "24:00"] for day in WEEKDAYS}

resource_programs = Table(
    "resource_programs",
    Base.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
)


class District(Base):
    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))


class Program(Base):
    """A subsidy scheme. Programs are rows: a new one needs no code change."""

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("funding IN ('voucher', 'quota')", name="funding_kind"),
        CheckConstraint(
            "eligibility IN ('resident_enterprise', 'certified_creator')", name="eligibility_kind"
        ),
        CheckConstraint("coverage_percent BETWEEN 1 AND 100", name="coverage_range"),
        CheckConstraint("no_show_policy IN ('forfeit', 'release')", name="no_show_policy_kind"),
        CheckConstraint("strike_limit >= 1 AND strike_window_days >= 1 AND suspension_days >= 0",
                        name="strike_policy_positive"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
                        name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    funding: Mapped[str] = mapped_column(String(20))
    eligibility: Mapped[str] = mapped_column(String(40))
    coverage_percent: Mapped[int] = mapped_column(Integer, default=100)
    no_show_policy: Mapped[str] = mapped_column(String(20), default="forfeit")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # closed: no new booking uses it; holds and vouchers already given are honoured
    active: Mapped[bool] = mapped_column(default=True)
    # a program applies at venues of its own district unless it is marked cross-district
    cross_district: Mapped[bool] = mapped_column(default=False, server_default="0")
    # the local days it applies to (None: open-ended)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # no-shows: this many strikes within the window suspend its subsidy for so many days
    strike_limit: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    strike_window_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    suspension_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")

    district: Mapped[District | None] = relationship()
    tiers: Mapped[list[ProgramTier]] = relationship(
        back_populates="program", order_by="ProgramTier.code", cascade="all, delete-orphan"
    )

    def applies(self, venue: Venue, day: date) -> bool:
        """Open, in force on ``day``, and at a venue of its district (or cross-district)."""
        return (self.active
                and (self.valid_from is None or self.valid_from <= day)
                and (self.valid_until is None or day <= self.valid_until)
                and (self.cross_district or self.district_id is None
                     or self.district_id == venue.district_id))


class ProgramTier(Base):
    __tablename__ = "program_tiers"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        CheckConstraint("cap_fen >= 0", name="cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    cap_fen: Mapped[int] = mapped_column(Integer)

    program: Mapped[Program] = relationship(back_populates="tiers")


class Venue(Base):
    """A carrier or scene: one address, one operator company, opening hours per weekday."""

    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160))
    address_zh: Mapped[str] = mapped_column(String(200))
    address_en: Mapped[str] = mapped_column(String(200), default="")
    operator_zh: Mapped[str] = mapped_column(String(120), default="")
    operator_en: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    opening_hours: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: dict(DEFAULT_OPENING_HOURS)
    )
    active: Mapped[bool] = mapped_column(default=True)

    district: Mapped[District] = relationship()
    resources: Mapped[list[Resource]] = relationship(
        back_populates="venue", order_by="Resource.code"
    )


class Resource(Base):
    """A bookable room, studio or scene with its rates and booking rules."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('livestream_room', 'recording_studio', 'photo_studio', "
            "'shared_office', 'outdoor_scene')",
            name="kind_known",
        ),
        CheckConstraint("hourly_rate_fen >= 0 AND peak_rate_fen >= 0", name="rates_not_negative"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint("min_minutes <= max_minutes", name="min_not_above_max"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(160), default="")
    kind: Mapped[str] = mapped_column(String(30))
    style_zh: Mapped[str] = mapped_column(String(60), default="")
    style_en: Mapped[str] = mapped_column(String(60), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    area_sqm: Mapped[int] = mapped_column(Integer, default=0)
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    photo_url: Mapped[str] = mapped_column(String(300), default="")
    hourly_rate_fen: Mapped[int] = mapped_column(Integer)
    peak_rate_fen: Mapped[int] = mapped_column(Integer)
    peak_start: Mapped[str] = mapped_column(String(5), default="19:00")
    peak_end: Mapped[str] = mapped_column(String(5), default="24:00")
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    min_minutes: Mapped[int] = mapped_column(Integer, default=60)
    max_minutes: Mapped[int] = mapped_column(Integer, default=480)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_advance_days: Mapped[int] = mapped_column(Integer, default=30)
    cancel_deadline_hours: Mapped[int] = mapped_column(Integer, default=24)
    checkin_opens_minutes: Mapped[int] = mapped_column(Integer, default=15)
    no_show_after_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # None: the venue's opening hours apply.
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)

    venue: Mapped[Venue] = relationship(back_populates="resources")
    programs: Mapped[list[Program]] = relationship(
        secondary=resource_programs, order_by="Program.code"
    )

    @property
    def effective_opening_hours(self) -> dict[str, Any]:
        return self.opening_hours or self.venue.opening_hours or DEFAULT_OPENING_HOURS


class ResourcePhoto(Base):
    """An uploaded photo of a resource. The files live under the instance folder with names
    the server made up; nothing a person sent ever becomes a path."""

    __tablename__ = "resource_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"),
                                             index=True)
    file_name: Mapped[str] = mapped_column(String(64), unique=True)
    thumb_name: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=now)


class ListVersion(Base):
    """A published, numbered version of the resource list. Its snapshot never changes."""

    __tablename__ = "list_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    published_at: Mapped[datetime] = mapped_column(default=now)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    resource_count: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


make_append_only(ListVersion.__table__)
