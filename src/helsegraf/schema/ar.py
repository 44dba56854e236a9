"""AR (Adresseregisteret) in the graph: communication parties with HER-ids and their electronic addresses."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
ADDRESS_TYPES, PHYSICAL_ADDRESS_TYPES, BUSINESS_TYPES = "9044", "3401", "9040"


@strawberry.enum(description="What a communication party is.")
class PartyType(Enum):
    """Organisation, department, service or person."""

    ORGANIZATION = "ORGANIZATION"
    DEPARTMENT = strawberry.enum_value(
        "DEPARTMENT",
        deprecation_reason="AR's current contract has no departments (Organization, Service, Person); "
        "kept for parties registered under the 2016 contract.",
    )
    SERVICE = "SERVICE"
    PERSON = "PERSON"


@strawberry.enum(description="What a certificate is for.")
class CertificateUsage(Enum):
    """Encryption (messages to the party) or signing (validating the party's signatures)."""

    ENCRYPTION = "ENCRYPTION"
    SIGNING = "SIGNING"


@strawberry.type(description="An X.509 certificate of a communication party, as AR's LDAP publishes it.")
class Certificate:
    """A certificate's usage, validity and where to fetch it."""

    usage: CertificateUsage = strawberry.field(description="Encryption or signing.")
    serial_number: str = strawberry.field(description="The certificate's serial number (hex).")
    valid_from: datetime = strawberry.field(description="NotBefore.")
    valid_to: datetime = strawberry.field(description="NotAfter.")
    ldap_url: str | None = strawberry.field(description="Where the certificate is published (LDAP URL).")
    subject: str | None = strawberry.field(description="The certificate's subject (CN).")


async def _physical_type(info: Info, parents: list[PhysicalAddress]) -> list[Any]:
    return await refs.codes(info, PHYSICAL_ADDRESS_TYPES, [p.type_code for p in parents])


@strawberry.type(
    description="A physical address of a communication party: visit (RES) or postal (PST), code system 3401."
)
class PhysicalAddress:
    """A street or postbox address."""

    type_code: strawberry.Private[str]
    street: str | None = strawberry.field(description="Street address (StreetAddress).")
    postbox: str | None = strawberry.field(description="Postbox (Postbox).")
    postal_code: str | None = strawberry.field(description="Four-digit postal code, leading zero kept.")
    city: str | None = strawberry.field(description="Postal place (City).")
    country: str | None = strawberry.field(description="Country code, e.g. NO.")
    type: CodeRef = edge_field(_physical_type, description="The address type (3401): RES visit, PST postal.")


@strawberry.type(description="An area a service covers (CoverageInfo).")
class CoverageArea:
    """A covered party or municipality."""

    her_id: int | None = strawberry.field(description="HER-id of the covered party, when it has one.")
    name: str = strawberry.field(description="The covered area's name.")
    org_number: str | None = strawberry.field(description="Organisation number of the covered party.")
    municipality_code: str | None = strawberry.field(description="Kommunenummer of the covered municipality.")


@strawberry.type(description="A service's code (Service.Code) with the code system it is from.")
class ServiceCode:
    """The service a party of type SERVICE provides."""

    system: str | None = strawberry.field(description="The code system's OID as AR sent it.")
    code: str = strawberry.field(description="The code value.")
    text: str | None = strawberry.field(description="The code's text as AR sent it.")


@strawberry.type(description="An electronic address published ahead of the day it applies (FutureElectronicAddress).")
class FutureElectronicAddress:
    """An address and when it takes effect."""

    type: str = strawberry.field(description="The address type (9044), e.g. E_EDI.")
    address: str = strawberry.field(description="The address.")
    valid_from: datetime = strawberry.field(description="When it takes effect.")


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


async def _business_type(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.codes(info, BUSINESS_TYPES, [p.business_type_code for p in parents])


async def _parent_business_type(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    return await refs.codes(info, BUSINESS_TYPES, [p.parent_business_type_code for p in parents])


async def _physical_addresses(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    groups = await info.context.loaders.physical_addresses_by_her_id.load_many([p.her_id for p in parents])
    return [
        [
            PhysicalAddress(
                type_code=r.type,
                street=r.street,
                postbox=r.postbox,
                postal_code=r.postal_code,
                city=r.city,
                country=r.country,
            )
            for r in rows
        ]
        for rows in groups
    ]


async def _certificates(
    info: Info, parents: list[CommunicationParty], usage: CertificateUsage | None = None, at: datetime | None = None
) -> list[Any]:
    groups = await info.context.loaders.certificates_by_her_id.load_many([p.her_id for p in parents])
    return [
        [
            Certificate(
                usage=CertificateUsage(r.usage),
                serial_number=r.serial_number,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                ldap_url=r.ldap_url,
                subject=r.subject,
            )
            for r in rows
            if (usage is None or r.usage == usage.value) and (at is None or _covers(r, at))
        ]
        for rows in groups
    ]


def _covers(row: Any, at: datetime) -> bool:
    """Tell whether a certificate is valid at a moment (NotBefore <= at < NotAfter), in UTC when naive."""
    begins, ends = _aware(row.valid_from), _aware(row.valid_to)
    moment = _aware(at)
    return bool(begins <= moment < ends)


def _aware(value: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive (they were stored in UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _coverage(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    groups = await info.context.loaders.coverage_by_her_id.load_many([p.her_id for p in parents])
    return [
        [
            CoverageArea(
                her_id=r.covered_her_id, name=r.name, org_number=r.org_number, municipality_code=r.municipality_code
            )
            for r in rows
        ]
        for rows in groups
    ]


async def _future_addresses(info: Info, parents: list[CommunicationParty]) -> list[Any]:
    groups = await info.context.loaders.future_addresses_by_her_id.load_many([p.her_id for p in parents])
    return [
        [FutureElectronicAddress(type=r.type, address=r.address, valid_from=_aware(r.valid_from)) for r in rows]
        for rows in groups
    ]


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
    business_type_code: strawberry.Private[str | None] = None
    parent_business_type_code: strawberry.Private[str | None] = None
    display_name: str | None = strawberry.field(default=None, description="The name AR shows (DisplayName).")
    parent_name: str | None = strawberry.field(default=None, description="The parent party's name (ParentName).")
    parent_org_number: str | None = strawberry.field(
        default=None, description="The parent's organisation number (ParentOrganizationNumber)."
    )
    is_valid_communication_party: bool | None = strawberry.field(
        default=None, description="Whether the party can receive messages now (IsValidCommunicationParty)."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day the party is valid (Valid.From).")
    valid_to: date | None = strawberry.field(
        default=None, description="Day the party stopped being valid (exclusive); null while valid (Valid.To)."
    )
    last_changed: datetime | None = strawberry.field(default=None, description="When AR last changed the party.")
    service: ServiceCode | None = strawberry.field(
        default=None, description="The service's code, for parties of type SERVICE (Service.Code)."
    )
    location_description: str | None = strawberry.field(
        default=None, description="Where the service is given (Service.LocationDescription)."
    )

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
            business_type_code=row.business_type,
            parent_business_type_code=row.parent_business_type,
            display_name=row.display_name,
            parent_name=row.parent_name,
            parent_org_number=row.parent_org_number,
            is_valid_communication_party=row.is_valid,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            last_changed=row.last_changed,
            service=ServiceCode(system=row.service_code_system, code=row.service_code, text=row.service_code_text)
            if row.service_code
            else None,
            location_description=row.location_description,
        )

    @strawberry.field(description="The party's EDI addresses (type E_EDI), where messages are delivered.")
    def electronic_addresses(self) -> list[str]:
        """Return the EDI addresses (found once per party: an office's party is every patient of its GPs')."""
        found: list[str] | None = self.__dict__.get("_edi_addresses")
        if found is None:
            found = self.__dict__["_edi_addresses"] = [
                a.address for a in self.all_electronic_addresses if a.type_code == "E_EDI"
            ]
        return list(found)

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

    business_type: CodeRef | None = edge_field(
        _business_type, description="The organisation's business type (BusinessType, code system 9040)."
    )
    parent_business_type: CodeRef | None = edge_field(
        _parent_business_type, description="The parent's business type (ParentBusinessType, 9040)."
    )
    physical_addresses: list[PhysicalAddress] = edge_field(
        _physical_addresses, description="Visit (RES) and postal (PST) addresses."
    )
    certificates: list[Certificate] = edge_field(
        _certificates,
        description="Certificates for encryption and signing, oldest first; `usage` picks one kind, `at` those valid "
        "at that moment (a renewed certificate's predecessor stays listed until it expires).",
    )
    coverage_areas: list[CoverageArea] = edge_field(_coverage, description="What a service covers (CoverageAreas).")
    future_electronic_addresses: list[FutureElectronicAddress] = edge_field(
        _future_addresses, description="Electronic addresses published ahead of the day they apply."
    )


async def _gp_party(info: Info, parents: list[GpAssignmentAr]) -> list[Any]:
    return await refs.communication_parties(info, [p.gp_her_id for p in parents])


async def _office_party(info: Info, parents: list[GpAssignmentAr]) -> list[Any]:
    wanted = [p.gp_her_id for p in parents]
    keys = list(dict.fromkeys(w for w in wanted if w is not None))  # a GP's patients share their office's party
    rows = await info.context.loaders.parent_party_by_her_id.load_many(keys)
    found = {key: CommunicationParty.from_row(row) for key, row in zip(keys, rows, strict=True) if row is not None}
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
        return await root(info, await refs.one(refs.communication_parties, info, int_key("herId", her_id)))
