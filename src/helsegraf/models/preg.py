"""PREG (Persontjenesten): persons and their family relations (the sector's copy of Folkeregisteret)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import register_metadata, sync_tables

# The graph's protection words (NAV PDL's, which authz reads) for the contract's AddressConfidentiality.
PROTECTION_WORDS = {
    "Unclassified": "UGRADERT",
    "ClientAddress": "FORTROLIG",
    "Confidential": "FORTROLIG",
    "StrictlyConfidential": "STRENGT_FORTROLIG",
}


def key(length: int) -> String:
    """Return an identifier column's type: on PostgreSQL compared byte by byte (`COLLATE "C"`, preg_0007).

    The numbers (nin, D-numbers) and Persontjenesten's person ids are keys, never sorted for a reader
    by language; byte order is the order of their digits, the same as any collation's. A B-tree of
    them is built and searched with plain byte comparisons instead of the database locale's (`strcoll`
    under `C.UTF-8`): a bulk load's index builds at the end take about a third of the CPU. SQLite
    compares bytes already (BINARY), so the type there is the plain string.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class PregBase(DeclarativeBase):
    """Base of the PREG register's tables."""

    metadata = register_metadata()


class Person(PregBase):
    """A person in Folkeregisteret, keyed by fødselsnummer or D-number (`nin`)."""

    __tablename__ = "preg_person"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)
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
    address_protection: Mapped[str] = mapped_column(String(30))  # adressebeskyttelse (PDL's words, see below)
    # Persontjenesten's own key of the person (`Person.id`); stable across a change of nin.
    # After a nin change the old row (kept, redirected) and the new one share it.
    # Not indexed (preg_0007): every lookup by person id goes to preg_identification_number's.
    person_id: Mapped[str | None] = mapped_column(String(36))
    # The contract's values, verbatim: AddressConfidentiality, MaritalStatusType, ISO 3166 alpha-3.
    protection_level: Mapped[str | None] = mapped_column(String(30))
    marital_status: Mapped[str | None] = mapped_column(String(30))
    citizenship: Mapped[str | None] = mapped_column(String(3))
    # Set when this number no longer identifies a current person: the nin of the person it now is
    # (a changed nin, or a duplicate discontinued into another person). The row is kept as history.
    replaced_by: Mapped[str | None] = mapped_column(key(11), index=True)
    # When Persontjenesten last changed the person (the newest `registeredAt` of the document).
    last_changed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ParentRelation(PregBase):
    """A parent-child relation (forelderBarnRelasjon): `parent_nin` is MOTHER or FATHER of `child_nin`."""

    __tablename__ = "preg_parent_relation"
    __table_args__ = (Index("ix_preg_parent_relation_parent_nin", "parent_nin"),)

    # Not foreign keys: a change feed may deliver a child before its parents (preg_0002).
    child_nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    parent_nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))  # MOTHER | FATHER


class IdentificationNumber(PregBase):
    """A Norwegian identification number the person has or had (folkeregisteridentifikator)."""

    __tablename__ = "preg_identification_number"

    # A merged duplicate's number is listed by both documents, the discontinued one's and the survivor's.
    number: Mapped[str] = mapped_column(key(11), primary_key=True)
    person_id: Mapped[str] = mapped_column(key(36), primary_key=True, index=True)
    number_type: Mapped[str] = mapped_column(
        String(40)
    )  # NationalIdentityNumber | DNumber | AlternateIdentificationNumber
    status: Mapped[str] = mapped_column(String(20))  # InUse | Discontinued
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class AddressPeriod(PregBase):
    """A residential, present, postal or foreign postal address over a half-open period `[valid_from, valid_to)`.

    A move closes the open period of that kind and opens a new one; periods are never deleted.
    """

    __tablename__ = "preg_address"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    # RESIDENTIAL | PRESENT | SHARED | POSTAL | FOREIGN_POSTAL (bostedsadresse, oppholdsadresse, delt bosted,
    # kontaktadresse, kontaktadresse i utlandet)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))  # a foreign post code is no four digits
    postal_place: Mapped[str | None] = mapped_column(String(100))
    municipality_code: Mapped[str | None] = mapped_column(String(4))
    district: Mapped[str | None] = mapped_column(String(100))
    # The address's own grading (addressConfidentiality, the contract's words): Unclassified, ClientAddress,
    # Confidential or StrictlyConfidential; null when the source gave none (read as the person's protection).
    confidentiality: Mapped[str | None] = mapped_column(String(30))
    # An address abroad (a foreign present address, every foreign postal address): ISO 3166-1 alpha-2 as
    # the contract sends it, and the region; null for Norwegian addresses (preg_0004).
    country_code: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    # The register knows the person lives (or stays) here but not where: a residential address's
    # unknownResidence (the municipality only) or a present address's isAddressUnknown; else null.
    address_unknown: Mapped[bool | None] = mapped_column(Boolean)
    # A present address's stayElsewhere (oppholdAnnetSted): Military, Abroad, OnSvalbard or Commuter.
    stay_elsewhere: Mapped[str | None] = mapped_column(String(20))


