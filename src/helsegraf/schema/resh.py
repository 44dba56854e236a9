"""RESH in the graph: specialist-care units and their trees, at any date."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.execution.preload import root
from helsegraf.loaders.base import is_valid_on
from helsegraf.schema import refs
from helsegraf.schema.base import Info, edge_field, int_key

if TYPE_CHECKING:
    from helsegraf.schema.assembly import Organization
    from helsegraf.schema.kodeverk import Code

OrganizationRef = Annotated["Organization", strawberry.lazy("helsegraf.schema.assembly")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
SERVICES = "8668"  # the code system of service rows from before resh_0002 (they carry none)
LEVEL, DESIGNATION = "8628", "8624"  # organisatorisk nivå, organisatorisk betegnelse (OK 2007)
MAX_DEPTH = 20  # deeper than any real tree; stops a cycle in bad data from looping


async def _parent_ids(info: Info, resh_ids: list[int], on: date) -> list[int | None]:
    groups = await info.context.loaders.parent_links_by_unit.load_many(resh_ids)
    return [next((link.parent_resh_id for link in links if is_valid_on(link, on)), None) for links in groups]


async def _parent(info: Info, parents: list[ReshUnit], at: date | None = None) -> list[Any]:
    return await refs.resh_units(info, await _parent_ids(info, [p.resh_id for p in parents], at or info.context.today))


async def _children(info: Info, parents: list[ReshUnit], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    groups = await info.context.loaders.child_links_by_parent.load_many([p.resh_id for p in parents])
    wanted = [[link.resh_id for link in links if is_valid_on(link, on)] for links in groups]
    found = iter(await refs.resh_units(info, [rid for ids in wanted for rid in ids]))
    return [[u for _ in ids if (u := next(found)) is not None] for ids in wanted]


async def _ancestors(info: Info, parents: list[ReshUnit], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    chains: list[list[int]] = [[] for _ in parents]
    current: list[int | None] = [p.resh_id for p in parents]
    for _ in range(MAX_DEPTH):
        live = [i for i, unit in enumerate(current) if unit is not None]
        if not live:
            break
        found = await _parent_ids(info, [current[i] for i in live], on)  # type: ignore[misc]
        for i, parent in zip(live, found, strict=True):
            current[i] = parent if parent is not None and parent not in chains[i] else None
            if current[i] is not None:
                chains[i].append(parent)  # type: ignore[arg-type]
    units = iter(await refs.resh_units(info, [rid for chain in chains for rid in chain]))
    return [[u for _ in chain if (u := next(units)) is not None] for chain in chains]


async def _parent_history(info: Info, parents: list[ReshUnit]) -> list[Any]:
    groups = await info.context.loaders.parent_links_by_unit.load_many([p.resh_id for p in parents])
    return [
        [ReshParentLink(parent_resh_id=k.parent_resh_id, valid_from=k.valid_from, valid_to=k.valid_to) for k in links]
        for links in groups
    ]


async def _organization(info: Info, parents: list[ReshUnit]) -> list[Any]:
    return await refs.organizations(info, [p.org_number for p in parents])


async def _service_codes(info: Info, rows: list[Any]) -> list[Any]:
    """Return each service row's Code, by the code system the row carries (one statement per system)."""
    by_system: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_system.setdefault(row.code_system or SERVICES, []).append(i)
    found: list[Any] = [None] * len(rows)
    for system, positions in by_system.items():
        for i, code in zip(positions, await refs.codes(info, system, [rows[i].code for i in positions]), strict=True):
            found[i] = code
    return found


async def _services(info: Info, parents: list[ReshUnit]) -> list[Any]:
    groups = await info.context.loaders.services_by_unit.load_many([p.resh_id for p in parents])
    found = iter(await _service_codes(info, [row for rows in groups for row in rows]))
    return [[c for _ in rows if (c := next(found)) is not None] for rows in groups]


