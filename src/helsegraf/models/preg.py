"""PREG (Persontjenesten): persons and their family relations (the sector's copy of Folkeregisteret)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata


class PregBase(DeclarativeBase):
    """Base of the PREG register's tables."""

    metadata = register_metadata()


class Person(PregBase):
    """A person in Folkeregisteret, keyed by fødselsnummer or D-number (`nin`)."""

    __tablename__ = "preg_person"

    nin: Mapped[str] = mapped_column(String(11), primary_key=True)
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(6))  # FEMALE | MALE (kjønn)
    status: Mapped[str] = mapped_column(String(20))  # folkeregisterpersonstatus
    death_date: Mapped[date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    postal_place: Mapped[str | None] = mapped_column(String(100))
    municipality_code: Mapped[str | None] = mapped_column(String(4), index=True)
    district: Mapped[str | None] = mapped_column(String(100))  # bydel
    address_protection: Mapped[str] = mapped_column(String(30))  # adressebeskyttelse


class ParentRelation(PregBase):
    """A parent-child relation (forelderBarnRelasjon): `parent_nin` is MOTHER or FATHER of `child_nin`."""

    __tablename__ = "preg_parent_relation"
    __table_args__ = (Index("ix_preg_parent_relation_parent_nin", "parent_nin"),)

    child_nin: Mapped[str] = mapped_column(
        String(11), ForeignKey("preg_person.nin", ondelete="CASCADE"), primary_key=True
    )
    parent_nin: Mapped[str] = mapped_column(
        String(11), ForeignKey("preg_person.nin", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(10))  # MOTHER | FATHER
