"""AR (Adresseregisteret) in the graph: communication parties with HER-ids and their electronic addresses."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.execution.preload import root
from helsegraf.schema import refs
from helsegraf.schema.base import Info, edge_field, int_key

if TYPE_CHECKING:
    from helsegraf.schema.assembly import HealthPersonnel, Organization
    from helsegraf.schema.kodeverk import Code, Municipality

HealthPersonnelRef = Annotated["HealthPersonnel", strawberry.lazy("helsegraf.schema.assembly")]
OrganizationRef = Annotated["Organization", strawberry.lazy("helsegraf.schema.assembly")]
MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
ADDRESS_TYPES = "9044"


@strawberry.enum(description="What a communication party is.")
class PartyType(Enum):
    """Organisation, department, service or person."""

    ORGANIZATION = "ORGANIZATION"
    DEPARTMENT = "DEPARTMENT"
    SERVICE = "SERVICE"
    PERSON = "PERSON"


async def _address_type(info: Info, parents: list[ElectronicAddress]) -> list[Any]:
    return await refs.codes(info, ADDRESS_TYPES, [p.type_code for p in parents])


@strawberry.type(description="An electronic address of a communication party (type from code system 9044).")
class ElectronicAddress:
    """An address and its type."""

    type_code: strawberry.Private[str]
    address: str = strawberry.field(description="The address, e.g. an EDI address.")

    type: CodeRef = edge_field(_address_type, description="The address type, e.g. E_EDI.")


async def _parent(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.communication_parties(info, [p.parent_her_id for p in parents])


async def _children(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    groups = await info.context.loaders.parties_by_parent.load_many([p.her_id for p in parents])
    return [[CommunicationParty.from_row(r) for r in rows] for rows in groups]


async def _organization(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.organizations(info, [p.org_number for p in parents])


async def _health_personnel(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.health_personnel(info, [p.hpr_number for p in parents])


def _addresses(text: str | None) -> list[ElectronicAddress]:
    """Parse the `type:address` lines a party row carries."""
    found = []
    for line in (text or "").split("\n"):
        kind, _, address = line.partition(":")
        if address:
            found.append(ElectronicAddress(type_code=kind, address=address))
    return found


async def _municipality(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.municipalities(info, [p.municipality_code for p in parents])


@strawberry.federation.type(
    keys=["herId"], description="A communication party (kommunikasjonspart) in Adresseregisteret."
)
class CommunicationParty:
    """Something on the health network that can receive messages, addressed by its HER-id."""

    her_id: int = strawberry.field(description="The HER-id, the party's address on the health network.")
    name: str | None = strawberry.field(default=None, description="The party's name.")
    type: PartyType | None = strawberry.field(default=None, description="Organisation, department, service or person.")
    parent_her_id: int | None = strawberry.field(default=None, description="HER-id of the party this one belongs to.")
    org_number: str | None = strawberry.field(default=None, description="Organisation number, for organisations.")
    hpr_number: int | None = strawberry.field(default=None, description="HPR number, for persons.")
    active: bool | None = strawberry.field(default=None, description="Whether the party is active.")
    all_electronic_addresses: list[ElectronicAddress] = strawberry.field(
        default_factory=list, description="Every electronic address of the party, with its type."
    )
    municipality_code: strawberry.Private[str | None] = None

    @classmethod
    def from_row(cls, row: Any) -> CommunicationParty:
        """Build from an AR row (which carries the party's addresses)."""
        return cls(
            her_id=row.her_id,
            name=row.name,
            type=PartyType(row.type),
            parent_her_id=row.parent_her_id,
            org_number=row.org_number,
            hpr_number=row.hpr_number,
            active=row.active,
            all_electronic_addresses=_addresses(row.addresses),
            municipality_code=row.municipality_code,
        )

    @strawberry.field(description="The party's EDI addresses (type E_EDI), where messages are delivered.")
    def electronic_addresses(self) -> list[str]:
        """Return the EDI addresses."""
        return [a.address for a in self.all_electronic_addresses if a.type_code == "E_EDI"]

    @classmethod
    def stub(cls, her_id: int) -> CommunicationParty:
        """Build a key-only reference."""
        return cls(her_id=her_id)

    @classmethod
    async def resolve_reference(cls, info: Info, herId: int) -> CommunicationParty | None:  # noqa: N803 - the key
        """Resolve a Federation reference (the representation's keys arrive under their GraphQL names)."""
        return await refs.one(refs.communication_parties, info, int_key("herId", herId))

    parent: CommunicationParty | None = edge_field(
        _parent, description="The party this one belongs to (e.g. a GP's office)."
    )

    children: list[CommunicationParty] = edge_field(_children, description="The parties that belong to this one.")

    organization: OrganizationRef | None = edge_field(
        _organization, description="The organisation (from BED), for organisation parties."
    )

    health_personnel: HealthPersonnelRef | None = edge_field(
        _health_personnel, description="The health worker (from HPR), for person parties."
    )

    municipality: MunicipalityRef | None = edge_field(
        _municipality, description="The municipality the party is registered in."
    )


async def _gp_party(info: Info, parents: list[GpAssignmentAr]) -> list[Any]:
    return await refs.communication_parties(info, [p.gp_her_id for p in parents])


async def _office_party(info: Info, parents: list[GpAssignmentAr]) -> list[Any]:
    wanted = [p.gp_her_id for p in parents]
    rows = await info.context.loaders.parent_party_by_her_id.load_many([w for w in wanted if w is not None])
    found = {row.child_her_id: CommunicationParty.from_row(row) for row in rows if row is not None}
    return [found.get(w) if w is not None else None for w in wanted]


@strawberry.type
class GpAssignmentAr:
    """AR's fields on GpAssignment: the parties that address the GP and the office."""

    gp_her_id: int | None = None

    gp_communication_party: CommunicationParty | None = edge_field(
        _gp_party, description="The communication party of the GP (by the membership's GP HER-id).", requires="gpHerId"
    )

    office_communication_party: CommunicationParty | None = edge_field(
        _office_party,
        description="The communication party of the GP's office (the GP party's parent).",
        requires="gpHerId",
    )


async def _personnel_parties(info: Info, parents: list[HealthPersonnelAr]) -> list[Any]:
    groups = await info.context.loaders.parties_by_hpr.load_many([p.hpr_number for p in parents])
    return [[CommunicationParty.from_row(r) for r in rows] for rows in groups]


@strawberry.type
class HealthPersonnelAr:
    """AR's fields on HealthPersonnel."""

    hpr_number: int

    communication_parties: list[CommunicationParty] = edge_field(
        _personnel_parties, description="The health worker's person parties in AR (one per workplace)."
    )


async def _organization_parties(info: Info, parents: list[OrganizationAr]) -> list[Any]:
    groups = await info.context.loaders.parties_by_org.load_many([str(p.org_number) for p in parents])
    return [[CommunicationParty.from_row(r) for r in rows] for rows in groups]


@strawberry.type
class OrganizationAr:
    """AR's fields on Organization."""

    org_number: strawberry.ID

    communication_parties: list[CommunicationParty] = edge_field(
        _organization_parties, description="The communication parties registered on this organisation number."
    )


@strawberry.type
class ArQuery:
    """AR's root fields."""

    @strawberry.field(description="A communication party by HER-id.")
    async def communication_party(self, info: Info, her_id: int) -> CommunicationParty | None:
        """Return a party, or null when unknown."""
        return await root(info, await refs.one(refs.communication_parties, info, her_id))
