"""HPR (Helsepersonellregisteret) in the graph: health personnel, approvals and authorisation checks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from helsegraf.authz.requirements import HPR_EXTENDED, PERSON_HEALTH_PERSONNEL
from helsegraf.execution.preload import root
from helsegraf.loaders.base import is_valid_on
from helsegraf.schema import refs
from helsegraf.schema.base import Info, edge_field, int_key, personal, user_error
from helsegraf.schema.names import PersonName

if TYPE_CHECKING:
    from helsegraf.schema.assembly import HealthPersonnel, Person
    from helsegraf.schema.kodeverk import Code

PersonRef = Annotated["Person", strawberry.lazy("helsegraf.schema.assembly")]
HealthPersonnelRef = Annotated["HealthPersonnel", strawberry.lazy("helsegraf.schema.assembly")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
# The code systems HPR's Kode carries (Kode.OID): helsepersonellkategori, autorisasjon, spesialitet,
# rekvisisjonsrett (7701) and tilleggskompetanse / special competence (7702), kjønn, person-ID type.
CATEGORY, AUTHORIZATION, SPECIALITY, REQUISITION, COMPETENCE = "9060", "7704", "7426", "7701", "7702"
GENDER, ID_TYPE = "3101", "8116"
# Authorisation types that let the holder practise (autorisasjon and lisens).
AUTHORISING = frozenset({"1", "2"})
MAX_MERGE_HOPS = 8  # ErstattetAvHprNummer chains are short; a longer one is a loop in the data


@strawberry.type(
    description="A code HPR sends whose code system its contract does not name: the value and the text HPR gave."
)
class RegisterCode:
    """A Kode as HPR sent it (Verdi, Beskrivelse)."""

    code: str = strawberry.field(description="The code value (Kode.Verdi).")
    text: str | None = strawberry.field(description="The code's text as HPR sent it (Kode.Beskrivelse).")


def _register_code(code: str | None, text: str | None) -> RegisterCode | None:
    return RegisterCode(code=code, text=text) if code else None


@strawberry.type(description="A condition (vilkår) an approval is granted under.")
class Condition:
    """A typed condition with free text."""

    type: RegisterCode = strawberry.field(description="The kind of condition (Vilkår.Type).")
    free_text: str | None = strawberry.field(description="The condition in words (Vilkår.Fritekst).")


@strawberry.type(description="An alternative identifier of a health worker (AlternativId), typed by code system 8116.")
class AlternativeId:
    """An identifier other than the nin, e.g. a felles hjelpenummer (FFHN) for someone without one."""

    type: str = strawberry.field(description="The identifier type (code system 8116), e.g. FFHN or FDUF.")
    value: str = strawberry.field(description="The identifier.")


@strawberry.type(description="An administrative reaction (administrativ reaksjon), e.g. a warning or revocation.")
class AdministrativeReaction:
    """A reaction by the supervisory authority, on the person or on one approval."""

    type: RegisterCode = strawberry.field(description="The kind of reaction (AdministrativReaksjon.Type).")
    approval_id: strawberry.ID | None = strawberry.field(description="The approval it concerns; null for the person.")
    valid_from: date = strawberry.field(description="First day it applies.")
    valid_to: date | None = strawberry.field(description="Day it ended (exclusive); null while it runs.")


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


async def _item_suspensions(info: Info, parents: list[DatedCode]) -> list[Any]:
    groups = await info.context.loaders.suspensions_by_approval.load_many([p.approval_id for p in parents])
    return [
        [Suspension(valid_from=r.valid_from, valid_to=r.valid_to) for r in rows if _suspends(r, p)]
        for p, rows in zip(parents, groups, strict=True)
    ]


def _suspends(row: Any, item: DatedCode) -> bool:
    """Tell whether a suspension row suspends this speciality or requisition right."""
    if item.system == SPECIALITY:
        return bool(row.speciality_id == item.item_id)
    if item.system == REQUISITION:
        return bool(row.requisition_right_id == item.item_id)
    return False


def _whole(row: Any) -> bool:
    """Tell whether a suspension row suspends the whole approval (not one speciality or right on it)."""
    return row.speciality_id is None and row.requisition_right_id is None


@strawberry.type(
    description="A dated code on an approval: a speciality (7426), requisition right (7701) "
    "or additional competence (7702)."
)
class DatedCode:
    """A code with its validity."""

    system: str = strawberry.field(description="The code system's OID: 7426, 7701 or 7702.")
    item_id: strawberry.Private[int]
    approval_id: strawberry.Private[int]
    code: str = strawberry.field(description="The code value.")
    valid_from: date = strawberry.field(description="First day it applies.")
    valid_to: date | None = strawberry.field(description="Day it ended (exclusive).")
    closing_status: RegisterCode | None = strawberry.field(
        default=None, description="Why it ended (AvsluttetStatus); null while it runs."
    )
    text: str | None = edge_field(_code_text, description="The code's text from Kodeverk.")
    suspensions: list[Suspension] = edge_field(
        _item_suspensions,
        description="Suspensions of this speciality or requisition right alone (the approval stays in force).",
    )


def _dated(system: str, rows: list[Any]) -> list[DatedCode]:
    return [
        DatedCode(
            system=system,
            item_id=r.id,
            approval_id=r.approval_id,
            code=r.code,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            closing_status=_register_code(r.closing_status, None),
        )
        for r in rows
    ]


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
    return [[Suspension(valid_from=r.valid_from, valid_to=r.valid_to) for r in rows if _whole(r)] for rows in groups]


async def _competences(info: Info, parents: list[Approval]) -> list[Any]:
    groups = await info.context.loaders.competences_by_approval.load_many([int(p.id) for p in parents])
    return [_dated(COMPETENCE, rows) for rows in groups]


async def _conditions(info: Info, parents: list[Approval]) -> list[Any]:
    groups = await info.context.loaders.conditions_by_approval.load_many([int(p.id) for p in parents])
    return [
        [Condition(type=RegisterCode(code=r.code, text=r.text), free_text=r.free_text) for r in rows] for rows in groups
    ]


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
    suspensions: list[Suspension] = edge_field(
        _suspensions,
        description="Suspension periods of the whole approval (a suspended speciality or requisition right "
        "is listed on it instead).",
    )
    closing_status: RegisterCode | None = strawberry.field(
        default=None,
        description="Why the approval ended (AvsluttetStatus), e.g. expired or revoked; null while it runs.",
    )
    additional_competences: list[DatedCode] = edge_field(
        _competences, description="Additional competences (tilleggskompetanser, code system 7702) on this approval."
    )
    conditions: list[Condition] = edge_field(
        _conditions, description="Conditions (vilkår) the approval is granted under."
    )

    @classmethod
    def from_row(cls, row: Any) -> Approval:
        """Build from an HPR row."""
        return cls(
            id=strawberry.ID(str(row.id)),
            category_code=row.category,
            authorization_code=row.authorization,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            closing_status=_register_code(row.closing_status, row.closing_status_text),
        )


@strawberry.enum(description="Why an authorisation check failed.")
class AuthorizationDenial(Enum):
    """The reason a health worker was not authorised in a category on a date."""

    NO_APPROVAL_IN_CATEGORY = "NO_APPROVAL_IN_CATEGORY"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    NOT_AUTHORISING = "NOT_AUTHORISING"
    SUSPENDED = "SUSPENDED"
    NO_SPECIALITY = "NO_SPECIALITY"
    SPECIALITY_SUSPENDED = "SPECIALITY_SUSPENDED"
    NO_REQUISITION_RIGHT = "NO_REQUISITION_RIGHT"
    REQUISITION_RIGHT_SUSPENDED = "REQUISITION_RIGHT_SUSPENDED"


@strawberry.type(description="Whether a health worker was authorised in a category on a date, and on which approval.")
class AuthorizationCheck:
    """The answer to "was HPR number N authorised as a doctor on date D"."""

    authorized: bool = strawberry.field(description="True when an approval of the category authorised on the date.")
    approval: Approval | None = strawberry.field(description="The approval that decided the answer, if any.")
    reason: AuthorizationDenial | None = strawberry.field(description="Why not, when not authorised.")
    category: str = strawberry.field(description="The category asked about.")
    at: date = strawberry.field(description="The date asked about.")


@dataclass(frozen=True)
class _Ask:
    """What an authorisation check asks: a category on a date, optionally a speciality or requisition right."""

    category: str
    on: date
    speciality: str | None = None
    requisition_right: str | None = None


def _answer(ask: _Ask, approval: Any, reason: AuthorizationDenial | None) -> AuthorizationCheck:
    return AuthorizationCheck(
        authorized=reason is None and approval is not None,
        approval=Approval.from_row(approval) if approval is not None else None,
        reason=reason,
        category=ask.category,
        at=ask.on,
    )


def _item_reason(
    ask: _Ask, items: list[Any], suspensions: list[Any], *, speciality: bool
) -> AuthorizationDenial | None:
    """Say why the asked speciality or requisition right does not hold on the date, or None when it does."""
    wanted = ask.speciality if speciality else ask.requisition_right
    if wanted is None:
        return None
    column = "speciality_id" if speciality else "requisition_right_id"
    valid = [i for i in items if i.code == wanted and is_valid_on(i, ask.on)]
    if not valid:
        return AuthorizationDenial.NO_SPECIALITY if speciality else AuthorizationDenial.NO_REQUISITION_RIGHT
    for item in valid:
        if not any(getattr(s, column) == item.id and is_valid_on(s, ask.on) for s in suspensions):
            return None
    return AuthorizationDenial.SPECIALITY_SUSPENDED if speciality else AuthorizationDenial.REQUISITION_RIGHT_SUSPENDED


async def check_authorization(info: Info, approvals: list[Any], ask: _Ask) -> AuthorizationCheck:  # noqa: PLR0911 - one return per reason
    """Decide authorisation: an authorising approval of the category valid on the date and not suspended.

    When a speciality or requisition right is asked for too, the approval must hold it on the date,
    and that speciality or right must not be suspended (HPR suspends them one by one as well).
    """
    loaders = info.context.loaders
    of_category = [a for a in approvals if a.category == ask.category]
    suspensions = await loaders.suspensions_by_approval.load_many([a.id for a in of_category])
    valid = [(a, s) for a, s in zip(of_category, suspensions, strict=True) if is_valid_on(a, ask.on)]
    authorising = [(a, s) for a, s in valid if a.authorization in AUTHORISING]
    in_force = [(a, s) for a, s in authorising if not any(_whole(p) and is_valid_on(p, ask.on) for p in s)]
    if in_force:
        ids = [a.id for a, _ in in_force]
        specialities = await loaders.specialities_by_approval.load_many(ids) if ask.speciality else [[]] * len(ids)
        rights = await loaders.rights_by_approval.load_many(ids) if ask.requisition_right else [[]] * len(ids)
        first_reason = None
        for (approval, periods), held, granted in zip(in_force, specialities, rights, strict=True):
            reason = _item_reason(ask, held, periods, speciality=True) or _item_reason(
                ask, granted, periods, speciality=False
            )
            if reason is None:
                return _answer(ask, approval, None)
            first_reason = first_reason or reason
        return _answer(ask, in_force[0][0], first_reason)
    if authorising:
        return _answer(ask, authorising[0][0], AuthorizationDenial.SUSPENDED)
    if valid:
        return _answer(ask, valid[0][0], AuthorizationDenial.NOT_AUTHORISING)
    if not of_category:
        return _answer(ask, None, AuthorizationDenial.NO_APPROVAL_IN_CATEGORY)
    if all(a.valid_from > ask.on for a in of_category):
        return _answer(ask, min(of_category, key=lambda a: a.valid_from), AuthorizationDenial.NOT_YET_VALID)
    return _answer(ask, max(of_category, key=lambda a: a.valid_from), AuthorizationDenial.EXPIRED)


async def _person(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return await refs.persons(info, [p.subject_nin for p in parents])


async def _approval_rows(info: Info, parents: list[Any]) -> list[list[Any]]:
    return await info.context.loaders.approvals_by_hpr.load_many([p.hpr_number for p in parents])


async def _approvals(info: Info, parents: list[HealthPersonnelHpr], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    return [[Approval.from_row(r) for r in rows if is_valid_on(r, on)] for rows in await _approval_rows(info, parents)]


async def _approval_history(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return [[Approval.from_row(r) for r in rows] for rows in await _approval_rows(info, parents)]


MAX_CODE = 8  # code values in HPR's lists are short (spesialitet, rekvisisjonsrett: a few digits)


def _code_argument(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > MAX_CODE or not text.isalnum():
        raise user_error(f"{name}: {value[:20]!r} is not a code value (letters or digits, at most {MAX_CODE})")
    return text


async def _authorizations(
    info: Info,
    parents: list[HealthPersonnelHpr],
    category: str,
    at: date,
    speciality: str | None = None,
    requisition_right: str | None = None,
) -> list[Any]:
    ask = _Ask(
        cast("str", _code_argument("category", category)).upper(),  # category is required, so never None
        at,
        _code_argument("speciality", speciality),
        _code_argument("requisitionRight", requisition_right),
    )
    groups = await _approval_rows(info, parents)
    return list(await asyncio.gather(*(check_authorization(info, rows, ask) for rows in groups)))


async def _replaced_by(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return await refs.health_personnel(info, [p.replaced_by_number for p in parents])


async def _merged(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    groups = await info.context.loaders.merged_into_hpr.load_many([p.hpr_number for p in parents])
    return [[r.hpr_number for r in rows] for rows in groups]


async def _alternative_ids(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    groups = await info.context.loaders.alternative_ids_by_hpr.load_many([p.hpr_number for p in parents])
    return [[AlternativeId(type=r.type, value=r.value) for r in rows] for rows in groups]


async def _reactions(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    groups = await info.context.loaders.reactions_by_hpr.load_many([p.hpr_number for p in parents])
    return [
        [
            AdministrativeReaction(
                type=RegisterCode(code=r.code, text=r.text),
                approval_id=strawberry.ID(str(r.approval_id)) if r.approval_id is not None else None,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in rows
        ]
        for rows in groups
    ]


async def _gender(info: Info, parents: list[HealthPersonnelHpr]) -> list[Any]:
    return await refs.codes(info, GENDER, [p.gender_code for p in parents])


@strawberry.type
class HealthPersonnelHpr:
    """HPR's part of HealthPersonnel: a person with an autorisasjon or lisens, by HPR number. Basic data is public."""

    hpr_number: int = strawberry.field(description="The HPR number (HPR-nummer).")
    name: PersonName | None = strawberry.field(default=None, description="The health worker's name (public).")
    subject_nin: strawberry.Private[str | None] = None
    born: strawberry.Private[date | None] = None
    died: strawberry.Private[date | None] = None
    gender_code: strawberry.Private[str | None] = None
    without_nin: strawberry.Private[bool | None] = None
    replaced_by_number: strawberry.Private[int | None] = None
    last_changed: datetime | None = strawberry.field(
        default=None, description="When HPR last changed the record (SistOppdatert)."
    )
    replaced_by: HealthPersonnelRef | None = edge_field(
        _replaced_by,
        description="The record this HPR number was merged into (ErstattetAvHprNummer); null for a live record. "
        "`healthPersonnel(hprNumber:)` follows it: asked for a merged number it answers the live record, "
        "whose `replacedHprNumbers` then lists the number asked for.",
    )
    replaced_hpr_numbers: list[int] = edge_field(
        _merged, description="HPR numbers merged into this record (their ErstattetAvHprNummer is this number)."
    )
    approvals: list[Approval] = edge_field(_approvals, description="Approvals valid at a date (default today).")
    approval_history: list[Approval] = edge_field(
        _approval_history, description="Every approval, oldest first, including expired ones."
    )
    authorization: AuthorizationCheck = edge_field(
        _authorizations,
        description="Was the health worker authorised in a category (e.g. LE) on a date: an authorising "
        "approval of that category valid on the date, with no suspension covering it. With `speciality` "
        "(code system 7426) or `requisitionRight` (7701), the approval must also hold that speciality or "
        "right on the date, not suspended on its own.",
    )

    @classmethod
    def from_row(cls, row: Any) -> Any:
        """Build from an HPR row."""
        return cls(
            hpr_number=row.hpr_number,
            name=PersonName.of(row.given_name, row.middle_name, row.family_name),
            subject_nin=row.nin,
            born=row.birth_date,
            died=row.death_date,
            gender_code=row.gender,
            without_nin=row.lacks_nin,
            replaced_by_number=row.replaced_by,
            last_changed=row.last_changed,
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

    @personal(HPR_EXTENDED, description="The health worker's death date (Dødsdato); null if alive or unknown.")
    def death_date(self) -> date | None:
        """Return the death date."""
        return self.died

    @personal(HPR_EXTENDED, description="True when HPR holds no Norwegian identity number for the person (ManglerNIN).")
    def lacks_nin(self) -> bool | None:
        """Return ManglerNIN."""
        return self.without_nin

    person: PersonRef | None = personal(
        HPR_EXTENDED, description="The health worker as a person in PREG.", batch=_person
    )
    gender: CodeRef | None = personal(
        HPR_EXTENDED, description="The gender HPR holds (Kjønn, code system 3101).", batch=_gender
    )
    alternative_ids: list[AlternativeId] | None = personal(
        HPR_EXTENDED, description="Identifiers other than the nin (AlternativeIder), e.g. FFHN.", batch=_alternative_ids
    )
    administrative_reactions: list[AdministrativeReaction] | None = personal(
        HPR_EXTENDED,
        description="Administrative reactions (warnings, revocations, limitations) on the person or an approval.",
        batch=_reactions,
    )


async def _person_personnel(info: Info, parents: list[PersonHpr]) -> list[Any]:
    groups = await info.context.loaders.personnel_by_nin.load_many([str(p.nin) for p in parents])
    live = [[r for r in rows if r.replaced_by is None] or rows for rows in groups]
    return [refs.entity("HealthPersonnel").from_row(rows[0]) if rows else None for rows in live]


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

    @strawberry.field(
        description="A health worker by HPR number. A number merged into another (ErstattetAvHprNummer) answers "
        "the live record; its `replacedHprNumbers` lists the number asked for."
    )
    async def health_personnel(self, info: Info, hpr_number: int) -> HealthPersonnelRef | None:
        """Return a health worker, or null when unknown; a merged number is followed to the live record."""
        hpr_number = int_key("hprNumber", hpr_number)
        found = await refs.one(refs.health_personnel, info, hpr_number)
        seen = {hpr_number}
        while found is not None and found.replaced_by_number is not None and len(seen) < MAX_MERGE_HOPS:
            if found.replaced_by_number in seen:
                break  # a loop in the register's data: answer the last record reached
            seen.add(found.replaced_by_number)
            found = await refs.one(refs.health_personnel, info, found.replaced_by_number) or found
        return await root(info, found)
