"""Ready-made tables: Helsedirektoratet's key figures for the GP scheme and SSB table 12005.

Both are made from engine tables. Ratios are computed from published cells: a count of persons in a
ratio is the perturbed count of its own cell (never the true count), so a ratio reveals nothing its
published parts do not; a ratio over a suppressed count is suppressed too.

Counts of persons describe the reference date (the last quarter end on or before `at`, see
engine.reference_date); counts of lists and GPs describe `at`. A ratio with a count of persons in it
takes both its parts at the reference date (mean list length: persons and lists at the quarter end),
so that it compares like with like; a ratio of public counts (share of lists without a GP) is at `at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

from helsegraf.stats.disclosure import Perturbed
from helsegraf.stats.engine import (
    Dimension,
    Engine,
    Filter,
    Measure,
    Table,
    TableRequest,
    check_date,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

KEY_FIGURE_MEASURES: Final = (
    Measure.GPS, Measure.GP_SPECIALISTS, Measure.LISTS, Measure.LISTS_WITH_GP, Measure.LISTS_WITHOUT_GP,
    Measure.LISTS_VACANT_OVER_A_YEAR, Measure.LISTED_PERSONS_WITHOUT_GP, Measure.LISTED_PERSONS_WITH_GP,
    Measure.LISTED_PERSONS, Measure.FREE_PLACES,
)  # fmt: skip


@dataclass(frozen=True)
class KeyFigure:
    """One of the key figures: a count or a ratio, suppressed when a count of persons in it is."""

    code: str
    label: str
    unit: str  # COUNT, PERCENT, PER_THOUSAND, MEAN
    value: float | None
    at: date  # the date the figure describes: `at`, or the reference date for one with a count of persons
    suppressed: bool = False
    perturbed: bool = False
    small_group: bool = False  # withheld because a count in it is (engine._ListGroups)

    @property
    def reason(self) -> str | None:
        """Return why the value is null: SMALL_GROUP, SUPPRESSED (a count in it under 5) or NO_DENOMINATOR."""
        if self.value is not None:
            return None
        if self.small_group:
            return "SMALL_GROUP"
        return "SUPPRESSED" if self.suppressed else "NO_DENOMINATOR"


def area_filter(county: str | None, municipality: str | None) -> Filter:
    """Return the filter of an area: a municipality, a county, or the nation."""
    if municipality is not None:
        return Filter(municipalities=(municipality,))
    if county is not None:
        return Filter(counties=(county,))
    return Filter()


def _value(cell: int | Perturbed) -> tuple[float | None, bool]:
    if isinstance(cell, Perturbed):
        return (None, True) if cell.suppressed else (float(cell.value or 0), False)
    return float(cell), False


def _small(cell: int | Perturbed) -> bool:
    return isinstance(cell, Perturbed) and cell.small_group


def _ratio(numerator: int | Perturbed, denominator: int | Perturbed, scale: float) -> tuple[float | None, bool]:
    top, top_suppressed = _value(numerator)
    bottom, bottom_suppressed = _value(denominator)
    if top_suppressed or bottom_suppressed:
        return None, True
    if not bottom:
        return None, False
    return round(scale * (top or 0.0) / bottom, 2), False


async def key_figures(engine: Engine, area: Filter, on: date) -> list[KeyFigure]:
    """Return Helsedirektoratet's national key figures (nøkkeltall) for an area at a date."""
    await engine.prefetch(on)
    ref = engine.reference_date(on)
    main = (await engine.table(TableRequest(KEY_FIGURE_MEASURES, (), area, on), on)).rows[0].values
    # The public parts of ratios over counts of persons, at the reference date those counts describe.
    parts = (Measure.GPS, Measure.LISTS, Measure.LISTS_WITH_GP)
    at_ref = main if ref == on else (await engine.table(TableRequest(parts, (), area, ref), on)).rows[0].values
    by_gender = await engine.table(TableRequest((Measure.GPS,), (Dimension.GENDER,), area, on), on)
    by_salary = await engine.table(TableRequest((Measure.LISTS,), (Dimension.FIXED_SALARY,), area, on), on)
    # GPs by gender are exact (a GP's gender is public): the share is women over the GPs whose gender is
    # known, at `at`, as Helsedirektoratet publishes it.
    gender = {r.key[0][1]: r.values[Measure.GPS] for r in by_gender.rows}
    women, men = int(gender["FEMALE"]), int(gender["MALE"])  # type: ignore[arg-type]
    known = women + men
    fixed = next(int(r.values[Measure.LISTS]) for r in by_salary.rows  # type: ignore[arg-type]
                 if r.key == ((Dimension.FIXED_SALARY, "YES"),))  # fmt: skip
    figures: list[KeyFigure] = []

    def count(code: str, label: str, measure: Measure) -> None:
        value, suppressed = _value(main[measure])
        perturbed = isinstance(main[measure], Perturbed)
        figures.append(KeyFigure(code, label, "COUNT", value, ref if perturbed else on, suppressed, perturbed,
                                 _small(main[measure])))  # fmt: skip

    def ratio(code: str, label: str, unit: str, top: int | Perturbed, bottom: int | Perturbed, scale: float) -> None:
        value, suppressed = _ratio(top, bottom, scale)
        perturbed = isinstance(top, Perturbed) or isinstance(bottom, Perturbed)
        figures.append(KeyFigure(code, label, unit, value, ref if perturbed else on, suppressed, perturbed,
                                 _small(top) or _small(bottom)))  # fmt: skip

    count("GPS", "Fastleger", Measure.GPS)
    count("GP_SPECIALISTS", "Fastleger som er spesialister i allmennmedisin", Measure.GP_SPECIALISTS)
    count("LISTS", "Fastlegelister i alt", Measure.LISTS)
    count("LISTS_WITH_GP", "Lister med fast lege", Measure.LISTS_WITH_GP)
    count("LISTS_WITHOUT_GP", "Lister uten fast lege (ubesatte)", Measure.LISTS_WITHOUT_GP)
    count("LISTS_VACANT_OVER_A_YEAR", "Lister uten fast lege i mer enn ett år", Measure.LISTS_VACANT_OVER_A_YEAR)
    count("LISTED_PERSONS_WITHOUT_GP", "Innbyggere på liste uten fast lege", Measure.LISTED_PERSONS_WITHOUT_GP)
    count("LISTED_PERSONS_WITH_GP", "Innbyggere på liste med fast lege", Measure.LISTED_PERSONS_WITH_GP)
    count("LISTED_PERSONS", "Innbyggere på liste i alt", Measure.LISTED_PERSONS)
    ratio("GPS_PER_1000_LISTED", "Fastleger per 1 000 listeinnbyggere", "PER_THOUSAND",
          at_ref[Measure.GPS], main[Measure.LISTED_PERSONS], 1000)  # fmt: skip
    ratio("SHARE_WOMEN_GPS", "Andel kvinnelige fastleger", "PERCENT", women, known, 100)
    ratio("MEAN_LIST_LENGTH_FIXED_GP", "Gjennomsnittlig listelengde, lister med fast lege", "MEAN",
          main[Measure.LISTED_PERSONS_WITH_GP], at_ref[Measure.LISTS_WITH_GP], 1)  # fmt: skip
    ratio("MEAN_LIST_LENGTH", "Gjennomsnittlig listelengde, alle lister", "MEAN",
          main[Measure.LISTED_PERSONS], at_ref[Measure.LISTS], 1)  # fmt: skip
    ratio("SHARE_LISTS_WITHOUT_GP", "Andel lister uten fast lege", "PERCENT",
          main[Measure.LISTS_WITHOUT_GP], main[Measure.LISTS], 100)  # fmt: skip
    ratio("SHARE_FIXED_SALARY_LISTS", "Andel fastlønnede lister", "PERCENT", fixed, main[Measure.LISTS], 100)
    ratio("FREE_PLACES_PER_1000", "Ledige plasser per 1 000 listeinnbyggere", "PER_THOUSAND",
          main[Measure.FREE_PLACES], main[Measure.LISTED_PERSONS], 1000)  # fmt: skip
    return figures


