"""PREG (Persontjenesten) in the graph: persons, their addresses and families; `person`, `persons`, `me`."""

from __future__ import annotations

import asyncio
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.authz.requirements import ADDRESS, ADDRESS_PROTECTION, FAMILY, IDENTITY
from helsegraf.execution.preload import edge, preload
from helsegraf.identifiers import InvalidIdentifierError, parse_nin
from helsegraf.schema import refs
from helsegraf.schema.audit import PersonAudit
from helsegraf.schema.base import Info, check_list, edge_field, personal, user_error
from helsegraf.schema.flr import PersonFlr
from helsegraf.schema.hpr import PersonHpr
from helsegraf.schema.names import PersonName

if TYPE_CHECKING:
    from helsegraf.schema.kodeverk import Municipality

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]


@strawberry.enum(description="Kjønn as registered in Folkeregisteret.")
class Gender(Enum):
    """Female or male."""

    FEMALE = "FEMALE"
    MALE = "MALE"


@strawberry.enum(description="Folkeregisterpersonstatus: the person's status in Folkeregisteret.")
class PersonStatus(Enum):
    """Resident, emigrated, deceased, ... (D-number holders are ACTIVE or INACTIVE)."""

    RESIDENT = strawberry.enum_value("RESIDENT", description="Bosatt.")
    EMIGRATED = strawberry.enum_value("EMIGRATED", description="Utflyttet.")
    DISAPPEARED = strawberry.enum_value("DISAPPEARED", description="Forsvunnet.")
    DECEASED = strawberry.enum_value("DECEASED", description="Død.")
    DISCONTINUED = strawberry.enum_value("DISCONTINUED", description="Opphørt.")
    ACTIVE = strawberry.enum_value("ACTIVE", description="D-number in use (aktiv).")
    INACTIVE = strawberry.enum_value("INACTIVE", description="D-number no longer in use (inaktiv).")


@strawberry.enum(description="Adressebeskyttelse: how strictly the person's address is protected.")
class AddressProtection(Enum):
    """Ungraded, confidential (fortrolig), strictly confidential (strengt fortrolig), abroad."""

    UGRADERT = "UGRADERT"
    FORTROLIG = "FORTROLIG"
    STRENGT_FORTROLIG = "STRENGT_FORTROLIG"
    STRENGT_FORTROLIG_UTLAND = "STRENGT_FORTROLIG_UTLAND"


async def _address_municipality(info: Info, parents: list[Address]) -> list[Any]:
    return await refs.municipalities(info, [p.municipality_code for p in parents])


@strawberry.type(description="A residential address (bostedsadresse).")
class Address:
    """Street, postal code and place, municipality and bydel."""

    street: str | None = strawberry.field(description="Street address.")
    postal_code: str | None = strawberry.field(description="Postal code (postnummer).")
    postal_place: str | None = strawberry.field(description="Postal place (poststed).")
    district: str | None = strawberry.field(description="Bydel, in cities that have them.")
    municipality_code: strawberry.Private[str | None]

    @edge_field(_address_municipality, description="The municipality (kommune).")
    def municipality(self, info: Info) -> MunicipalityRef | None:
        """Return the municipality."""
        return edge(self, info, {}, _address_municipality)  # type: ignore[no-any-return]


async def _related(info: Info, nins: list[list[str]]) -> list[list[Person]]:
    found = iter(await refs.persons(info, [nin for group in nins for nin in group]))
    related = [[p for _ in group if (p := next(found)) is not None] for group in nins]
    for group in related:
        for person in group:
            info.context.guard.released(person.subject_nin, FAMILY.group)
    return related


async def _parents(info: Info, parents: list[Person]) -> list[Any]:
    groups = await info.context.loaders.parents_by_child.load_many([str(p.nin) for p in parents])
    return await _related(info, [[r.parent_nin for r in rows] for rows in groups])


async def _children(info: Info, parents: list[Person]) -> list[Any]:
    groups = await info.context.loaders.children_by_parent.load_many([str(p.nin) for p in parents])
    return await _related(info, [[r.child_nin for r in rows] for rows in groups])


