"""Declarative bases: one MetaData per register, so each register migrates on its own."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, MetaData
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


class ValidityMixin:
    """A half-open validity period `[valid_from, valid_to)`; `valid_to` NULL means open-ended."""

    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


__all__ = ["DeclarativeBase", "ValidityMixin", "register_metadata"]
