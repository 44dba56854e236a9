"""Statistics for analysts (`stats:read`): a table builder over the registers, with disclosure control.

`statistics { table(measures, by, filter, at) }` composes a table; `keyFigures` and `ssb12005` are
Helsedirektoratet's and SSB's tables made from it, and the three older fields are views on it.
Counts of persons go through the cell key method (stats/disclosure.py): perturbed by a little noise
that depends only on the records in the cell, and suppressed under 5, and computed at the reference
date (the last quarter end on or before `at`; every answer says which, `referenceDate`). Counts of
lists and GPs, public in FLR and HPR, are exact at `at`. Every query is logged (who, when, which
table, which parameters; never the result), readable with `audit:read` through `statisticsQueryLog`.
No field here leads to a person.
"""

from __future__ import annotations

import contextlib
import json
import logging
import weakref
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar, cast

import strawberry
from graphql import GraphQLError

from helsegraf.authz.requirements import STATISTICS, Requirement
from helsegraf.schema import refs
from helsegraf.schema.base import (
    Connection,
    Info,
    check_list,
    check_municipality,
    connection,
    decode_cursor,
    page_size,
    personal,
    too_complex,
    user_error,
)
from helsegraf.stats import disclosure, presets, querylog
from helsegraf.stats.disclosure import Perturbed
from helsegraf.stats.engine import (
    AGE_LABELS,
    MAX_CELLS,
    MAX_DIMENSIONS,
    MAX_FILTER_VALUES,
    MAX_MEASURES,
    CellBudget,
    Dimension,
    Engine,
    Filter,
    Measure,
    StatisticsInputError,
    TableRequest,
    TableTooLargeError,
    check_date,
    labels,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from helsegraf.schema.kodeverk import Code, Municipality

T = TypeVar("T")
SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
_logger = logging.getLogger(__name__)
# Cells made so far per request (keyed by its loaders, one per request; weakly held: an entry goes with it).
_budgets: weakref.WeakKeyDictionary[Any, CellBudget] = weakref.WeakKeyDictionary()

MunicipalityRef = Annotated["Municipality", strawberry.lazy("helsegraf.schema.kodeverk")]
CodeRef = Annotated["Code", strawberry.lazy("helsegraf.schema.kodeverk")]
STATISTICS_QUERY_LOG: Final = Requirement("statistics-query-log", ("audit:read",))

# strawberry.enum registers the engine's own enums under their GraphQL names and returns them: fields are
# annotated with Measure and Dimension themselves, which the type checker knows as classes.
StatisticsMeasure = strawberry.enum(Measure, name="StatisticsMeasure",
                                    description="What a statistics table counts.")  # fmt: skip
StatisticsDimension = strawberry.enum(Dimension, name="StatisticsDimension",
                                      description="What a statistics table is broken down or filtered by.")  # fmt: skip


@strawberry.enum(description="An age group of listed persons, in whole years at the table's date.")
class AgeGroup(Enum):
    """Age groups (the labels of the AGE_GROUP dimension)."""

    AGE_0_5 = "0-5"
    AGE_6_15 = "6-15"
    AGE_16_19 = "16-19"
    AGE_20_29 = "20-29"
    AGE_30_39 = "30-39"
    AGE_40_49 = "40-49"
    AGE_50_59 = "50-59"
    AGE_60_69 = "60-69"
    AGE_70_79 = "70-79"
    AGE_80_PLUS = "80+"


assert tuple(a.value for a in AgeGroup) == AGE_LABELS  # noqa: S101 - the enum mirrors the engine's groups


@strawberry.enum(description="Whether a GP list has a fixed GP (fastlege) or is without one (ubesatt).")
class ListStatus(Enum):
    """The LIST_STATUS dimension's values."""

    WITH_GP = "WITH_GP"
    WITHOUT_GP = "WITHOUT_GP"


@strawberry.enum(description="A person's gender as Folkeregisteret records it.")
class StatisticsGender(Enum):
    """The GENDER dimension's values."""

    FEMALE = "FEMALE"
    MALE = "MALE"


@strawberry.input(description="Restrictions on a table's dimension values; each list takes at most 400 values.")
class StatisticsFilter:
    """A table's filter."""

    counties: list[str] | None = strawberry.field(default=None, description="County (fylke) numbers, e.g. 03.")
    municipalities: list[str] | None = strawberry.field(default=None, description="Kommunenummer, e.g. 0301.")
    age_groups: list[AgeGroup] | None = strawberry.field(default=None, description="Age groups of listed persons.")
    genders: list[StatisticsGender] | None = strawberry.field(default=None, description="Genders.")
    list_status: ListStatus | None = strawberry.field(default=None, description="Lists with or without a fixed GP.")
    fixed_salary: bool | None = strawberry.field(default=None, description="Lists whose GP has a fixed salary.")
    open_list: bool | None = strawberry.field(default=None, description="Lists that accept new patients.")
    gp_specialist: bool | None = strawberry.field(default=None, description="GPs who are specialists in general "
                                                  "medicine.")  # fmt: skip
    categories: list[str] | None = strawberry.field(default=None, description="Helsepersonellkategorier, e.g. LE.")


REFERENCE_DATE: Final = ("The date counts of persons describe: the last quarter end (31 March, 30 June, "
                         "30 September, 31 December) on or before the date asked for and before today (a quarter "
                         "end's counts are published from the day after it). Every day of a quarter gives the "
                         "same counts of persons; counts of lists, listetak and GPs describe the date asked for "
                         "itself, which may not be after today.")  # fmt: skip


REASON: Final = ("Why the value is null: SMALL_GROUP (withheld whatever its value: a count of listed persons "
                 "by age group or gender whose list restriction would part a group of lists holding 1-9 persons "
                 "from the rest, or whose area has a municipality with 1-9 listed persons; or a count of 1-9 "
                 "persons' lists in all), or SUPPRESSED (the perturbed count is under 5, or the cell is empty); "
                 "null when there is a value.")  # fmt: skip


@strawberry.type(description="A count of persons: perturbed (cell key method), suppressed when under 5, and counted "
                 "at the reference date (the last quarter end on or before the date asked for).")  # fmt: skip
class PersonCount:
    """A published count of persons."""

    value: int | None = strawberry.field(description="The perturbed count, or null when suppressed.")
    suppressed: bool = strawberry.field(description="True when the perturbed count is under 5 and withheld.")
    reference_date: date = strawberry.field(description=REFERENCE_DATE)
    reason: str | None = strawberry.field(default=None, description=REASON)

    @classmethod
    def of(cls, published: Perturbed, reference_date: date) -> PersonCount:
        """Show a published count."""
        return cls(value=published.value, suppressed=published.suppressed, reference_date=reference_date,
                   reason=published.reason)  # fmt: skip


@strawberry.type(description="A dimension's value in a row of a table.")
class DimensionValue:
    """A row's coordinate."""

    dimension: Dimension = strawberry.field(description="The dimension.")
    code: str = strawberry.field(description="The value: a code (0301, 03, LE), an age group, FEMALE, YES, WITH_GP...")
    label: str | None = strawberry.field(description="The value's name, where it has one (Oslo, Lege...).")


@strawberry.type(description="A measure's value in a row of a table.")
class MeasureValue:
    """A cell."""

    measure: Measure = strawberry.field(description="The measure.")
    value: int | None = strawberry.field(description="The value; null when suppressed.")
    perturbed: bool = strawberry.field(description="True for counts of persons: the value carries noise of -2..+2.")
    suppressed: bool = strawberry.field(description="True when a count of persons is withheld (see reason).")
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.type(description="A row of a table: its dimension values (none for the total) and its measures.")
class StatisticsRow:
    """A row."""

    key: list[DimensionValue] = strawberry.field(description="The row's dimension values; empty for the total.")
    values: list[MeasureValue] = strawberry.field(description="The measures' values, in the order asked for.")


@strawberry.type(description="A table of measures by dimensions at a date.")
class StatisticsTable:
    """A table."""

    at: date = strawberry.field(description="The date asked for (default today): counts of lists, listetak and GPs "
                                "describe it.")  # fmt: skip
    reference_date: date = strawberry.field(description=REFERENCE_DATE + " The table's perturbed values (counts of "
                                            "persons and free places) describe it.")  # fmt: skip
    measures: list[Measure] = strawberry.field(description="The measures.")
    by: list[Dimension] = strawberry.field(description="The dimensions.")
    rows: list[StatisticsRow] = strawberry.field(description="Every combination of dimension values, total last.")


@strawberry.type(description="One of Helsedirektoratet's key figures for the GP scheme (nasjonale nøkkeltall).")
class KeyFigure:
    """A key figure."""

    code: str = strawberry.field(description="The figure's code, e.g. GPS or SHARE_FIXED_SALARY_LISTS.")
    label: str = strawberry.field(description="The figure as Helsedirektoratet names it.")
    unit: str = strawberry.field(description="COUNT, PERCENT, PER_THOUSAND or MEAN.")
    value: float | None = strawberry.field(description="The value; null when a count of persons in it is suppressed.")
    perturbed: bool = strawberry.field(
        description="True when it is, or is computed from, a perturbed count of persons."
    )
    suppressed: bool = strawberry.field(description="True when withheld.")
    at: date = strawberry.field(description="The date the figure describes: the date asked for (counts of lists "
                                "and GPs, ratios of them), or the reference date (a count of persons, and a "
                                "ratio with one in it, both of whose parts are then taken at the reference "
                                "date).")  # fmt: skip
    reference_date: date = strawberry.field(description=REFERENCE_DATE)
    reason: str | None = strawberry.field(description="Why the value is null: SMALL_GROUP (a count of persons in "
                                          "it is withheld as a small group, see PersonCount.reason), SUPPRESSED "
                                          "(a count of persons in it is under 5, or empty) or NO_DENOMINATOR (a "
                                          "ratio over zero, e.g. no lists); null when there is a value.")  # fmt: skip


@strawberry.type(description="A row of SSB table 12005: GP lists and listed patients in an area.")
class Ssb12005Row:
    """An area's row."""

    code: str | None = strawberry.field(description="The kommunenummer or county number; null for the nation.")
    lists: int = strawberry.field(description="GP contracts (fastlegelister).")
    patients_on_lists_with_gp: PersonCount = strawberry.field(description="Patients on lists with a fixed GP.")
    patients_on_lists_without_gp: PersonCount = strawberry.field(description="Patients on lists without a fixed GP.")
    patients: PersonCount = strawberry.field(description="Patients on lists (a cell of its own, not the sum).")
    open_lists: int = strawberry.field(description="Lists open to new patients.")
    mean_list_length: float | None = strawberry.field(description="Patients per list (from the published count), "
                                                      "both at the reference date.")  # fmt: skip
    capacity: int = strawberry.field(description="The lists' listetak summed (places in all).")
    reserve_capacity: float | None = strawberry.field(
        description="KOSTRA's reserve capacity: 100 x capacity / patients (over 100: places to spare), both at the "
        "reference date."
    )
    reference_date: date = strawberry.field(description=REFERENCE_DATE + " Patients, mean list length and "
                                            "reserve capacity describe it; lists, open lists and capacity the "
                                            "date asked.")  # fmt: skip
    level: strawberry.Private[Dimension | None] = None

    @strawberry.field(description="The municipality, for rows per municipality.")
    async def municipality(self, info: Info) -> MunicipalityRef | None:
        """Return the municipality."""
        if self.level is not Dimension.MUNICIPALITY or self.code is None:
            return None
        return cast("Municipality | None", await refs.one(refs.municipalities, info, self.code))


@strawberry.type(description="A range of the perturbation table: the noise added to counts with these cell keys.")
class PerturbationRange:
    """A row of the published perturbation table."""

    count: int = strawberry.field(description="The true count the row applies to (3 stands for 3 or more).")
    first_cell_key: int = strawberry.field(description="The first cell key of the range.")
    last_cell_key: int = strawberry.field(description="The last cell key of the range.")
    noise: int = strawberry.field(description="The noise added to the count.")


@strawberry.type(description="The published parameters of the cell key method.")
class PerturbationTable:
    """The perturbation table and its parameters."""

    cell_keys: int = strawberry.field(description="Cell keys run from 0 to this minus 1.")
    threshold: int = strawberry.field(description="Published counts of persons under this are suppressed.")
    max_noise: int = strawberry.field(description="The noise lies in -maxNoise..+maxNoise.")
    ranges: list[PerturbationRange] = strawberry.field(description="(count, cell-key range) -> noise.")


@strawberry.type(description="GP lists in one municipality.")
class MunicipalityGpLists:
    """Lists, open lists and listed patients in a municipality."""

    code: strawberry.Private[str]
    lists: int = strawberry.field(description="GP lists (fastlegelister) valid on the date.")
    open_lists: int = strawberry.field(description="Of those, lists accepting new patients.")
    patients: PersonCount = strawberry.field(description="Patients on those lists (perturbed).")

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
    patients: PersonCount = strawberry.field(description="Listed patients in the cell (perturbed).")


@strawberry.type(description="Health personnel approved in one category.")
class CategoryCount:
    """A count per helsepersonellkategori."""

    code: strawberry.Private[str]
    personnel: PersonCount = strawberry.field(description="Persons with an approval of the category valid on the date.")

    @strawberry.field(description="The helsepersonellkategori (code system 9060).")
    async def category(self, info: Info) -> CodeRef:
        """Return the category code."""
        return cast("Code", await refs.one(refs.codes, info, "9060", self.code))


@cache
def _labels() -> dict[tuple[Dimension, str], str]:
    return labels()


def _code(name: str, value: str, digits: int) -> str:
    if not (len(value) == digits and value.isascii() and value.isdigit()):
        example = "0301" if digits == 4 else "03"  # noqa: PLR2004 - kommunenummer have four digits
        raise user_error(f"{name}: {value[:20]!r} is not a {'kommunenummer' if digits == 4 else 'county number'} "  # noqa: PLR2004
                         f"({digits} digits, e.g. {example})")  # fmt: skip
    return value


def _filter(given: StatisticsFilter | None) -> Filter:
    if given is None:
        return Filter()
    # The Python field and the argument's name (as the caller spells it, for the refusal)
    named = (("counties", "counties"), ("municipalities", "municipalities"), ("age_groups", "ageGroups"),
             ("genders", "genders"), ("categories", "categories"))  # fmt: skip
    for name, argument in named:
        values = getattr(given, name)
        if values is not None:
            check_list(f"filter.{argument}", values, MAX_FILTER_VALUES)
    return Filter(
        counties=tuple(_code("filter.counties", c, 2) for c in given.counties) if given.counties is not None else None,
        municipalities=tuple(_code("filter.municipalities", m, 4) for m in given.municipalities)
        if given.municipalities is not None else None,
        age_groups=tuple(a.value for a in given.age_groups) if given.age_groups is not None else None,
        genders=tuple(g.value for g in given.genders) if given.genders is not None else None,
        list_status=given.list_status.value if given.list_status is not None else None,
        fixed_salary=given.fixed_salary,
        open_list=given.open_list,
        gp_specialist=given.gp_specialist,
        categories=tuple(_category(c) for c in given.categories) if given.categories is not None else None,
    )  # fmt: skip


def _category(value: str) -> str:
    if not (1 <= len(value) <= 4 and value.isascii() and value.isalnum()):  # noqa: PLR2004 - 9060 codes are short
        raise user_error(f"filter.categories: {value[:20]!r} is not a helsepersonellkategori (e.g. LE, SP)")
    return value.upper()


async def _log(info: Info, table: str, parameters: dict[str, Any], outcome: str = "OK") -> None:
    """Write the query-log row of an attempt, answered or refused; a row that cannot be written refuses (503)."""
    context = info.context
    try:
        await querylog.record(context.db, principal=getattr(context.guard, "principal", None),
                              request_id=context.request_id, purpose=context.purpose, table=table,
                              parameters=querylog.as_logged(parameters, outcome))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - whatever stops the log row stops the table
        _logger.warning("statistics query log not written (%s); the table is refused", type(exc).__name__)
        raise GraphQLError("the statistics query log cannot be written; no table was released, try again shortly",
                           extensions={"code": SERVICE_UNAVAILABLE}) from None  # fmt: skip


async def _logged(info: Info, table: str, parameters: dict[str, Any], work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` and log the attempt with its outcome: refused and failed attempts are logged too."""
    try:
        result = await work()
    except GraphQLError as exc:
        code = (exc.extensions or {}).get("code", "INTERNAL")
        if code != SERVICE_UNAVAILABLE or "query log" not in exc.message:
            with contextlib.suppress(GraphQLError):  # the caller's error is the answer; a log outage is warned
                await _log(info, table, parameters, str(code))
        raise
    except Exception:
        with contextlib.suppress(GraphQLError):
            await _log(info, table, parameters, "INTERNAL")
        raise
    await _log(info, table, parameters)
    return result


def _shown(value: int | Perturbed, measure: Measure) -> MeasureValue:
    if isinstance(value, Perturbed):
        return MeasureValue(measure=measure, value=value.value, perturbed=True, suppressed=value.suppressed,
                            reason=value.reason)  # fmt: skip
    return MeasureValue(measure=measure, value=value, perturbed=False, suppressed=False)


@strawberry.type(description="Aggregates across registers for analysts. Counts of persons are perturbed and "
                 "suppressed under 5.")  # fmt: skip
class Statistics:
    """Statistics, computed on request.

    Every table field is nullable: a refused table (bad arguments, over the request's cells, the query log
    not writable) is null with its error, and the request's other tables answer (each logged with its
    own outcome). The cell budget is the request's (MAX_CELLS over all its tables, aliases included):
    the table that would take more than is left is the one refused.
    """

    engine: strawberry.Private[Engine]

    async def _table(self, info: Info, name: str, request: TableRequest, *, log: bool = True) -> Any:
        async def make() -> Any:
            context = info.context
            budget = _budgets.setdefault(context.loaders, CellBudget())  # one per request, over all aliases
            try:
                check_date(request.at or context.today, context.today)
                return await self.engine.table(request, context.today, budget)
            except StatisticsInputError as exc:
                raise user_error(str(exc)) from None
            except TableTooLargeError as exc:
                raise too_complex(str(exc), "cells", MAX_CELLS - exc.maximum + exc.cells, MAX_CELLS) from None

        if not log:
            return await make()
        return await _logged(info, name, request.parameters(request.at or info.context.today), make)

    @strawberry.field(description="A table: measures broken down by dimensions, filtered, at a date (default today). "
                      "Counts of persons are perturbed and suppressed under 5; a total row (total: true) is a "
                      "cell of its own.")  # fmt: skip
    async def table(
        self,
        info: Info,
        measures: list[Measure],
        by: list[Dimension] | None = None,
        filter: StatisticsFilter | None = None,  # noqa: A002 - the argument's public name
        at: date | None = None,
        total: bool = False,
    ) -> StatisticsTable | None:
        """Make a table."""
        given = {"measures": [m.name for m in measures], "by": [d.name for d in by or ()],
                 "filter": strawberry.asdict(filter) if filter is not None else None,
                 "at": (at or info.context.today).isoformat(), "total": total}  # fmt: skip

        async def make() -> Any:
            check_list("measures", measures, MAX_MEASURES)
            check_list("by", by or [], MAX_DIMENSIONS)
            request = TableRequest(tuple(measures), tuple(by or ()), _filter(filter), at, total)
            given.clear()  # once the arguments are read, the log keeps them as the engine names them
            given.update(request.parameters(at or info.context.today))
            return await self._table(info, "table", request, log=False)

        table = await _logged(info, "table", given, make)
        names = _labels()
        rows = [StatisticsRow(key=[DimensionValue(dimension=d, code=v, label=names.get((d, v))) for d, v in row.key],
                              values=[_shown(row.values[m], m) for m in table.measures])
                for row in table.rows]  # fmt: skip
        return StatisticsTable(at=table.at, reference_date=table.reference_date, measures=list(table.measures),
                               by=list(table.by), rows=rows)  # fmt: skip

    @strawberry.field(description="Helsedirektoratet's national key figures for the GP scheme, for the nation, a "
                      "county or a municipality, at a date (default today; quarter ends are usual).")  # fmt: skip
    async def key_figures(
        self, info: Info, county: str | None = None, municipality: str | None = None, at: date | None = None
    ) -> list[KeyFigure] | None:
        """Return the key figures of an area."""
        on = at or info.context.today

        async def make() -> Any:
            try:
                return await presets.key_figures(self.engine, _area(county, municipality), on)
            except StatisticsInputError as exc:
                raise user_error(str(exc)) from None

        figures = await _logged(info, "keyFigures", {"county": county, "municipality": municipality,
                                                     "at": on.isoformat()}, make)  # fmt: skip
        ref = self.engine.reference_date(on)
        return [KeyFigure(code=f.code, label=f.label, unit=f.unit, value=f.value, perturbed=f.perturbed,
                          suppressed=f.suppressed, at=f.at, reference_date=ref, reason=f.reason)
                for f in figures]  # fmt: skip

    @strawberry.field(description="SSB table 12005 (GP lists and listed patients): one row per municipality "
                      "(by: MUNICIPALITY, the default), per county (COUNTY), or for the nation (by: null), "
                      "optionally within a county or municipality, at a date (default today).")  # fmt: skip
    async def ssb12005(
        self,
        info: Info,
        by: Dimension | None = Dimension.MUNICIPALITY,
        county: str | None = None,
        municipality: str | None = None,
        at: date | None = None,
    ) -> list[Ssb12005Row] | None:
        """Return SSB 12005's rows."""
        on = at or info.context.today

        async def make() -> Any:
            if by not in {None, Dimension.MUNICIPALITY, Dimension.COUNTY}:
                raise user_error(f"by: SSB 12005 is per MUNICIPALITY or COUNTY (or null for the nation), not {by.name}")
            area = _area(county, municipality)
            if municipality is not None and by is Dimension.COUNTY:
                raise user_error("by: COUNTY with municipality: a municipality lies in one county; ask by: "
                                 "MUNICIPALITY (or null) for a municipality, or name its county")  # fmt: skip
            try:
                return await presets.ssb_12005(self.engine, by, area, on)
            except StatisticsInputError as exc:
                raise user_error(str(exc)) from None

        rows = await _logged(info, "ssb12005", {"by": by.name if by else None, "county": county,
                                                "municipality": municipality, "at": on.isoformat()}, make)  # fmt: skip
        return [Ssb12005Row(code=r.code, lists=r.lists,
                            patients_on_lists_with_gp=PersonCount.of(r.patients_with_gp, r.reference_date),
                            patients_on_lists_without_gp=PersonCount.of(r.patients_without_gp, r.reference_date),
                            patients=PersonCount.of(r.patients, r.reference_date), open_lists=r.open_lists,
                            mean_list_length=r.mean_list_length, capacity=r.capacity,
                            reserve_capacity=r.reserve_capacity, reference_date=r.reference_date, level=r.level)
                for r in rows]  # fmt: skip

    @strawberry.field(description="The cell key method's published parameters and perturbation table.")
    def perturbation_table(self) -> PerturbationTable:
        """Return the perturbation table."""
        ranges = [PerturbationRange(count=count, first_cell_key=first, last_cell_key=last, noise=noise)
                  for count, rows in disclosure.PTABLE.items() for first, last, noise in rows]  # fmt: skip
        return PerturbationTable(cell_keys=disclosure.CELL_KEYS, threshold=disclosure.THRESHOLD,
                                 max_noise=disclosure.MAX_NOISE, ranges=ranges)  # fmt: skip

    @strawberry.field(
        description="GP lists, open lists and listed patients per municipality at a date (default today)."
    )
    async def gp_lists_by_municipality(self, info: Info, at: date | None = None) -> list[MunicipalityGpLists] | None:
        """Count lists and patients per municipality (a view on `table`)."""
        request = TableRequest((Measure.LISTS, Measure.OPEN_LISTS, Measure.LISTED_PERSONS), (Dimension.MUNICIPALITY,),
                               Filter(), at)  # fmt: skip
        table = await self._table(info, "gpListsByMunicipality", request)
        return [MunicipalityGpLists(code=row.key[0][1], lists=cast("int", row.values[Measure.LISTS]),
                                    open_lists=cast("int", row.values[Measure.OPEN_LISTS]),
                                    patients=PersonCount.of(cast("Perturbed", row.values[Measure.LISTED_PERSONS]),
                                                            table.reference_date))
                for row in table.rows if row.values[Measure.LISTS]]  # fmt: skip

    @strawberry.field(description="Listed patients by age group and gender at a date, optionally in one municipality.")
    async def patients_by_age_group_and_gender(
        self, info: Info, municipality: str | None = None, at: date | None = None
    ) -> list[AgeGenderCount] | None:
        """Count listed patients per age group and gender (a view on `table`)."""
        check_municipality(municipality)
        area = Filter(municipalities=(municipality,)) if municipality is not None else Filter()
        request = TableRequest((Measure.LISTED_PERSONS,), (Dimension.AGE_GROUP, Dimension.GENDER), area, at)
        table = await self._table(info, "patientsByAgeGroupAndGender", request)
        return [AgeGenderCount(age_group=row.key[0][1], gender=row.key[1][1],
                               patients=PersonCount.of(cast("Perturbed", row.values[Measure.LISTED_PERSONS]),
                                                       table.reference_date))
                for row in table.rows]  # fmt: skip

    @strawberry.field(description="Health personnel per category with an approval valid at a date (default today).")
    async def health_personnel_by_category(self, info: Info, at: date | None = None) -> list[CategoryCount] | None:
        """Count persons per approval category (a view on `table`)."""
        request = TableRequest((Measure.HEALTH_PERSONNEL,), (Dimension.HEALTH_PERSONNEL_CATEGORY,), Filter(), at)
        table = await self._table(info, "healthPersonnelByCategory", request)
        return [CategoryCount(code=row.key[0][1],
                              personnel=PersonCount.of(cast("Perturbed", row.values[Measure.HEALTH_PERSONNEL]),
                                                       table.reference_date))
                for row in table.rows]  # fmt: skip


def _area(county: str | None, municipality: str | None) -> Filter:
    if county is not None and municipality is not None:
        raise user_error("county and municipality: name one area (a municipality lies in one county)")
    return presets.area_filter(
        _code("county", county, 2) if county is not None else None,
        _code("municipality", municipality, 4) if municipality is not None else None,
    )


@strawberry.type(description="An analyst's statistics query: who asked for which table, when, with which arguments.")
class StatisticsQueryEntry:
    """A query-log entry (never the result)."""

    at: datetime = strawberry.field(description="When the table was made.")
    subject: str | None = strawberry.field(description="The token's subject.")
    role: str | None = strawberry.field(description="The caller's role.")
    org_number: str | None = strawberry.field(description="The caller's organisation (orgnr_parent).")
    client_id: str | None = strawberry.field(description="The calling system's client id.")
    purpose: str | None = strawberry.field(description="The purpose the caller stated (X-Purpose header).")
    table: str = strawberry.field(description="table, keyFigures, ssb12005, gpListsByMunicipality, ...")
    parameters: strawberry.scalars.JSON = strawberry.field(description="The arguments: measures, by, filter, at.")
    outcome: str = strawberry.field(description="OK (answered), or the refusal's code: BAD_USER_INPUT, "
                                    "QUERY_TOO_COMPLEX, SERVICE_UNAVAILABLE, INTERNAL.")  # fmt: skip


@strawberry.type
class StatsQuery:
    """The statistics root fields."""

    @personal(STATISTICS, description="Aggregates for analysts (stats:read); counts of persons are perturbed and "
              "suppressed under 5.")  # fmt: skip
    def statistics(self, info: Info) -> Statistics | None:
        """Return the statistics entry point."""
        return Statistics(engine=Engine(info.context.db, info.context.today))

    @personal(STATISTICS_QUERY_LOG, description="Who asked for which statistics, newest first (audit:read).")
    async def statistics_query_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[StatisticsQueryEntry] | None:
        """Return a page of the analysts' query log."""
        size, before_id = page_size(first), decode_cursor(info, "statistics-query", after)
        rows, total = await querylog.page(info.context.db, before_id, size)
        items = []
        for r in rows:
            parameters = json.loads(r.parameters)
            outcome = str(parameters.pop(querylog.OUTCOME, "OK"))
            items.append((r.id, StatisticsQueryEntry(at=r.at, subject=r.subject, role=r.role, org_number=r.org_number,
                                                     client_id=r.client_id, purpose=r.purpose, table=r.table_name,
                                                     parameters=parameters, outcome=outcome)))  # fmt: skip
        return connection(info, "statistics-query", items, size, total, before_id)
