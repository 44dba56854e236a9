"""FLR (Fastlegeregisteret) in the graph: GP contracts (lists), GP periods, and a person's GP over time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Final

import strawberry
from graphql import GraphQLError
from sqlalchemy import select

from helsegraf.authz.opaque import InvalidOpaqueIdError
from helsegraf.authz.requirements import GP, PATIENT_LIST
from helsegraf.execution.preload import looks_below, preload, root
from helsegraf.loaders.base import is_valid_on
from helsegraf.loaders.flr import (
    contract_ids_in_postal_code,
    contracts_by_ids_page,
    contracts_page,
    contracts_query,
    gps_on_contracts,
)
from helsegraf.registers import FLR
from helsegraf.schema import refs
from helsegraf.schema.base import (
    Connection,
    Info,
    Refused,
    check_list,
    check_municipality,
    connection,
    decode_cursor,
    echo,
    edge_field,
    guard_entity,
    int_key,
    page_size,
    personal,
    user_error,
)

if TYPE_CHECKING:
    from helsegraf.schema.assembly import GpAssignment, HealthPersonnel, Organization, Person
    from helsegraf.schema.kodeverk import Code, Municipality

HealthPersonnelRef = Annotated["HealthPersonnel", strawberry.lazy("helsegraf.schema.assembly")]
OrganizationRef = Annotated["Organization", strawberry.lazy("helsegraf.schema.assembly")]
PersonRef = Annotated["Person", strawberry.lazy("helsegraf.schema.assembly")]
GpAssignmentRef = Annotated["GpAssignment", strawberry.lazy("helsegraf.schema.assembly")]
MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
STATUS, MEMBERSHIP_REASON = "7751", "7754"  # flrv2 status code; begin and end reasons of list memberships


@strawberry.enum(description="A day of the week (FLR's DayOfWeek).")
class DayOfWeek(Enum):
    """The days a GP works on a list."""

    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"


@strawberry.type(description="A code FLR sends with its text, where the code system is not one the graph loads.")
class FlrCode:
    """A Code as FLR sent it."""

    code: str = strawberry.field(description="The code value.")
    text: str | None = strawberry.field(description="The code's text as FLR sent it.")


@strawberry.type(description="An out-of-office location (utekontor) where the list's GP also receives patients.")
class OutOfOfficeLocation:
    """A place and period."""

    description: str | None = strawberry.field(description="What the location is.")
    street: str | None = strawberry.field(description="Street address.")
    postal_code: str | None = strawberry.field(description="Four-digit postal code.")
    postal_place: str | None = strawberry.field(description="Postal place.")
    valid_from: date = strawberry.field(description="First day in use.")
    valid_to: date | None = strawberry.field(description="Day it closed (exclusive); null while in use.")


MEMBERSHIP: Final = "membership"  # the kind of a list membership's opaque id (authz/opaque.py)
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
    working_on_days: list[DayOfWeek] | None = strawberry.field(
        default=None, description="The weekdays the doctor works on this list (WorkingOnDays); null when FLR has none."
    )
    valid_from: date = strawberry.field(description="First day of the period.")
    valid_to: date | None = strawberry.field(description="Day the period ended (exclusive); null while it runs.")
    gp: HealthPersonnelRef = edge_field(_period_gp, description="The doctor (from HPR).")
    substitute_for: HealthPersonnelRef | None = edge_field(
        _substitute_for, description="For a vikar: the fastlege substituted for (from HPR)."
    )

    @classmethod
    def from_row(cls, row: Any) -> GpPeriod:
        """Build from an FLR row."""
        return cls(
            hpr_number=row.hpr_number,
            relationship=GpRelationship(row.relationship),
            substitute_for_hpr_number=row.substitute_for_hpr_number,
            working_percentage=row.working_percentage,
            working_on_days=[DayOfWeek(d) for d in row.working_on_days.split(",") if d]
            if row.working_on_days
            else None,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )


async def _status(info: Info, parents: list[GpContract]) -> list[Any]:
    return await refs.codes(info, STATUS, [p.status_code for p in parents])


async def _coop(info: Info, parents: list[GpContract]) -> list[Any]:
    groups = await info.context.loaders.coop_by_contract.load_many([int(p.id) for p in parents])
    found = iter(await refs.municipalities(info, [r.municipality_code for rows in groups for r in rows]))
    return [[m for _ in rows if (m := next(found)) is not None] for rows in groups]


async def _out_of_office(info: Info, parents: list[GpContract]) -> list[Any]:
    groups = await info.context.loaders.out_of_office_by_contract.load_many([int(p.id) for p in parents])
    return [
        [
            OutOfOfficeLocation(
                description=r.description,
                street=r.street,
                postal_code=r.postal_code,
                postal_place=r.postal_place,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in rows
        ]
        for rows in groups
    ]


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
    terms: list[tuple[bool | None, int | None]] = [(p.is_open, p.max_patients) for p in parents]
    if at is not None:  # the listetak and open status of that date (flr_gp_contract_terms), else the contract's own
        periods = await info.context.loaders.terms_by_contract.load_many([int(p.id) for p in parents])
        for i, rows in enumerate(periods):
            valid = next((t for t in rows if is_valid_on(t, at)), None)
            if valid is not None:
                terms[i] = (valid.is_open, valid.max_patients)
    return [
        max(0, max_patients - n) if is_open and max_patients is not None else 0
        for (is_open, max_patients), n in zip(terms, sizes, strict=True)
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
    size, after_id = page_size(first), decode_cursor(info, MEMBERSHIP, after)
    on = at or info.context.today
    loaders = info.context.loaders
    pages = await loaders.patients_by_contract.load_many([(int(p.id), on, after_id or 0, size) for p in parents])
    totals = await loaders.list_size_by_contract_at.load_many([(int(p.id), on) for p in parents])
    # A listed patient is a person on the list whether or not PREG has them: the list says who is on it.
    found = iter(await refs.persons(info, [row.nin for rows in pages for row in rows]))
    result = []
    for rows, total in zip(pages, totals, strict=True):
        items = [(row.id, next(found) or refs.person_stub(row.nin)) for row in rows]
        result.append(connection(info, MEMBERSHIP, items, size, int(total), after_id))
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
    fixed_salary: bool | None = strawberry.field(
        default=None, description="Whether the GP on the list has a fixed salary from the municipality (fastlønn)."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day of the contract.")
    valid_to: date | None = strawberry.field(default=None, description="Day the contract ended (exclusive).")
    status_code: strawberry.Private[str | None] = None
    patients_on_waiting_list: int | None = strawberry.field(
        default=None, description="How many wait for a place on the list (PatientsOnWaitingList)."
    )
    common_list: bool | None = strawberry.field(
        default=None, description="Whether the list takes part in a common list (ParticipatesOnCommonList)."
    )
    agreement_date: date | None = strawberry.field(default=None, description="When the agreement was made.")
    end_reason: FlrCode | None = strawberry.field(default=None, description="Why the contract ended (EndReason).")
    updated_on: datetime | None = strawberry.field(default=None, description="When FLR last changed the contract.")
    status: CodeRef | None = edge_field(
        _status,
        description="The contract's status as FLR codes it (code system 7751; FAAA: open for new patients), "
        "beside isOpen.",
    )
    coop_municipalities: list[MunicipalityRef] = edge_field(
        _coop, description="Municipalities the list co-operates with (CoopMunicipalities)."
    )
    out_of_office_locations: list[OutOfOfficeLocation] = edge_field(
        _out_of_office, description="Out-of-office locations (utekontor) of the list's GP."
    )
    office: OrganizationRef | None = edge_field(_office, description="The GP office (legekontor), from BED.")
    municipality: MunicipalityRef | None = edge_field(
        _contract_municipality, description="The municipality (kommune) the list belongs to."
    )
    list_size: int = edge_field(_list_size, description="How many patients are on the list at a date (default today).")
    places_available: int = edge_field(
        _places, description="Free places on an open list at a date (listetak minus list size); 0 when closed."
    )
    gps: list[GpPeriod] = edge_field(_gps, description="The doctors serving the list at a date (default today).")
    gp_periods: list[GpPeriod] = edge_field(
        _all_periods, description="Every doctor's period on the list, oldest first (the list's history)."
    )
    patients: Connection[PersonRef] | None = personal(
        PATIENT_LIST,
        description="The patients on the list at a date (default today), by list membership.",
        batch=_patients,
        relates=True,
    )

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
            fixed_salary=row.fixed_salary,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            status_code=row.status,
            patients_on_waiting_list=row.patients_on_waiting_list,
            common_list=row.common_list,
            agreement_date=row.agreement_date,
            end_reason=FlrCode(code=row.end_reason, text=row.end_reason_text) if row.end_reason else None,
            updated_on=row.updated_on,
        )

    @classmethod
    def stub(cls, contract_id: int) -> GpContract:
        """Build a key-only reference."""
        return cls(id=strawberry.ID(str(contract_id)))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> GpContract | None:  # noqa: A002 - the key's name
        """Resolve a Federation reference."""
        return await refs.one(refs.gp_contracts, info, _contract_id(id))


def _numeric(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS):
        raise user_error(f"id: {echo(value)} is not a {what} id (up to {MAX_ID_DIGITS} digits)")
    return int(value)


MAX_ID_DIGITS: Final = 18  # every id fits PostgreSQL's bigint


def _contract_id(value: str) -> int:
    return _numeric(value, "GP contract")


async def _assignment_contract(info: Info, parents: list[GpAssignmentFlr]) -> list[Any]:
    found = await refs.gp_contracts(info, [p.contract_id for p in parents])
    for assignment, contract in zip(parents, found, strict=True):
        if contract is None:
            raise _not_found(f"GP contract {assignment.contract_id}")
    return found


async def _assignment_gp(info: Info, parents: list[GpAssignmentFlr]) -> list[Any]:
    periods = await info.context.loaders.periods_by_contract.load_many([p.contract_id for p in parents])
    today = info.context.today
    chosen: dict[tuple[int, date], Any] = {}  # a list's patients share its serving doctor: chosen once per date
    wanted = []
    for p, rows in zip(parents, periods, strict=True):
        key = (p.contract_id, p.on or today)
        serving = chosen[key] if key in chosen else chosen.setdefault(key, serving_period(rows, key[1]))
        wanted.append(serving.hpr_number if serving else None)
    return await refs.health_personnel(info, wanted)


async def _begin_reason(info: Info, parents: list[GpAssignmentFlr]) -> list[Any]:
    return await refs.codes(info, MEMBERSHIP_REASON, [p.begin_code for p in parents])


async def _end_reason(info: Info, parents: list[GpAssignmentFlr]) -> list[Any]:
    return await refs.codes(info, MEMBERSHIP_REASON, [p.end_code for p in parents])


def _membership_id(self: GpAssignmentFlr) -> strawberry.ID:
    """Return a membership's opaque id, sealed when first asked for (most answers never select it)."""
    if self.opaque_id is None:
        self.opaque_id = self.sealer.seal(MEMBERSHIP, self.membership_id)
    return strawberry.ID(self.opaque_id)


