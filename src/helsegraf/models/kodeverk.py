"""Kodeverk: code systems (by OID) and their codes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, ForeignKeyConstraint, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata, sync_tables


class KodeverkBase(DeclarativeBase):
    """Base of the Kodeverk register's tables."""

    metadata = register_metadata()


class CodeSystem(KodeverkBase):
    """A code system (kodeverk) such as 3402 kommune or 9060 helsepersonellkategori."""

    __tablename__ = "kodeverk_code_system"

    oid: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(40))  # the export version last loaded
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Code(KodeverkBase):
    """A code in a code system, with its text and whether it is still in use."""

    __tablename__ = "kodeverk_code"

    system_oid: Mapped[str] = mapped_column(
        String(10), ForeignKey("kodeverk_code_system.oid", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(20), primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    version: Mapped[str | None] = mapped_column(String(40))  # the version that gave the current text


class CodeVersion(KodeverkBase):
    """The text and status a code had in one version of its code system.

    References to a code are by (system, value) only, so a new version that rewords a code's text
    changes what the graph prints without breaking anything that points at it.
    """

    __tablename__ = "kodeverk_code_version"
    __table_args__ = (
        ForeignKeyConstraint(
            ["system_oid", "value"], ["kodeverk_code.system_oid", "kodeverk_code.value"], ondelete="CASCADE"
        ),
    )

    system_oid: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


SYNC_CURSOR, SYNC_SKIP = sync_tables(KodeverkBase.metadata, "kodeverk")
