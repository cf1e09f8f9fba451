"""Signing keys, every scan (failed ones too), and the one successful check-in per booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.clock import now
from app.core.db import Base, make_append_only


class SigningKey(Base):
    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(Text)  # raw 32 bytes, base64url
    # Encrypted with a key derived from SECRET_KEY (Fernet); never leaves the server.
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    # Signing uses the newest active key; verification accepts every key not retired.
    active: Mapped[bool] = mapped_column(default=True)
    retired_at: Mapped[datetime | None] = mapped_column()


class Scan(Base):
    """One scan at a front desk: what was read, by whom, where, and the answer."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    raw_code: Mapped[str] = mapped_column(String(600))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device: Mapped[str] = mapped_column(String(120), default="")
    method: Mapped[str] = mapped_column(String(10), default="scan")  # scan | manual
    result: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(60), default="")
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)


class CheckIn(Base):
    """The successful check-in of a booking: exactly one per booking (unique)."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    at: Mapped[datetime] = mapped_column(default=now)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device: Mapped[str] = mapped_column(String(120), default="")
    method: Mapped[str] = mapped_column(String(10), default="scan")
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))

    operator: Mapped[User | None] = relationship()


make_append_only(Scan.__table__)
make_append_only(CheckIn.__table__)


class DeviceScan(Base):
    """A scan a front-desk device made offline and sent later, with the answer it was given.

    ``(device_id, scan_id)`` is unique: a device that resends a scan (the network dropped the
    answer) is given the stored answer, and nothing is checked in twice.
    """

    __tablename__ = "device_scans"
    __table_args__ = (UniqueConstraint("device_id", "scan_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    scan_id: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scanned_at: Mapped[datetime] = mapped_column()  # on the device, as it reported
    received_at: Mapped[datetime] = mapped_column(default=now)
    raw_code: Mapped[str] = mapped_column(String(600))
    # the online answer, or duplicate (another device checked it in first) or conflict
    # (the booking changed while the device was offline)
    result: Mapped[str] = mapped_column(String(30))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    scan_row_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))


make_append_only(DeviceScan.__table__)


class DeskConfirmation(Base):
    """A one-time code sent to a creator so the front desk may book with their vouchers and
    quota: the creator reads it out, the desk types it. Without it a desk booking is self-pay."""

    __tablename__ = "desk_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))  # the code itself is only in the message
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    failed_attempts: Mapped[int] = mapped_column(default=0)
