"""AR (Adresseregisteret): communication parties with HER-ids and their electronic addresses."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata


class ArBase(DeclarativeBase):
    """Base of the AR register's tables."""

    metadata = register_metadata()


class CommunicationParty(ArBase):
    """A kommunikasjonspart: an organisation, department, service or person that receives messages."""

    __tablename__ = "ar_communication_party"

    her_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(12))  # ORGANIZATION | DEPARTMENT | SERVICE | PERSON
    parent_her_id: Mapped[int | None] = mapped_column(Integer, index=True)
    org_number: Mapped[str | None] = mapped_column(String(9), index=True)
    hpr_number: Mapped[int | None] = mapped_column(Integer, index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(4))
    active: Mapped[bool] = mapped_column(Boolean)


class ElectronicAddress(ArBase):
    """An electronic address (OID 9044: E_EDI, E_TLF, E_EPO, ...) of a communication party."""

    __tablename__ = "ar_electronic_address"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(200))
