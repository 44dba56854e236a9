"""The access log ("logg over bruk"): one row per (request, person) whose personal data was released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata


class AuditBase(DeclarativeBase):
    """Base of the access log's tables."""

    metadata = register_metadata()


class AccessLogEntry(AuditBase):
    """Who saw which field groups of whose data, when, and why. Append-only from the API."""

    __tablename__ = "audit_access_log"
    __table_args__ = (Index("ix_audit_access_log_nin_at", "nin", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    request_id: Mapped[str] = mapped_column(String(40))
    nin: Mapped[str] = mapped_column(String(11))
    subject: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(40))
    hpr_number: Mapped[int | None] = mapped_column(Integer)
    org_number: Mapped[str | None] = mapped_column(String(9))
    client_id: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    fields: Mapped[str] = mapped_column(String(400))  # space-separated field groups