class ParentalResponsibility(PregBase):
    """Foreldreansvar: `responsible_nin` holds parental responsibility for `child_nin`."""

    __tablename__ = "preg_parental_responsibility"
    __table_args__ = (Index("ix_preg_parental_responsibility_responsible_nin", "responsible_nin"),)

    child_nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    responsible_nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    responsibility_type: Mapped[str] = mapped_column(String(10))  # Joint | Mother | Father | CoMother | Other


class Guardianship(PregBase):
    """Vergemål or fremtidsfullmakt: `guardian_nin` is guardian of `nin`."""

    __tablename__ = "preg_guardianship"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    guardian_nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    guardianship_type: Mapped[str] = mapped_column(String(40))  # GuardianshipType
    scope: Mapped[str | None] = mapped_column(String(60))  # GuardianshipScope
    # isGuardianshipInPersonalScope: the guardian acts in personal matters (consent to health care among them).
    in_personal_scope: Mapped[bool | None] = mapped_column(Boolean)


class ResponsibilityWithoutId(PregBase):
    """Foreldreansvar whose other end has no Norwegian identification number (preg_0005).

    On a child's document, a holder without one (`responsibleWithoutIdentifier`, role RESPONSIBLE);
    on a holder's document, a child without one (`subjectOfResponsibilityWithoutIdentifier`, role
    CHILD). The contract carries such a person by name, birth date, gender and citizenship.
    """

    __tablename__ = "preg_responsibility_without_id"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)  # whose document lists the entry
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # its place among the document's entries
    role: Mapped[str] = mapped_column(String(11))  # RESPONSIBLE | CHILD: who the person without a number is
    responsibility_type: Mapped[str] = mapped_column(String(10))  # ParentalResponsibilityType
    given_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(6))  # the contract's Gender: Female | Male
    citizenship: Mapped[str | None] = mapped_column(String(60))  # as sent


class GuardianWithoutId(PregBase):
    """A guardian (vergemål, fremtidsfullmakt) without a Norwegian identification number (preg_0005).

    The contract names such a guardian by `name` and `guardianInformation` (or the deprecated
    `nameBirthDate`) instead of `identificationNumber`.
    """

    __tablename__ = "preg_guardian_without_id"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)  # the person under guardianship
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # its place among the document's entries
    guardianship_type: Mapped[str] = mapped_column(String(40))  # GuardianshipType
    scope: Mapped[str | None] = mapped_column(String(60))  # GuardianshipScope
    in_personal_scope: Mapped[bool | None] = mapped_column(Boolean)
    given_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(6))
    citizenship: Mapped[str | None] = mapped_column(String(60))


class LegalCapacity(PregBase):
    """A restriction of the person's legal capacity (rettslig handleevne) over `[valid_from, valid_to)` (preg_0006).

    DEPRIVED: deprived of it (`deprivedLegalAuthority`); LIMITED: limited (`legalAuthority` with
    `legalAuthorityScope` Limited). Kept whole, as address periods are.
    """

    __tablename__ = "preg_legal_capacity"

    nin: Mapped[str] = mapped_column(key(11), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # DEPRIVED | LIMITED
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[date | None] = mapped_column(Date)


SYNC_CURSOR, SYNC_SKIP = sync_tables(PregBase.metadata, "preg")