async def _service_details(info: Info, parents: list[ReshUnit]) -> list[Any]:
    groups = await info.context.loaders.services_by_unit.load_many([p.resh_id for p in parents])
    found = iter(await _service_codes(info, [row for rows in groups for row in rows]))
    return [
        [
            ReshService(code=next(found), owner_resh_id=r.owner_resh_id, valid_from=r.valid_from, valid_to=r.valid_to)
            for r in rows
        ]
        for rows in groups
    ]


async def _level(info: Info, parents: list[ReshUnit]) -> list[Any]:
    return await refs.codes(info, LEVEL, [p.level_code for p in parents])


async def _designation(info: Info, parents: list[ReshUnit]) -> list[Any]:
    return await refs.codes(info, DESIGNATION, [p.designation_code for p in parents])


async def _treatment_facility(info: Info, parents: list[ReshUnit]) -> list[Any]:
    return await refs.organizations(info, [p.treatment_facility_org_number for p in parents])


async def _top_organization(info: Info, parents: list[ReshUnit]) -> list[Any]:
    return await refs.resh_units(info, [p.top_org_resh_id for p in parents])


async def _service_owner(info: Info, parents: list[ReshService]) -> list[Any]:
    return await refs.resh_units(info, [p.owner_resh_id for p in parents])


@strawberry.type(description="A service a RESH unit provides, with its owner and validity (Service).")
class ReshService:
    """A coded service of a unit."""

    code: CodeRef | None = strawberry.field(description="The service's code, in the code system RESH gives it.")
    owner_resh_id: int | None = strawberry.field(description="RESH-id of the unit that owns the service.")
    valid_from: date | None = strawberry.field(description="First day the service is provided.")
    valid_to: date | None = strawberry.field(description="Day it stopped (exclusive); null while provided.")
    owner: ReshUnit | None = edge_field(_service_owner, description="The unit that owns the service (OwnerReshId).")


