"""AR (Adresseregisteret): communication parties with HER-ids and their electronic addresses."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata, sync_tables


class ArBase(DeclarativeBase):
    """Base of the AR register's tables."""

    metadata = register_metadata()


class CommunicationParty(ArBase):
    """A kommunikasjonspart: an organisation, department, service or person that receives messages."""

    __tablename__ = "ar_communication_party"

    her_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    # ORGANIZATION | SERVICE | PERSON; DEPARTMENT only in rows from the 2016 contract
    type: Mapped[str] = mapped_column(String(12))
    parent_her_id: Mapped[int | None] = mapped_column(Integer, index=True)
    org_number: Mapped[str | None] = mapped_column(String(9), index=True)
    hpr_number: Mapped[int | None] = mapped_column(Integer, index=True)
    municipality_code: Mapped[str | None] = mapped_column(String(4))
    active: Mapped[bool] = mapped_column(Boolean)
    display_name: Mapped[str | None] = mapped_column(String(300))
    parent_name: Mapped[str | None] = mapped_column(String(200))
    parent_org_number: Mapped[str | None] = mapped_column(String(9))
    business_type: Mapped[str | None] = mapped_column(String(8))  # BusinessType, code system 9040 (organisations)
    parent_business_type: Mapped[str | None] = mapped_column(String(8))  # ParentBusinessType (9040)
    is_valid: Mapped[bool | None] = mapped_column(Boolean)  # IsValidCommunicationParty: can receive messages
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    service_code: Mapped[str | None] = mapped_column(String(12))  # Service.Code.CodeValue (services)
    service_code_system: Mapped[str | None] = mapped_column(String(10))  # Service.Code.OID
    service_code_text: Mapped[str | None] = mapped_column(String(200))
    location_description: Mapped[str | None] = mapped_column(String(200))


class PhysicalAddress(ArBase):
    """A physical address of a party: visit (RES) or postal (PST), type from code system 3401."""

    __tablename__ = "ar_physical_address"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(4))
    street: Mapped[str | None] = mapped_column(String(200))
    postbox: Mapped[str | None] = mapped_column(String(60))
    postal_code: Mapped[str | None] = mapped_column(String(4))  # four digits, leading zero kept
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(3))


class Certificate(ArBase):
    """A party's X.509 certificate for encryption or signing, as AR's LDAP publishes it."""

    __tablename__ = "ar_certificate"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    usage: Mapped[str] = mapped_column(String(12))  # ENCRYPTION | SIGNING
    serial_number: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # NotBefore
    valid_to: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # NotAfter
    ldap_url: Mapped[str | None] = mapped_column(String(400))
    subject: Mapped[str | None] = mapped_column(String(300))  # CnName


class CoverageArea(ArBase):
    """An area a service covers (CoverageInfo): another party, by HER-id, name and organisation number."""

    __tablename__ = "ar_coverage_area"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    covered_her_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str | None] = mapped_column(String(9))
    municipality_code: Mapped[str | None] = mapped_column(String(4))


class FutureElectronicAddress(ArBase):
    """An electronic address that takes effect later (FutureElectronicAddress.ValidFrom)."""

    __tablename__ = "ar_future_electronic_address"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ElectronicAddress(ArBase):
    """An electronic address (OID 9044: E_EDI, E_TLF, E_EPO, ...) of a communication party."""

    __tablename__ = "ar_electronic_address"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    her_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ar_communication_party.her_id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(200))


SYNC_CURSOR, SYNC_SKIP = sync_tables(ArBase.metadata, "ar")
