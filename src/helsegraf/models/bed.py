"""BED (Bedriftsregisteret / Enhetsregisteret): organisations by organisation number."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata


class BedBase(DeclarativeBase):
    """Base of the BED register's tables."""

    metadata = register_metadata()


class Organization(BedBase):
    """An enhet or underenhet; `parent_org_number` is the overordnet enhet."""

    __tablename__ = "bed_organization"

    org_number: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_form: Mapped[str] = mapped_column(String(8))  # organisasjonsform: AS, ENK, HF, BEDR, ...
    industry_code: Mapped[str | None] = mapped_column(String(8))  # næringskode (SN2007)
    parent_org_number: Mapped[str | None] = mapped_column(String(9), index=True)
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    postal_place: Mapped[str | None] = mapped_column(String(100))
    municipality_code: Mapped[str | None] = mapped_column(String(4), index=True)
