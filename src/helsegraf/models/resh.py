"""RESH: specialist-care units, their parent links over time, and the services they provide."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import ValidityMixin, register_metadata


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


class ParentLink(ValidityMixin, ReshBase):
    """A unit's parent during `[valid_from, valid_to)`; a moved unit has several."""

    __tablename__ = "resh_parent_link"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    resh_id: Mapped[int] = mapped_column(Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), index=True)
    parent_resh_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), index=True
    )


class ReshService(ReshBase):
    """A service (tjenestetype, OID 8668) a unit provides."""

    __tablename__ = "resh_service"

    resh_id: Mapped[int] = mapped_column(Integer, ForeignKey("resh_unit.resh_id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
