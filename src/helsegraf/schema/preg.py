"""PREG (Persontjenesten) in the graph: persons, their addresses and families; `person`, `persons`, `me`."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from graphql import GraphQLError

from helsegraf.authz.requirements import ADDRESS, ADDRESS_PROTECTION, FAMILY, GUARDIANSHIP, IDENTITY
from helsegraf.execution.executor import RELEASED_AS
from helsegraf.execution.preload import preload
from helsegraf.identifiers import InvalidIdentifierError, nin_value
from helsegraf.loaders.base import is_valid_on
from helsegraf.loaders.preg import Redirected
from helsegraf.models.preg import PROTECTION_WORDS
from helsegraf.schema import refs
from helsegraf.schema.base import Info, check_list, echo, edge_field, personal, user_error
from helsegraf.schema.names import PersonName

if TYPE_CHECKING:
    from helsegraf.schema.assembly import Person
    from helsegraf.schema.kodeverk import Municipality

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
PersonRef = Annotated["Person", strawberry.lazy("helsegraf.schema.assembly")]


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
    TEMPORARY = strawberry.enum_value("TEMPORARY", description="D-number holder staying for a while (midlertidig).")
    NOT_RESIDENT = strawberry.enum_value("NOT_RESIDENT", description="Has a fødselsnummer, not resident (ikke bosatt).")
    REGISTERED_AT_BIRTH = strawberry.enum_value(
        "REGISTERED_AT_BIRTH", description="Registered at birth, not (yet) resident (fødselsregistrert)."
    )


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
    municipality: MunicipalityRef | None = edge_field(_address_municipality, description="The municipality (kommune).")


@dataclass(frozen=True, slots=True)
class Period:
    """One address period as the graph reads it; `address_protection` is the period's own grading (PDL's words)."""

    street: str | None
    postal_code: str | None
    postal_place: str | None
    municipality_code: str | None
    district: str | None
    valid_from: date
    valid_to: date | None
    address_protection: str
    country_code: str | None = None
    region: str | None = None
    address_unknown: bool | None = None
    stay_elsewhere: str | None = None

    @classmethod
    def of(cls, row: Any) -> Period:
        """Read a `preg_address` row; an ungraded period (no grading given) is unprotected by itself."""
        grading = PROTECTION_WORDS.get(row.confidentiality or "Unclassified", "STRENGT_FORTROLIG")
        unknown = bool(row.address_unknown) if row.address_unknown is not None else None  # SQLite answers 0/1
        return cls(row.street, row.postal_code, row.postal_place, row.municipality_code, row.district,
                   row.valid_from, row.valid_to, grading, row.country_code, row.region, unknown,
                   row.stay_elsewhere)  # fmt: skip


@strawberry.enum(description="Opphold annet sted: why a present address is elsewhere (the contract's StayElsewhere).")
class StayElsewhere(Enum):
    """In military service, in the foreign service, on Svalbard, or commuting."""

    MILITARY = strawberry.enum_value("MILITARY", description="Militær: in military service.")
    ABROAD = strawberry.enum_value("ABROAD", description="Utenriks: in the foreign service.")
    ON_SVALBARD = strawberry.enum_value("ON_SVALBARD", description="På Svalbard.")
    COMMUTER = strawberry.enum_value("COMMUTER", description="Pendler: commuting.")


async def _period_municipality(info: Info, parents: list[DatedAddress]) -> list[Any]:
    return await refs.municipalities(info, [p.row.municipality_code for p in parents])


@strawberry.type(
    description="An address over a half-open period [validFrom, validTo): a bostedsadresse, an oppholdsadresse, "
    "a delt bosted, a postadresse or a postadresse abroad. An address abroad has a countryCode; an address the "
    "register does not know has addressUnknown (a residential one keeps its municipality). Besides the person's "
    "protection (which hides the whole address), each address has its own grading (adressegradering): a graded "
    "address's parts are null, with a redaction each, for callers who may not "
    "see protected addresses."
)
class DatedAddress:
    """One period of an address of one kind, decided part by part by its own grading."""

    subject: strawberry.Private[str]  # whose address it is (the person's current number)
    row: strawberry.Private[Period]

    @personal(ADDRESS, description="Street address; for a postal address the post box (Postboks ...) or its lines.")
    def street(self) -> str | None:
        """Return the street."""
        return self.row.street

    @personal(ADDRESS, description="Postal code (postnummer).")
    def postal_code(self) -> str | None:
        """Return the postal code."""
        return self.row.postal_code

    @personal(ADDRESS, description="Postal place (poststed).")
    def postal_place(self) -> str | None:
        """Return the postal place."""
        return self.row.postal_place

    @personal(ADDRESS, description="Bydel, in cities that have them.")
    def district(self) -> str | None:
        """Return the district."""
        return self.row.district

    @personal(ADDRESS, description="The first day of the period.")
    def valid_from(self) -> date | None:
        """Return the start of the period."""
        return self.row.valid_from

    @personal(ADDRESS, description="The day the period ended (half-open: not part of it); null while current.")
    def valid_to(self) -> date | None:
        """Return the end of the period."""
        return self.row.valid_to

    @personal(ADDRESS_PROTECTION, description="The address's own grading (adressegradering), in the graph's words.")
    def address_protection(self) -> AddressProtection | None:
        """Return the grading."""
        return AddressProtection(self.row.address_protection)

    @personal(ADDRESS, description="The country of an address abroad (ISO 3166-1 alpha-2, as the register "
              "sends it); null for an address in Norway.")  # fmt: skip
    def country_code(self) -> str | None:
        """Return the country of an address abroad."""
        return self.row.country_code

    @personal(ADDRESS, description="The region (state, province, county) of an address abroad, when given.")
    def region(self) -> str | None:
        """Return the region."""
        return self.row.region

    @personal(ADDRESS, description="True when the register does not know the address (ukjent bosted for a "
              "residential address, which names the municipality only; adressen er ukjent for a present one); "
              "false otherwise.")  # fmt: skip
    def address_unknown(self) -> bool | None:
        """Return whether the address is unknown."""
        return bool(self.row.address_unknown)

    @personal(ADDRESS, description="For a present address: why the person stays elsewhere (opphold annet sted); "
              "null when not given.")  # fmt: skip
    def stay_elsewhere(self) -> StayElsewhere | None:
        """Return the reason for the stay elsewhere."""
        word = _word(self.row.stay_elsewhere)
        return StayElsewhere[word] if word is not None and word in StayElsewhere.__members__ else None

    municipality: MunicipalityRef | None = personal(
        ADDRESS, description="The municipality (kommune); null for postal addresses and addresses abroad.",
        batch=_period_municipality,
    )  # fmt: skip


def _dated(kind: str) -> Any:
    """Return the batch function of a dated address edge of one kind (PRESENT or POSTAL)."""

    async def batch(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
        on = at or info.context.today
        groups = await info.context.loaders.addresses_by_nin.load_many([_current(p) for p in parents])
        answers: list[Any] = []
        for person, rows in zip(parents, groups, strict=True):
            valid = [r for r in rows if r.kind == kind and is_valid_on(r, on)]
            answers.append(DatedAddress(subject=person.subject, row=Period.of(valid[-1])) if valid else None)
        return answers

    return batch


async def _present_address(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    answers: list[Any] = await _dated("PRESENT")(info, parents, at)
    return answers


async def _postal_address(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    answers: list[Any] = await _dated("POSTAL")(info, parents, at)
    return answers


async def _residential_address(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    return list(await _dated("RESIDENTIAL")(info, parents, at))


async def _shared_residence(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    return list(await _dated("SHARED")(info, parents, at))


async def _foreign_postal_address(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    return list(await _dated("FOREIGN_POSTAL")(info, parents, at))


@strawberry.type(description="A Norwegian identification number the person has or had (folkeregisteridentifikator).")
class IdentificationNumber:
    """A fødselsnummer or D-number with its type and status; a replaced one is Discontinued."""

    number: str = strawberry.field(description="The number (11 digits).")
    number_type: str = strawberry.field(
        description="NationalIdentityNumber, DNumber or AlternateIdentificationNumber (Persontjenesten's words)."
    )
    status: str = strawberry.field(description="InUse or Discontinued.")
    valid_from: date | None = strawberry.field(description="In use from.")
    valid_to: date | None = strawberry.field(description="In use until (half-open); null while in use.")


async def _numbers(info: Info, parents: list[Person]) -> list[Any]:
    groups = await info.context.loaders.numbers_by_nin.load_many([str(p.nin) for p in parents])
    return [
        [IdentificationNumber(number=r.number, number_type=r.number_type, status=r.status, valid_from=r.valid_from,
                              valid_to=r.valid_to) for r in rows]
        for rows in groups
    ]  # fmt: skip


async def _related(info: Info, nins: list[list[str]]) -> list[list[Person]]:
    found = iter(await refs.persons(info, [nin for group in nins for nin in group]))
    return [[p for _ in group if (p := next(found)) is not None] for group in nins]


def _current(person: Any) -> str:
    """Return the number a person's relations are registered under (the current one after a redirect)."""
    return str(person.row.nin) if person.row is not None else str(person.nin)


