"""The statistics' SQL: one register per statement, grouped in the database.

Listed persons are counted per list (and per age group and gender when asked) with the sum of their
record keys, in FLR alone; the engine (stats/engine.py) adds lists up into cells. GPs' genders are
FLR's (the GP's Sex on each period), PREG's for periods stored without it. Health personnel are
counted in HPR alone, distinct persons per category. No statement joins two registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, case, func, literal, or_, select

from helsegraf.loaders.base import valid_at, valid_on_param
from helsegraf.models.flr import GpContract, GpPeriod, ListMembership
from helsegraf.models.hpr import Approval, HealthPersonnel, Speciality
from helsegraf.models.preg import Person
from helsegraf.registers import FLR, HPR, PREG

if TYPE_CHECKING:
    from helsegraf.db import Database
    from helsegraf.stats.disclosure import KeyParameters
    from helsegraf.stats.engine import Dimension

CONTRACT, PERIOD, MEMBERSHIP = GpContract.__table__, GpPeriod.__table__, ListMembership.__table__
APPROVAL, SPECIALITY, PERSONNEL, PERSON = (Approval.__table__, Speciality.__table__, HealthPersonnel.__table__,
                                           Person.__table__)  # fmt: skip
GP_RELATIONSHIPS: Final = ("LPFL", "LPDL")  # fastlege and delelege: the doctors who hold a share of a list
GENERAL_MEDICINE: Final = "1"  # spesialitet allmennmedisin (code system 7426)
__all__ = ["FLR", "HPR", "PREG"]


def contracts_at(on: date) -> Select[Any]:
    """Return the lists valid at a date."""
    c = CONTRACT.c
    return select(c.id, c.municipality_code, c.is_open, c.fixed_salary, c.max_patients, c.valid_from).where(
        valid_at(CONTRACT, on)
    )


def gps_at(on: date) -> Select[Any]:
    """Return the doctors' periods on lists at a date, with the GP's gender as FLR holds it."""
    p = PERIOD.c
    return select(p.contract_id, p.hpr_number, p.relationship, p.gp_gender, p.valid_from, p.id).where(
        valid_at(PERIOD, on)
    )


def _years_before(on: date, years: int) -> date:
    """Return the last birth date of someone `years` old or more on `on` (29 February: the 28th)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def age_group(born: Any, on: date) -> Any:
    """Return the age-group label of a birth-date column at a date, as SQL (NULL when unknown)."""
    from helsegraf.stats.engine import AGE_GROUPS, AGE_LABELS  # noqa: PLC0415 - the engine imports this module

    whens: list[Any] = [(born.is_(None), literal(None))]
    for (_low, high), label in zip(AGE_GROUPS, AGE_LABELS, strict=True):
        if high is not None:
            whens.append((born > _years_before(on, high + 1), literal(label)))
    return case(*whens, else_=literal(AGE_LABELS[-1]))


def age_label(born: date, on: date) -> str:
    """Return the age-group label of a birth date at a date (the same rule, in Python)."""
    from helsegraf.stats.engine import AGE_GROUPS, AGE_LABELS  # noqa: PLC0415

    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for (_low, high), label in zip(AGE_GROUPS, AGE_LABELS, strict=True):
        if high is None or age <= high:
            return label
    return AGE_LABELS[-1]


async def listed_persons(
    db: Database,
    keys: KeyParameters,
    on: date,
    person_dims: Sequence[Dimension],
    only: Sequence[int] | None,
    sizes: dict[int, int] | None = None,
) -> list[tuple[int, dict[Dimension, str], int, int]]:
    """Return (list, person dimension values, listed persons, sum of their record keys) groups at a date.

    One grouped statement; memberships recorded without the patient's birth date or gender (older
    rows) are looked up in PREG, a second and third statement only when there are any. `sizes`, when
    given, is filled from the same rows with each list's listed persons in all (every membership, also
    those whose age or gender neither register knows): the engine's small-group rule reads them.
    """
    from helsegraf.stats.engine import Dimension  # noqa: PLC0415

    m = MEMBERSHIP.c
    columns: list[Any] = [m.contract_id]
    if Dimension.AGE_GROUP in person_dims:
        columns.append(age_group(m.patient_birth_date, on).label("age_group"))
    if Dimension.GENDER in person_dims:
        columns.append(m.patient_gender.label("gender"))
    where: list[Any] = [valid_at(MEMBERSHIP, on)]
    if only is not None:
        where.append(db.in_keys(FLR, m.contract_id, list(only)) if only else literal(False))  # noqa: FBT003
    statement = select(*columns, func.count().label("n"), func.sum(keys.sql(m.id)).label("k")).where(*where)
    # The scan of every membership valid at the date: on a connection of its own, beside the short reads.
    rows = await db.fetch_alone(FLR, statement.group_by(*columns))
    groups: list[tuple[int, dict[Dimension, str], int, int]] = []
    incomplete = False
    for row in rows:
        if sizes is not None:
            sizes[row.contract_id] = sizes.get(row.contract_id, 0) + int(row.n)
        person = {}
        if Dimension.AGE_GROUP in person_dims:
            person[Dimension.AGE_GROUP] = row.age_group
        if Dimension.GENDER in person_dims:
            person[Dimension.GENDER] = row.gender
        if any(v is None for v in person.values()):
            incomplete = True
            continue
        groups.append((row.contract_id, person, int(row.n), int(row.k or 0)))
    if incomplete:
        groups += await _looked_up_in_preg(db, keys, on, person_dims, where)
    return groups


PREG_AGES_AND_GENDERS = select(PERSON.c.nin, PERSON.c.birth_date, PERSON.c.gender)


