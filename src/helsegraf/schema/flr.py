"""FLR (Fastlegeregisteret) in the graph: GP contracts (lists), GP periods, and a person's GP over time."""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLError

from helsegraf.authz.requirements import GP, PATIENT_LIST
from helsegraf.execution.preload import edge, preload, root
from helsegraf.loaders.base import is_valid_on
from helsegraf.loaders.flr import contracts_page, contracts_query
from helsegraf.registers import FLR
from helsegraf.schema import refs
from helsegraf.schema.ar import GpAssignmentAr
from helsegraf.schema.base import (
    Connection,
    Info,
    check_municipality,
    connection,
    decode_cursor,
    edge_field,
    page_size,
    personal,
    user_error,
)

if TYPE_CHECKING:
    from helsegraf.schema.bed import Organization
    from helsegraf.schema.hpr import HealthPersonnel
    from helsegraf.schema.kodeverk import Municipality
    from helsegraf.schema.preg import Person

HealthPersonnelRef = Annotated["HealthPersonnel", strawberry.lazy("helsegraf.schema.hpr")]
OrganizationRef = Annotated["Organization", strawberry.lazy("helsegraf.schema.bed")]
PersonRef = Annotated["Person", strawberry.lazy("helsegraf.schema.preg")]
MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
RELATIONSHIP_PRIORITY = ("LPFL", "LPVI", "LPDL")


@strawberry.enum(description="A doctor's relationship to a GP contract (code system 7750).")
class GpRelationship(Enum):
    """LPFL fastlege, LPVI vikar, LPDL delelege."""

    LPFL = "LPFL"
    LPVI = "LPVI"
    LPDL = "LPDL"


def serving_period(periods: list[Any], on: date) -> Any | None:
    """Return the period of the doctor serving a list on a date: fastlege, else substitute, else delelege."""
    valid = [p for p in periods if is_valid_on(p, on)]
    for relationship in RELATIONSHIP_PRIORITY:
        for period in valid:
            if period.relationship == relationship:
                return period
    return None


def _not_found(what: str) -> GraphQLError:
    return GraphQLError(f"{what} is missing", extensions={"code": "NOT_FOUND"})


async def _period_gp(info: Info, parents: list[GpPeriod]) -> list[Any]:
    found = await refs.health_personnel(info, [p.hpr_number for p in parents])
    for period, doctor in zip(parents, found, strict=True):
        if doctor is None:
            raise _not_found(f"HPR number {period.hpr_number} (a GP period's doctor)")
    return found


async def _substitute_for(info: Info, parents: list[GpPeriod]) -> list[Any]:
    return await refs.health_personnel(info, [p.substitute_for_hpr_number for p in parents])


@strawberry.type(description="A doctor's period on a GP contract (GPOnContractAssociation).")
class GpPeriod:
    """Who worked a list, as what, and when."""

    hpr_number: int = strawberry.field(description="The doctor's HPR number.")
    relationship: GpRelationship = strawberry.field(description="Fastlege (LPFL), vikar (LPVI) or delelege (LPDL).")
    substitute_for_hpr_number: int | None = strawberry.field(description="For a vikar: the fastlege substituted for.")
    working_percentage: int = strawberry.field(description="Share of full time on this list (1-100).")
    valid_from: date = strawberry.field(description="First day of the period.")
    valid_to: date | None = strawberry.field(description="Day the period ended (exclusive); null while it runs.")

    @classmethod
    def from_row(cls, row: Any) -> GpPeriod:
        """Build from an FLR row."""
        return cls(
            hpr_number=row.hpr_number,
            relationship=GpRelationship(row.relationship),
            substitute_for_hpr_number=row.substitute_for_hpr_number,
            working_percentage=row.working_percentage,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )

    @edge_field(_period_gp, description="The doctor (from HPR).")
    def gp(self, info: Info) -> HealthPersonnelRef:
        """Return the doctor; an HPR number missing from HPR is an error."""
        return edge(self, info, {}, _period_gp)  # type: ignore[no-any-return]

    @edge_field(_substitute_for, description="For a vikar: the fastlege substituted for (from HPR).")
    def substitute_for(self, info: Info) -> HealthPersonnelRef | None:
        """Return the substituted doctor."""
        return edge(self, info, {}, _substitute_for)  # type: ignore[no-any-return]


async def _office(info: Info, parents: list[GpContract]) -> list[Any]:
    return await refs.organizations(info, [p.office_org_number for p in parents])


