"""The access log ("logg over bruk"): one row per (request, person) whose personal data was released."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Dialect, Index, Integer, SmallInteger, String, Text
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


class StatisticsPublication(AuditBase):
    """A reference date whose counts of persons are published: made once, the first time a table needs them.

    Keyed by the date and the identity of the statistics secret the key sums were made under
    (stats/published.py): a rotated secret finds no publication of its own and makes a new one.
    """

    __tablename__ = "audit_statistics_publication"

    reference_date: Mapped[date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StatisticsPublishedList(AuditBase):
    """A GP list of a publication, with its attributes at the reference date (as the counts of persons used them).

    `groups` holds the list's listed persons grouped by age group and gender with their key sums, the
    grouped rows of the scan for this list in one text (stats/published.py `pack`): one row per list,
    not one per group, is written and read. NULL in a publication stored before migration audit_0006,
    whose grouped rows are in `audit_statistics_published_cell`.
    """

    __tablename__ = "audit_statistics_published_list"

    reference_date: Mapped[date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    contract_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    municipality_code: Mapped[str] = mapped_column(String(4))
    is_open: Mapped[bool] = mapped_column(Boolean)
    fixed_salary: Mapped[bool] = mapped_column(Boolean)
    max_patients: Mapped[int] = mapped_column(Integer)
    has_gp: Mapped[bool] = mapped_column(Boolean)
    groups: Mapped[str | None] = mapped_column(Text)


class StatisticsPublishedCell(AuditBase):
    """A grouped row of a publication stored before audit_0006 (later ones keep them in the list's `groups`).

    A list's listed persons of one age group and gender, and their key sum.

    Grouped rows, never persons: at most lists x 10 age groups x 2 genders per reference date. The key
    sum is kept modulo 256 (a cell key is the sum of its records' keys modulo 256: nothing more is
    needed). An age group or gender that neither FLR nor PREG gives is "" (the person counts in the
    list's size, in no cell of that dimension).
    """

    __tablename__ = "audit_statistics_published_cell"

    reference_date: Mapped[date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    contract_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    age_group: Mapped[str] = mapped_column(String(5), primary_key=True)
    gender: Mapped[str] = mapped_column(String(6), primary_key=True)
    persons: Mapped[int] = mapped_column(Integer)
    key_sum: Mapped[int] = mapped_column(SmallInteger)


class StatisticsPublishedPersonnel(AuditBase):
    """A grouped row of a publication's health personnel (HPR): persons with a valid approval and their key sum.

    One row per helsepersonellkategori with persons approved in it at the reference date, and one for
    every category together (`category` ""): each person counted once, however many categories they hold.
    Grouped rows, never persons; the key sum is kept modulo 256, as for listed persons. Written in the
    transaction that writes the publication's other rows (a publication from before this table had
    none: its health personnel are published the first time a table needs them, once).
    """

    __tablename__ = "audit_statistics_published_personnel"

    reference_date: Mapped[date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(4), primary_key=True)
    persons: Mapped[int] = mapped_column(Integer)
    key_sum: Mapped[int] = mapped_column(SmallInteger)
