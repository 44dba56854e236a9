"""RESH: specialist-care units, their parent links over time, and the services they provide."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import ValidityMixin, register_metadata, sync_tables


class ReshBase(DeclarativeBase):
    """Base of the RESH register's tables."""

    metadata = register_metadata()


class ReshUnit(ValidityMixin, ReshBase):
    """A unit in the specialist health service; its RESH-id never changes, even when it moves."""

    __tablename__ = "resh_unit"

    resh_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(60))
    unit_type: Mapped[str] = mapped_column(String(20))  # RHF | HF | HOSPITAL | CLINIC | ...
    org_number: Mapped[str | None] = mapped_column(String(9), index=True)
    display_name: Mapped[str | None] = mapped_column(String(300))
    organizational_level: Mapped[str | None] = mapped_column(String(2))  # code system 8628 (OK 2007)
    organizational_designation: Mapped[str | None] = mapped_column(String(2))  # code system 8624 (OK 2007)
    # Behandlingssted: the organisation number NPR and SSB place the unit's activity by.
    treatment_facility_org_number: Mapped[str | None] = mapped_column(String(9))
    top_org_number: Mapped[str | None] = mapped_column(String(9))  # TopOrganizationNumber: the health trust
    top_org_resh_id: Mapped[int | None] = mapped_column(Integer)  # TopOrganizationReshId
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ParentLink(ValidityMixin, ReshBase):
    """A unit's parent during `[valid_from, valid_to)`; a moved unit has several."""

    __tablename__ = "resh_parent_link"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resh_id: Mapped[int] = mapped_column(Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), index=True)
    parent_resh_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), index=True
    )


class ReshService(ReshBase):
    """A service a unit provides (Service: Code, OwnerReshId, Valid); the code's system is the OID RESH sent."""

    __tablename__ = "resh_service"

    resh_id: Mapped[int] = mapped_column(Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    code_system: Mapped[str | None] = mapped_column(String(10))  # NULL in rows from before resh_0002: 8668
    owner_resh_id: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


SYNC_CURSOR, SYNC_SKIP = sync_tables(ReshBase.metadata, "resh")
