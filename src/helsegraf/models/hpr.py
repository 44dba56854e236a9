"""HPR (Helsepersonellregisteret): health personnel and their approvals (godkjenninger)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import ValidityMixin, register_metadata, sync_tables


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
    lacks_nin: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)  # ManglerNIN
    death_date: Mapped[date | None] = mapped_column(Date)  # Dødsdato
    gender: Mapped[str | None] = mapped_column(String(1))  # Kjønn, code system 3101
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # SistOppdatert
    # ErstattetAvHprNummer: this number was merged into another (SlåSammen); the row stays for redirects.
    replaced_by: Mapped[int | None] = mapped_column(Integer, index=True)


class AlternativeId(HprBase):
    """An alternative id (AlternativId) of a health worker: a typed identifier (type from code system 8116)."""

    __tablename__ = "hpr_alternative_id"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hpr_number: Mapped[int] = mapped_column(
        Integer, ForeignKey("hpr_person.hpr_number", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(40))


class AdministrativeReaction(ValidityMixin, HprBase):
    """An administrative reaction (administrativ reaksjon, e.g. tilbakekall) on a person or one approval."""

    __tablename__ = "hpr_administrative_reaction"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hpr_number: Mapped[int] = mapped_column(
        Integer, ForeignKey("hpr_person.hpr_number", ondelete="CASCADE"), index=True
    )
    approval_id: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(String(200))  # Kode.Beskrivelse as HPR sent it


class Approval(ValidityMixin, HprBase):
    """A godkjenning: a health-personnel category (OID 9060) with an authorisation type (OID 7704)."""

    __tablename__ = "hpr_approval"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hpr_number: Mapped[int] = mapped_column(
        Integer, ForeignKey("hpr_person.hpr_number", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(4))
    authorization: Mapped[str] = mapped_column(String(4))
    closing_status: Mapped[str | None] = mapped_column(String(8))  # AvsluttetStatus (why it ended)
    closing_status_text: Mapped[str | None] = mapped_column(String(200))


class Speciality(ValidityMixin, HprBase):
    """A speciality (spesialitet, OID 7426) on an approval."""

    __tablename__ = "hpr_speciality"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    closing_status: Mapped[str | None] = mapped_column(String(8))


class RequisitionRight(ValidityMixin, HprBase):
    """A requisition right (rekvisisjonsrett, OID 7701) on an approval."""

    __tablename__ = "hpr_requisition_right"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    closing_status: Mapped[str | None] = mapped_column(String(8))


class AdditionalCompetence(ValidityMixin, HprBase):
    """An additional competence (tilleggskompetanse, special competence OID 7702) on an approval."""

    __tablename__ = "hpr_additional_competence"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    closing_status: Mapped[str | None] = mapped_column(String(8))


class Condition(HprBase):
    """A condition (vilkår) the approval is granted under: a typed code with free text."""

    __tablename__ = "hpr_condition"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(String(200))  # Kode.Beskrivelse as HPR sent it
    free_text: Mapped[str | None] = mapped_column(String(500))  # Fritekst


class Suspension(ValidityMixin, HprBase):
    """A suspension period (suspensjonsperiode) of an approval, or of one speciality or requisition right on it.

    With neither `speciality_id` nor `requisition_right_id` the whole approval does not authorise
    meanwhile; with one of them only that speciality or right is suspended (HPR holds
    Suspensjonsperioder on Godkjenning, Spesialitet and Rekvisisjonsrett alike).
    """

    __tablename__ = "hpr_suspension"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    approval_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("hpr_approval.id", ondelete="CASCADE"), index=True)
    speciality_id: Mapped[int | None] = mapped_column(BigInteger)
    requisition_right_id: Mapped[int | None] = mapped_column(BigInteger)


SYNC_CURSOR, SYNC_SKIP = sync_tables(HprBase.metadata, "hpr")