async def _looked_up_in_preg(
    db: Database, keys: KeyParameters, on: date, person_dims: Sequence[Dimension], where: list[Any]
) -> list[tuple[int, dict[Dimension, str], int, int]]:
    from helsegraf.stats.engine import Dimension  # noqa: PLC0415

    m = MEMBERSHIP.c
    # Only the rows the grouped statement left out: those missing a value that is asked for. A row with
    # its birth date but no gender is in the age groups already when only AGE_GROUP is asked.
    missing = [] if Dimension.AGE_GROUP not in person_dims else [m.patient_birth_date.is_(None)]
    missing += [] if Dimension.GENDER not in person_dims else [m.patient_gender.is_(None)]
    unknown = or_(*missing)
    rows = await db.fetch(FLR, select(m.id, m.contract_id, m.nin, m.patient_birth_date, m.patient_gender)
                          .where(*where, unknown))  # fmt: skip
    found = {p.nin: p for p in await db.fetch_by_keys(PREG, PREG_AGES_AND_GENDERS, PERSON.c.nin,
                                                       sorted({r.nin for r in rows}))}  # fmt: skip
    groups = []
    for r in rows:
        born = r.patient_birth_date or getattr(found.get(r.nin), "birth_date", None)
        gender = r.patient_gender or getattr(found.get(r.nin), "gender", None)
        if born is None or gender is None:
            continue  # neither register knows the person's age or gender: no cell of those can hold them
        person = {}
        if Dimension.AGE_GROUP in person_dims:
            person[Dimension.AGE_GROUP] = age_label(born, on)
        if Dimension.GENDER in person_dims:
            person[Dimension.GENDER] = gender
        groups.append((r.contract_id, person, 1, keys.python(r.id)))
    return groups


async def had_gp_within_a_year(db: Database, on: date) -> list[int]:
    """Return the lists that had a fastlege at some time in the year up to a date."""
    p = PERIOD.c
    statement = (
        select(p.contract_id)
        .distinct()
        .where(
            p.relationship == "LPFL",
            p.valid_from <= on,
            or_(p.valid_to.is_(None), p.valid_to > on - timedelta(days=365)),
        )
    )
    return [r[0] for r in await db.fetch(FLR, statement)]


GP_SPECIALISTS = (
    select(APPROVAL.c.hpr_number)
    .distinct()
    .select_from(APPROVAL.join(SPECIALITY, SPECIALITY.c.approval_id == APPROVAL.c.id))
    .where(SPECIALITY.c.code == GENERAL_MEDICINE, valid_on_param(SPECIALITY), valid_on_param(APPROVAL))
)
PERSONNEL_NINS = select(PERSONNEL.c.hpr_number, PERSONNEL.c.nin)
PREG_GENDERS = select(PERSON.c.nin, PERSON.c.gender)


async def gp_specialists(db: Database, numbers: Sequence[int], on: date) -> set[int]:
    """Return which of these doctors are specialists in general medicine at a date (HPR)."""
    return {r[0] for r in await db.fetch_by_keys(HPR, GP_SPECIALISTS, APPROVAL.c.hpr_number, numbers, on=on)}


async def genders_of_personnel(db: Database, numbers: Sequence[int]) -> dict[int, str]:
    """Return the gender of each of these health personnel: their nin from HPR, their gender from PREG.

    For GPs whose period FLR sent without the GP's gender (rows from before FLR's rows held it): the same
    person's gender, as FLR's person data comes from Folkeregisteret.
    """
    nins = {r.hpr_number: r.nin for r in await db.fetch_by_keys(HPR, PERSONNEL_NINS, PERSONNEL.c.hpr_number, numbers)
            if r.nin}  # fmt: skip
    genders = {
        r.nin: r.gender for r in await db.fetch_by_keys(PREG, PREG_GENDERS, PERSON.c.nin, sorted(set(nins.values())))
    }
    return {hpr: genders[nin] for hpr, nin in nins.items() if nin in genders}


def _approved(db: Database, on: date, categories: Sequence[str] | None) -> list[Any]:
    where: list[Any] = [valid_at(APPROVAL, on)]
    if categories is not None:
        # An array parameter on PostgreSQL (Database._pg_sql does not render expanding IN lists).
        where.append(db.in_keys(HPR, APPROVAL.c.category, list(categories)) if categories else literal(False))  # noqa: FBT003
    return where


async def health_personnel_by_category(
    db: Database, keys: KeyParameters, on: date, categories: Sequence[str] | None
) -> dict[str, tuple[int, int]]:
    """Return category -> (persons with a valid approval, sum of their record keys), distinct persons."""
    a = APPROVAL.c
    persons = select(a.category, a.hpr_number).where(*_approved(db, on, categories)).distinct().subquery()
    statement = select(persons.c.category, func.count().label("n"),
                       func.sum(keys.sql(persons.c.hpr_number)).label("k")).group_by(persons.c.category)  # fmt: skip
    return {r.category: (int(r.n), int(r.k or 0)) for r in await db.fetch(HPR, statement)}


async def health_personnel_total(
    db: Database, keys: KeyParameters, on: date, categories: Sequence[str] | None
) -> tuple[int, int]:
    """Return (persons with a valid approval of any of these categories, sum of their record keys)."""
    persons = select(APPROVAL.c.hpr_number).where(*_approved(db, on, categories)).distinct().subquery()
    statement = select(func.count().label("n"), func.sum(keys.sql(persons.c.hpr_number)).label("k"))
    row = (await db.fetch(HPR, statement))[0]
    return int(row.n), int(row.k or 0)