@strawberry.type
class GpAssignmentFlr:
    """FLR's part of GpAssignment: which list a person was on, when, and who their GP was.

    The id is opaque (sealed, see authz/opaque.py): list memberships have serial ids in FLR, and a
    membership is personal data. Resolving one through `_entities` is decided like `Person.gp`.
    """

    id: strawberry.ID = strawberry.field(resolver=_membership_id, description="The list membership's id (opaque).")
    opaque_id: strawberry.Private[str | None] = None  # the id, once sealed (or as a Federation key gave it)
    membership_id: strawberry.Private[int] = 0  # FLR's serial id of the membership
    sealer: strawberry.Private[Any] = None
    contract_id: strawberry.Private[int] = 0
    person_nin: strawberry.Private[str | None] = None
    gp_her_id: int | None = strawberry.field(
        default=None, description="HER-id that addresses the GP (or the list's substitute when it has no fastlege)."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day on the list.")
    valid_to: date | None = strawberry.field(default=None, description="Day the person left the list (exclusive).")
    on: strawberry.Private[date | None] = None
    begin_code: strawberry.Private[str | None] = None
    end_code: strawberry.Private[str | None] = None
    updated_on: datetime | None = strawberry.field(default=None, description="When FLR last changed the membership.")
    contract: GpContract = edge_field(_assignment_contract, description="The GP contract (list).")
    begin_reason: CodeRef | None = edge_field(
        _begin_reason, description="Why the person joined the list (BeginCode, code system 7754)."
    )
    end_reason: CodeRef | None = edge_field(
        _end_reason, description="Why the person left the list (EndCode, 7754); null while on it."
    )
    gp: HealthPersonnelRef | None = edge_field(
        _assignment_gp,
        description="The doctor serving the list: the fastlege, else the substitute (vikar), else a delelege.",
    )

    @property
    def subject(self) -> str | None:
        """Return whose list membership this is (unknown in a subgraph without FLR)."""
        return self.person_nin

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID, gpHerId: int | None = None) -> Any:  # noqa: A002, N803
        """Resolve a Federation reference: decided like `Person.gp` for the membership's person.

        In a subgraph without FLR it is the key with its required gpHerId (nothing personal is read).
        A caller who may not see the membership gets the same refusal whether or not it exists.
        """
        if FLR not in info.context.registers:
            return cls(opaque_id=str(id), gp_her_id=gpHerId)
        guard = info.context.guard
        refusal = guard.stranger_reason(GP)
        if refusal is not None and guard.pid is None:
            return Refused(refusal)  # no membership could be theirs: refused before anything is read
        try:
            membership_id = info.context.sealer.open(MEMBERSHIP, str(id))
        except InvalidOpaqueIdError:
            membership_id = -1  # looked up all the same, so that an id that was never handed out costs the same
        row = await info.context.loaders.membership_by_id.load(membership_id)
        if row is None:
            return Refused(refusal) if refusal else None
        assignment = cls.from_row(info, row, info.context.today)
        return guard_entity(info, GP, assignment)

    @classmethod
    def from_row(cls, info: Info, row: Any, on: date) -> Any:
        """Build from a list membership row, looking at the list as it was on `on`."""
        if row.valid_to is not None and row.valid_to <= on:
            on = row.valid_to - timedelta(days=1)
        return refs.entity("GpAssignment")(
            membership_id=row.id,
            sealer=info.context.sealer,
            contract_id=row.contract_id,
            person_nin=row.nin,
            gp_her_id=row.gp_her_id,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            on=max(on, row.valid_from),
            begin_code=row.begin_code,
            end_code=row.end_code,
            updated_on=row.updated_on,
        )


