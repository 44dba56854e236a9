"""Attacks on the statistics: every known way to difference published tables down to a small count.

The first three are the derivations the issue found, played with the fields that existed then
(`gpListsByMunicipality`, `patientsByAgeGroupAndGender`) over many dates: with exact counts and
small-cell suppression each of them recovers the suppressed count every time. Then consecutive
dates: counts of persons are computed at reference dates (the last quarter end on or before `at`),
so every day of a quarter gives the same counts, and two consecutive quarter ends differ by a
quarter of changes with fresh noise on every cell that changed. The rest use `table`: totals minus
visible cells, parent geography minus children, overlapping filters, and the average of every route
the suite can build to the same small cell (the attack published against ABS TableBuilder).

What must hold: no route recovers a true count under 5 reliably (exact hits are at most a chance
coincidence of noise, well under half the time, and the attacker cannot tell which), and averaging
routes does not pin a small cell down better than the perturbation's own range.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise
from statistics import mean

import pytest
from sqlalchemy import text

from conftest import TODAY, _seed, create_postgres_database, db_rows, drop_postgres_database, require_postgres, token
from helsegraf.stats import disclosure
from helsegraf.stats.engine import reference_date

GROUPS = ["0-5", "6-15", "16-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
BOUNDS = [5, 15, 19, 29, 39, 49, 59, 69, 79]
GENDERS = ("FEMALE", "MALE")
LISTED = """SELECT c.municipality_code AS m, p.birth_date, p.gender FROM flr_list_membership l
  JOIN flr_gp_contract c ON c.id = l.contract_id JOIN preg_person p ON p.nin = l.nin
  WHERE l.valid_from <= :on AND (l.valid_to IS NULL OR l.valid_to > :on)
    AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)"""
MOST_HITS = 0.5  # exact recoveries: a coincidence of noise at most, never most of the time
SINGLE_DRAW_ERROR = 1.0  # the mean |noise| of one published count of 2 or more (stats/disclosure.py)
QUARTER_ENDS = [date(2019, 12, 31), date(2020, 9, 30), date(2021, 6, 30), date(2022, 3, 31), date(2022, 12, 31),
                date(2023, 9, 30), date(2024, 6, 30), date(2025, 3, 31), reference_date(TODAY, TODAY)]  # fmt: skip


THIN = """DELETE FROM flr_list_membership WHERE id % 4 <> 0
  AND contract_id IN (SELECT id FROM flr_gp_contract WHERE municipality_code <> '0301')"""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sparse_nation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The test nation with most listed persons outside Oslo removed: like the issue's, small cells beside big ones."""
    home = tmp_path_factory.mktemp("sparse-nation")
    if request.param == "postgres":
        require_postgres()
        url = create_postgres_database("helsegraf_sparse")
    else:
        url = f"sqlite:///{home / 'nation.db'}"
    seeded = _seed(url, home)
    engine = seeded.engine()
    with engine.begin() as conn:
        conn.execute(text(THIN))
    engine.dispose()
    yield seeded
    if request.param == "postgres":
        drop_postgres_database(url)


@pytest.fixture
def nation(sparse_nation):
    """The sparse nation, for conftest's `graph`."""
    return sparse_nation


