"""The table engine: measures by dimensions, filtered, at a date; each register read on its own.

A table is `measures` x `by` (dimensions) x `filter` at a date. Each register is read with its own
grouped SQL (stats/sql.py): FLR gives the lists valid at the date, their doctors with their genders,
and the listed persons grouped per list (and per age group and gender when asked), with the sum of
their record keys; HPR gives specialities and approvals (PREG the genders of GPs whose period FLR sent
without one). No statement joins registers:
the engine combines the grouped rows in Python, at the level of lists (thousands), never persons.

Counts of persons (listed persons, health personnel) are published through the cell key method
(stats/disclosure.py): each cell is counted from its own records, so totals and margins are cells of
their own. Counts of lists, listetak and GPs are public in FLR and HPR and stay exact, GPs by gender too: a
GP's gender is public (FLR holds it and helsenorge shows it to everyone choosing a GP; the graph's
`HealthPersonnel.gpGender`). Free places (listetak minus list sizes) are a count of persons in disguise
and are perturbed too. A count of listed persons by age group or gender whose list
restriction would part a small group of lists (1-9 persons) from the rest of its municipality is
withheld as SMALL_GROUP (`_ListGroups`).

**Reference dates.** Every count of persons (every perturbed measure, with any breakdown) is computed
at the table's reference date: `at` snapped to the last quarter end on or before it (`reference_date`),
the dates Helsedirektoratet and SSB publish at. Counts of lists, listetak and GPs describe `at` itself.
The same records give the same noise, so a cell whose records did not change keeps its value: with
daily counts of persons, the one cell that changed between two days named the group of the one person
who joined or left a list that day. Snapped, every day of a quarter gives the same counts of persons,
and two consecutive reference dates are a quarter of changes (and birthdays) apart.

**Published once.** A reference date's listed persons (per list, age group and gender, with the lists'
attributes at the date) and its health personnel (per category, and every category together) are
scanned the first time a table needs them and stored as one publication (stats/published.py); later
tables of the date read the stored scans, so registrations dated before it but registered after its
first publication (in FLR or in HPR) never move its counts. List attributes at a date are read from
their periods (flr_gp_contract_terms), not from today's row.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from functools import cached_property
from itertools import product
from typing import TYPE_CHECKING, Any, Final

from helsegraf.data import codes, reference
from helsegraf.stats import published, sql
from helsegraf.stats.disclosure import (
    MIN_GROUP,
    WITHHELD_SMALL_GROUP,
    KeyParameters,
    Perturbed,
    publish,
    stats_secret,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from helsegraf.db import Database


class Measure(Enum):
    """What a table counts."""

    LISTED_PERSONS = "listed persons"
    LISTED_PERSONS_WITH_GP = "listed persons on lists with a fixed GP"
    LISTED_PERSONS_WITHOUT_GP = "listed persons on lists without a fixed GP"
    LISTS = "GP lists"
    LISTS_WITH_GP = "GP lists with a fixed GP"
    LISTS_WITHOUT_GP = "GP lists without a fixed GP (ubesatt)"
    LISTS_VACANT_OVER_A_YEAR = "GP lists without a fixed GP for more than a year"
    OPEN_LISTS = "open GP lists"
    CAPACITY = "listetak summed over lists"
    FREE_PLACES = "free places on open lists"
    GPS = "GPs (fastleger and deleleger on a list)"
    GP_SPECIALISTS = "GPs who are specialists in general medicine"
    HEALTH_PERSONNEL = "health personnel with a valid approval"


class Dimension(Enum):
    """What a table is broken down (or filtered) by."""

    COUNTY = "county (fylke) of the list"
    MUNICIPALITY = "municipality (kommune) of the list"
    AGE_GROUP = "age group of the listed person"
    GENDER = "gender of the person (listed person or GP)"
    LIST_STATUS = "whether the list has a fixed GP"
    FIXED_SALARY = "whether the list's GP has a fixed salary"
    OPEN_LIST = "whether the list accepts new patients"
    GP_SPECIALITY = "whether the GP is a specialist in general medicine"
    HEALTH_PERSONNEL_CATEGORY = "helsepersonellkategori of the approval"


PERSON_DIMENSIONS: Final = (Dimension.AGE_GROUP, Dimension.GENDER)  # of the listed person, not of the list
PERSON_MEASURES: Final = frozenset({Measure.LISTED_PERSONS, Measure.LISTED_PERSONS_WITH_GP,
                                    Measure.LISTED_PERSONS_WITHOUT_GP, Measure.HEALTH_PERSONNEL})  # fmt: skip
LIST_DIMENSIONS: Final = (Dimension.COUNTY, Dimension.MUNICIPALITY, Dimension.LIST_STATUS, Dimension.FIXED_SALARY,
                          Dimension.OPEN_LIST)  # fmt: skip
LIST_MEASURES: Final = (Measure.LISTS, Measure.LISTS_WITH_GP, Measure.LISTS_WITHOUT_GP,
                        Measure.LISTS_VACANT_OVER_A_YEAR, Measure.OPEN_LISTS, Measure.CAPACITY,
                        Measure.FREE_PLACES)  # fmt: skip
ALLOWED: Final[dict[Measure, frozenset[Dimension]]] = {
    **{m: frozenset(LIST_DIMENSIONS) for m in LIST_MEASURES},
    **{m: frozenset({*LIST_DIMENSIONS, Dimension.AGE_GROUP, Dimension.GENDER})
       for m in (Measure.LISTED_PERSONS, Measure.LISTED_PERSONS_WITH_GP, Measure.LISTED_PERSONS_WITHOUT_GP)},
    # GPs by any public attribute of theirs or of their lists: who serves which list, their speciality
    # and their gender are all public, and every count of GPs is exact (docs/statistics.md).
    Measure.GPS: frozenset({*LIST_DIMENSIONS, Dimension.GENDER, Dimension.GP_SPECIALITY}),
    Measure.GP_SPECIALISTS: frozenset({*LIST_DIMENSIONS, Dimension.GENDER}),
    Measure.HEALTH_PERSONNEL: frozenset({Dimension.HEALTH_PERSONNEL_CATEGORY}),
}  # fmt: skip
AGE_GROUPS: Final = ((0, 5), (6, 15), (16, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, None))
AGE_LABELS: Final = tuple(f"{low}+" if high is None else f"{low}-{high}" for low, high in AGE_GROUPS)
GENDERS: Final = ("FEMALE", "MALE")
MAX_MEASURES: Final = 20
MAX_DIMENSIONS: Final = 4
MAX_FILTER_VALUES: Final = 400  # more than the 357 municipalities
QUARTER_ENDS: Final = ((12, 31), (9, 30), (6, 30), (3, 31))
MAX_CELLS: Final = 40_000  # rows x measures of one table (SSB 12005 for all municipalities: 2,142)
UNKNOWN: Final = "UNKNOWN"  # a GP whose gender neither FLR nor PREG gives


class StatisticsInputError(ValueError):
    """A table the caller asked for that cannot be made (the caller's mistake)."""


class TableTooLargeError(ValueError):
    """A table with more cells than one answer may hold."""

    def __init__(self, cells: int, maximum: int = MAX_CELLS) -> None:
        left = "" if maximum == MAX_CELLS else f" ({maximum:,} left of this request's {MAX_CELLS:,})"
        super().__init__(f"the table would have {cells:,} cells; at most {MAX_CELLS:,} are answered in one "
                         f"request, over all its tables{left} (filter it, or ask for fewer dimensions)")  # fmt: skip
        self.cells, self.maximum = cells, maximum


@dataclass
class CellBudget:
    """The cells one request may still have made (every table of a request, over aliases, shares MAX_CELLS)."""

    left: int = MAX_CELLS

    def take(self, cells: int) -> None:
        """Take a table's cells, or refuse the table when fewer are left."""
        if cells > self.left:
            raise TableTooLargeError(cells, self.left)
        self.left -= cells


@dataclass(frozen=True)
class Filter:
    """Restrictions on dimension values (None: no restriction)."""

    counties: tuple[str, ...] | None = None
    municipalities: tuple[str, ...] | None = None
    age_groups: tuple[str, ...] | None = None
    genders: tuple[str, ...] | None = None
    list_status: str | None = None  # WITH_GP | WITHOUT_GP
    fixed_salary: bool | None = None
    open_list: bool | None = None
    gp_specialist: bool | None = None
    categories: tuple[str, ...] | None = None

    @cached_property
    def restricted(self) -> tuple[Dimension, ...]:
        """Return the dimensions this filter restricts (computed once: every list and group asks)."""
        named = {
            Dimension.COUNTY: self.counties, Dimension.MUNICIPALITY: self.municipalities,
            Dimension.AGE_GROUP: self.age_groups, Dimension.GENDER: self.genders,
            Dimension.LIST_STATUS: self.list_status, Dimension.FIXED_SALARY: self.fixed_salary,
            Dimension.OPEN_LIST: self.open_list, Dimension.GP_SPECIALITY: self.gp_specialist,
            Dimension.HEALTH_PERSONNEL_CATEGORY: self.categories,
        }  # fmt: skip
        return tuple(d for d, v in named.items() if v is not None)

    def allows(self, dimension: Dimension, value: str) -> bool:  # noqa: PLR0911 - one case per dimension
        """Tell whether a dimension value passes the filter."""
        match dimension:
            case Dimension.COUNTY:
                return self.counties is None or value in self.counties
            case Dimension.MUNICIPALITY:
                return self.municipalities is None or value in self.municipalities
            case Dimension.AGE_GROUP:
                return self.age_groups is None or value in self.age_groups
            case Dimension.GENDER:
                return self.genders is None or value in self.genders
            case Dimension.LIST_STATUS:
                return self.list_status is None or value == self.list_status
            case Dimension.FIXED_SALARY:
                return self.fixed_salary is None or value == _yes(self.fixed_salary)
            case Dimension.OPEN_LIST:
                return self.open_list is None or value == _yes(self.open_list)
            case Dimension.GP_SPECIALITY:
                return self.gp_specialist is None or value == _yes(self.gp_specialist)
            case Dimension.HEALTH_PERSONNEL_CATEGORY:
                return self.categories is None or value in self.categories


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


FIRST_DAY: Final = date(2001, 6, 1)  # the GP scheme (fastlegeordningen) began: no list is older


def check_date(on: date, today: date | None = None) -> None:
    """Refuse a date no table can describe: before the GP scheme began, or after today.

    Before 2001-06-01 there is no list (and no quarter end before year 1, no birth date 80 years before
    year 80). After today a table would count today's listed persons at a date that has not come: polled
    day by day, a future quarter end followed every membership that began or ended, and gave the age
    groups of the present population at any future date (new cuts of the same persons by birth date).
    """
    if on < FIRST_DAY:
        raise StatisticsInputError(f"at: {on.isoformat()} is before {FIRST_DAY.isoformat()}, when the GP scheme "
                                   "(fastlegeordningen) began; statistics describe dates from then on")  # fmt: skip
    if today is not None and on > today:
        raise StatisticsInputError(f"at: {on.isoformat()} is after today ({today.isoformat()}); statistics "
                                   "describe dates that have come")  # fmt: skip


def reference_date(on: date, today: date | None = None) -> date:
    """Return the date counts of persons asked for at `on` describe: the last quarter end on or before it.

    With `today`, the quarter end lies before today too: a quarter end's counts of persons are published
    from the next day (on the day itself they would follow every membership registered that day).
    """
    if today is not None and on >= today:
        on = today - timedelta(days=1)
    for month, day in QUARTER_ENDS:
        end = date(on.year, month, day)
        if end <= on:
            return end
    return date(on.year - 1, 12, 31)


@dataclass(frozen=True)
class TableRequest:
    """What the caller asked for."""

    measures: tuple[Measure, ...]
    by: tuple[Dimension, ...] = ()
    filter: Filter = field(default_factory=Filter)
    at: date | None = None
    total: bool = False  # add the grand total as a row (a cell of its own)

    def parameters(self, on: date) -> dict[str, Any]:
        """Return the request as the query log keeps it (names and values, no results)."""
        chosen = {d.name: v for d, v in _filter_values(self.filter).items() if v is not None}
        return {"measures": [m.name for m in self.measures], "by": [d.name for d in self.by],
                "filter": chosen, "at": on.isoformat(), "total": self.total}  # fmt: skip


def _filter_values(f: Filter) -> dict[Dimension, Any]:
    return {
        Dimension.COUNTY: list(f.counties) if f.counties is not None else None,
        Dimension.MUNICIPALITY: list(f.municipalities) if f.municipalities is not None else None,
        Dimension.AGE_GROUP: list(f.age_groups) if f.age_groups is not None else None,
        Dimension.GENDER: list(f.genders) if f.genders is not None else None,
        Dimension.LIST_STATUS: f.list_status, Dimension.FIXED_SALARY: f.fixed_salary,
        Dimension.OPEN_LIST: f.open_list, Dimension.GP_SPECIALITY: f.gp_specialist,
        Dimension.HEALTH_PERSONNEL_CATEGORY: list(f.categories) if f.categories is not None else None,
    }  # fmt: skip


def validate(request: TableRequest) -> None:  # noqa: C901, PLR0912 - one check per rule, in order
    """Refuse a table that cannot be made, naming the measure and the dimension."""
    if not request.measures:
        raise StatisticsInputError("measures: name at least one measure")
    if len(request.measures) > MAX_MEASURES or len(request.by) > MAX_DIMENSIONS:
        raise StatisticsInputError(f"a table has at most {MAX_MEASURES} measures and {MAX_DIMENSIONS} dimensions")
    if len(set(request.by)) != len(request.by):
        raise StatisticsInputError("by: a dimension is named twice")
    if Dimension.COUNTY in request.by and Dimension.MUNICIPALITY in request.by:
        raise StatisticsInputError("by: COUNTY and MUNICIPALITY together: a municipality lies in one county")
    for dimension in (*request.by, *request.filter.restricted):
        for measure in request.measures:
            if dimension not in ALLOWED[measure]:
                where = "by" if dimension in request.by else "filter"
                allowed = ", ".join(sorted(d.name for d in ALLOWED[measure]))
                raise StatisticsInputError(
                    f"{where}: measure {measure.name} cannot be broken down by {dimension.name} "
                    f"({measure.value} by {dimension.value}); {measure.name} takes {allowed}"
                )
    f = request.filter
    if perturbed(request):
        # Each filtered set of records is a cell with noise of its own, so arbitrary subsets would give
        # an analyst many overlapping cells whose differences average the noise away (S + {x} minus S
        # over many S). A table of counts of persons takes one value per list filter: the cells it can
        # reach are then the fixed cells of the published breakdowns, each with one noise.
        for name, values in (
            ("counties", f.counties),
            ("municipalities", f.municipalities),
            ("ageGroups", f.age_groups),
            ("genders", f.genders),
            ("categories", f.categories),
        ):
            if values is not None and len(values) > 1:
                raise StatisticsInputError(
                    f"filter.{name}: a table of counts of persons ({', '.join(m.name for m in request.measures)}) "
                    f"takes one value per filter, not {len(values)}: ask by the dimension and read its cells "
                    "(a sum of published cells carries their noise)"
                )
    for name, values in (("county", f.counties), ("municipality", f.municipalities), ("category", f.categories)):
        for value in values or ():
            if not (value.isascii() and value.isalnum() and len(value) <= 4):  # noqa: PLR2004 - code lengths
                raise StatisticsInputError(f"filter.{name}: {value[:20]!r} is not a {name} code")


def perturbed(request: TableRequest) -> bool:
    """Tell whether a table holds counts of persons (perturbed): person measures and free places."""
    return bool(set(request.measures) & (PERSON_MEASURES | {Measure.FREE_PLACES}))


@dataclass
class Cell:
    """One row of a table: its dimension values and its measures' values."""

    key: tuple[tuple[Dimension, str], ...]
    values: dict[Measure, int | Perturbed]


@dataclass
class Table:
    """A finished table."""

    at: date  # the date asked: counts of lists, listetak and GPs describe it
    reference_date: date  # the date its counts of persons describe (reference_date(at))
    measures: tuple[Measure, ...]
    by: tuple[Dimension, ...]
    rows: list[Cell]


# --- the registers' rows ---------------------------------------------------------------------


@dataclass
class _List:
    """A GP list valid at the date, with the attributes its dimensions read."""

    id: int
    municipality: str
    county: str
    is_open: bool
    fixed_salary: bool
    max_patients: int
    has_gp: bool = False
    gp_within_a_year: bool = False
    started: date | None = None

    def value(self, dimension: Dimension) -> str:
        match dimension:
            case Dimension.COUNTY:
                return self.county
            case Dimension.MUNICIPALITY:
                return self.municipality
            case Dimension.LIST_STATUS:
                return "WITH_GP" if self.has_gp else "WITHOUT_GP"
            case Dimension.FIXED_SALARY:
                return _yes(self.fixed_salary)
            case Dimension.OPEN_LIST:
                return _yes(self.is_open)
        raise AssertionError(dimension)  # validate() admits no other dimension of a list


def county_of() -> dict[str, str]:
    """Return each municipality's county code (Kartverket's numbering, as in the reference data)."""
    return {m.code: m.county_code for m in reference.municipalities()}


def domain(dimension: Dimension, lists: Iterable[_List] = ()) -> list[str]:  # noqa: PLR0911 - one per dimension
    """Return every value a dimension can take: empty cells are rows too (suppressed, like small ones)."""
    match dimension:
        case Dimension.COUNTY:
            return sorted({m.county_code for m in reference.municipalities()} | {x.county for x in lists})
        case Dimension.MUNICIPALITY:
            return sorted({m.code for m in reference.municipalities()} | {x.municipality for x in lists})
        case Dimension.AGE_GROUP:
            return list(AGE_LABELS)
        case Dimension.GENDER:
            return list(GENDERS)
        case Dimension.LIST_STATUS:
            return ["WITH_GP", "WITHOUT_GP"]
        case Dimension.HEALTH_PERSONNEL_CATEGORY:
            return sorted(codes.HPR_CATEGORIES)
        case _:
            return ["YES", "NO"]


def labels() -> dict[tuple[Dimension, str], str]:
    """Return readable labels of dimension values."""
    result: dict[tuple[Dimension, str], str] = {}
    for m in reference.municipalities():
        result[Dimension.MUNICIPALITY, m.code] = m.name
        result[Dimension.COUNTY, m.county_code] = m.county_name
    for code, text in codes.HPR_CATEGORIES.items():
        result[Dimension.HEALTH_PERSONNEL_CATEGORY, code] = text
    return result


class Engine:
    """Makes tables for one request (its reads are shared by every table of the request)."""

    def __init__(self, db: Database, today: date | None = None) -> None:
        self.db = db
        self.today = today  # the request's today: reference dates lie before it
        secret = stats_secret(db.settings.home)
        self.flr_keys = KeyParameters.of(secret, "flr")
        self.hpr_keys = KeyParameters.of(secret, "hpr")
        self.key_id = published.key_identity(secret)
        self._published: dict[date, asyncio.Future[_Published]] = {}
        self._personnel: dict[date, asyncio.Future[dict[str, tuple[int, int]]]] = {}
        self._lists: dict[date, dict[int, _List]] = {}
        self._gps: dict[date, list[tuple[int, int, str]]] = {}
        self._gp_genders: dict[date, dict[int, str]] = {}  # FLR's gender of each GP (the newest period's)
        self._gp_attributes: dict[date, tuple[dict[int, str], set[int]]] = {}
        self._recent: dict[date, set[int]] = {}

    def reference_date(self, on: date) -> date:
        """Return the reference date of `on` for this request (the last quarter end on or before it, before today)."""
        return reference_date(on, self.today)

    async def table(self, request: TableRequest, today: date, budget: CellBudget | None = None) -> Table:
        """Make a table, taking its cells from the request's budget (MAX_CELLS over all its tables)."""
        validate(request)
        on = request.at or today
        by, f = request.by, request.filter
        domains = [[v for v in domain(d) if f.allows(d, v)] for d in by]
        cells = 1
        for values_of in domains:
            cells *= max(1, len(values_of))
        (budget or CellBudget()).take(cells * len(request.measures))  # before any read: aliases run concurrently
        keys = [tuple(zip(by, combo, strict=True)) for combo in product(*domains)]
        if request.total and by:
            keys.append(())
        values = _Cells(keys)
        wanted = set(request.measures)
        ref = self.reference_date(on)  # counts of persons are computed there; public counts at `on`
        if wanted & {Measure.LISTED_PERSONS, Measure.LISTED_PERSONS_WITH_GP, Measure.LISTED_PERSONS_WITHOUT_GP}:
            await self._persons(ref, request, values)
        public: list[Measure] = [m for m in request.measures if m in LIST_MEASURES and m is not Measure.FREE_PLACES]
        if public:
            await self._list_measures(on, request, values, public)
        if Measure.FREE_PLACES in wanted:  # listetak minus listed persons: a count of persons
            await self._list_measures(ref, request, values, [Measure.FREE_PLACES])
        if wanted & {Measure.GPS, Measure.GP_SPECIALISTS}:
            await self._gp_measures(on, request, values)
        if Measure.HEALTH_PERSONNEL in wanted:
            await self._health_personnel(ref, request, values)
        rows = [Cell(k, {m: values[k][m] for m in request.measures}) for k in keys]
        return Table(on, ref, request.measures, by, rows)

    # --- FLR --------------------------------------------------------------------------------

    async def lists(self, on: date) -> dict[int, _List]:
        """Return the lists valid at a date, with whether each has a fixed GP (read once per date)."""
        cached = self._lists.get(on)
        if cached is not None:
            return cached
        counties = county_of()
        # The lists and their doctors in one round (one round trip on PostgreSQL).
        contracts, periods = await asyncio.gather(self.db.fetch(sql.FLR, sql.contracts_at(on)),
                                                  self.db.fetch(sql.FLR, sql.gps_at(on)))  # fmt: skip
        lists = {
            r.id: _List(r.id, r.municipality_code, counties.get(r.municipality_code, r.municipality_code[:2]),
                        bool(r.is_open), bool(r.fixed_salary), int(r.max_patients or 0), started=r.valid_from)
            for r in contracts
        }  # fmt: skip
        gps = [(r.contract_id, r.hpr_number, r.relationship) for r in periods]
        self._gp_genders[on] = _gp_genders(periods)
        for contract_id, _hpr, relationship in gps:
            if relationship == "LPFL" and contract_id in lists:
                lists[contract_id].has_gp = True
        self._lists[on], self._gps[on] = lists, [g for g in gps if g[0] in lists]
        return lists

    async def publication(self, ref: date) -> _Published:
        """Return a reference date's published scan: listed persons per list, age group and gender, and the lists.

        Made once, the first time any table needs the date, and stored (stats/published.py); every later
        table of the date reads the stored scan, so registrations that arrive later, dated before the
        date, never move its counts of persons. The lists' attributes are those the scan was made with.
        """
        # The fields of a request ask at once: they share one publication (and one scan, when it is made).
        task = self._published.get(ref)
        if task is None:
            task = self._published[ref] = asyncio.ensure_future(self._publish(ref))
        return await asyncio.shield(task)  # a cancelled field leaves the others' publication running

    async def _publish(self, ref: date) -> _Published:
        async def make() -> published.Scan:
            # FLR's scan on a connection of its own, beside the date's lists and HPR's grouped counts.
            lists, cells, personnel = await asyncio.gather(
                self.lists(ref), sql.persons_by_list_age_and_gender(self.db, self.flr_keys, ref),
                self._personnel_scan(ref),
            )  # fmt: skip
            return published.Scan(
                [(x.id, x.municipality, x.is_open, x.fixed_salary, x.max_patients, x.has_gp) for x in lists.values()],
                [c for c in cells if c[0] in lists],
                personnel,
            )

        if self.today is None or ref >= self.today:  # no request's today: nothing is published, the scan is made
            scan = await make()
        else:
            scan = await published.published(self.db, ref, self.key_id, make)
        counties = county_of()
        frozen = {c: _List(c, m, counties.get(m, m[:2]), o, f, x, has_gp=g) for c, m, o, f, x, g in scan.lists}
        return _Published(frozen, scan.cells, scan.personnel)

    async def _personnel_scan(self, ref: date) -> list[published.PersonnelRow]:
        """Return HPR's grouped counts at a reference date: per category, and every category together."""
        return await sql.health_personnel_by_category_and_total(self.db, self.hpr_keys, ref)

    async def personnel(self, ref: date) -> dict[str, tuple[int, int]]:
        """Return a reference date's published health personnel: category (ANY_CATEGORY: all) -> (persons, key sum).

        Part of the date's publication: made with its scan of listed persons, or (a publication stored
        before HPR's counts were kept) the first time a table needs them, then read from the store.
        """
        task = self._personnel.get(ref)
        if task is None:
            task = self._personnel[ref] = asyncio.ensure_future(self._published_personnel(ref))
        return await asyncio.shield(task)

    async def _published_personnel(self, ref: date) -> dict[str, tuple[int, int]]:
        publication = await self.publication(ref)
        rows = publication.personnel
        if rows is None:
            rows = await published.personnel(self.db, ref, self.key_id, lambda: self._personnel_scan(ref))
        return {c: (n, k) for c, n, k in rows}

    async def per_list(self, on: date) -> list[tuple[int, dict[Dimension, str], int, int]]:
        """Return (list, {}, listed persons, their key sum) for every list at a reference date (published)."""
        return (await self.publication(on)).per_list()

    async def _persons(self, on: date, request: TableRequest, values: dict[Any, dict[Measure, Any]]) -> None:
        publication = await self.publication(on)
        lists = publication.lists
        f = request.filter
        person_dims: list[Dimension] = [
            d for d in (Dimension.AGE_GROUP, Dimension.GENDER) if d in request.by or d in f.restricted
        ]
        chosen = [x for x in lists.values() if all(f.allows(d, x.value(d)) for d in LIST_DIMENSIONS
                                                    if d in f.restricted)]  # fmt: skip
        only = [x.id for x in chosen] if len(chosen) < len(lists) else None
        groups: _ListGroups | None = None
        if not person_dims and only is None:
            grouped = publication.per_list()
        elif not person_dims:
            grouped = publication.grouped(person_dims, only)
        else:
            # By age or gender, the small-group rule needs the size of every list of the table's area, also
            # of those a list attribute filters out: the scan takes the area's lists (the filter's
            # municipalities or counties, else all), their sizes are counted from the same rows (no
            # statement of its own), and the list attributes are applied while combining.
            area = [x.id for x in lists.values() if _in_area(f, x)]
            only = area if len(area) < len(lists) else None
            grouped = publication.grouped(person_dims, only)
            # A list's size for the rule is its persons in the cells by age or gender, not its listSize: a
            # person neither FLR nor PREG gives the age or gender asked for is in no such cell, and a list
            # of 10 holding one person of known gender parted that one from the rest as a group of one.
            sizes: dict[int, int] = defaultdict(int)
            for contract_id, _person, n, _key_sum in grouped:
                sizes[contract_id] += n
            groups = _ListGroups(lists, sizes)
        # Combining groups into cells is CPU work (up to lists x age groups x genders groups): it runs in
        # a worker thread, so that the event loop keeps answering other requests (and /healthz) meanwhile.
        await asyncio.to_thread(self._combine_persons, request, values, lists, grouped, person_dims, only, groups)

    @staticmethod
    def _combine_persons(
        request: TableRequest, values: dict[Any, dict[Measure, Any]], lists: dict[int, _List],
        grouped: list[tuple[int, dict[Dimension, str], int, int]], person_dims: list[Dimension], only: list[int] | None,
        groups: _ListGroups | None,
    ) -> None:  # fmt: skip
        f = request.filter
        # cell -> measure -> [count, key sum]; each cell gathers its own records' keys.
        sums: dict[Any, dict[Measure, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        wanted = [m for m in request.measures if m in PERSON_MEASURES]
        by_list = only is not None or any(d in f.restricted for d in LIST_DIMENSIONS)
        for contract_id, person, n, key_sum in grouped:
            x = lists.get(contract_id)
            if x is None or (by_list and not _passes(f, x)):
                continue
            if not all(f.allows(d, person[d]) for d in person_dims if d in f.restricted):
                continue
            attributes = {d: x.value(d) for d in LIST_DIMENSIONS} | person
            for cell in _cells_of(values, attributes):
                for measure in wanted:
                    if not _on_list_of(measure, x):
                        continue
                    total = sums[cell][measure]
                    total[0] += n
                    total[1] += key_sum
        by_person = any(d in f.restricted for d in PERSON_DIMENSIONS)
        for cell, by_measure in values.items():
            of_persons = by_person or any(d in PERSON_DIMENSIONS for d, _v in cell)
            for measure in wanted:
                count, key_sum = sums[cell][measure] if cell in sums else (0, 0)
                if groups is not None and of_persons:
                    small = groups.withheld(f, cell, measure)
                else:
                    small = 0 < count < MIN_GROUP  # every age and gender: the cell's lists' persons in all
                by_measure[measure] = WITHHELD_SMALL_GROUP if small else publish(count, key_sum)

    async def _list_measures(  # noqa: C901, PLR0912 - one contribution per measure
        self, on: date, request: TableRequest, values: dict[Any, dict[Measure, Any]], wanted: list[Measure]
    ) -> None:
        # Free places are counted at the reference date from its publication, lists and persons alike.
        lists = (await self.publication(on)).lists if Measure.FREE_PLACES in wanted else await self.lists(on)
        # Free places are listetak minus listed persons: a count of persons in disguise. A cell's free
        # places are its open lists' listetak minus the *perturbed* count of the persons on them (the
        # records' own cell key, so the same noise as LISTED_PERSONS filtered to open lists), and
        # suppressed when that count is: capacity minus free places gives no exact count, and two dates
        # a person apart differ by fresh noise, not by one.
        listed: dict[int, tuple[int, int]] = {}
        if Measure.FREE_PLACES in wanted:
            listed = {contract_id: (size, keys) for contract_id, _p, size, keys in await self.per_list(on)}
        open_persons: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])  # cell -> [listetak, persons, key sum]
        if Measure.LISTS_VACANT_OVER_A_YEAR in wanted:
            for contract_id in await self.had_gp_within_a_year(on):
                if contract_id in lists:
                    lists[contract_id].gp_within_a_year = True
        totals: dict[Any, dict[Measure, int]] = defaultdict(lambda: defaultdict(int))
        f = request.filter
        for x in lists.values():
            if not _passes(f, x):
                continue
            contributes = {
                Measure.LISTS: 1,
                Measure.LISTS_WITH_GP: int(x.has_gp),
                Measure.LISTS_WITHOUT_GP: int(not x.has_gp),
                Measure.LISTS_VACANT_OVER_A_YEAR: int(_vacant_over_a_year(x, on)),
                Measure.OPEN_LISTS: int(x.is_open),
                Measure.CAPACITY: x.max_patients,
            }
            size, key_sum = listed.get(x.id, (0, 0))
            for cell in _cells_of(values, {d: x.value(d) for d in LIST_DIMENSIONS}):
                for measure in wanted:
                    if measure is Measure.FREE_PLACES:
                        if x.is_open:
                            place = open_persons[cell]
                            place[0] += x.max_patients
                            place[1] += size
                            place[2] += key_sum
                    else:
                        totals[cell][measure] += contributes[measure]
        for cell, by_measure in values.items():
            for measure in wanted:
                if measure is Measure.FREE_PLACES:
                    by_measure[measure] = _free_places(*open_persons.get(cell, (0, 0, 0)))
                else:
                    by_measure[measure] = totals[cell][measure] if cell in totals else 0

    async def had_gp_within_a_year(self, on: date) -> set[int]:
        """Return the lists that had a fastlege at some time in the year up to a date (read once per date)."""
        if on not in self._recent:
            self._recent[on] = set(await sql.had_gp_within_a_year(self.db, on))
        return self._recent[on]

    async def gp_attributes(self, on: date) -> tuple[dict[int, str], set[int]]:
        """Return the GPs' genders (FLR's, else PREG's) and the specialists in general medicine (HPR)."""
        cached = self._gp_attributes.get(on)
        if cached is None:
            await self.lists(on)
            numbers = sorted({hpr for _c, hpr, relationship in self._gps[on] if relationship in sql.GP_RELATIONSHIPS})
            genders = dict(self._gp_genders[on])
            # Periods stored before FLR's rows held the GP's gender: a second and third statement only then.
            missing = [hpr for hpr in numbers if hpr not in genders]
            specialists, looked_up = await asyncio.gather(
                sql.gp_specialists(self.db, numbers, on),
                sql.genders_of_personnel(self.db, missing) if missing else _nothing(),
            )
            cached = self._gp_attributes[on] = (genders | looked_up, specialists)
        return cached

    async def prefetch(self, on: date) -> None:
        """Read what the key figures need at a date and its reference date: FLR's scan beside HPR's and PREG's."""
        check_date(on, self.today)
        days = sorted({on, self.reference_date(on)})
        await asyncio.gather(*(self.lists(day) for day in days))
        await asyncio.gather(self.per_list(self.reference_date(on)), self.had_gp_within_a_year(on),
                             *(self.gp_attributes(day) for day in days))  # fmt: skip

    async def _gp_measures(self, on: date, request: TableRequest, values: dict[Any, dict[Measure, Any]]) -> None:
        # Every count of GPs is exact, at `on`: who serves which list (FLR), their speciality (HPR) and their
        # gender (FLR: public for a GP, as helsenorge shows it) are public, so a cell of GPs is a count of
        # public facts, by any breakdown. (Perturbed, a cell of GPs of one gender got fresh noise whenever its
        # area's GPs changed, and quarter ends before and after a named GP joined averaged to that GP's
        # gender; keyed by each gender's own GPs, the cell that moved named it. Published exactly, there is
        # nothing to average: docs/statistics.md, "GPs by gender".)
        lists = await self.lists(on)
        genders, specialists = await self.gp_attributes(on)
        f = request.filter
        members: dict[Any, dict[Measure, set[int]]] = defaultdict(lambda: defaultdict(set))
        wanted = [m for m in request.measures if m in {Measure.GPS, Measure.GP_SPECIALISTS}]
        for contract_id, hpr, relationship in self._gps[on]:
            x = lists[contract_id]
            if relationship not in sql.GP_RELATIONSHIPS or not _passes(f, x):
                continue
            person = {Dimension.GENDER: genders.get(hpr, UNKNOWN),
                      Dimension.GP_SPECIALITY: _yes(hpr in specialists)}  # fmt: skip
            if not all(f.allows(d, v) for d, v in person.items() if d in f.restricted):
                continue
            attributes = {d: x.value(d) for d in LIST_DIMENSIONS} | person
            counted = [m for m in wanted if m is Measure.GPS or hpr in specialists]
            for cell in _cells_of(values, attributes):
                for measure in counted:
                    members[cell][measure].add(hpr)  # a GP on two lists of a cell counts once
        for cell, by_measure in values.items():
            for measure in wanted:
                by_measure[measure] = len(members[cell][measure]) if cell in members else 0

    # --- HPR --------------------------------------------------------------------------------

    async def _health_personnel(self, on: date, request: TableRequest, values: dict[Any, dict[Measure, Any]]) -> None:
        # Counted at the reference date from its publication (HPR's grouped counts, stored with FLR's scan):
        # an approval registered after the date was published, dated before it, moves none of its cells.
        counts = await self.personnel(on)
        categories = request.filter.categories
        if categories is not None and len(categories) > 1:  # validate() takes one value per filter of persons
            raise AssertionError(categories)
        # The cell of every category the filter admits: all, the one named, or (an empty filter) none.
        whole = published.ANY_CATEGORY if categories is None else (categories[0] if categories else None)
        for cell, by_measure in values.items():
            code = dict(cell).get(Dimension.HEALTH_PERSONNEL_CATEGORY)
            if code is None:  # the whole table (no dimension) or its total row: a cell of its own
                count, key_sum = counts.get(whole, (0, 0)) if whole is not None else (0, 0)
            else:
                count, key_sum = counts.get(code, (0, 0))
            by_measure[Measure.HEALTH_PERSONNEL] = publish(count, key_sum)


def _free_places(capacity: int, persons: int, key_sum: int) -> Perturbed:
    """Return a cell's free places: its open lists' listetak minus their perturbed listed persons."""
    # Withheld as LISTED_PERSONS on the same open lists is (a small group, or under 5): else capacity
    # minus free places would publish the count the other route withholds.
    published = WITHHELD_SMALL_GROUP if 0 < persons < MIN_GROUP else publish(persons, key_sum)
    if published.suppressed and capacity:
        return published  # a handful of persons on the open lists: their count is withheld, so is this
    return Perturbed(max(0, capacity - (published.value or 0)), suppressed=False)


def _on_list_of(measure: Measure, x: _List) -> bool:
    """Tell whether persons on a list count for a person measure (with a fixed GP, without, or either)."""
    if measure is Measure.LISTED_PERSONS_WITH_GP:
        return x.has_gp
    if measure is Measure.LISTED_PERSONS_WITHOUT_GP:
        return not x.has_gp
    return True


def _in_area(f: Filter, x: _List) -> bool:
    """Tell whether a list lies in the filter's area (its municipalities and counties; any list attributes)."""
    return f.allows(Dimension.MUNICIPALITY, x.municipality) and f.allows(Dimension.COUNTY, x.county)


def _passes(f: Filter, x: _List) -> bool:
    return all(f.allows(d, x.value(d)) for d in LIST_DIMENSIONS if d in f.restricted)


def _vacant_over_a_year(x: _List, on: date) -> bool:
    """Tell whether a list is ubesatt > 1 år: no fixed GP now nor in the past year, and older than a year."""
    started_a_year_ago = x.started is not None and (on - x.started).days > 365  # noqa: PLR2004 - a year
    return not x.has_gp and not x.gp_within_a_year and started_a_year_ago


@dataclass
class _Published:
    """A reference date's published scan, as the engine reads it: lists and grouped listed persons."""

    lists: dict[int, _List]
    cells: list[published.CellRow]
    personnel: list[published.PersonnelRow] | None = None  # None: stored, read when a table needs them
    _per_list: list[tuple[int, dict[Dimension, str], int, int]] | None = None

    def per_list(self) -> list[tuple[int, dict[Dimension, str], int, int]]:
        """Return (list, {}, listed persons, their key sum) for every list (every age and gender, known or not)."""
        if self._per_list is None:
            sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            for contract_id, _age, _gender, n, key_sum in self.cells:
                total = sums[contract_id]
                total[0] += n
                total[1] += key_sum
            self._per_list = [(c, {}, n, k) for c, (n, k) in sums.items()]
        return self._per_list

    def grouped(
        self, person_dims: Sequence[Dimension], only: Sequence[int] | None
    ) -> list[tuple[int, dict[Dimension, str], int, int]]:
        """Return (list, person dimension values, listed persons, key sum) of these lists (None: all).

        A person whose age group or gender is asked and known to neither register is in no group.
        """
        allowed = set(only) if only is not None else None
        sums: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(lambda: [0, 0])
        ask_age, ask_gender = Dimension.AGE_GROUP in person_dims, Dimension.GENDER in person_dims
        for contract_id, age, gender, n, key_sum in self.cells:
            if allowed is not None and contract_id not in allowed:
                continue
            person = ((age,) if ask_age else ()) + ((gender,) if ask_gender else ())
            if None in person:
                continue
            total = sums[contract_id, person]  # type: ignore[index]  # every value is known here
            total[0] += n
            total[1] += key_sum
        dims = [d for d in (Dimension.AGE_GROUP, Dimension.GENDER) if d in person_dims]
        return [(c, dict(zip(dims, person, strict=True)), n, k) for (c, person), (n, k) in sums.items()]


class _Cells(dict[tuple[tuple[Dimension, str], ...], dict[Measure, Any]]):
    """A table's cells being filled, with the shapes (dimension tuples) its keys have."""

    def __init__(self, keys: Sequence[tuple[tuple[Dimension, str], ...]]) -> None:
        super().__init__((k, {}) for k in keys)
        self.shapes = sorted({tuple(d for d, _v in key) for key in keys}, key=len)


def _gp_genders(periods: Iterable[Any]) -> dict[int, str]:
    """Return each GP's gender as FLR holds it at a date: that of their newest GP period with one."""
    genders: dict[int, str] = {}
    for r in sorted(periods, key=lambda r: (r.valid_from, r.id)):
        if r.relationship in sql.GP_RELATIONSHIPS and r.gp_gender in GENDERS:
            genders[r.hpr_number] = r.gp_gender
    return genders


async def _nothing() -> dict[int, str]:
    return {}


def _cells_of(values: dict[Any, Any], attributes: dict[Dimension, str]) -> list[Any]:
    """Return the cells asked for that a group of records with these attributes falls in."""
    # Every row of a table has the table's dimensions; the total row has none (every group is in it).
    shapes = values.shapes if isinstance(values, _Cells) else [()]
    return [key for key in (tuple((d, attributes[d]) for d in shape) for shape in shapes) if key in values]


# --- small groups of lists ---------------------------------------------------------------------

LIST_ATTRIBUTES: Final = (Dimension.LIST_STATUS, Dimension.FIXED_SALARY, Dimension.OPEN_LIST)
_Combination = tuple[str, str, str]  # a list's LIST_ATTRIBUTES values: one list group of a municipality


class _ListGroups:
    """The small-group rule for counts of listed persons by age group or gender (docs/statistics.md).

    The same persons always give the same value, so two cells whose persons differ by a few give equal
    values exactly where those few have nobody: a cell of "all lists of a municipality" beside one that
    leaves out its one list of three patients (fixed salary, say) showed, by age group and gender, where
    those three are (list sizes are public). A municipality's *list groups* are its lists of one
    combination of list status, fixed salary and open list, each holding its listed persons at the
    reference date who are in the table's cells by age or gender (a person of unknown age or gender is in
    none of them). A group of 1 .. MIN_GROUP - 1 persons is tied to the group
    of MIN_GROUP or more nearest to it (fewest attributes apart, then the largest): they form a *block*;
    every other group is a block of its own. A count of listed persons by age group or gender is
    withheld (SMALL_GROUP) when its list restriction (LIST_STATUS, FIXED_SALARY, OPEN_LIST in `by` or
    `filter`, or a measure of lists with or without a GP) takes part of a block of a municipality in its
    area, or when its area holds a municipality whose lists hold 1 .. MIN_GROUP - 1 persons in all.
    So every published count of that kind counts whole blocks, of MIN_GROUP persons or more; two of them
    (any areas, restrictions, filters, dates' breakdowns) differ by whole blocks or by nothing, and an
    equality tells at most that MIN_GROUP or more persons have nobody in a cell, never where a smaller
    group's persons are. The decision reads list sizes only (`GpContract.listSize`, less persons of
    unknown age or gender), never the cell's own count, so "withheld" says nothing of the cell's value.
    """

    def __init__(self, lists: dict[int, _List], sizes: dict[int, int]) -> None:
        groups: dict[str, dict[_Combination, int]] = defaultdict(lambda: defaultdict(int))
        self.county: dict[str, str] = {}
        for x in lists.values():
            combination = (x.value(Dimension.LIST_STATUS), x.value(Dimension.FIXED_SALARY),
                           x.value(Dimension.OPEN_LIST))  # fmt: skip
            groups[x.municipality][combination] += sizes.get(x.id, 0)
            self.county[x.municipality] = x.county
        self.in_county: dict[str, list[str]] = defaultdict(list)
        for municipality, county in sorted(self.county.items()):
            self.in_county[county].append(municipality)
        self.small_area = {m for m, found in groups.items() if 0 < sum(found.values()) < MIN_GROUP}
        self.blocks = {m: _blocks(found) for m, found in groups.items()}
        self._decided: dict[Any, bool] = {}
        self._cells: dict[Any, bool] = {}

    def withheld(self, f: Filter, cell: tuple[tuple[Dimension, str], ...], measure: Measure) -> bool:
        """Tell whether a cell of listed persons by age group or gender singles out a small group of lists."""
        # The decision depends on the cell's area and list attributes only (one filter per table): cells
        # of every age group and gender of an area share it.
        lists_of = tuple(c for c in cell if c[0] not in PERSON_DIMENSIONS)
        decided = self._cells.get((lists_of, measure))
        if decided is None:
            decided = self._cells[lists_of, measure] = self._withheld(f, dict(lists_of), measure)
        return decided

    def _withheld(self, f: Filter, key: dict[Dimension, str], measure: Measure) -> bool:
        restriction = _restriction(f, key, measure)
        county, municipality = key.get(Dimension.COUNTY), key.get(Dimension.MUNICIPALITY)
        decided = self._decided.get((county, municipality, restriction))
        if decided is None:
            if municipality is not None:
                area = [municipality] if municipality in self.county else []
            elif county is not None:
                area = self.in_county.get(county, [])
            else:
                area = list(self.county)
            area = [m for m in area if f.allows(Dimension.MUNICIPALITY, m) and f.allows(Dimension.COUNTY,
                                                                                      self.county[m])]  # fmt: skip
            decided = restriction is not None and any(
                m in self.small_area or any(_cuts(block, restriction) for block in self.blocks[m]) for m in area
            )
            self._decided[county, municipality, restriction] = decided
        return decided


def _blocks(found: dict[_Combination, int]) -> list[tuple[_Combination, ...]]:
    """Return a municipality's blocks of more than one list group (a small group tied to its nearest large one)."""
    persons = {c: n for c, n in found.items() if n > 0}
    small = sorted(c for c, n in persons.items() if n < MIN_GROUP)
    large = sorted(c for c, n in persons.items() if n >= MIN_GROUP)
    if not small:
        return []
    if not large:  # only small groups: together (the municipality itself is small unless they add up)
        return [tuple(small)]
    tied: dict[_Combination, list[_Combination]] = defaultdict(list)
    for c in small:
        nearest = min(large, key=lambda g: (sum(a != b for a, b in zip(c, g, strict=True)), -persons[g], g))
        tied[nearest].append(c)
    return [(g, *tied[g]) for g in sorted(tied)]


def _restriction(f: Filter, key: dict[Dimension, str], measure: Measure) -> tuple[str | None, ...] | None:
    """Return a cell's restriction of each list attribute (None: any value), or None when it admits no list."""
    asked: list[str | None] = []
    for dimension, value in zip(LIST_ATTRIBUTES, (f.list_status, f.fixed_salary, f.open_list), strict=True):
        wanted = {key[dimension]} if dimension in key else set()
        if value is not None:
            wanted.add(value if isinstance(value, str) else _yes(value))
        if dimension is Dimension.LIST_STATUS and measure is Measure.LISTED_PERSONS_WITH_GP:
            wanted.add("WITH_GP")
        if dimension is Dimension.LIST_STATUS and measure is Measure.LISTED_PERSONS_WITHOUT_GP:
            wanted.add("WITHOUT_GP")
        if len(wanted) > 1:
            return None  # contradictory: the cell holds nobody
        asked.append(next(iter(wanted)) if wanted else None)
    return tuple(asked)


def _cuts(block: tuple[_Combination, ...], restriction: tuple[str | None, ...]) -> bool:
    """Tell whether a restriction takes some of a block's list groups and leaves others."""
    taken = {all(r is None or r == v for r, v in zip(restriction, c, strict=True)) for c in block}
    return len(taken) == 2  # noqa: PLR2004 - both taken and left