@strawberry.federation.type(keys=["reshId"], description="A unit in the specialist health service (RESH).")
class ReshUnit:
    """A health trust, hospital, clinic, department or section; its RESH-id never changes, even when it moves."""

    resh_id: int = strawberry.field(description="The RESH-id.")
    name: str | None = strawberry.field(default=None, description="The unit's name.")
    short_name: str | None = strawberry.field(default=None, description="A short name, where one is registered.")
    unit_type: str | None = strawberry.field(
        default=None,
        description="RHF, HF, HOSPITAL, CLINIC, DEPARTMENT or SECTION.",
        deprecation_reason="A free string of the graph's own; use organizationalLevel (code system 8628) and "
        "organizationalDesignation (8624), the codes RESH holds.",
    )
    level_code: strawberry.Private[str | None] = None
    designation_code: strawberry.Private[str | None] = None
    display_name: str | None = strawberry.field(default=None, description="The name RESH shows (DisplayName).")
    treatment_facility_org_number: str | None = strawberry.field(
        default=None,
        description="Organisation number of the treatment facility (behandlingssted) the unit belongs to: "
        "what NPR and SSB place its activity by (TreatmentFacilityOrganizationNumber).",
    )
    top_org_number: str | None = strawberry.field(
        default=None,
        description="Organisation number of the top organisation, the health trust (TopOrganizationNumber).",
    )
    top_org_resh_id: int | None = strawberry.field(
        default=None, description="RESH-id of the top organisation (TopOrganizationReshId)."
    )
    last_changed: datetime | None = strawberry.field(default=None, description="When RESH last changed the unit.")
    org_number: str | None = strawberry.field(default=None, description="The organisation number it is registered on.")
    valid_from: date | None = strawberry.field(default=None, description="First day of the unit.")
    valid_to: date | None = strawberry.field(default=None, description="Day the unit closed (exclusive).")

    @classmethod
    def from_row(cls, row: Any) -> ReshUnit:
        """Build from a RESH row."""
        return cls(
            resh_id=row.resh_id,
            name=row.name,
            short_name=row.short_name,
            unit_type=row.unit_type,
            org_number=row.org_number,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            level_code=row.organizational_level,
            designation_code=row.organizational_designation,
            display_name=row.display_name,
            treatment_facility_org_number=row.treatment_facility_org_number,
            top_org_number=row.top_org_number,
            top_org_resh_id=row.top_org_resh_id,
            last_changed=row.last_changed,
        )

    @classmethod
    def stub(cls, resh_id: int) -> ReshUnit:
        """Build a key-only reference."""
        return cls(resh_id=resh_id)

    @classmethod
    async def resolve_reference(cls, info: Info, reshId: int) -> ReshUnit | None:  # noqa: N803
        """Resolve a Federation reference (the representation's keys arrive under their GraphQL names)."""
        return await refs.one(refs.resh_units, info, int_key("reshId", reshId))

    parent: ReshUnit | None = edge_field(_parent, description="The unit's parent at a date (default today).")

    children: list[ReshUnit] = edge_field(_children, description="The units under this one at a date (default today).")

    ancestors: list[ReshUnit] = edge_field(
        _ancestors, description="The chain of parents at a date (default today), nearest first, up to the root."
    )

    parent_history: list[ReshParentLink] = edge_field(
        _parent_history, description="Every parent the unit has had, oldest first."
    )

    organization: OrganizationRef | None = edge_field(
        _organization, description="The organisation (from BED) the unit is registered on."
    )

    services: list[CodeRef] = edge_field(
        _services, description="The services' codes, each in the code system RESH gives it (see serviceDetails)."
    )
    service_details: list[ReshService] = edge_field(
        _service_details, description="The services the unit provides, with owner and validity."
    )
    organizational_level: CodeRef | None = edge_field(
        _level, description="The unit's organisational level (organisatorisk nivå, code system 8628)."
    )
    organizational_designation: CodeRef | None = edge_field(
        _designation,
        description="What the unit is called (organisatorisk betegnelse, code system 8624), e.g. Avdeling.",
    )
    treatment_facility: OrganizationRef | None = edge_field(
        _treatment_facility, description="The treatment facility (behandlingssted) as an organisation in BED."
    )
    top_organization: ReshUnit | None = edge_field(
        _top_organization, description="The top organisation (the health trust) as a RESH unit."
    )


async def _link_parent(info: Info, parents: list[ReshParentLink]) -> list[Any]:
    return await refs.resh_units(info, [p.parent_resh_id for p in parents])


@strawberry.type(description="A unit's parent during a period.")
class ReshParentLink:
    """One period of a unit's place in the tree."""

    parent_resh_id: int = strawberry.field(description="RESH-id of the parent.")
    valid_from: date = strawberry.field(description="First day under this parent.")
    valid_to: date | None = strawberry.field(description="Day the unit left this parent (exclusive).")

    parent: ReshUnit | None = edge_field(_link_parent, description="The parent unit.")


async def _org_units(info: Info, parents: list[OrganizationResh]) -> list[Any]:
    groups = await info.context.loaders.units_by_org.load_many([str(p.org_number) for p in parents])
    return [[ReshUnit.from_row(r) for r in rows] for rows in groups]


@strawberry.type
class OrganizationResh:
    """RESH's fields on Organization."""

    org_number: strawberry.ID

    resh_units: list[ReshUnit] = edge_field(
        _org_units, description="The RESH units registered on this organisation number."
    )


@strawberry.type
class ReshQuery:
    """RESH's root fields."""

    @strawberry.field(description="A RESH unit by RESH-id.")
    async def resh_unit(self, info: Info, resh_id: int) -> ReshUnit | None:
        """Return a unit, or null when unknown."""
        return await root(info, await refs.one(refs.resh_units, info, int_key("reshId", resh_id)))