SSB_12005_MEASURES: Final = (Measure.LISTS, Measure.LISTED_PERSONS_WITH_GP, Measure.LISTED_PERSONS_WITHOUT_GP,
                             Measure.OPEN_LISTS, Measure.LISTED_PERSONS, Measure.CAPACITY)  # fmt: skip


@dataclass(frozen=True)
class Ssb12005Row:
    """One area's row of SSB table 12005 (fastlegelister og listepasienter)."""

    level: Dimension | None  # MUNICIPALITY, COUNTY, or None for the nation
    code: str | None
    lists: int
    patients_with_gp: Perturbed
    patients_without_gp: Perturbed
    open_lists: int
    mean_list_length: float | None
    capacity: int
    reserve_capacity: float | None  # KOSTRA: 100 x listetak / listed persons (over 100: room on the lists)
    patients: Perturbed
    reference_date: date  # of the patients, the mean list length and the reserve capacity


async def ssb_12005(engine: Engine, level: Dimension | None, area: Filter, on: date) -> list[Ssb12005Row]:
    """Return SSB 12005 per municipality or county (or for the nation), optionally within an area."""
    check_date(on, engine.today)
    by: Sequence[Dimension] = (level,) if level is not None else ()
    table: Table = await engine.table(TableRequest(SSB_12005_MEASURES, tuple(by), area, on), on)
    ref = table.reference_date
    # Mean list length and reserve capacity divide by the patients: lists and listetak at their date too.
    at_ref = table if ref == on else await engine.table(TableRequest((Measure.LISTS, Measure.CAPACITY), tuple(by),
                                                                     area, ref), on)  # fmt: skip
    rows = []
    for row, then in zip(table.rows, at_ref.rows, strict=True):
        v = row.values
        patients = v[Measure.LISTED_PERSONS]
        assert isinstance(patients, Perturbed)  # noqa: S101 - a person measure is always perturbed
        mean, _ = _ratio(patients, then.values[Measure.LISTS], 1)
        reserve, _ = _ratio(then.values[Measure.CAPACITY], patients, 100)
        rows.append(Ssb12005Row(
            level, row.key[0][1] if row.key else None, int(v[Measure.LISTS]),  # type: ignore[arg-type]
            v[Measure.LISTED_PERSONS_WITH_GP], v[Measure.LISTED_PERSONS_WITHOUT_GP],  # type: ignore[arg-type]
            int(v[Measure.OPEN_LISTS]), mean, int(v[Measure.CAPACITY]), reserve, patients, ref,  # type: ignore[arg-type]
        ))  # fmt: skip
    return rows
