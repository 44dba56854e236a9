"""The access log ("logg over bruk"): one row per (request, person) whose personal data was released."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from helsegraf.models.base import register_metadata


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time stored in UTC and always read back with its time zone.

    PostgreSQL's timestamptz keeps the zone; SQLite stores the text without it, so what SQLite
    gives back is the UTC it was written in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - the same on every dialect
        """Store every time in UTC (a time without a zone is refused: it would be ambiguous)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("access-log times must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Return the time with its zone (UTC where the database dropped it)."""
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AuditBase(DeclarativeBase):
    """Base of the access log's tables."""

    metadata = register_metadata()


class AccessLogEntry(AuditBase):
    """Who saw which field groups of whose data, when, and why. Append-only from the API.

    Whose: a person by `nin`, or a health worker registered without one by `subject_hpr_number`.
    Actor fields are stored whole, as the caller sent them.
    """

    __tablename__ = "audit_access_log"
    __table_args__ = (
        # A person's log is paged newest first by id (authz/access_log.py). On PostgreSQL the table is
        # partitioned by month of `at` and its primary key is (id, at) (authz/log_partitions.py).
        Index("ix_audit_access_log_nin_id", "nin", "id"),
        Index("ix_audit_access_log_subject_hpr_number_id", "subject_hpr_number", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    request_id: Mapped[str] = mapped_column(Text)
    nin: Mapped[str | None] = mapped_column(String(11))
    subject_hpr_number: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    hpr_number: Mapped[int | None] = mapped_column(Integer)
    org_number: Mapped[str | None] = mapped_column(String(9))
    client_id: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str | None] = mapped_column(Text)  # space-separated: the scopes or policies a release relied on
    fields: Mapped[str] = mapped_column(Text)  # space-separated field groups


class StatisticsQuery(AuditBase):
    """An analyst's statistics query: who asked for which table, when, with which parameters (never results)."""

    __tablename__ = "audit_statistics_query"
    __table_args__ = (Index("ix_audit_statistics_query_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    request_id: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    hpr_number: Mapped[int | None] = mapped_column(Integer)
    org_number: Mapped[str | None] = mapped_column(String(9))
    client_id: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)  # table, keyFigures, ssb12005, gpListsByMunicipality, ...
    parameters: Mapped[str] = mapped_column(Text)  # the request's arguments as JSON (measures, by, filter, at)