# A GP assignment's edges that read its list's contract or GP periods from FLR.
LIST_EDGES: Final = frozenset({"contract", "gp"})


def _memberships_at(info: Info, below: frozenset[str]) -> Any:
    """Return the loader of memberships at a date: with their lists when the edges below go on to them."""
    loaders = info.context.loaders
    return loaders.membership_with_list_by_nin_at if below & LIST_EDGES else loaders.membership_by_nin_at


@looks_below
async def _person_gp(
    info: Info, parents: list[PersonFlr], at: date | None = None, *, below: frozenset[str] = frozenset()
) -> list[Any]:
    on = at or info.context.today
    rows = await _memberships_at(info, below).load_many([(str(p.nin), on) for p in parents])
    return [None if row is None else GpAssignmentFlr.from_row(info, row, on) for row in rows]


@looks_below
async def _gp_history(info: Info, parents: list[PersonFlr], *, below: frozenset[str] = frozenset()) -> list[Any]:
    loaders = info.context.loaders
    loader = loaders.memberships_with_lists_by_nin if below & LIST_EDGES else loaders.memberships_by_nin
    groups = await loader.load_many([str(p.nin) for p in parents])
    return [[GpAssignmentFlr.from_row(info, row, info.context.today) for row in rows] for rows in groups]


