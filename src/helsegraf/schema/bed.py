"""BED (Bedriftsregisteret / Enhetsregisteret) in the graph: organisations by organisation number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.execution.preload import edge, root
from helsegraf.identifiers import InvalidIdentifierError, parse_org_number
from helsegraf.schema import refs
from helsegraf.schema.ar import OrganizationAr
from helsegraf.schema.base import Info, edge_field, user_error
from helsegraf.schema.flr import OrganizationFlr
from helsegraf.schema.resh import OrganizationResh

if TYPE_CHECKING:
    from helsegraf.schema.kodeverk import Municipality

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]


async def _address_municipality(info: Info, parents: list[OrganizationAddress]) -> list[Any]:
    return await refs.municipalities(info, [p.municipality_code for p in parents])


@strawberry.type(description="An organisation's business address (forretningsadresse).")
class OrganizationAddress:
    """Street, postal code and place, and municipality."""

    street: str | None = strawberry.field(description="Street address.")
    postal_code: str | None = strawberry.field(description="Postal code (postnummer).")
    postal_place: str | None = strawberry.field(description="Postal place (poststed).")
    municipality_code: strawberry.Private[str | None]

    @edge_field(_address_municipality, description="The municipality (kommune).")
    def municipality(self, info: Info) -> MunicipalityRef | None:
        """Return the municipality."""
        return edge(self, info, {}, _address_municipality)  # type: ignore[no-any-return]


async def _parent(info: Info, parents: list[Organization]) -> list[Any]:
    return await refs.organizations(info, [p.parent_org_number for p in parents])


async def _children(info: Info, parents: list[Organization]) -> list[Any]:
    groups = await info.context.loaders.organizations_by_parent.load_many([str(p.org_number) for p in parents])
    return [[Organization.from_row(r) for r in rows] for rows in groups]


async def _municipality(info: Info, parents: list[Organization]) -> list[Any]:
    return await refs.municipalities(info, [p.row.municipality_code if p.row else None for p in parents])


@strawberry.federation.type(
    keys=["orgNumber"], description="An organisation (enhet or underenhet) in Enhetsregisteret."
)
class Organization(OrganizationFlr, OrganizationResh, OrganizationAr):
    """A legal entity or one of its business units, by organisation number."""

    org_number: strawberry.ID = strawberry.field(description="The nine-digit organisation number.")
    name: str | None = strawberry.field(default=None, description="The registered name.")
    org_form: str | None = strawberry.field(default=None, description="Organisasjonsform, e.g. AS, BEDR, HF.")
    industry_code: str | None = strawberry.field(default=None, description="Næringskode (SN2007), e.g. 86.211.")
    parent_org_number: str | None = strawberry.field(default=None, description="The overordnet enhet's number.")
    row: strawberry.Private[Any] = None

    @classmethod
    def from_row(cls, row: Any) -> Organization:
        """Build from a BED row."""
        return cls(
            org_number=strawberry.ID(row.org_number),
            name=row.name,
            org_form=row.org_form,
            industry_code=row.industry_code,
            parent_org_number=row.parent_org_number,
            row=row,
        )

    @classmethod
    def stub(cls, org_number: str) -> Organization:
        """Build a key-only reference."""
        return cls(org_number=strawberry.ID(org_number))

    @classmethod
    async def resolve_reference(cls, info: Info, orgNumber: strawberry.ID) -> Organization | None:  # noqa: N803
        """Resolve a Federation reference (the representation's keys arrive under their GraphQL names)."""
        return await refs.one(refs.organizations, info, str(orgNumber))

    @edge_field(_parent, description="The overordnet enhet (parent organisation).")
    def parent(self, info: Info) -> Organization | None:
        """Return the parent organisation."""
        return edge(self, info, {}, _parent)  # type: ignore[no-any-return]

    @edge_field(_children, description="The underenheter (child organisations).")
    def children(self, info: Info) -> list[Organization]:
        """Return the child organisations."""
        return edge(self, info, {}, _children)  # type: ignore[no-any-return]

    @strawberry.field(description="The business address.")
    def address(self) -> OrganizationAddress | None:
        """Return the address."""
        row = self.row
        if row is None or row.street is None:
            return None
        return OrganizationAddress(
            street=row.street, postal_code=row.postal_code, postal_place=row.postal_place,
            municipality_code=row.municipality_code,
        )  # fmt: skip

    @edge_field(_municipality, description="The municipality (kommune) of the business address.")
    def municipality(self, info: Info) -> MunicipalityRef | None:
        """Return the municipality."""
        return edge(self, info, {}, _municipality)  # type: ignore[no-any-return]


def org_number_argument(value: str) -> str:
    """Validate an organisation number argument."""
    try:
        return parse_org_number(value)
    except InvalidIdentifierError as exc:
        raise user_error(f"orgNumber: {value!r} is not a valid organisation number: {exc.reason}") from None


@strawberry.type
class BedQuery:
    """BED's root fields."""

    @strawberry.field(description="An organisation by organisation number.")
    async def organization(self, info: Info, org_number: strawberry.ID) -> Organization | None:
        """Return an organisation, or null when unknown."""
        return await root(info, await refs.one(refs.organizations, info, org_number_argument(str(org_number))))