@strawberry.federation.type(
    keys=["nin"], description="A person in Folkeregisteret (PREG), by national identity number."
)
class Person(PersonFlr, PersonHpr, PersonAudit):
    """A person: identity, address and family from PREG; GP from FLR; health-personnel record from HPR."""

    nin: strawberry.ID = strawberry.field(description="Fødselsnummer or D-number (11 digits).")
    row: strawberry.Private[Any] = None

    @classmethod
    def from_row(cls, row: Any) -> Person:
        """Build from a PREG row."""
        return cls(nin=strawberry.ID(row.nin), row=row)

    @classmethod
    def stub(cls, nin: str) -> Person:
        """Build a key-only reference."""
        return cls(nin=strawberry.ID(nin))

    @classmethod
    async def resolve_reference(cls, info: Info, nin: strawberry.ID) -> Person | None:
        """Resolve a Federation reference."""
        return await refs.one(refs.persons, info, str(nin))

    @property
    def subject_nin(self) -> str:
        """Return whose personal data this is."""
        return str(self.nin)

    @personal(IDENTITY, description="The person's name (navn).")
    def name(self) -> PersonName | None:
        """Return the name."""
        return PersonName.of(self.row.given_name, self.row.middle_name, self.row.family_name)

    @personal(IDENTITY, description="Birth date (fødselsdato).")
    def birth_date(self) -> date | None:
        """Return the birth date."""
        return self.row.birth_date  # type: ignore[no-any-return]

    @personal(IDENTITY, description="Kjønn.")
    def gender(self) -> Gender | None:
        """Return the gender."""
        return Gender(self.row.gender)

    @personal(IDENTITY, description="Folkeregisterpersonstatus.")
    def status(self) -> PersonStatus | None:
        """Return the status."""
        return PersonStatus(self.row.status)

    @personal(IDENTITY, description="Date of death (dødsdato), for deceased persons.")
    def death_date(self) -> date | None:
        """Return the date of death."""
        return self.row.death_date  # type: ignore[no-any-return]

    @personal(ADDRESS, description="Residential address; null for protected addresses unless the caller may see them.")
    def address(self) -> Address | None:
        """Return the address."""
        row = self.row
        if row.street is None and row.municipality_code is None:
            return None
        return Address(
            street=row.street, postal_code=row.postal_code, postal_place=row.postal_place,
            district=row.district, municipality_code=row.municipality_code,
        )  # fmt: skip

    @personal(ADDRESS_PROTECTION, description="Adressebeskyttelse; visible to callers that may see addresses.")
    def address_protection(self) -> AddressProtection | None:
        """Return the protection level."""
        return AddressProtection(self.row.address_protection)

    @personal(FAMILY, description="The person's registered parents (forelder-barn-relasjon).", batch=_parents)
    def parents(self, info: Info) -> list[Person] | None:
        """Return the parents."""
        return edge(self, info, {}, _parents)  # type: ignore[no-any-return]

    @personal(FAMILY, description="The person's registered children.", batch=_children)
    def children(self, info: Info) -> list[Person] | None:
        """Return the children."""
        return edge(self, info, {}, _children)  # type: ignore[no-any-return]


async def _persons_with_edges(info: Info, nins: list[str]) -> list[Person | None]:
    """Load persons and, at the same time, the edges selected below them (they need only the nin)."""
    stubs = {nin: Person.stub(nin) for nin in nins}
    found, _ = await asyncio.gather(refs.persons(info, nins), preload(info, list(stubs.values())))
    for person in found:
        if person is not None and "_preloaded" in stubs[person.nin].__dict__:
            person.__dict__["_preloaded"] = stubs[person.nin].__dict__["_preloaded"]
    return found


def nin_argument(name: str, value: str, today: date) -> str:
    """Validate an identity number argument, naming the value and the reason when it is invalid."""
    try:
        return parse_nin(value, today=today).value
    except InvalidIdentifierError as exc:
        raise user_error(f"{name}: {value!r} is not a valid national identity number: {exc.reason}") from None


@strawberry.type
class PregQuery:
    """PREG's root fields."""

    @strawberry.field(description="The signed-in citizen (the token's pid claim); null when anonymous.")
    async def me(self, info: Info) -> Person | None:
        """Return the caller's own person record."""
        pid = getattr(info.context.guard, "pid", None)
        return (await _persons_with_edges(info, [pid]))[0] if pid else None

    @strawberry.field(description="A person by national identity number (fødselsnummer or D-number).")
    async def person(self, info: Info, nin: strawberry.ID) -> Person | None:
        """Return a person, or null when unknown."""
        [found] = await _persons_with_edges(info, [nin_argument("nin", str(nin), info.context.today)])
        return found

    @strawberry.field(
        description="Persons by national identity number: at most 1,000, in the order asked, null for unknown."
    )
    async def persons(self, info: Info, nins: list[strawberry.ID]) -> list[Person | None]:
        """Return persons in the order of `nins`."""
        check_list("nins", nins)
        today = info.context.today
        valid = [nin_argument(f"nins[{i}]", str(nin), today) for i, nin in enumerate(nins)]
        return await _persons_with_edges(info, valid)