async def _confirm_gp(info: Info, parents: list[PersonFlr], hpr_number: int, at: date | None = None) -> list[Any]:
    hpr_number = int_key("hprNumber", hpr_number)
    on = at or info.context.today
    rows = await info.context.loaders.membership_with_list_by_nin_at.load_many([(str(p.nin), on) for p in parents])
    contract_ids = [row.contract_id for row in rows if row is not None]
    periods = dict(
        zip(contract_ids, await info.context.loaders.periods_by_contract.load_many(contract_ids), strict=True)
    )
    return [
        row is not None and any(p.hpr_number == hpr_number and is_valid_on(p, on) for p in periods[row.contract_id])
        for row in rows
    ]


@looks_below
async def _gp_at_time(info: Info, parents: list[GpAtTime], *, below: frozenset[str] = frozenset()) -> list[Any]:
    rows = await _memberships_at(info, below).load_many([(str(p.nin), p.at) for p in parents])
    return [
        None if row is None else GpAssignmentFlr.from_row(info, row, p.at) for p, row in zip(parents, rows, strict=True)
    ]


@strawberry.input(description="A person and a date to ask FLR about (NinWithTimestamp).")
class NinAtTime:
    """One question of a batch."""

    nin: strawberry.ID = strawberry.field(description="The person's national identity number.")
    at: date = strawberry.field(description="The date asked about.")