def group_of(born: date, on: date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return next((GROUPS[i] for i, high in enumerate(BOUNDS) if age <= high), GROUPS[-1])


def true_cells(nation, on: date) -> Counter:
    """(municipality, age group, gender) -> listed persons, by SQL over the data."""
    cells: Counter = Counter()
    for row in db_rows(nation, LISTED, on=on.isoformat()):
        cells[row.m, group_of(row.birth_date, on), row.gender] += 1
    return cells


def old_query(municipalities: list[str]) -> str:
    parts = [f'm{code}: patientsByAgeGroupAndGender(municipality: "{code}", at: $at) '
             "{ ageGroup gender patients { value suppressed } }" for code in municipalities]  # fmt: skip
    return ("query($at: Date) { statistics { gpListsByMunicipality(at: $at) { municipality { code } lists "
            "patients { value suppressed } } all: patientsByAgeGroupAndGender(at: $at) "
            "{ ageGroup gender patients { value suppressed } } " + " ".join(parts) + " } }")  # fmt: skip


def published(cells: list[dict]) -> dict[tuple[str, str], int | None]:
    return {(c["ageGroup"], c["gender"]): c["patients"]["value"] for c in cells}


def scan_dates(start: date = date(2019, 6, 1)) -> list[date]:
    """Every quarter end from `start` on: the reference dates, the only dates counts of persons describe."""
    ends, day = [], reference_date(TODAY, TODAY)
    while day >= start:
        ends.append(day)
        day = reference_date(day - timedelta(days=1))
    return ends[::-1]


async def old_tables(graph, nation, on: date) -> tuple[dict, dict, dict]:
    analyst = token(nation, "analyst")
    municipalities = sorted({r.municipality_code for r in db_rows(
        nation, "SELECT municipality_code FROM flr_gp_contract WHERE valid_from <= :on "
                "AND (valid_to IS NULL OR valid_to > :on)", on=on.isoformat())})  # fmt: skip
    data = (await graph.data(old_query(municipalities), {"at": on.isoformat()}, token=analyst))["statistics"]
    totals = {r["municipality"]["code"]: r["patients"]["value"] for r in data["gpListsByMunicipality"]}
    by_municipality = {code: published(data[f"m{code}"]) for code in municipalities}
    return totals, by_municipality, published(data["all"])


def hit_rate(cases: list[tuple[int, int]]) -> float:
    return sum(derived == true for derived, true in cases) / len(cases)


async def test_totals_minus_visible_cells_do_not_give_the_suppressed_cell(graph, nation) -> None:
    """Issue: Oslo's 688 listed minus the 685 in its visible age-gender cells gave the suppressed cell, 3."""
    cases = []
    for on in scan_dates():
        totals, by_municipality, _ = await old_tables(graph, nation, on)
        truth = true_cells(nation, on)
        for code, cells in by_municipality.items():
            hidden = [cell for cell, value in cells.items() if value is None]
            if len(hidden) == 1 and totals.get(code) is not None:
                derived = totals[code] - sum(v for v in cells.values() if v is not None)
                true = truth[code, *hidden[0]]
                if true < 5:
                    cases.append((derived, true))
    assert len(cases) >= 5, "too few single suppressed cells to attack"
    assert hit_rate(cases) < MOST_HITS, cases


async def test_parent_geography_minus_children_does_not_give_the_suppressed_cell(graph, nation) -> None:
    """Issue: the nation's (80+, female) 16 minus Oslo's 12 gave Bergen's suppressed 4."""
    cases = []
    for on in scan_dates():
        _, by_municipality, national = await old_tables(graph, nation, on)
        truth = true_cells(nation, on)
        for cell, whole in national.items():
            hidden = [code for code, cells in by_municipality.items() if cells[cell] is None]
            if whole is not None and len(hidden) == 1:
                derived = whole - sum(cells[cell] for code, cells in by_municipality.items() if code != hidden[0])
                true = truth[hidden[0], *cell]
                if true < 5:
                    cases.append((derived, true))
    assert len(cases) >= 5, "too few cells to attack"
    assert hit_rate(cases) < MOST_HITS, cases


def _day(value) -> date:
    return date.fromisoformat(str(value)[:10])


async def test_consecutive_dates_within_a_quarter_give_the_same_counts_of_persons(graph, nation) -> None:
    """Issue: 3201 on 2025-06-01 and 06-02 showed exactly one man aged 60-69 leaving his GP list.

    Unchanged cells kept their noise (the same records, the same noise), so on a day one membership began
    or ended the one cell whose published value moved was the changed one (40 of 52 such days). Counts of
    persons now describe the reference date: both days of a pair in one quarter give the same tables.
    """
    changes: Counter = Counter()  # day -> memberships that began or ended on it
    for row in db_rows(nation, "SELECT valid_from, valid_to FROM flr_list_membership"):
        for value in (row.valid_from, row.valid_to):
            if value is not None and date(2019, 6, 1) < _day(value) <= TODAY:
                changes[_day(value)] += 1
    # Single-change days, except quarter ends (the day before one lies in the quarter before).
    single = sorted(day for day, n in changes.items() if n == 1 and reference_date(day, TODAY) != day)
    days = single[:: max(1, len(single) // 40)]
    assert len(days) >= 10, "too few single-change days to attack"
    exposed, cases = 0, []
    for day in days:
        totals_before, before, national_before = await old_tables(graph, nation, day - timedelta(days=1))
        totals_after, after, national_after = await old_tables(graph, nation, day)
        assert (totals_before, before, national_before) == (totals_after, after, national_after), day
        was, now = true_cells(nation, day - timedelta(days=1)), true_cells(nation, day)
        moved = [(code, *cell) for code in after for cell, value in after[code].items() if value != before[code][cell]]
        truly = {cell for cell in was.keys() | now.keys() if was[cell] != now[cell]}
        exposed += len(moved) == 1 and moved[0] in truly
        for code in before.keys() & after.keys():
            for cell, value in after[code].items():
                old, true_change = before[code][cell], now[code, *cell] - was[code, *cell]
                if value is not None and old is not None and 0 < abs(true_change) < 5:
                    cases.append((value - old, true_change))
    assert exposed == 0  # no day's change shows in any cell ...
    assert all(derived == 0 for derived, _true in cases)  # ... so no difference gives a person's move


# The attacker's chance to read a cell's change exactly off two independent noise draws: both draws
# equal, the sum of the squared shares of the perturbation table's row for 3 or more (published counts
# are 5 or more, so true ones 3 or more): 0.30^2 + 2 x 0.20^2 + 2 x 0.15^2 = 0.215.
NOISE_ALLOWS = sum(((last - first + 1) / disclosure.CELL_KEYS) ** 2 for first, last, _n in disclosure.PTABLE[3])
MEASURED_MARGIN = 0.1  # sampling error over the cells the test nation has (see the measured rate below)


async def test_consecutive_quarter_ends_tell_no_more_than_the_noise_allows(graph, nation) -> None:
    """The changed-cell attack over every pair of consecutive quarter ends the suite can build on the test
    nation: read a cell's change as the difference of its published values, and, where one cell alone of a
    municipality moved, take it for the one that changed.

    Measured on the test nation (both backends, the tests' secret, 29 pairs of quarter ends from 2019-06-30):
    the difference equals the true change of a small cell (0 < |change| < 5) in 180 of 906 cases (0.199),
    against 0.215 that two independent draws of the noise allow; one cell alone moved in 2
    municipality-quarters, and in neither was it the only change with its difference the true one.
    """
    ends = scan_dates()
    fine = ["MUNICIPALITY", "AGE_GROUP", "GENDER"]
    tables = {on: await cells(graph, nation, fine, on) for on in ends}
    truth = {on: true_cells(nation, on) for on in ends}
    changes, single = [], []
    for before, after in pairwise(ends):
        was, now, old, new = truth[before], truth[after], tables[before], tables[after]
        for key, value in new.items():
            change = now[key] - was[key] if len(key) == len(fine) else 0
            if value is not None and old[key] is not None and 0 < abs(change) < 5:
                changes.append((value - old[key], change))
        for m in {key[0] for key in new if key}:
            keys = [key for key in new if key and key[0] == m]
            moved = [key for key in keys if new[key] != old[key]]
            if len(moved) == 1:
                (key,) = moved
                exact = None not in (new[key], old[key]) and new[key] - old[key] == now[key] - was[key]
                single.append([k for k in keys if now[k] != was[k]] == [key] and exact)
    assert len(changes) >= 30, "too few changed cells to attack"
    rate = hit_rate(changes)
    assert rate <= NOISE_ALLOWS + MEASURED_MARGIN, (rate, sum(d == t for d, t in changes), len(changes))
    assert sum(single) <= max(1, NOISE_ALLOWS * len(single) + MEASURED_MARGIN * len(single)), single


# --- the same attacks, and more, against `table` -----------------------------------------------

TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $f: StatisticsFilter, $at: Date) {
  statistics { table(measures: $m, by: $by, filter: $f, at: $at, total: true) {
    rows { key { code } values { value suppressed } } } } }"""


async def cells(graph, nation, by: list[str], on: date, f: dict | None = None) -> dict[tuple[str, ...], int | None]:
    data = await graph.data(TABLE, {"m": ["LISTED_PERSONS"], "by": by, "f": f, "at": on.isoformat()},
                            token=token(nation, "analyst"))  # fmt: skip
    return {tuple(k["code"] for k in r["key"]): r["values"][0]["value"] for r in data["statistics"]["table"]["rows"]}


GUESS = 2  # what an attacker puts in for a suppressed cell: the middle of 0..4


def value(published: int | None) -> int:
    return GUESS if published is None else published


async def routes_to_small_cells(graph, nation, on: date) -> dict[tuple[str, str, str], list[float]]:
    """Every route the suite builds to each (municipality, age group, gender) cell: estimates from published cells."""
    truth = true_cells(nation, on)
    municipalities = sorted({m for m, _a, _g in truth})
    area = None  # a table of persons takes one value per filter: every municipality, unfiltered
    fine = await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP", "GENDER"], on, area)
    totals = await cells(graph, nation, ["MUNICIPALITY"], on, area)
    national = await cells(graph, nation, ["AGE_GROUP", "GENDER"], on)
    both_genders = await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP"], on, area)
    splits = {d: await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP", "GENDER", d], on, area)
              for d in ("FIXED_SALARY", "LIST_STATUS", "OPEN_LIST")}  # fmt: skip
    routes: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for m in municipalities:
        for a in GROUPS:
            for g in GENDERS:
                if truth[m, a, g] >= 5:
                    continue
                found = routes[m, a, g]
                others = [(a2, g2) for a2 in GROUPS for g2 in GENDERS if (a2, g2) != (a, g)]
                found.append(value(totals[m,]) - sum(value(fine[m, a2, g2]) for a2, g2 in others))  # total - rest
                found.append(value(national[a, g]) - sum(value(fine[m2, a, g]) for m2 in municipalities if m2 != m))
                found.append(value(both_genders[m, a]) - value(fine[m, a, next(x for x in GENDERS if x != g)]))
                for split in splits.values():  # the cell as the sum of its parts on two kinds of list
                    found.append(sum(value(v) for k, v in split.items() if k[:3] == (m, a, g)))
                # Overlapping filters ((A, A+1) minus A+1) are refused: see the subset-differencing attack.
    return dict(routes)


async def test_no_route_recovers_a_small_cell_and_averaging_all_of_them_does_not_pin_it(graph, nation) -> None:
    hits, errors, exact_routes = [], [], []
    for on in QUARTER_ENDS[::2]:
        truth = true_cells(nation, on)
        for cell, estimates in (await routes_to_small_cells(graph, nation, on)).items():
            true = truth[cell]
            average = mean(estimates)
            hits.append(round(average) == true)
            errors.append(abs(average - true))
            exact_routes.append(sum(e == true for e in estimates) / len(estimates))
    assert len(hits) >= 10, "too few small cells to attack"
    # The average of every route lands on the true count no more often than chance allows ...
    assert sum(hits) / len(hits) < MOST_HITS, (sum(hits), len(hits))
    # ... and is no closer to the truth than one perturbed count is (mean |noise| = 1.0): routes do not
    # cancel the noise out, because a cell reached by any route has the one noise of its records.
    assert mean(errors) >= SINGLE_DRAW_ERROR, mean(errors)
    assert mean(exact_routes) < MOST_HITS


async def test_totals_parents_and_filters_of_the_table_builder_do_not_give_small_cells(graph, nation) -> None:
    cases: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for on in QUARTER_ENDS:
        truth = true_cells(nation, on)
        municipalities = sorted({m for m, _a, _g in truth})
        area = None  # a table of persons takes one value per filter: every municipality, unfiltered
        fine = await cells(graph, nation, ["MUNICIPALITY", "AGE_GROUP", "GENDER"], on, area)
        county = await cells(graph, nation, ["COUNTY", "AGE_GROUP", "GENDER"], on)
        national = await cells(graph, nation, ["AGE_GROUP", "GENDER"], on)
        for m in municipalities:
            for a in GROUPS:
                for g in GENDERS:
                    if truth[m, a, g] >= 5:
                        continue
                    true = truth[m, a, g]
                    rest = [fine[m, a2, g2] for a2 in GROUPS for g2 in GENDERS if (a2, g2) != (a, g)]
                    whole = (await cells(graph, nation, [], on, {"municipalities": [m]}))[()]
                    derive(cases["total minus the other cells"], true, whole, rest)
                    others = [fine[m2, a, g] for m2 in municipalities if m2 != m]
                    derive(cases["nation minus municipalities"], true, national[a, g], others)
                    inside = [m2 for m2 in municipalities if _county(m2) == _county(m)]
                    sibling = [fine[m2, a, g] for m2 in inside if m2 != m]
                    derive(cases["county minus municipalities"], true, county[_county(m), a, g], sibling)
                    other = next(x for x in GENDERS if x != g)
                    both = (await cells(graph, nation, ["AGE_GROUP"], on, {"municipalities": [m],
                                                                          "ageGroups": [_enum(a)]}))[(a,)]  # fmt: skip
                    derive(cases["overlapping filters"], true, both, [fine[m, a, other]])
    everything = [case for found in cases.values() for case in found]
    assert len(everything) >= 10, cases
    assert hit_rate(everything) < MOST_HITS, cases
    for route, found in cases.items():
        if len(found) >= 20:
            assert hit_rate(found) < MOST_HITS, (route, found)


def derive(cases: list, true: int, whole: int | None, parts: list[int | None]) -> None:
    """Record the attacker's derivation `whole - parts` of a small cell, when every published input is visible."""
    if whole is not None and all(p is not None for p in parts):
        cases.append((whole - sum(parts), true))


def _enum(group: str) -> str:
    return "AGE_" + group.replace("-", "_").replace("+", "_PLUS")


def _county(municipality: str) -> str:
    from helsegraf.data import reference  # noqa: PLC0415

    return next(m.county_code for m in reference.municipalities() if m.code == municipality)


async def test_differencing_overlapping_filter_subsets_is_refused_and_repeats_give_one_noise(graph, nation) -> None:
    """S + {a} minus S over 100 random subsets S: every filtered subset would be a cell with its own noise."""
    import random  # noqa: PLC0415

    on = reference_date(TODAY, TODAY)
    truth = true_cells(nation, on)
    small = sorted(cell for cell, n in truth.items() if 0 < n < 5)
    assert small, "no small cell to attack"
    m, a, g = small[0]
    rng = random.Random(12)
    others = [x for x in GROUPS if x != a]
    analyst = token(nation, "analyst")
    answered: list[int] = []
    for _ in range(100):
        subset = rng.sample(others, rng.randint(1, len(others)))
        pair = []
        for groups in ([*subset, a], subset):
            f = {"municipalities": [m], "genders": [g], "ageGroups": [_enum(x) for x in groups]}
            body = (await graph.post(TABLE, {"m": ["LISTED_PERSONS"], "by": [], "f": f, "at": on.isoformat()},
                                     token=analyst)).json()  # fmt: skip
            if "errors" in body:
                assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
                assert "filter.ageGroups" in body["errors"][0]["message"]
            else:
                pair.append(body["data"]["statistics"]["table"]["rows"][0]["values"][0]["value"])
        if len(pair) == 2 and None not in pair:
            answered.append(pair[0] - pair[1])
    # The same subsets over municipalities (one age group) and over free places are refused as well (GPs
    # by gender are exact public counts: their subsets answer, with nothing to average).
    neighbours = sorted({x for x, _a, _g in truth} - {m})[:3]
    for measures, f in ((["LISTED_PERSONS"], {"municipalities": [m, *neighbours], "ageGroups": [_enum(a)]}),
                        (["FREE_PLACES"], {"municipalities": [m, *neighbours]})):  # fmt: skip
        body = (await graph.post(TABLE, {"m": measures, "by": [], "f": f, "at": on.isoformat()}, token=analyst)).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (measures, body)
    # What stays open is the cell itself, by any single-valued route: one noise, however often asked.
    routes = set()
    for f, by in (({"municipalities": [m], "genders": [g]}, ["AGE_GROUP"]),
                  ({"municipalities": [m], "ageGroups": [_enum(a)]}, ["GENDER"]),
                  ({"municipalities": [m]}, ["AGE_GROUP", "GENDER"]),
                  ({"counties": [_county(m)], "genders": [g], "ageGroups": [_enum(a)]}, ["MUNICIPALITY"])):  # fmt: skip
        published = await cells(graph, nation, by, on, f)
        routes |= {v for k, v in published.items() if set(k) <= {m, a, g} and len(k) == len(by)}
    assert not answered, answered  # no pair of overlapping subsets is answered, so nothing averages out
    assert len(routes) == 1  # every route to the cell gives the same published value (suppressed: None)


PERSON_TABLES = [  # every measure that counts persons, with breakdowns of each kind
    (["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP", "FREE_PLACES"], ["MUNICIPALITY"]),
    (["LISTED_PERSONS"], ["COUNTY", "AGE_GROUP", "GENDER"]),
    (["LISTED_PERSONS", "FREE_PLACES"], ["OPEN_LIST", "LIST_STATUS", "FIXED_SALARY"]),
    (["HEALTH_PERSONNEL"], ["HEALTH_PERSONNEL_CATEGORY"]),
]
EVERY = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $at: Date) {
  statistics { table(measures: $m, by: $by, at: $at, total: true) { at referenceDate
    rows { key { code } values { measure value perturbed suppressed } } } } }"""
PRESETS = """query($at: Date) { statistics {
  keyFigures(at: $at) { code value perturbed at referenceDate }
  ssb12005(at: $at) { code patients { value referenceDate } patientsOnListsWithGp { value }
    patientsOnListsWithoutGp { value } referenceDate }
  gpListsByMunicipality(at: $at) { patients { value referenceDate } }
  healthPersonnelByCategory(at: $at) { personnel { value referenceDate } } } }"""


async def test_every_count_of_persons_is_perturbed_and_describes_the_reference_date(graph, nation) -> None:
    """No count of persons in statistics is exact, and none moves within a quarter: every day of a quarter
    gives the quarter end's counts of persons, on every measure, breakdown and ready-made table."""
    analyst = token(nation, "analyst")
    quarter_end, days = date(2024, 6, 30), [date(2024, 7, 1), date(2024, 8, 15), date(2024, 9, 29)]

    def persons(data: dict) -> list:
        rows = data["statistics"]["table"]["rows"]
        return [(r["key"], v) for r in rows for v in r["values"] if v["perturbed"]]

    for measures, by in PERSON_TABLES:
        asked = {on: (await graph.data(EVERY, {"m": measures, "by": by, "at": on.isoformat()}, token=analyst))
                 for on in (quarter_end, *days)}  # fmt: skip
        base = persons(asked[quarter_end])
        assert base, (measures, by)
        for on in days:
            table = asked[on]["statistics"]["table"]
            assert (table["at"], table["referenceDate"]) == (on.isoformat(), quarter_end.isoformat())
            assert persons(asked[on]) == base, (measures, by, on)
        for row in asked[quarter_end]["statistics"]["table"]["rows"]:
            for v in row["values"]:
                assert v["perturbed"] is True, (row, v)  # a count of persons is never exact
    ready = {on: (await graph.data(PRESETS, {"at": on.isoformat()}, token=analyst))["statistics"]
             for on in (quarter_end, *days)}  # fmt: skip
    for on in days:
        for name in ("ssb12005", "gpListsByMunicipality", "healthPersonnelByCategory"):
            counts = [{k: v for k, v in row.items() if k in {"patients", "patientsOnListsWithGp",
                                                               "patientsOnListsWithoutGp", "personnel"}}
                      for row in ready[on][name]]  # fmt: skip
            assert counts == [{k: v for k, v in row.items() if k in {"patients", "patientsOnListsWithGp",
                                                                       "patientsOnListsWithoutGp", "personnel"}}
                              for row in ready[quarter_end][name]], (name, on)  # fmt: skip
        perturbed = [(f["code"], f["value"], f["at"]) for f in ready[on]["keyFigures"] if f["perturbed"]]
        assert perturbed == [(f["code"], f["value"], f["at"]) for f in ready[quarter_end]["keyFigures"]
                             if f["perturbed"]], on  # fmt: skip
        assert {f["referenceDate"] for f in ready[on]["keyFigures"]} == {quarter_end.isoformat()}
