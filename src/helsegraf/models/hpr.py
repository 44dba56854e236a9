"""HPR (Helsepersonellregisteret): health personnel and their approvals (godkjenninger)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import ValidityMixin, register_metadata


class HprBase(DeclarativeBase):
    """Base of the HPR register's tables."""

    metadata = register_metadata()


class HealthPersonnel(HprBase):
    """A person in HPR; `nin` is NULL for those registered without one (ManglerNIN)."""

    __tablename__ = "hpr_person"

    hpr_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    nin: Mapped[str | None] = mapped_column(String(11), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)


class Approval(ValidityMixin, HprBase):
    """A godkjenning: a health-personnel category (OID 9060) with an authorisation type (OID 7704)."""

    __tablename__ = "hpr_approval"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hpr_number: Mapped[int] = mapped_column(
        Integer, ForeignKey("hpr_person.hpr_number", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(4))
    authorization: Mapped[str] = mapped_column(String(4))


class Speciality(ValidityMixin, HprBase):
    """A speciality (spesialitet, OID 7426) on an approval."""

    __tablename__ = "hpr_speciality"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))


class RequisitionRight(ValidityMixin, HprBase):
    """A requisition right (rekvisisjonsrett, OID 7702) on an approval."""

    __tablename__ = "hpr_requisition_right"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))


class Suspension(ValidityMixin, HprBase):
    """A suspension period (suspensjonsperiode) during which the approval does not authorise."""

    __tablename__ = "hpr_suspension"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
