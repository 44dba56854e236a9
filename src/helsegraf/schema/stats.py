"""Statistics for analysts (`stats:read`): counts across registers, small cells suppressed.

Any count of persons under 5 is suppressed: `value` is null and `suppressed` true, so no
individual can be singled out. No field here leads to a person or an identifier.
Registers are read separately and combined in Python (no SQL joins across registers).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy import func, or_, select

from helsegraf.authz.requirements import STATISTICS
from helsegraf.loaders.base import valid_at
from helsegraf.models.flr import GpContract, ListMembership
from helsegraf.models.hpr import Approval
from helsegraf.models.preg import Person
from helsegraf.registers import FLR, HPR, PREG
from helsegraf.schema import refs
from helsegraf.schema.base import Info, check_municipality, personal

if TYPE_CHECKING:
    from helsegraf.schema.kodeverk import Code, Municipality

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
AGES_AND_GENDERS = select(Person.__table__.c.birth_date, Person.__table__.c.gender)
SMALLEST_CELL = 5
AGE_GROUPS = ((0, 5), (6, 15), (16, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, None))
CONTRACT, MEMBERSHIP, PERSON, APPROVAL = (
    GpContract.__table__,
    ListMembership.__table__,
    Person.__table__,
    Approval.__table__,
)


@strawberry.type(description="A count of persons; null and suppressed when under 5.")
class PersonCount:
    """A count that may be suppressed."""

    value: int | None = strawberry.field(description="The count, or null when suppressed.")
    suppressed: bool = strawberry.field(description="True when the count is under 5 and withheld.")

    @classmethod
    def of(cls, count: int) -> PersonCount:
        """Suppress a count under the smallest cell size."""
        return cls(value=None, suppressed=True) if 0 < count < SMALLEST_CELL else cls(value=count, suppressed=False)


@strawberry.type(description="GP lists in one municipality.")
class MunicipalityGpLists:
    """Lists, open lists and listed patients in a municipality."""

    code: strawberry.Private[str]
    lists: int = strawberry.field(description="GP lists (fastlegelister) valid on the date.")
    open_lists: int = strawberry.field(description="Of those, lists accepting new patients.")
    patients: PersonCount = strawberry.field(description="Patients on those lists.")

    @strawberry.field(description="The municipality.")
    async def municipality(self, info: Info) -> MunicipalityRef:
        """Return the municipality."""
        # Only an empty code yields None; every list carries its municipality's kommunenummer.
        return cast("Municipality", await refs.one(refs.municipalities, info, self.code))


@strawberry.type(description="Listed patients of one age group and gender.")
class AgeGenderCount:
    """A cell of the age-by-gender table."""

    age_group: str = strawberry.field(description="Age in whole years, e.g. 20-29 or 80+.")
    gender: str = strawberry.field(description="FEMALE or MALE.")
    patients: PersonCount = strawberry.field(description="Listed patients in the cell.")


@strawberry.type(description="Health personnel approved in one category.")
class CategoryCount:
    """A count per helsepersonellkategori."""

    code: strawberry.Private[str]
    personnel: PersonCount = strawberry.field(description="Persons with an approval of the category valid on the date.")

    @strawberry.field(description="The helsepersonellkategori (code system 9060).")
    async def category(self, info: Info) -> CodeRef:
        """Return the category code."""
        # Only an empty code yields None; every approval carries its category code.
        return cast("Code", await refs.one(refs.codes, info, "9060", self.code))


def _label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def _age_group(born: date, on: date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return next(_label(low, high) for low, high in AGE_GROUPS if high is None or age <= high)


@strawberry.type(description="Aggregates across registers for analysts. Counts of persons under 5 are suppressed.")
class Statistics:
    """Statistics, computed on request."""

    @strawberry.field(
        description="GP lists, open lists and listed patients per municipality at a date (default today)."
    )
    async def gp_lists_by_municipality(self, info: Info, at: date | None = None) -> list[MunicipalityGpLists]:
        """Count lists and patients per municipality."""
        on = at or info.context.today
        db = info.context.db
        lists = await db.fetch(
            FLR, select(CONTRACT.c.municipality_code, CONTRACT.c.is_open, CONTRACT.c.id).where(valid_at(CONTRACT, on))
        )
        per_list = select(MEMBERSHIP.c.contract_id, func.count().label("n")).where(valid_at(MEMBERSHIP, on))
        sizes = {r.contract_id: r.n for r in await db.fetch(FLR, per_list.group_by(MEMBERSHIP.c.contract_id))}
        by_code: dict[str, list[int]] = {}
        for row in lists:
            counts = by_code.setdefault(row.municipality_code, [0, 0, 0])
            counts[0] += 1
            counts[1] += int(bool(row.is_open))
            counts[2] += sizes.get(row.id, 0)
        return [MunicipalityGpLists(code=code, lists=c[0], open_lists=c[1], patients=PersonCount.of(c[2]))
                for code, c in sorted(by_code.items())]  # fmt: skip

    @strawberry.field(description="Listed patients by age group and gender at a date, optionally in one municipality.")
    async def patients_by_age_group_and_gender(
        self, info: Info, municipality: str | None = None, at: date | None = None
    ) -> list[AgeGenderCount]:
        """Count listed patients per age group and gender."""
        check_municipality(municipality)
        on = at or info.context.today
        db = info.context.db
        contracts = select(CONTRACT.c.id).where(valid_at(CONTRACT, on))
        if municipality is not None:
            contracts = contracts.where(CONTRACT.c.municipality_code == municipality)
        listed = (valid_at(MEMBERSHIP, on), MEMBERSHIP.c.contract_id.in_(contracts))
        born, sex = MEMBERSHIP.c.patient_birth_date, MEMBERSHIP.c.patient_gender
        # FLR holds each patient's birth date and gender: one grouped statement, tens of thousands of rows.
        grouped = await db.fetch(FLR, select(born, sex, func.count().label("n")).where(*listed).group_by(born, sex))
        by_birth: Counter[tuple[date, str]] = Counter()
        incomplete = False
        for row in grouped:
            if row.patient_birth_date is None or row.patient_gender is None:
                incomplete = True
            else:
                by_birth[row.patient_birth_date, row.patient_gender] += row.n
        if incomplete:
            # Memberships recorded without the patient's data: PREG has it.
            unknown = select(MEMBERSHIP.c.nin).where(*listed, or_(born.is_(None), sex.is_(None)))
            nins = [row.nin for row in await db.fetch(FLR, unknown)]
            by_birth.update(
                (p.birth_date, p.gender) for p in await db.fetch_by_keys(PREG, AGES_AND_GENDERS, PERSON.c.nin, nins)
            )
        cells: Counter[tuple[str, str]] = Counter()
        for (birth_date, gender), count in by_birth.items():
            cells[_age_group(birth_date, on), gender] += count
        labels = [_label(low, high) for low, high in AGE_GROUPS]
        return [AgeGenderCount(age_group=label, gender=gender, patients=PersonCount.of(cells[label, gender]))
                for label in labels for gender in ("FEMALE", "MALE")]  # fmt: skip

    @strawberry.field(description="Health personnel per category with an approval valid at a date (default today).")
    async def health_personnel_by_category(self, info: Info, at: date | None = None) -> list[CategoryCount]:
        """Count persons per approval category."""
        on = at or info.context.today
        statement = (
            select(APPROVAL.c.category, func.count(func.distinct(APPROVAL.c.hpr_number)).label("n"))
            .where(valid_at(APPROVAL, on))
            .group_by(APPROVAL.c.category)
            .order_by(APPROVAL.c.category)
        )
        rows = await info.context.db.fetch(HPR, statement)
        return [CategoryCount(code=row.category, personnel=PersonCount.of(int(row.n))) for row in rows]


@strawberry.type
class StatsQuery:
    """The statistics root field."""

    @personal(STATISTICS, description="Aggregates for analysts (stats:read); counts of persons under 5 are suppressed.")
    def statistics(self) -> Statistics | None:
        """Return the statistics entry point."""
        return Statistics()
