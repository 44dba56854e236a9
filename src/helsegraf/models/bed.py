"""BED (Bedriftsregisteret / Enhetsregisteret): organisations by organisation number."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata, sync_tables


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
    # The unit's life: registered in Enhetsregisteret (`registreringsdatoEnhetsregisteret`) until
    # deleted (`slettedato`): a half-open period; a deleted unit keeps its row with `valid_to` set.
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # When Enhetsregisteret last changed the unit (the `dato` of its newest update).
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


SYNC_CURSOR, SYNC_SKIP = sync_tables(BedBase.metadata, "bed")