@strawberry.type(description="A person's GP list on a date they were asked about (GetPatientsGPDetailsAtTime).")
class GpAtTime:
    """The answer to one question of a batch."""

    nin: strawberry.ID = strawberry.field(description="The identity number asked about.")
    at: date = strawberry.field(description="The date asked about.")
    gp: GpAssignmentRef | None = personal(
        GP, description="The person's GP list on that date; null when not on a list then.", batch=_gp_at_time
    )

    @property
    def subject(self) -> str:
        """Return whose GP relation this is."""
        return str(self.nin)


@strawberry.type
class PersonFlr:
    """FLR's fields on Person."""

    nin: strawberry.ID
    has_gp: bool | None = personal(
        GP,
        description="Whether the doctor with this HPR number served the person's GP list on a date (default today), "
        "in any relationship (FLR's ConfirmGP).",
        batch=_confirm_gp,
    )
    gp: GpAssignmentRef | None = personal(
        GP, description="The person's GP list at a date (default today); null when not on a list.", batch=_person_gp
    )
    gp_history: list[GpAssignmentRef] | None = personal(
        GP, description="Every GP list the person has been on, newest first.", batch=_gp_history
    )


async def _doctor_contracts(info: Info, parents: list[HealthPersonnelFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    periods = await info.context.loaders.periods_by_hpr.load_many([p.hpr_number for p in parents])
    wanted = [list(dict.fromkeys(p.contract_id for p in rows if is_valid_on(p, on))) for rows in periods]
    found = iter(await refs.gp_contracts(info, [cid for ids in wanted for cid in ids]))
    return [[c for _ in ids if (c := next(found)) is not None] for ids in wanted]


async def _doctor_periods(info: Info, parents: list[HealthPersonnelFlr]) -> list[Any]:
    groups = await info.context.loaders.periods_by_hpr.load_many([p.hpr_number for p in parents])
    return [[GpPeriod.from_row(p) for p in rows] for rows in groups]


GENDER: Final = "3101"  # kjønn, the code system of FLR's Person.Sex (as of HPR's gender)
GP_GENDER_CODES: Final = {"MALE": "1", "FEMALE": "2"}
GP_RELATIONSHIPS: Final = ("LPFL", "LPDL")  # fastlege and delelege: the GPs (stats/sql.py counts the same)


def gp_gender_period(periods: list[Any], on: date) -> Any | None:
    """Return the period whose gender a doctor's `gpGender` gives at a date: a GP's, valid then, with a gender."""
    serving = [p for p in periods if p.relationship in GP_RELATIONSHIPS and is_valid_on(p, on) and p.gp_gender]
    return serving[-1] if serving else None  # the newest (periods come oldest first)


async def _doctor_gp_gender(info: Info, parents: list[HealthPersonnelFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    periods = await info.context.loaders.periods_by_hpr.load_many([p.hpr_number for p in parents])
    # A date after today: a doctor whose GP period is yet to begin is not a GP yet (and the statistics,
    # which count GPs by gender, describe no date after today either).
    found = [gp_gender_period(rows, on) if on <= info.context.today else None for rows in periods]
    return await refs.codes(info, GENDER, [GP_GENDER_CODES.get(p.gp_gender) if p else None for p in found])


@strawberry.type
class HealthPersonnelFlr:
    """FLR's fields on HealthPersonnel."""

    hpr_number: int
    gp_gender: CodeRef | None = edge_field(
        _doctor_gp_gender,
        description="The doctor's gender as FLR holds it for a GP (the GP's Sex, code system 3101), while the doctor "
        "serves a GP list as fastlege or delelege at a date (default today); null for a doctor who serves none then "
        "(a substitute, a GP who has left or is yet to begin, any other health worker) and for a date after today. "
        "Public: a GP's gender is shown to everyone "
        "choosing a GP (helsenorge) and GPs by gender are counted exactly in `statistics`; HPR's `gender` of a "
        "health worker stays under hpr:extended.",
    )
    gp_contracts: list[GpContract] = edge_field(
        _doctor_contracts,
        description="The GP contracts the doctor serves at a date (default today), in any relationship.",
    )
    gp_periods: list[GpPeriod] = edge_field(
        _doctor_periods, description="Every period the doctor has had on a GP contract, oldest first."
    )


async def _office_contracts(info: Info, parents: list[OrganizationFlr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    groups = await info.context.loaders.contracts_by_office.load_many([str(p.org_number) for p in parents])
    return [[GpContract.from_row(row) for row in rows if is_valid_on(row, on)] for rows in groups]


@strawberry.type
class OrganizationFlr:
    """FLR's fields on Organization."""

    org_number: strawberry.ID
    gp_contracts: list[GpContract] = edge_field(
        _office_contracts, description="The GP contracts of this office valid at a date (default today)."
    )


@strawberry.type
class FlrQuery:
    """FLR's root fields."""

    @strawberry.field(
        description="Each person's GP list on the date asked for them (FLR's GetPatientsGPDetailsAtTime): at most "
        "1,000 questions, answered in order. An invalid number is null at its index, with a BAD_USER_INPUT error there."
    )
    async def gps_at_time(self, info: Info, queries: list[NinAtTime]) -> list[GpAtTime | None]:
        """Return one answer per question; an invalid identity number is an error in its own place."""
        from helsegraf.schema.preg import nin_argument  # noqa: PLC0415 - PREG's rule for identity numbers

        check_list("queries", queries)
        answers: list[Any] = []
        for i, query in enumerate(queries):
            try:
                nin = nin_argument(f"queries[{i}].nin", str(query.nin), info.context.today)
            except GraphQLError as error:
                answers.append(error)
                continue
            answers.append(GpAtTime(nin=strawberry.ID(nin), at=query.at))
        await preload(info, [a for a in answers if isinstance(a, GpAtTime)])
        return answers

    @strawberry.field(description="A GP contract by id.")
    async def gp_contract(self, info: Info, id: strawberry.ID) -> GpContract | None:  # noqa: A002 - CONTRACT.md's name
        """Return a contract, or null when unknown."""
        return await root(info, await refs.one(refs.gp_contracts, info, _contract_id(id)))

    @strawberry.field(
        description="GP contracts valid at a date (default today), by id, optionally in one municipality, open only, "
        "or operating in a postal code (FLR's GetGPContractIdsOperatingInPostalCode: `postalCode` is 2 to 4 digits, "
        "a prefix; a contract operates where its office is and where it has a utekontor)."
    )
    async def gp_contracts(
        self,
        info: Info,
        municipality: str | None = None,
        open_only: bool = False,
        at: date | None = None,
        first: int | None = None,
        after: str | None = None,
        postal_code: str | None = None,
    ) -> Connection[GpContract]:
        """Return a page of contracts and how many match."""
        check_municipality(municipality)
        prefix = check_postal_prefix(postal_code)
        size, after_id = page_size(first), decode_cursor(info, "contract", after)
        on = at or info.context.today
        if prefix is not None:
            ids = await contract_ids_in_postal_code(info.context.db, prefix, on)
            rows, total = await contracts_by_ids_page(info.context.db, ids, municipality, open_only, on, after_id, size)
        else:
            statement = contracts_query(municipality, open_only, on)
            rows, total = await contracts_page(info.context.db, statement, after_id, size)
        page = connection(info, "contract", [(row.id, GpContract.from_row(row)) for row in rows], size, total, after_id)
        await preload(info, [page])
        return page


def _gp_names() -> Any:
    from helsegraf.loaders.hpr import PERSON  # noqa: PLC0415 - HPR's table

    return select(PERSON.c.hpr_number, PERSON.c.given_name, PERSON.c.middle_name, PERSON.c.family_name)


GP_NAMES: Final = _gp_names()  # keyed by HPR number (a module-level statement: the key filter is cached on it)
MIN_NAME, MAX_NAME, MAX_NAME_WORDS = 2, 100, 5
POSTAL_PREFIX: Final = re.compile(r"[0-9]{2,4}")
NAME: Final = re.compile(r"[^\W\d_]+(?:[ '.\-][^\W\d_]+)*")


def check_postal_prefix(postal_code: str | None) -> str | None:
    """Return a postal-code prefix (2 to 4 digits, FLR's rule), refusing anything else as BAD_USER_INPUT."""
    if postal_code is None:
        return None
    if not POSTAL_PREFIX.fullmatch(postal_code):
        raise user_error(f"postalCode: {echo(postal_code)} is not 2 to 4 digits of a postal code (e.g. 0150 or 01)")
    return postal_code


def check_gp_name(name: str | None) -> list[str] | None:
    """Return a name's words (case-folded), refusing what is not a name as BAD_USER_INPUT."""
    if name is None:
        return None
    words = name.split()
    text = " ".join(words)
    if not MIN_NAME <= len(text) <= MAX_NAME or len(words) > MAX_NAME_WORDS or not NAME.fullmatch(text):
        raise user_error(
            f"name: {echo(name)} is not a name to search for ({MIN_NAME} to {MAX_NAME} characters, at most "
            f"{MAX_NAME_WORDS} words of letters, with hyphens, apostrophes or periods inside)"
        )
    return [w.casefold() for w in words]


def _full_name(row: Any) -> str:
    return " ".join(p for p in (row.given_name, row.middle_name, row.family_name) if p).casefold()


@strawberry.type
class GpSearchQuery:
    """FLR's SearchForGP over the graph: FLR's lists with HPR's names."""

    @strawberry.field(
        description="GPs serving a list at a date (default today), by name (every word found in the doctor's name, "
        "any case), municipality (the list's), postal code (2 to 4 digits, where the list operates: its office or "
        "a utekontor) and open lists only: FLR's SearchForGP. At least one of name, municipality and postalCode; "
        "ordered by HPR number, paged (first at most 100)."
    )
    async def search_gps(
        self,
        info: Info,
        name: str | None = None,
        municipality: str | None = None,
        postal_code: str | None = None,
        open_only: bool = False,
        at: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[HealthPersonnelRef]:
        """Return a page of the GPs that match and how many match."""
        from helsegraf.loaders.hpr import PERSON  # noqa: PLC0415 - HPR's table, read in HPR's database
        from helsegraf.registers import HPR  # noqa: PLC0415

        words = check_gp_name(name)
        check_municipality(municipality)
        prefix = check_postal_prefix(postal_code)
        if words is None and municipality is None and prefix is None:
            raise user_error("searchGps: give at least one of name, municipality and postalCode")
        size, after_id = page_size(first), decode_cursor(info, "gp", after)
        db, on = info.context.db, at or info.context.today
        if prefix is not None:
            ids = await contract_ids_in_postal_code(db, prefix, on)
            rows, _ = await contracts_by_ids_page(db, ids, municipality, open_only, on, None, len(ids))
            contract_ids = [r.id for r in rows]
        else:
            contract_ids = [r.id for r in await db.fetch(FLR, contracts_query(municipality, open_only, on))]
        doctors = await gps_on_contracts(db, sorted(contract_ids), on)
        if words is not None:
            named = await db.fetch_by_keys(HPR, GP_NAMES, PERSON.c.hpr_number, sorted(doctors))
            doctors = {r.hpr_number for r in named if all(w in _full_name(r) for w in words)}
        hits = sorted(doctors)
        later = [h for h in hits if after_id is None or h > after_id][: size + 1]
        found = await refs.health_personnel(info, later)
        items = [(h, doctor) for h, doctor in zip(later, found, strict=True) if doctor is not None]
        page = connection(info, "gp", items, size, len(hits), after_id)
        await preload(info, [page])
        return page