async def _parents(info: Info, parents: list[Person]) -> list[Any]:
    groups = await info.context.loaders.parents_by_child.load_many([_current(p) for p in parents])
    return await _related(info, [[r.parent_nin for r in rows] for rows in groups])


async def _children(info: Info, parents: list[Person]) -> list[Any]:
    groups = await info.context.loaders.children_by_parent.load_many([_current(p) for p in parents])
    return await _related(info, [[r.child_nin for r in rows] for rows in groups])


@strawberry.enum(
    description="Foreldreansvar: who holds parental responsibility (the contract's ParentalResponsibilityType)."
)
class ParentalResponsibilityType(Enum):
    """Joint, the mother, the father, the co-mother, someone else, or unknown."""

    JOINT = strawberry.enum_value("JOINT", description="Felles: held jointly (each holder has an entry).")
    MOTHER = strawberry.enum_value("MOTHER", description="Mor: the mother alone.")
    FATHER = strawberry.enum_value("FATHER", description="Far: the father alone.")
    CO_MOTHER = strawberry.enum_value("CO_MOTHER", description="Medmor: the co-mother alone.")
    OTHER = strawberry.enum_value("OTHER", description="Andre: someone other than a parent.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description="Ukjent.")


@strawberry.enum(description="Vergemåltype: the kind of guardianship (the contract's GuardianshipType).")
class GuardianshipType(Enum):
    """For an adult or a minor, temporary, for unaccompanied minors, or a confirmed power of attorney."""

    SINGLE_MINOR_ASYLUM_SEEKER = "SINGLE_MINOR_ASYLUM_SEEKER"
    SINGLE_MINOR_REFUGEE = "SINGLE_MINOR_REFUGEE"
    ADULT = "ADULT"
    TEMPORARY_FOR_ADULT = "TEMPORARY_FOR_ADULT"
    MINOR = "MINOR"
    TEMPORARY_FOR_MINOR = "TEMPORARY_FOR_MINOR"
    MANAGEMENT_OUTSIDE_GUARDIANSHIP = "MANAGEMENT_OUTSIDE_GUARDIANSHIP"
    CONFIRMED_FUTURE_POWER_OF_ATTORNEY = "CONFIRMED_FUTURE_POWER_OF_ATTORNEY"


@strawberry.enum(description="Vergemålsomfang: what the guardian acts in (the contract's GuardianshipScope).")
class GuardianshipScope(Enum):
    """Personal and/or financial interests (and immigration matters)."""

    IMMIGRATION_PERSONAL_AND_FINANCIAL_INTERESTS = "IMMIGRATION_PERSONAL_AND_FINANCIAL_INTERESTS"
    PERSONAL_AND_FINANCIAL_INTERESTS = "PERSONAL_AND_FINANCIAL_INTERESTS"
    FINANCIAL_INTERESTS = "FINANCIAL_INTERESTS"
    PERSONAL_INTERESTS = "PERSONAL_INTERESTS"


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _word(value: str | None) -> str | None:
    """CoMother -> CO_MOTHER: the contract's words to the graph's enum values."""
    return _CAMEL.sub("_", value).upper() if value else None


async def _ends(info: Info, nins: list[str | None]) -> list[Any]:
    """Return the persons at the ends of relation entries; null where the register holds no record (or no number)."""
    return list(await refs.persons(info, nins))


@strawberry.type(
    name="PersonWithoutIdentifier",
    description="A person the register names without a Norwegian identification number (a holder of parental "
    "responsibility, a child or a guardian abroad): by name, birth date, gender and citizenship. The parts are "
    "identity data (preg:identity); there is no number to keep an access log under, so a release is logged "
    "only for the person whose record names them.",
)
class PersonWithoutId:
    """Someone without a Norwegian number, as the contract carries them (RelatedBiPerson, GuardianOrProxy)."""

    given_name: strawberry.Private[str | None]
    middle_name: strawberry.Private[str | None]
    family_name: strawberry.Private[str | None]
    born: strawberry.Private[date | None]
    sex: strawberry.Private[str | None]
    country: strawberry.Private[str | None]

    @classmethod
    def of(cls, row: Any) -> PersonWithoutId:
        """Read a row of preg_responsibility_without_id or preg_guardian_without_id."""
        return cls(given_name=row.given_name, middle_name=row.middle_name, family_name=row.family_name,
                   born=row.birth_date, sex=row.gender, country=row.citizenship)  # fmt: skip

    @personal(IDENTITY, description="The name, as the register has it.")
    def name(self) -> PersonName | None:
        """Return the name."""
        return PersonName.of(self.given_name or "", self.middle_name, self.family_name or "")

    @personal(IDENTITY, description="Birth date (fødselsdato), when the register has it.")
    def birth_date(self) -> date | None:
        """Return the birth date."""
        return self.born

    @personal(IDENTITY, description="Kjønn, when the register has it.")
    def gender(self) -> Gender | None:
        """Return the gender (the contract's Female and Male)."""
        word = (self.sex or "").upper()
        return Gender[word] if word in Gender.__members__ else None

    @personal(IDENTITY, description="Citizenship (statsborgerskap), as the register sends it.")
    def citizenship(self) -> str | None:
        """Return the citizenship."""
        return self.country


async def _holders(info: Info, parents: list[ParentalResponsibility]) -> list[Any]:
    return await _ends(info, [p.responsible_nin for p in parents])


async def _held_children(info: Info, parents: list[ParentalResponsibility]) -> list[Any]:
    return await _ends(info, [p.child_nin for p in parents])


@strawberry.type(
    description="Foreldreansvar: one holder's parental responsibility for one child. An entry is a release of "
    "the other person it names, and is logged for them."
)
class ParentalResponsibility:
    """Who holds responsibility for whom, and of which kind."""

    subject: strawberry.Private[str | None]  # the other person the entry names (logged as released), if numbered
    responsible_nin: strawberry.Private[str | None]
    child_nin: strawberry.Private[str | None]
    type: ParentalResponsibilityType | None = strawberry.field(description="The kind of responsibility.")
    responsible: PersonRef | None = edge_field(
        _holders, description="Who holds it; null when the register holds no record of them, or they have no number."
    )
    child: PersonRef | None = edge_field(
        _held_children,
        description="The child it is held for; null when the register holds no record of them, or it has no number.",
    )
    responsible_without_identifier: PersonWithoutId | None = strawberry.field(
        default=None, description="The holder, when they have no Norwegian identification number."
    )
    child_without_identifier: PersonWithoutId | None = strawberry.field(
        default=None, description="The child, when it has no Norwegian identification number."
    )


async def _guardians(info: Info, parents: list[GuardianshipEntry]) -> list[Any]:
    return await _ends(info, [p.guardian_nin for p in parents])


@strawberry.type(
    name="Guardianship",
    description="Vergemål or fremtidsfullmakt: a guardian acting for the person. An entry is a release of the "
    "guardian it names, and is logged for them (under guardianship).",
)
class GuardianshipEntry:
    """One guardian, the kind of guardianship and its scope."""

    subject: strawberry.Private[str | None]  # the guardian (logged as released), if numbered
    guardian_nin: strawberry.Private[str | None]
    type: GuardianshipType | None = strawberry.field(description="The kind of guardianship.")
    scope: GuardianshipScope | None = strawberry.field(description="What the guardian acts in; null when not given.")
    in_personal_scope: bool | None = strawberry.field(
        default=None,
        description="Whether the guardian acts in personal matters (consent to health care among them; the "
        "contract's isGuardianshipInPersonalScope); null when not given.",
    )
    guardian: PersonRef | None = edge_field(
        _guardians,
        description="The guardian; null when the register holds no record of them, or they have no number.",
    )
    guardian_without_identifier: PersonWithoutId | None = strawberry.field(
        default=None, description="The guardian, when they have no Norwegian identification number."
    )


def _responsibility(row: Any, other: str) -> ParentalResponsibility:
    return ParentalResponsibility(
        subject=other, responsible_nin=row.responsible_nin, child_nin=row.child_nin,
        type=_member(ParentalResponsibilityType, row.responsibility_type),
    )  # fmt: skip


def _responsibility_without_id(row: Any, nin: str) -> ParentalResponsibility:
    """Return an entry whose other end has no number: a holder (on the child's record) or a child (on the holder's)."""
    other, holder = PersonWithoutId.of(row), row.role == "RESPONSIBLE"
    return ParentalResponsibility(
        subject=None, responsible_nin=None if holder else nin, child_nin=nin if holder else None,
        type=_member(ParentalResponsibilityType, row.responsibility_type),
        responsible_without_identifier=other if holder else None, child_without_identifier=None if holder else other,
    )  # fmt: skip


async def _with_unnumbered(info: Info, parents: list[Person], loader: Any) -> tuple[list[str], Any, Any]:
    """Load a person's entries by number and the entries naming someone without a number, at once."""
    nins = [_current(p) for p in parents]
    numbered, unnumbered = await asyncio.gather(
        loader.load_many(nins), info.context.loaders.responsibility_without_id_by_nin.load_many(nins)
    )
    return nins, numbered, unnumbered


async def _parental_responsibility(info: Info, parents: list[Person]) -> list[Any]:
    nins, groups, others = await _with_unnumbered(info, parents, info.context.loaders.responsibility_by_child)
    return [
        [_responsibility(r, r.responsible_nin) for r in rows]
        + [_responsibility_without_id(r, nin) for r in unnumbered if r.role == "RESPONSIBLE"]
        for nin, rows, unnumbered in zip(nins, groups, others, strict=True)
    ]


async def _parental_responsibility_for(info: Info, parents: list[Person]) -> list[Any]:
    nins, groups, others = await _with_unnumbered(info, parents, info.context.loaders.responsibility_by_holder)
    return [
        [_responsibility(r, r.child_nin) for r in rows]
        + [_responsibility_without_id(r, nin) for r in unnumbered if r.role == "CHILD"]
        for nin, rows, unnumbered in zip(nins, groups, others, strict=True)
    ]


def _member(enum: type[Enum], value: str | None) -> Any:
    """Return the enum member for a contract word, or None for a word the graph does not know."""
    word = _word(value)
    return enum[word] if word is not None and word in enum.__members__ else None


@strawberry.enum(description="How the person's legal capacity (rettslig handleevne) is restricted.")
class LegalCapacityKind(Enum):
    """Deprived of it, or limited."""

    DEPRIVED = strawberry.enum_value("DEPRIVED", description="Fratatt rettslig handleevne (deprivedLegalAuthority).")
    LIMITED = strawberry.enum_value("LIMITED", description="Begrenset (legalAuthority, scope Limited).")


@strawberry.type(
    description="A restriction of the person's legal capacity over a half-open period [validFrom, validTo)."
)
class LegalCapacityRestriction:
    """One period of a restriction of legal capacity."""

    kind: LegalCapacityKind = strawberry.field(description="Deprived or limited.")
    valid_from: date = strawberry.field(description="The first day of the period.")
    valid_to: date | None = strawberry.field(description="The day it ended (not part of it); null while in force.")


async def _legal_capacity(info: Info, parents: list[Person], at: date | None = None) -> list[Any]:
    on = at or info.context.today
    groups = await info.context.loaders.legal_capacity_by_nin.load_many([_current(p) for p in parents])
    return [
        [LegalCapacityRestriction(kind=LegalCapacityKind(r.kind), valid_from=r.valid_from, valid_to=r.valid_to)
         for r in rows if is_valid_on(r, on) and r.kind in LegalCapacityKind.__members__]
        for rows in groups
    ]  # fmt: skip


def _flag(value: Any) -> bool | None:
    return bool(value) if value is not None else None  # SQLite answers 0 and 1


async def _guardianship(info: Info, parents: list[Person]) -> list[Any]:
    nins = [_current(p) for p in parents]
    loaders = info.context.loaders
    groups, others = await asyncio.gather(
        loaders.guardianship_by_nin.load_many(nins), loaders.guardians_without_id_by_nin.load_many(nins)
    )
    return [
        [
            GuardianshipEntry(
                subject=r.guardian_nin,
                guardian_nin=r.guardian_nin,
                type=_member(GuardianshipType, r.guardianship_type),
                scope=_member(GuardianshipScope, r.scope),
                in_personal_scope=_flag(r.in_personal_scope),
            )
            for r in rows
        ]
        + [
            GuardianshipEntry(
                subject=None,
                guardian_nin=None,
                type=_member(GuardianshipType, r.guardianship_type),
                scope=_member(GuardianshipScope, r.scope),
                in_personal_scope=_flag(r.in_personal_scope),
                guardian_without_identifier=PersonWithoutId.of(r),
            )
            for r in unnumbered
        ]
        for rows, unnumbered in zip(groups, others, strict=True)
    ]


@strawberry.type
class PersonPreg:
    """PREG's part of Person: identity, address and family (the entity type is composed in assembly.py)."""

    nin: strawberry.ID = strawberry.field(description="Fødselsnummer or D-number (11 digits).")
    row: strawberry.Private[Any] = None

    @classmethod
    def from_row(cls, row: Any) -> Any:
        """Build from a PREG row; a redirected row keeps the number that was asked as the key."""
        # (isinstance, not getattr with a default: a row without the attribute costs an AttributeError)
        return cls(nin=strawberry.ID(row.asked_nin if isinstance(row, Redirected) else row.nin), row=row)

    @classmethod
    def stub(cls, nin: str) -> Any:
        """Build a key-only reference (also what a caller who may not learn whether a person exists gets)."""
        return cls(nin=strawberry.ID(nin))

    @classmethod
    async def resolve_reference(cls, info: Info, nin: strawberry.ID) -> Any:
        """Resolve a Federation reference, as `person(nin)` would."""
        [found] = await _persons_for(info, [nin_argument("nin", str(nin), info.context.today)], preloading=False)
        return found

    @property
    def subject(self) -> str:
        """Return whose personal data this is: the person under the number now in use."""
        return str(self.row.nin) if self.row is not None else str(self.nin)

    @personal(
        IDENTITY,
        description="The number now in use for the person: differs from nin when the number "
        "asked for was replaced (a new fødselsnummer, or a duplicate merged into this person).",
    )
    def current_nin(self) -> str | None:
        """Return the person's current number."""
        return str(self.row.nin)

    @personal(IDENTITY, description="The number that replaced the one asked for; null when it was not replaced.")
    def replaced_by(self) -> str | None:
        """Return the replacing number, when there is one."""
        return str(self.row.nin) if str(self.row.nin) != str(self.nin) else None

    @personal(IDENTITY, description="When Persontjenesten last changed the person (from the source).")
    def last_changed(self) -> datetime | None:
        """Return the time of the person's newest registered change."""
        value = getattr(self.row, "last_changed", None)
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @personal(IDENTITY, description="Sivilstand, in Persontjenesten's words (Unmarried, Married, WidowOrWidower, ...).")
    def marital_status(self) -> str | None:
        """Return the marital status."""
        return getattr(self.row, "marital_status", None)

    @personal(IDENTITY, description="Citizenship (statsborgerskap), ISO 3166 alpha-3.")
    def citizenship(self) -> str | None:
        """Return the citizenship."""
        return getattr(self.row, "citizenship", None)

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
        if row is None or (row.street is None and row.municipality_code is None):
            return None
        return Address(
            street=row.street, postal_code=row.postal_code, postal_place=row.postal_place,
            district=row.district, municipality_code=row.municipality_code,
        )  # fmt: skip

    @personal(ADDRESS_PROTECTION, description="Adressebeskyttelse; visible to callers that may see addresses.")
    def address_protection(self) -> AddressProtection | None:
        """Return the protection level."""
        return AddressProtection(self.row.address_protection) if self.row is not None else None

    present_address: DatedAddress | None = personal(
        ADDRESS,
        description="Oppholdsadresse: where the person stays on date `at` (default today), when it differs from "
        "the residential address; null for protected addresses unless the caller may see them.",
        batch=_present_address,
    )
    postal_address: DatedAddress | None = personal(
        ADDRESS,
        description="Postadresse (kontaktadresse): where the person's post goes on date `at` (default today); "
        "null for protected addresses unless the caller may see them.",
        batch=_postal_address,
    )
    residential_address: DatedAddress | None = personal(
        ADDRESS,
        description="Bostedsadresse on date `at` (default today), with its period: `address` is the one in force "
        "today; an unknown residence (addressUnknown) names the municipality only. Null for protected addresses "
        "unless the caller may see them.",
        batch=_residential_address,
    )
    shared_residence: DatedAddress | None = personal(
        ADDRESS,
        description="Delt bosted: a child's home at the parent it does not live with, on date `at` (default "
        "today), as the register copied it when the agreement was made (it is not updated if that parent moves); "
        "null for protected addresses unless the caller may see them.",
        batch=_shared_residence,
    )
    foreign_postal_address: DatedAddress | None = personal(
        ADDRESS,
        description="Postadresse i utlandet (kontaktadresse i utlandet): where the person's post goes abroad on "
        "date `at` (default today), with its own grading; null for protected addresses unless the caller may "
        "see them.",
        batch=_foreign_postal_address,
    )
    parental_responsibility: list[ParentalResponsibility] | None = personal(
        FAMILY,
        description="Foreldreansvar for this person: who holds parental responsibility for them, and of which kind.",
        batch=_parental_responsibility,
        relates=True,
    )
    parental_responsibility_for: list[ParentalResponsibility] | None = personal(
        FAMILY,
        description="The children this person holds parental responsibility for.",
        batch=_parental_responsibility_for,
        relates=True,
    )
    guardianship: list[GuardianshipEntry] | None = personal(
        GUARDIANSHIP,
        description="Vergemål and fremtidsfullmakt: the person's guardians (preg:guardianship, a scope of its own: "
        "family relations do not open it).",
        batch=_guardianship,
        relates=True,
    )
    legal_capacity_restrictions: list[LegalCapacityRestriction] | None = personal(
        GUARDIANSHIP,
        description="Restrictions of the person's legal capacity (rettslig handleevne) in force on date `at` "
        "(default today): deprived of it or limited (preg:guardianship, as guardianship).",
        batch=_legal_capacity,
    )
    identification_numbers: list[IdentificationNumber] | None = personal(
        IDENTITY, description="Every identification number the person has or had, with type and status.", batch=_numbers
    )
    parents: list[PersonRef] | None = personal(
        FAMILY, description="The person's registered parents (forelder-barn-relasjon).", batch=_parents, relates=True
    )
    children: list[PersonRef] | None = personal(
        FAMILY, description="The person's registered children.", batch=_children, relates=True
    )


async def _persons_for(info: Info, nins: list[str], *, preloading: bool = True) -> list[Person | None]:
    """Load persons and, at the same time, the edges selected below them (they need only the nin).

    A caller who may not learn whether someone is registered gets a key-only person for an unknown
    number, as for a known one whose fields they may not see: the same answer either way.
    """
    stub = refs.entity("Person").stub
    stubs = {nin: stub(nin) for nin in nins}
    if preloading:
        found, _ = await asyncio.gather(refs.persons(info, nins), preload(info, list(stubs.values())))
    else:
        found = await refs.persons(info, nins)
    guard = info.context.guard
    answered: list[Person | None] = []
    for nin, person in zip(nins, found, strict=True):
        grounds = guard.existence_grounds(nin)
        if person is None:
            answered.append(None if grounds is not None else stubs[nin])
            continue
        if "_preloaded" in stubs[nin].__dict__:
            person.__dict__["_preloaded"] = stubs[nin].__dict__["_preloaded"]
        # Found for a caller who may know it: that the person is registered has left (guard.existence_grounds).
        # `person` was built for this answer (refs.persons), so it is marked as it is rather than copied
        # as mark_released copies a shared object; a number asked twice is the same person, on the same grounds.
        if grounds is not None:
            person.__dict__[RELEASED_AS] = (IDENTITY.group, grounds)
        answered.append(person)
    return answered


def nin_argument(name: str, value: str, today: date) -> str:
    """Validate an identity number argument, naming the value and the reason when it is invalid."""
    try:
        return nin_value(value, today=today)
    except InvalidIdentifierError as exc:
        raise _invalid_nin(name, value, exc) from None


def _invalid_nin(name: str, value: str, exc: InvalidIdentifierError) -> GraphQLError:
    return user_error(f"{name}: {echo(value)} is not a valid national identity number: {exc.reason}")


@strawberry.type
class PregQuery:
    """PREG's root fields."""

    @strawberry.field(description="The signed-in citizen (the token's pid claim); null when anonymous.")
    async def me(self, info: Info) -> PersonRef | None:
        """Return the caller's own person record."""
        pid = getattr(info.context.guard, "pid", None)
        return (await _persons_for(info, [pid]))[0] if pid else None

    @strawberry.field(description="A person by national identity number (fødselsnummer or D-number).")
    async def person(self, info: Info, nin: strawberry.ID) -> PersonRef | None:
        """Return a person, or null when unknown."""
        [found] = await _persons_for(info, [nin_argument("nin", str(nin), info.context.today)])
        return found

    @strawberry.field(
        description="Persons by national identity number: at most 1,000, in the order asked, null for unknown. "
        "An invalid number is null at its index, with a BAD_USER_INPUT error at that index's path."
    )
    async def persons(self, info: Info, nins: list[strawberry.ID]) -> list[PersonRef | None]:
        """Return persons in the order of `nins`; an invalid number is an error in its own place."""
        check_list("nins", nins)
        today = info.context.today
        answers: list[Any] = []
        valid: list[str] = []
        for i, nin in enumerate(nins):
            value = str(nin)
            try:
                valid.append(nin_value(value, today=today))
                answers.append(None)
            except InvalidIdentifierError as exc:
                # graphql-core reports it at ["persons", i] and answers null there
                answers.append(_invalid_nin(f"nins[{i}]", value, exc))
        found = iter(await _persons_for(info, valid))
        return [next(found) if answer is None else answer for answer in answers]
