"""The statistics' SQL: one register per statement, grouped in the database.

Listed persons are counted per list, age group and gender with the sum of their record keys, in FLR
alone, once per reference date (stats/published.py keeps the scan); the engine (stats/engine.py) adds
lists up into cells. GPs' genders are FLR's (the GP's Sex on each period), PREG's for periods stored
without it. Health personnel are counted in HPR alone, distinct persons per category (and every category
together), once per reference date too. No statement joins two registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, case, func, literal, or_, select, union_all

from helsegraf.loaders import flr as flr_loaders
from helsegraf.loaders.base import valid_at, valid_on_param
from helsegraf.models.flr import GpContract, GpPeriod, ListMembership
from helsegraf.models.hpr import Approval, HealthPersonnel, Speciality
from helsegraf.models.preg import Person
from helsegraf.registers import FLR, HPR, PREG
from helsegraf.stats.published import ANY_CATEGORY

if TYPE_CHECKING:
    from helsegraf.db import Database
    from helsegraf.stats.disclosure import KeyParameters

CONTRACT, PERIOD, MEMBERSHIP = GpContract.__table__, GpPeriod.__table__, ListMembership.__table__
APPROVAL, SPECIALITY, PERSONNEL, PERSON = (Approval.__table__, Speciality.__table__, HealthPersonnel.__table__,
                                           Person.__table__)  # fmt: skip
GP_RELATIONSHIPS: Final = ("LPFL", "LPDL")  # fastlege and delelege: the doctors who hold a share of a list
GENERAL_MEDICINE: Final = "1"  # spesialitet allmennmedisin (code system 7426)
__all__ = ["FLR", "HPR", "PREG"]


def contracts_at(on: date) -> Select[Any]:
    """Return the lists valid at a date, with their listetak, open status and fixed salary at that date."""
    statement, _terms = flr_loaders.contracts_at(on)
    wanted = ("id", "municipality_code", "is_open", "fixed_salary", "max_patients", "valid_from")
    return statement.with_only_columns(*(c for c in statement.selected_columns if c.key in wanted))


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


async def persons_by_list_age_and_gender(
    db: Database, keys: KeyParameters, on: date
) -> list[tuple[int, str | None, str | None, int, int]]:
    """Return (list, age group, gender, listed persons, sum of their record keys) at a date: the whole grouped scan.

    Every membership valid at the date counts in one row; an age group or gender that neither FLR nor
    PREG gives is None (the person still counts in the list's size). One grouped statement, and for rows
    recorded without the patient's birth date or gender, their memberships and PREG's persons.
    """
    m = MEMBERSHIP.c
    columns: list[Any] = [m.contract_id, age_group(m.patient_birth_date, on).label("age_group"),
                          m.patient_gender.label("gender")]  # fmt: skip
    where: list[Any] = [valid_at(MEMBERSHIP, on)]
    statement = select(*columns, func.count().label("n"), func.sum(keys.cell_sql(m.id)).label("k")).where(*where)
    rows = await db.fetch_alone(FLR, statement.group_by(*columns), work_mem_mb=SCAN_WORK_MEM_MB)
    groups: dict[tuple[int, str | None, str | None], list[int]] = {}
    incomplete = False
    for row in rows:
        if row.age_group is None or row.gender is None:
            incomplete = True
            continue
        groups[row.contract_id, row.age_group, row.gender] = [int(row.n), int(row.k or 0)]
    if incomplete:
        missing = or_(m.patient_birth_date.is_(None), m.patient_gender.is_(None))
        found_rows = await db.fetch(FLR, select(m.id, m.contract_id, m.nin, m.patient_birth_date, m.patient_gender)
                                    .where(*where, missing))  # fmt: skip
        found = {p.nin: p for p in await db.fetch_by_keys(PREG, PREG_AGES_AND_GENDERS, PERSON.c.nin,
                                                           sorted({r.nin for r in found_rows}))}  # fmt: skip
        for r in found_rows:
            born = r.patient_birth_date or getattr(found.get(r.nin), "birth_date", None)
            gender = r.patient_gender or getattr(found.get(r.nin), "gender", None)
            group = groups.setdefault((r.contract_id, age_label(born, on) if born else None, gender), [0, 0])
            group[0] += 1
            group[1] += keys.python(r.id)
    return [(contract, age, gender, n, k) for (contract, age, gender), (n, k) in groups.items()]


# The grouped scan's hash table: lists x age groups x genders groups (107,500 at 5.5 million persons),
# which the planner overestimates several times. With PostgreSQL's default work_mem (4 MB) it sorted the
# memberships on disk instead (external merge: 1.45-2.8 s at 1,000,000 persons, 1,369,902 memberships,
# on the loaded 2-core machine); with 32 MB or more, one hash aggregate in memory (0.68-0.72 s).
SCAN_WORK_MEM_MB: Final = 128
PREG_AGES_AND_GENDERS = select(PERSON.c.nin, PERSON.c.birth_date, PERSON.c.gender)


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


async def health_personnel_by_category_and_total(
    db: Database, keys: KeyParameters, on: date
) -> list[tuple[str, int, int]]:
    """Return (category, persons, key sum) per category with a valid approval, and ("", ...) for all together.

    One statement: distinct persons per category, and distinct persons over every category (a person
    holding two approvals counts once in it); the row of all together is there when nobody is approved.
    """
    a = APPROVAL.c
    where = valid_at(APPROVAL, on)
    by_category = select(a.category, a.hpr_number).where(where).distinct().subquery()
    everyone = select(a.hpr_number).where(where).distinct().subquery()
    grouped = union_all(
        select(by_category.c.category, func.count().label("n"),
               func.sum(keys.cell_sql(by_category.c.hpr_number)).label("k")).group_by(by_category.c.category),
        select(literal(ANY_CATEGORY).label("category"), func.count().label("n"),
               func.sum(keys.cell_sql(everyone.c.hpr_number)).label("k")),
    ).subquery()  # fmt: skip
    rows = await db.fetch_alone(HPR, select(grouped.c.category, grouped.c.n, grouped.c.k))  # beside the rounds
    return [(r.category, int(r.n), int(r.k or 0)) for r in rows]
