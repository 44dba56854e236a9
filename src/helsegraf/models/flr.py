"""FLR (Fastlegeregisteret): GP contracts (lists), GPs' periods on them, and patients' list memberships."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from helsegraf.models.base import ValidityMixin, register_metadata, sync_tables


class FlrBase(DeclarativeBase):
    """Base of the FLR register's tables."""

    metadata = register_metadata()


class GpContract(ValidityMixin, FlrBase):
    """A fastlegeavtale: one GP list at an office, with its listetak (`max_patients`)."""

    __tablename__ = "flr_gp_contract"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    office_org_number: Mapped[str] = mapped_column(String(9), index=True)
    municipality_code: Mapped[str] = mapped_column(String(4), index=True)
    district: Mapped[str | None] = mapped_column(String(100))
    max_patients: Mapped[int] = mapped_column(Integer)
    is_open: Mapped[bool] = mapped_column(Boolean)  # accepts new patients (åpen liste)
    # Fastlønn: the GP on this list is paid a fixed salary by the municipality instead of per capita and
    # fee for service (næringsdrivende). Helsedirektoratet's key figures report the share of such lists.
    fixed_salary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str | None] = mapped_column(String(8))  # Status, code system 7751 (e.g. FAAA)
    patients_on_waiting_list: Mapped[int | None] = mapped_column(Integer)  # PatientsOnWaitingList
    common_list: Mapped[bool | None] = mapped_column(Boolean)  # ParticipatesOnCommonList (felles liste)
    agreement_date: Mapped[date | None] = mapped_column(Date)  # AgreementDate
    end_reason: Mapped[str | None] = mapped_column(String(8))  # EndReason (code as FLR sent it)
    end_reason_text: Mapped[str | None] = mapped_column(String(200))
    updated_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # UpdatedOn


# A list's terms FLR holds only as they are today; flr_gp_contract_terms keeps their past.
TERM_COLUMNS = ("max_patients", "is_open", "fixed_salary")


class GpContractTerms(ValidityMixin, FlrBase):
    """A list's listetak, open status and fixed salary over a half-open period `[valid_from, valid_to)`.

    FLR's contract gives the values as they are now (`flr_gp_contract` keeps them so); the periods keep
    what they were: the sync closes the open period and opens another when it sees one change (at the
    contract's UpdatedOn). Statistics and a contract asked `at` a date read the period valid then.
    """

    __tablename__ = "flr_gp_contract_terms"

    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("flr_gp_contract.id", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    max_patients: Mapped[int] = mapped_column(Integer)
    is_open: Mapped[bool] = mapped_column(Boolean)
    fixed_salary: Mapped[bool] = mapped_column(Boolean)


class CoopMunicipality(FlrBase):
    """A municipality a GP contract co-operates with (CoopMunicipalities: interkommunalt samarbeid)."""

    __tablename__ = "flr_coop_municipality"

    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("flr_gp_contract.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = mapped_column(String(4), primary_key=True)


class OutOfOfficeLocation(ValidityMixin, FlrBase):
    """An out-of-office location (utekontor) where the list's GP also receives patients."""

    __tablename__ = "flr_out_of_office"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("flr_gp_contract.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(4))
    postal_place: Mapped[str | None] = mapped_column(String(100))


class GpPeriod(ValidityMixin, FlrBase):
    """A GP's period on a contract (GPOnContractAssociation): fastlege LPFL, vikar LPVI or delelege LPDL."""

    __tablename__ = "flr_gp_period"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("flr_gp_contract.id", ondelete="CASCADE"), index=True
    )
    hpr_number: Mapped[int] = mapped_column(Integer, index=True)
    relationship: Mapped[str] = mapped_column(String(4))
    substitute_for_hpr_number: Mapped[int | None] = mapped_column(Integer)
    working_percentage: Mapped[int] = mapped_column(Integer)
    working_on_days: Mapped[str | None] = mapped_column(String(60))  # WorkingOnDays: "Monday,Tuesday,..."
    # The GP's gender as FLR holds it (the association's GP: Person.Sex, from Folkeregisteret). Public for a
    # GP (helsenorge shows it to everyone choosing a GP): the graph's `HealthPersonnel.gpGender` and the
    # statistics' GPs by gender read it. Null on older rows: the statistics look those up in PREG.
    gp_gender: Mapped[str | None] = mapped_column(String(6))  # FEMALE | MALE


class ListMembership(ValidityMixin, FlrBase):
    """A patient's membership of a GP list (PatientToGPContractAssociation), with the GP's HER-id."""

    __tablename__ = "flr_list_membership"
    __table_args__ = (
        Index("ix_flr_list_membership_nin", "nin", "valid_from"),
        Index("ix_flr_list_membership_contract_id", "contract_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nin: Mapped[str] = mapped_column(String(11))
    contract_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("flr_gp_contract.id", ondelete="CASCADE"))
    gp_her_id: Mapped[int | None] = mapped_column(Integer)
    # The patient as FLR holds them (the association's Patient, from Folkeregisteret): list statistics
    # group on these in FLR instead of looking up every listed patient in PREG. Null on older rows.
    patient_birth_date: Mapped[date | None] = mapped_column(Date)
    patient_gender: Mapped[str | None] = mapped_column(String(6))  # FEMALE | MALE
    begin_code: Mapped[str | None] = mapped_column(String(4))  # BeginCode, code system 7754
    end_code: Mapped[str | None] = mapped_column(String(4))  # EndCode, code system 7754
    updated_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


SYNC_CURSOR, SYNC_SKIP = sync_tables(FlrBase.metadata, "flr")
