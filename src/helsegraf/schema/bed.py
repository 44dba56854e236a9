"""BED (Bedriftsregisteret / Enhetsregisteret) in the graph: organisations by organisation number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.execution.preload import root
from helsegraf.identifiers import InvalidIdentifierError, parse_org_number
from helsegraf.schema import refs
from helsegraf.schema.base import Info, echo, edge_field, user_error

if TYPE_CHECKING:
    from helsegraf.schema.assembly import Organization
    from helsegraf.schema.kodeverk import Municipality

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
OrganizationRef = Annotated["Organization", strawberry.lazy("helsegraf.schema.assembly")]


async def _address_municipality(info: Info, parents: list[OrganizationAddress]) -> list[Any]:
    return await refs.municipalities(info, [p.municipality_code for p in parents])


@strawberry.type(description="An organisation's business address (forretningsadresse).")
class OrganizationAddress:
    """Street, postal code and place, and municipality."""

    street: str | None = strawberry.field(description="Street address.")
    postal_code: str | None = strawberry.field(description="Postal code (postnummer).")
    postal_place: str | None = strawberry.field(description="Postal place (poststed).")
    municipality_code: strawberry.Private[str | None]

    municipality: MunicipalityRef | None = edge_field(_address_municipality, description="The municipality (kommune).")


async def _parent(info: Info, parents: list[OrganizationBed]) -> list[Any]:
    return await refs.organizations(info, [p.parent_org_number for p in parents])


async def _children(info: Info, parents: list[OrganizationBed]) -> list[Any]:
    groups = await info.context.loaders.organizations_by_parent.load_many([str(p.org_number) for p in parents])
    return [[refs.entity("Organization").from_row(r) for r in rows] for rows in groups]


async def _municipality(info: Info, parents: list[OrganizationBed]) -> list[Any]:
    return await refs.municipalities(info, [p.row.municipality_code if p.row else None for p in parents])


@strawberry.type
class OrganizationBed:
    """BED's part of Organization: a legal entity or one of its business units, by organisation number."""

    org_number: strawberry.ID = strawberry.field(description="The nine-digit organisation number.")
    name: str | None = strawberry.field(default=None, description="The registered name.")
    org_form: str | None = strawberry.field(default=None, description="Organisasjonsform, e.g. AS, BEDR, HF.")
    industry_code: str | None = strawberry.field(default=None, description="Næringskode (SN2007), e.g. 86.211.")
    parent_org_number: str | None = strawberry.field(default=None, description="The overordnet enhet's number.")
    row: strawberry.Private[Any] = None

    @classmethod
    def from_row(cls, row: Any) -> Any:
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
    def stub(cls, org_number: str) -> Any:
        """Build a key-only reference."""
        return cls(org_number=strawberry.ID(org_number))

    @classmethod
    async def resolve_reference(cls, info: Info, orgNumber: strawberry.ID) -> Any:  # noqa: N803
        """Resolve a Federation reference (the representation's keys arrive under their GraphQL names)."""
        return await refs.one(refs.organizations, info, str(orgNumber))

    parent: OrganizationRef | None = edge_field(_parent, description="The overordnet enhet (parent organisation).")

    children: list[OrganizationRef] = edge_field(_children, description="The underenheter (child organisations).")

    @strawberry.field(description="When Enhetsregisteret last changed the unit (from the source).")
    def last_changed(self) -> datetime | None:
        """Return the time of the unit's newest update."""
        return _aware(getattr(self.row, "last_changed", None)) if self.row is not None else None

    @strawberry.field(description="Registered in Enhetsregisteret from (registreringsdatoEnhetsregisteret).")
    def valid_from(self) -> date | None:
        """Return the registration date."""
        return getattr(self.row, "valid_from", None) if self.row is not None else None

    @strawberry.field(description="Deleted from Enhetsregisteret on (slettedato); null while the unit exists.")
    def valid_to(self) -> date | None:
        """Return the deletion date: the unit's half-open period ends here."""
        return getattr(self.row, "valid_to", None) if self.row is not None else None

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

    municipality: MunicipalityRef | None = edge_field(
        _municipality, description="The municipality (kommune) of the business address."
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive times for timezone-aware columns; they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def org_number_argument(value: str) -> str:
    """Validate an organisation number argument."""
    try:
        return parse_org_number(value)
    except InvalidIdentifierError as exc:
        raise user_error(f"orgNumber: {echo(value)} is not a valid organisation number: {exc.reason}") from None


@strawberry.type
class BedQuery:
    """BED's root fields."""

    @strawberry.field(description="An organisation by organisation number.")
    async def organization(self, info: Info, org_number: strawberry.ID) -> OrganizationRef | None:
        """Return an organisation, or null when unknown."""
        return await root(info, await refs.one(refs.organizations, info, org_number_argument(str(org_number))))
