"""Declarative bases: one MetaData per register, so each register migrates on its own."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def register_metadata() -> MetaData:
    """Return a fresh MetaData with the project's constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[DeclarativeBase]) -> Table:
    """Return a model's Table (SQLAlchemy types `__table__` as any FromClause; every model here maps a Table)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


class ValidityMixin:
    """A half-open validity period `[valid_from, valid_to)`; `valid_to` NULL means open-ended."""

    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


def sync_tables(metadata: MetaData, register: str) -> tuple[Table, Table]:
    """Add the sync engine's bookkeeping tables to a register's metadata (they live in its own database).

    `<register>_sync_cursor`: one row per feed of the register: the adapter's cursor (opaque text),
    its numeric position, the source's head when last asked, and times. It is written in the same
    transaction as the rows a batch produced, so the cursor never runs ahead of what was applied.
    `<register>_sync_skip`: changes the engine could not apply, by the source's event id and a
    reason (never personal data), so a skip is recorded rather than silent.
    """
    cursor = Table(
        f"{register}_sync_cursor",
        metadata,
        Column("feed", String(40), primary_key=True),
        Column("cursor", Text, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("source_head", BigInteger),
        Column("last_synced_at", DateTime(timezone=True)),
        Column("last_change_at", DateTime(timezone=True)),
        Column("applied", BigInteger, nullable=False, default=0),
        Column("skipped", BigInteger, nullable=False, default=0),
        Column("errors", BigInteger, nullable=False, default=0),
    )
    skip = Table(
        f"{register}_sync_skip",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("feed", String(40), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("reason", String(200), nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
    )
    return cursor, skip


__all__ = ["DeclarativeBase", "ValidityMixin", "register_metadata", "sync_tables"]
