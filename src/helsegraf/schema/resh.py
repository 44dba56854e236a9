"""RESH in the graph: specialist-care units and their trees, at any date."""

from __future__ import annotations

from datetime import date
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
SERVICES = "8668"
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


async def _services(info: Info, parents: list[ReshUnit]) -> list[Any]:
    groups = await info.context.loaders.services_by_unit.load_many([p.resh_id for p in parents])
    found = iter(await refs.codes(info, SERVICES, [row.code for rows in groups for row in rows]))
    return [[c for _ in rows if (c := next(found)) is not None] for rows in groups]


@strawberry.federation.type(keys=["reshId"], description="A unit in the specialist health service (RESH).")
class ReshUnit:
    """A health trust, hospital, clinic, department or section; its RESH-id never changes, even when it moves."""

    resh_id: int = strawberry.field(description="The RESH-id.")
    name: str | None = strawberry.field(default=None, description="The unit's name.")
    short_name: str | None = strawberry.field(default=None, description="A short name, where one is registered.")
    unit_type: str | None = strawberry.field(
        default=None, description="RHF, HF, HOSPITAL, CLINIC, DEPARTMENT or SECTION."
    )
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
        _services, description="The services (tjenestetyper, code system 8668) the unit provides."
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
        return await root(info, await refs.one(refs.resh_units, info, resh_id))
