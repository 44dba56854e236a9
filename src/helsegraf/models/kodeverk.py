"""Kodeverk: code systems (by OID) and their codes."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata


class KodeverkBase(DeclarativeBase):
    """Base of the Kodeverk register's tables."""

    metadata = register_metadata()


class CodeSystem(KodeverkBase):
    """A code system (kodeverk) such as 3402 kommune or 9060 helsepersonellkategori."""

    __tablename__ = "kodeverk_code_system"

    oid: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(200))


class Code(KodeverkBase):
    """A code in a code system, with its text and whether it is still in use."""

    __tablename__ = "kodeverk_code"

    system_oid: Mapped[str] = mapped_column(
        String(10), ForeignKey("kodeverk_code_system.oid", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(String(20), primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
