"""Consent to the privacy notice, and the record that a creator's personal data was erased."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now
from app.core.db import Base


class Consent(Base):
    """A person accepted a version of the privacy notice (kept as evidence, never edited)."""

    __tablename__ = "privacy_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    notice_version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime] = mapped_column(default=now)


class Erasure(Base):
    """A creator's personal fields were anonymised; money records stay under ``pseudonym``.

    ``identity_digest`` (an HMAC of the former email and phone) lets finance answer "was this
    me?" during the retention period; the retention job clears it when the period ends.
    """

    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(20), unique=True)
    erased_at: Mapped[datetime] = mapped_column(default=now)
    retain_until: Mapped[date] = mapped_column(Date)
    identity_digest: Mapped[str | None] = mapped_column(String(64))
    purged_at: Mapped[datetime | None] = mapped_column()