async def _contract_municipality(info: Info, parents: list[GpContract]) -> list[Any]:
    return await refs.municipalities(info, [p.municipality_code for p in parents])


async def _sizes(info: Info, parents: list[GpContract], at: date | None) -> list[int]:
    on = at or info.context.today
    return [
        int(n)
        for n in await info.context.loaders.list_size_by_contract_at.load_many([(int(p.id), on) for p in parents])
    ]


async def _list_size(info: Info, parents: list[GpContract], at: date | None = None) -> list[Any]:
    return await _sizes(info, parents, at)


async def _places(info: Info, parents: list[GpContract], at: date | None = None) -> list[Any]:
    sizes = await _sizes(info, parents, at)
    return [
        max(0, p.max_patients - n) if p.is_open and p.max_patients is not None else 0
        for p, n in zip(parents, sizes, strict=True)
    ]


async def _periods(info: Info, parents: list[GpContract]) -> list[list[Any]]:
    return await info.context.loaders.periods_by_contract.load_many([int(p.id) for p in parents])


async def _gps(info: Info, parents: list[GpContract], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    return [[GpPeriod.from_row(p) for p in rows if is_valid_on(p, on)] for rows in await _periods(info, parents)]


async def _all_periods(info: Info, parents: list[GpContract]) -> list[Any]:
    return [[GpPeriod.from_row(p) for p in rows] for rows in await _periods(info, parents)]


async def _patients(
    info: Info, parents: list[GpContract], first: int | None = None, after: str | None = None, at: date | None = None
) -> list[Any]:
    size, after_id = page_size(first), decode_cursor("membership", after)
    on = at or info.context.today
    loaders = info.context.loaders
    pages = await loaders.patients_by_contract.load_many([(int(p.id), on, after_id or 0, size) for p in parents])
    totals = await loaders.list_size_by_contract_at.load_many([(int(p.id), on) for p in parents])
    people = await refs.persons(info, [row.nin for rows in pages for row in rows])
    for person in people:
        info.context.guard.released(person.subject_nin if person else None, PATIENT_LIST.group)
    found = iter(people)
    result = []
    for rows, total in zip(pages, totals, strict=True):
        items = [(row.id, person) for row in rows if (person := next(found)) is not None]
        result.append(connection("membership", items, size, int(total), after_id))
    return result


@strawberry.federation.type(keys=["id"], description="A GP contract (fastlegeavtale): one GP list at an office.")
class GpContract:
    """A list with its listetak, its office and the doctors who serve it."""

    id: strawberry.ID = strawberry.field(description="The contract id (owned by HELFO).")
    office_org_number: str | None = strawberry.field(default=None, description="The office's organisation number.")
    municipality_code: strawberry.Private[str | None] = None
    district: str | None = strawberry.field(default=None, description="The office's bydel, in cities that have them.")
    max_patients: int | None = strawberry.field(
        default=None, description="The listetak: most patients the list may have."
    )
    is_open: bool | None = strawberry.field(
        default=None, description="Whether the list accepts new patients (åpen liste)."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day of the contract.")
    valid_to: date | None = strawberry.field(default=None, description="Day the contract ended (exclusive).")

    @classmethod
    def from_row(cls, row: Any) -> GpContract:
        """Build from an FLR row."""
        return cls(
            id=strawberry.ID(str(row.id)),
            office_org_number=row.office_org_number,
            municipality_code=row.municipality_code,
            district=row.district,
            max_patients=row.max_patients,
            is_open=row.is_open,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )

    @classmethod
    def stub(cls, contract_id: int) -> GpContract:
        """Build a key-only reference."""
        return cls(id=strawberry.ID(str(contract_id)))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> GpContract | None:  # noqa: A002 - the key's name
        """Resolve a Federation reference."""
        return await refs.one(refs.gp_contracts, info, _contract_id(id))

    @edge_field(_office, description="The GP office (legekontor), from BED.")
    def office(self, info: Info) -> OrganizationRef | None:
        """Return the office's organisation."""
        return edge(self, info, {}, _office)  # type: ignore[no-any-return]

    @edge_field(_contract_municipality, description="The municipality (kommune) the list belongs to.")
    def municipality(self, info: Info) -> MunicipalityRef | None:
        """Return the municipality."""
        return edge(self, info, {}, _contract_municipality)  # type: ignore[no-any-return]

    @edge_field(_list_size, description="How many patients are on the list at a date (default today).")
    def list_size(self, info: Info, at: date | None = None) -> int:
        """Count the list's memberships valid at the date."""
        return edge(self, info, {"at": at}, _list_size)  # type: ignore[no-any-return]

    @edge_field(_places, description="Free places on an open list at a date (listetak minus list size); 0 when closed.")
    def places_available(self, info: Info, at: date | None = None) -> int:
        """Return the free places."""
        return edge(self, info, {"at": at}, _places)  # type: ignore[no-any-return]

    @edge_field(_gps, description="The doctors serving the list at a date (default today).")
    def gps(self, info: Info, at: date | None = None) -> list[GpPeriod]:
        """Return the GP periods valid at the date."""
        return edge(self, info, {"at": at}, _gps)  # type: ignore[no-any-return]

    @edge_field(_all_periods, description="Every doctor's period on the list, oldest first (the list's history).")
    def gp_periods(self, info: Info) -> list[GpPeriod]:
        """Return all GP periods."""
        return edge(self, info, {}, _all_periods)  # type: ignore[no-any-return]

    @personal(
        PATIENT_LIST,
        description="The patients on the list at a date (default today), by list membership.",
        batch=_patients,
    )
    def patients(
        self, info: Info, first: int | None = None, after: str | None = None, at: date | None = None
    ) -> Connection[PersonRef] | None:
        """Return a page of the list's patients."""
        return edge(self, info, {"first": first, "after": after, "at": at}, _patients)  # type: ignore[no-any-return]


def _numeric(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise user_error(f"id: {value!r} is not a {what} id (digits only)") from None


def _contract_id(value: str) -> int:
    return _numeric(value, "GP contract")


async def _assignment_contract(info: Info, parents: list[GpAssignment]) -> list[Any]:
    found = await refs.gp_contracts(info, [p.contract_id for p in parents])
    for assignment, contract in zip(parents, found, strict=True):
        if contract is None:
            raise _not_found(f"GP contract {assignment.contract_id}")
    return found


async def _assignment_gp(info: Info, parents: list[GpAssignment]) -> list[Any]:
    periods = await info.context.loaders.periods_by_contract.load_many([p.contract_id for p in parents])
    serving = [serving_period(rows, p.on or info.context.today) for p, rows in zip(parents, periods, strict=True)]
    return await refs.health_personnel(info, [s.hpr_number if s else None for s in serving])


@strawberry.federation.type(
    keys=["id"], description="A person's membership of a GP list (PatientToGPContractAssociation)."
)
class GpAssignment(GpAssignmentAr):
    """Which list a person was on, when, and who their GP was."""

    id: strawberry.ID = strawberry.field(description="The list membership's id.")
    contract_id: strawberry.Private[int] = 0
    gp_her_id: int | None = strawberry.field(
        default=None, description="HER-id that addresses the GP (or the list's substitute when it has no fastlege)."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day on the list.")
    valid_to: date | None = strawberry.field(default=None, description="Day the person left the list (exclusive).")
    on: strawberry.Private[date | None] = None

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID, gpHerId: int | None = None) -> GpAssignment | None:  # noqa: A002, N803
        """Resolve a Federation reference: the membership in FLR, or (elsewhere) the key with its required gpHerId."""
        if FLR not in info.context.registers:
            return cls(id=id, gp_her_id=gpHerId)
        row = await info.context.loaders.membership_by_id.load(_numeric(id, "list membership"))
        return None if row is None else cls.from_row(row, info.context.today)

    @classmethod
    def from_row(cls, row: Any, on: date) -> GpAssignment:
        """Build from a list membership row, looking at the list as it was on `on`."""
        if row.valid_to is not None and row.valid_to <= on:
            on = row.valid_to - timedelta(days=1)
        return cls(
            id=strawberry.ID(str(row.id)),
            contract_id=row.contract_id,
            gp_her_id=row.gp_her_id,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            on=max(on, row.valid_from),
        )

    @edge_field(_assignment_contract, description="The GP contract (list).")
    def contract(self, info: Info) -> GpContract:
        """Return the list."""
        return edge(self, info, {}, _assignment_contract)  # type: ignore[no-any-return]

    @edge_field(
        _assignment_gp,
        description="The doctor serving the list: the fastlege, else the substitute (vikar), else a delelege.",
    )
    def gp(self, info: Info) -> HealthPersonnelRef | None:
        """Return the serving doctor at the assignment's date."""
        return edge(self, info, {}, _assignment_gp)  # type: ignore[no-any-return]


async def _person_gp(info: Info, parents: list[PersonFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    rows = await info.context.loaders.membership_by_nin_at.load_many([(str(p.nin), on) for p in parents])
    return [None if row is None else GpAssignment.from_row(row, on) for row in rows]


async def _gp_history(info: Info, parents: list[PersonFlr]) -> list[Any]:
    groups = await info.context.loaders.memberships_by_nin.load_many([str(p.nin) for p in parents])
    return [[GpAssignment.from_row(row, info.context.today) for row in rows] for rows in groups]


@strawberry.type
class PersonFlr:
    """FLR's fields on Person."""

    nin: strawberry.ID

    @personal(
        GP, description="The person's GP list at a date (default today); null when not on a list.", batch=_person_gp
    )
    def gp(self, info: Info, at: date | None = None) -> GpAssignment | None:
        """Return the list membership valid at the date."""
        return edge(self, info, {"at": at}, _person_gp)  # type: ignore[no-any-return]

    @personal(GP, description="Every GP list the person has been on, newest first.", batch=_gp_history)
    def gp_history(self, info: Info) -> list[GpAssignment] | None:
        """Return the person's list memberships."""
        return edge(self, info, {}, _gp_history)  # type: ignore[no-any-return]


async def _doctor_contracts(info: Info, parents: list[HealthPersonnelFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    periods = await info.context.loaders.periods_by_hpr.load_many([p.hpr_number for p in parents])
    wanted = [list(dict.fromkeys(p.contract_id for p in rows if is_valid_on(p, on))) for rows in periods]
    found = iter(await refs.gp_contracts(info, [cid for ids in wanted for cid in ids]))
    return [[c for _ in ids if (c := next(found)) is not None] for ids in wanted]


async def _doctor_periods(info: Info, parents: list[HealthPersonnelFlr]) -> list[Any]:
    groups = await info.context.loaders.periods_by_hpr.load_many([p.hpr_number for p in parents])
    return [[GpPeriod.from_row(p) for p in rows] for rows in groups]


@strawberry.type
class HealthPersonnelFlr:
    """FLR's fields on HealthPersonnel."""

    hpr_number: int

    @edge_field(
        _doctor_contracts,
        description="The GP contracts the doctor serves at a date (default today), in any relationship.",
    )
    def gp_contracts(self, info: Info, at: date | None = None) -> list[GpContract]:
        """Return the contracts with a GP period of this doctor valid at the date."""
        return edge(self, info, {"at": at}, _doctor_contracts)  # type: ignore[no-any-return]

    @edge_field(_doctor_periods, description="Every period the doctor has had on a GP contract, oldest first.")
    def gp_periods(self, info: Info) -> list[GpPeriod]:
        """Return the doctor's GP periods."""
        return edge(self, info, {}, _doctor_periods)  # type: ignore[no-any-return]


async def _office_contracts(info: Info, parents: list[OrganizationFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    groups = await info.context.loaders.contracts_by_office.load_many([str(p.org_number) for p in parents])
    return [[GpContract.from_row(row) for row in rows if is_valid_on(row, on)] for rows in groups]


@strawberry.type
class OrganizationFlr:
    """FLR's fields on Organization."""

    org_number: strawberry.ID

    @edge_field(_office_contracts, description="The GP contracts of this office valid at a date (default today).")
    def gp_contracts(self, info: Info, at: date | None = None) -> list[GpContract]:
        """Return the office's contracts valid at the date."""
        return edge(self, info, {"at": at}, _office_contracts)  # type: ignore[no-any-return]


@strawberry.type
class FlrQuery:
    """FLR's root fields."""

    @strawberry.field(description="A GP contract by id.")
    async def gp_contract(self, info: Info, id: strawberry.ID) -> GpContract | None:  # noqa: A002 - CONTRACT.md's name
        """Return a contract, or null when unknown."""
        return await root(info, await refs.one(refs.gp_contracts, info, _contract_id(id)))

    @strawberry.field(
        description="GP contracts valid at a date (default today), by id, optionally in one municipality or open only."
    )
    async def gp_contracts(
        self,
        info: Info,
        municipality: str | None = None,
        open_only: bool = False,
        at: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[GpContract]:
        """Return a page of contracts and how many match."""
        check_municipality(municipality)
        size, after_id = page_size(first), decode_cursor("contract", after)
        statement = contracts_query(municipality, open_only, at or info.context.today)
        rows, total = await contracts_page(info.context.db, statement, after_id, size)
        page = connection("contract", [(row.id, GpContract.from_row(row)) for row in rows], size, total, after_id)
        await preload(info, [page])
        return page
