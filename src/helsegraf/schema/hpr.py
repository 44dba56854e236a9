"""HPR (Helsepersonellregisteret) in the graph: health personnel, approvals and authorisation checks."""

from __future__ import annotations

import asyncio
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from helsegraf.authz.requirements import HPR_EXTENDED, PERSON_HEALTH_PERSONNEL
from helsegraf.execution.preload import root
from helsegraf.loaders.base import is_valid_on
from helsegraf.schema import refs
from helsegraf.schema.base import Info, edge_field, int_key, personal
from helsegraf.schema.names import PersonName

if TYPE_CHECKING:
    from helsegraf.schema.assembly import HealthPersonnel, Person
    from helsegraf.schema.kodeverk import Code

PersonRef = Annotated["Person", strawberry.lazy("helsegraf.schema.assembly")]
HealthPersonnelRef = Annotated["HealthPersonnel", strawberry.lazy("helsegraf.schema.assembly")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
CATEGORY, AUTHORIZATION, SPECIALITY, REQUISITION = "9060", "7704", "7426", "7702"
# Authorisation types that let the holder practise (autorisasjon and lisens).
AUTHORISING = frozenset({"1", "2"})


@strawberry.type(description="A suspension period (suspensjonsperiode): the approval does not authorise meanwhile.")
class Suspension:
    """A period of suspension."""

    valid_from: date = strawberry.field(description="First day of the suspension.")
    valid_to: date | None = strawberry.field(description="Day the suspension ended (exclusive); null while it runs.")


async def _code_text(info: Info, parents: list[DatedCode]) -> list[Any]:
    found = []
    for system in {p.system for p in parents}:
        mine = [p for p in parents if p.system == system]
        found += list(zip(mine, await refs.codes(info, system, [p.code for p in mine]), strict=True))
    texts = {id(p): c.text if c else None for p, c in found}
    return [texts[id(p)] for p in parents]


@strawberry.type(description="A dated code on an approval: a speciality (7426) or requisition right (7702).")
class DatedCode:
    """A code with its validity."""

    system: strawberry.Private[str]
    code: str = strawberry.field(description="The code value.")
    valid_from: date = strawberry.field(description="First day it applies.")
    valid_to: date | None = strawberry.field(description="Day it ended (exclusive).")
    text: str | None = edge_field(_code_text, description="The code's text from Kodeverk.")


def _dated(system: str, rows: list[Any]) -> list[DatedCode]:
    return [DatedCode(system=system, code=r.code, valid_from=r.valid_from, valid_to=r.valid_to) for r in rows]


async def _category(info: Info, parents: list[Approval]) -> list[Any]:
    return await refs.codes(info, CATEGORY, [p.category_code for p in parents])


async def _authorization(info: Info, parents: list[Approval]) -> list[Any]:
    return await refs.codes(info, AUTHORIZATION, [p.authorization_code for p in parents])


async def _specialities(info: Info, parents: list[Approval]) -> list[Any]:
    groups = await info.context.loaders.specialities_by_approval.load_many([int(p.id) for p in parents])
    return [_dated(SPECIALITY, rows) for rows in groups]


async def _rights(info: Info, parents: list[Approval]) -> list[Any]:
    groups = await info.context.loaders.rights_by_approval.load_many([int(p.id) for p in parents])
    return [_dated(REQUISITION, rows) for rows in groups]


async def _suspensions(info: Info, parents: list[Approval]) -> list[Any]:
    groups = await info.context.loaders.suspensions_by_approval.load_many([int(p.id) for p in parents])
    return [[Suspension(valid_from=r.valid_from, valid_to=r.valid_to) for r in rows] for rows in groups]


@strawberry.type(description="An approval (godkjenning): a health-personnel category with an authorisation type.")
class Approval:
    """What a health worker is approved as, from when to when, with specialities and suspensions."""

    id: strawberry.ID = strawberry.field(description="The approval's id in HPR.")
    category_code: strawberry.Private[str]
    authorization_code: strawberry.Private[str]
    valid_from: date = strawberry.field(description="First day of the approval.")
    valid_to: date | None = strawberry.field(description="Day the approval ended (exclusive); null while it runs.")
    category: CodeRef = edge_field(
        _category, description="The helsepersonellkategori (code system 9060), e.g. LE Lege."
    )
    authorization: CodeRef = edge_field(
        _authorization, description="The authorisation type (code system 7704): 1 autorisasjon, 2 lisens."
    )
    specialities: list[DatedCode] = edge_field(
        _specialities, description="Specialities (spesialiteter) granted on this approval."
    )
    requisition_rights: list[DatedCode] = edge_field(
        _rights, description="Requisition rights (rekvisisjonsrett) on this approval."
    )
    suspensions: list[Suspension] = edge_field(_suspensions, description="Suspension periods of this approval.")

    @classmethod
    def from_row(cls, row: Any) -> Approval:
        """Build from an HPR row."""
        return cls(
            id=strawberry.ID(str(row.id)),
            category_code=row.category,
            authorization_code=row.authorization,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
        )


@strawberry.enum(description="Why an authorisation check failed.")
class AuthorizationDenial(Enum):
    """The reason a health worker was not authorised in a category on a date."""

    NO_APPROVAL_IN_CATEGORY = "NO_APPROVAL_IN_CATEGORY"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    NOT_AUTHORISING = "NOT_AUTHORISING"
    SUSPENDED = "SUSPENDED"


@strawberry.type(description="Whether a health worker was authorised in a category on a date, and on which approval.")
class AuthorizationCheck:
    """The answer to "was HPR number N authorised as a doctor on date D"."""

    authorized: bool = strawberry.field(description="True when an approval of the category authorised on the date.")
    approval: Approval | None = strawberry.field(description="The approval that decided the answer, if any.")
    reason: AuthorizationDenial | None = strawberry.field(description="Why not, when not authorised.")
    category: str = strawberry.field(description="The category asked about.")
    at: date = strawberry.field(description="The date asked about.")


async def check_authorization(info: Info, approvals: list[Any], category: str, on: date) -> AuthorizationCheck:
    """Decide authorisation: an authorising approval of the category valid on the date and not suspended."""
    of_category = [a for a in approvals if a.category == category]
    suspensions = await info.context.loaders.suspensions_by_approval.load_many([a.id for a in of_category])
    valid = [(a, s) for a, s in zip(of_category, suspensions, strict=True) if is_valid_on(a, on)]
    authorising = [(a, s) for a, s in valid if a.authorization in AUTHORISING]
    for approval, periods in authorising:
        if not any(is_valid_on(p, on) for p in periods):
            return AuthorizationCheck(
                authorized=True, approval=Approval.from_row(approval), reason=None, category=category, at=on
            )
    if authorising:
        reason, decided = AuthorizationDenial.SUSPENDED, authorising[0][0]
    elif valid:
        reason, decided = AuthorizationDenial.NOT_AUTHORISING, valid[0][0]
    elif not of_category:
        reason, decided = AuthorizationDenial.NO_APPROVAL_IN_CATEGORY, None
    elif all(a.valid_from > on for a in of_category):
        reason, decided = AuthorizationDenial.NOT_YET_VALID, min(of_category, key=lambda a: a.valid_from)
    else:
        reason, decided = AuthorizationDenial.EXPIRED, max(of_category, key=lambda a: a.valid_from)
    approval = Approval.from_row(decided) if decided is not None else None
    return AuthorizationCheck(authorized=False, approval=approval, reason=reason, category=category, at=on)


async def _person(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return await refs.persons(info, [p.subject_nin for p in parents])


async def _approval_rows(info: Info, parents: list[Any]) -> list[list[Any]]:
    return await info.context.loaders.approvals_by_hpr.load_many([p.hpr_number for p in parents])


async def _approvals(info: Info, parents: list[HealthPersonnelHpr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    return [[Approval.from_row(r) for r in rows if is_valid_on(r, on)] for rows in await _approval_rows(info, parents)]


async def _approval_history(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return [[Approval.from_row(r) for r in rows] for rows in await _approval_rows(info, parents)]


async def _authorizations(info: Info, parents: list[HealthPersonnelHpr], category: str, at: date) -> list[Any]:
    groups = await _approval_rows(info, parents)
    return list(await asyncio.gather(*(check_authorization(info, rows, category.upper(), at) for rows in groups)))


@strawberry.type
class HealthPersonnelHpr:
    """HPR's part of HealthPersonnel: a person with an autorisasjon or lisens, by HPR number. Basic data is public."""

    hpr_number: int = strawberry.field(description="The HPR number (HPR-nummer).")
    name: PersonName | None = strawberry.field(default=None, description="The health worker's name (public).")
    subject_nin: strawberry.Private[str | None] = None
    born: strawberry.Private[date | None] = None
    approvals: list[Approval] = edge_field(_approvals, description="Approvals valid at a date (default today).")
    approval_history: list[Approval] = edge_field(
        _approval_history, description="Every approval, oldest first, including expired ones."
    )
    authorization: AuthorizationCheck = edge_field(
        _authorizations,
        description="Was the health worker authorised in a category (e.g. LE) on a date: an authorising "
        "approval of that category valid on the date, with no suspension covering it.",
    )

    @classmethod
    def from_row(cls, row: Any) -> Any:
        """Build from an HPR row."""
        return cls(
            hpr_number=row.hpr_number,
            name=PersonName.of(row.given_name, row.middle_name, row.family_name),
            subject_nin=row.nin,
            born=row.birth_date,
        )

    @classmethod
    def stub(cls, hpr_number: int) -> Any:
        """Build a key-only reference."""
        return cls(hpr_number=hpr_number)

    @classmethod
    async def resolve_reference(cls, info: Info, hprNumber: int) -> Any:  # noqa: N803
        """Resolve a Federation reference (the representation's keys arrive under their GraphQL names)."""
        return await refs.one(refs.health_personnel, info, int_key("hprNumber", hprNumber))

    @property
    def subject(self) -> str | int:
        """Return whose personal data this is: the nin, or the HPR number of a health worker without one."""
        return self.subject_nin or self.hpr_number

    @personal(HPR_EXTENDED, description="The health worker's national identity number; null if HPR has none.")
    def nin(self) -> strawberry.ID | None:
        """Return the nin."""
        return strawberry.ID(self.subject_nin) if self.subject_nin else None

    @personal(HPR_EXTENDED, description="The health worker's birth date.")
    def birth_date(self) -> date | None:
        """Return the birth date."""
        return self.born

    person: PersonRef | None = personal(
        HPR_EXTENDED, description="The health worker as a person in PREG.", batch=_person
    )


async def _person_personnel(info: Info, parents: list[PersonHpr]) -> list[Any]:
    groups = await info.context.loaders.personnel_by_nin.load_many([str(p.nin) for p in parents])
    return [refs.entity("HealthPersonnel").from_row(rows[0]) if rows else None for rows in groups]


@strawberry.type
class PersonHpr:
    """HPR's fields on Person."""

    nin: strawberry.ID
    health_personnel: HealthPersonnelRef | None = personal(
        PERSON_HEALTH_PERSONNEL,
        description="The person's record in HPR, if they are health personnel.",
        batch=_person_personnel,
    )


@strawberry.type
class HprQuery:
    """HPR's root fields."""

    @strawberry.field(description="A health worker by HPR number.")
    async def health_personnel(self, info: Info, hpr_number: int) -> HealthPersonnelRef | None:
        """Return a health worker, or null when unknown."""
        return await root(info, await refs.one(refs.health_personnel, info, hpr_number))
