"""A review's attacks on the statistics: variants of the known routes and combinations of features.

Played through HTTP on SQLite and PostgreSQL, on the seeded nation (three lists, one per municipality),
its sparse variant (tests/test_statistics_attacks.py: small cells beside big ones) and a nation with a
small list of exactly 9 or 10 persons. Each test states the attack and asserts that the protection
holds: no true count under the threshold is recovered exactly more often than a coincidence of noise,
the same persons give one value by every route (so averaging routes gains nothing), ratios multiplied
back by exact public counts give the perturbed count and never the true one, and every mistake is a
BAD_USER_INPUT naming what was wrong.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import pairwise, product
from statistics import mean

import httpx
import pytest

from conftest import (
    TODAY,
    Graph,
    _seed,
    create_postgres_database,
    db_rows,
    drop_postgres_database,
    require_postgres,
    token,
)
from helsegraf.http.app import create_app
from helsegraf.stats import disclosure
from helsegraf.stats.engine import AGE_LABELS, reference_date
from test_statistics_attacks import GENDERS, GROUPS, MOST_HITS, group_of, true_cells
from test_statistics_attacks import sparse_nation as sparse_nation  # noqa: PLC0414 - the module's fixture, reused
from test_statistics_fixes import db_execute
from test_statistics_small_groups import COPY_FASTLEGE, COPY_LIST, MOVE, _execute

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
REF = reference_date(TODAY, TODAY)
TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $f: StatisticsFilter, $at: Date,
  $total: Boolean! = false) { statistics { table(measures: $m, by: $by, filter: $f, at: $at, total: $total) {
  at referenceDate rows { key { dimension code } values { measure value perturbed suppressed reason } } } } }"""
MUNICIPALITIES = ("0301", "4601", "5001")
COUNTY = {"0301": "03", "4601": "46", "5001": "50"}


def enum(group: str) -> str:
    """The AgeGroup enum name of an age-group label ("0-5" -> AGE_0_5, "80+" -> AGE_80_PLUS)."""
    return "AGE_80_PLUS" if group == "80+" else "AGE_" + group.replace("-", "_")


async def rows(graph, nation, measures: list[str], by: list[str] | None = None, f: dict | None = None,
               at: date | None = None, *, total: bool = False) -> dict[tuple[str, ...], dict[str, dict]]:  # fmt: skip
    """A table's rows: key codes -> measure -> {value, perturbed, suppressed, reason}."""
    data = await graph.data(TABLE, {"m": measures, "by": by, "f": f, "at": at.isoformat() if at else None,
                                    "total": total}, token=token(nation, "analyst"))  # fmt: skip
    return {tuple(k["code"] for k in r["key"]): {v["measure"]: v for v in r["values"]}
            for r in data["statistics"]["table"]["rows"]}  # fmt: skip


async def refusal(graph, nation, query: str, variables: dict | None = None) -> dict:
    """The one error of a refused query (never INTERNAL, never a stack trace)."""
    body = (await graph.post(query, variables or {}, token=token(nation, "analyst"))).json()
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] != "INTERNAL", error
    assert "Traceback" not in json.dumps(body)
    return error


def shown(v: dict) -> int | None:
    return None if v["suppressed"] else v["value"]


async def serve(nation) -> AsyncIterator[Graph]:
    """A client for the app serving a nation of this module's own (as conftest's `graph` does)."""
    app = create_app(replace(nation.settings, debug=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Graph(client, token(nation))
    await app.state.db.dispose()


@pytest.fixture
async def sparse_graph(sparse_nation) -> AsyncIterator[Graph]:
    """A client for the sparse nation."""
    async for graph in serve(sparse_nation):
        yield graph


# --- the cell key's determinism: the same persons by every route, one value --------------------------


@pytest.mark.parametrize("measure", ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP"])
async def test_the_same_persons_by_every_route_give_one_value(graph, nation, measure) -> None:  # noqa: C901, PLR0912
    """Averaging attack: reach each (municipality, age group, gender) cell by every route the builder
    offers (a municipality filter, the county's or the nation's breakdown, a filter of age and gender,
    one of them in `by` and the other filtered, the old field, a list filter that keeps the municipality's
    only list, the same persons counted by another measure, every day of the quarter, `at` omitted). The
    same records must give the one value: then the mean of all routes is one draw of noise."""
    lists = {r.municipality_code: r for r in db_rows(
        nation, f"SELECT c.municipality_code, c.fixed_salary, c.is_open, (SELECT count(*) FROM flr_gp_period p "
        f"WHERE p.contract_id = c.id AND p.relationship = 'LPFL' AND p.valid_from <= :on AND (p.valid_to IS NULL "
        f"OR p.valid_to > :on)) AS fastleger FROM flr_gp_contract c WHERE {ON}", on=REF.isoformat())}  # fmt: skip
    routes: dict[tuple[str, str, str], list[tuple[str, int | None]]] = defaultdict(list)
    days = [None, REF + timedelta(days=1), TODAY, REF + (TODAY - REF) // 2]
    nation_rows = await rows(graph, nation, [measure], ["MUNICIPALITY", "AGE_GROUP", "GENDER"])
    old = {}
    if measure == "LISTED_PERSONS":
        for code in MUNICIPALITIES:
            data = await graph.data(f'{{ statistics {{ patientsByAgeGroupAndGender(municipality: "{code}") {{ '
                                    "ageGroup gender patients { value suppressed } } } }",
                                    token=token(nation, "analyst"))  # fmt: skip
            for c in data["statistics"]["patientsByAgeGroupAndGender"]:
                p = c["patients"]
                old[code, c["ageGroup"], c["gender"]] = None if p["suppressed"] else p["value"]
    for code in MUNICIPALITIES:
        x = lists[code]
        same_list = {"fixedSalary": bool(x.fixed_salary), "openList": bool(x.is_open),
                     "listStatus": "WITH_GP" if x.fastleger else "WITHOUT_GP"}  # fmt: skip
        if measure == "LISTED_PERSONS_WITH_GP" and not x.fastleger:
            continue
        area = {"municipalities": [code]}
        for at in days:
            for (group, gender), v in (await rows(graph, nation, [measure], ["AGE_GROUP", "GENDER"], area, at)).items():
                routes[code, group, gender].append((f"municipality at {at}", shown(v[measure])))
        county = await rows(graph, nation, [measure], ["MUNICIPALITY", "AGE_GROUP", "GENDER"],
                            {"counties": [COUNTY[code]]})  # fmt: skip
        kept = await rows(graph, nation, [measure], ["AGE_GROUP", "GENDER"], {**area, **same_list})
        by_age = {g: await rows(graph, nation, [measure], ["AGE_GROUP"], {**area, "genders": [g]}) for g in GENDERS}
        for group in GROUPS:
            by_gender = await rows(graph, nation, [measure], ["GENDER"], {**area, "ageGroups": [enum(group)]})
            for gender in GENDERS:
                alone = await rows(graph, nation, [measure], [], {**area, "ageGroups": [enum(group)],
                                                                   "genders": [gender]})  # fmt: skip
                cell = routes[code, group, gender]
                cell.append(("county", shown(county[code, group, gender][measure])))
                cell.append(("nation", shown(nation_rows[code, group, gender][measure])))
                cell.append(("same list filtered", shown(kept[group, gender][measure])))
                cell.append(("gender by, age filtered", shown(by_gender[(gender,)][measure])))
                cell.append(("age by, gender filtered", shown(by_age[gender][(group,)][measure])))
                cell.append(("both filtered", shown(alone[()][measure])))
                if old:
                    cell.append(("patientsByAgeGroupAndGender", old[code, group, gender]))
    assert len(routes) >= 40
    for cell, values in routes.items():
        assert len({v for _route, v in values}) == 1, (cell, values)
    if measure == "LISTED_PERSONS_WITH_GP":  # the same persons counted as LISTED_PERSONS: the same value too
        plain = await rows(graph, nation, ["LISTED_PERSONS"], ["MUNICIPALITY", "AGE_GROUP", "GENDER"])
        for (code, group, gender), values in routes.items():
            assert shown(plain[code, group, gender]["LISTED_PERSONS"]) == values[0][1]


async def test_cells_a_few_records_apart_get_unrelated_noise(sparse_graph, sparse_nation) -> None:
    """Different sets must not correlate: the noise (published minus true) of a cell at two consecutive
    quarter ends whose persons changed is a fresh draw. Equal noise as often as two independent draws
    give it (0.21, the sum of the squared shares), and no correlation."""
    nation, graph = sparse_nation, sparse_graph
    ends = [date(2023, 3, 31), date(2023, 6, 30), date(2023, 9, 30), date(2023, 12, 31), date(2024, 3, 31),
            date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31), date(2025, 3, 31)]  # fmt: skip
    noise: dict[date, dict[tuple, int]] = {}
    truth: dict[date, Counter] = {}
    for on in ends:
        published = await rows(graph, nation, ["LISTED_PERSONS"], ["MUNICIPALITY", "AGE_GROUP", "GENDER"], at=on)
        truth[on] = true_cells(nation, on)
        noise[on] = {k: v["LISTED_PERSONS"]["value"] - truth[on][k] for k, v in published.items()
                     if not v["LISTED_PERSONS"]["suppressed"]}  # fmt: skip
    pairs = []
    for earlier, later in pairwise(ends):
        pairs.extend(
            (noise[earlier][cell], noise[later][cell])
            for cell in noise[earlier].keys() & noise[later].keys()
            if truth[earlier][cell] != truth[later][cell]
        )  # another set of records (its count changed)
    assert len(pairs) >= 30, len(pairs)
    equal = sum(a == b for a, b in pairs) / len(pairs)
    assert equal < 0.4, equal  # independent draws: 0.21
    mean_a = sum(a for a, _b in pairs) / len(pairs)
    mean_b = sum(b for _a, b in pairs) / len(pairs)
    cov = sum((a - mean_a) * (b - mean_b) for a, b in pairs) / len(pairs)
    var_a = sum((a - mean_a) ** 2 for a, _b in pairs) / len(pairs)
    var_b = sum((b - mean_b) ** 2 for _a, b in pairs) / len(pairs)
    assert abs(cov / (var_a * var_b) ** 0.5) < 0.35
    assert all(abs(n) <= disclosure.MAX_NOISE for by_cell in noise.values() for n in by_cell.values())


# --- differencing by measures, geography and exact public counts -------------------------------------


async def test_totals_by_other_measures_and_exact_list_sizes_minus_visible_cells(  # noqa: C901 - one route each
    sparse_graph, sparse_nation
) -> None:
    """Differencing variants: a small (municipality, age, gender) cell derived as (a) the exact public
    count of the municipality's listed persons (the sum of `listSize`) minus its visible cells, (b) the
    same with LISTED_PERSONS_WITH_GP + WITHOUT_GP as the total, (c) the county's cell minus the other
    municipalities' visible cells, (d) the nation's cell minus every other municipality's, and (e) the
    age group's cell (genders together) minus the other gender. None may give the true small count more
    often than a coincidence of noise."""
    nation, graph = sparse_nation, sparse_graph
    cases: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for on in sorted({reference_date(date(year, month, 1)) for year in range(2019, 2027) for month in (2, 5, 8, 11)}):
        if on >= REF:
            continue
        true = true_cells(nation, on)
        exact_total = Counter()
        for (m, _g, _s), n in true.items():
            exact_total[m] += n  # public: GpContract.listSize, added up over the municipality's lists
        measures = ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP"]
        cells = await rows(graph, nation, measures, ["MUNICIPALITY", "AGE_GROUP", "GENDER"], at=on)
        totals = await rows(graph, nation, measures, ["MUNICIPALITY"], at=on)
        ages = await rows(graph, nation, ["LISTED_PERSONS"], ["MUNICIPALITY", "AGE_GROUP"], at=on)
        counties = await rows(graph, nation, ["LISTED_PERSONS"], ["COUNTY", "AGE_GROUP", "GENDER"], at=on)
        whole = await rows(graph, nation, ["LISTED_PERSONS"], ["AGE_GROUP", "GENDER"], at=on)
        for (m, group, gender), n in true.items():
            if not 0 < n < disclosure.THRESHOLD or not cells[m, group, gender]["LISTED_PERSONS"]["suppressed"]:
                continue
            mine = [shown(v["LISTED_PERSONS"]) for (c, _g, _s), v in cells.items() if c == m]
            if mine.count(None) == 1:
                cases["exact listSize minus visible"].append((exact_total[m] - sum(x or 0 for x in mine), n))
                t = totals[(m,)]
                with_without = [shown(t["LISTED_PERSONS_WITH_GP"]), shown(t["LISTED_PERSONS_WITHOUT_GP"])]
                cases["with + without minus visible"].append((sum(x or 0 for x in with_without)
                                                              - sum(x or 0 for x in mine), n))  # fmt: skip
            county = COUNTY.get(m, m[:2])
            others = [shown(v["LISTED_PERSONS"]) for (c, g, s), v in cells.items()
                      if (g, s) == (group, gender) and c != m and c[:2] == m[:2]]  # fmt: skip
            parent = shown(counties.get((county, group, gender), {}).get("LISTED_PERSONS", {"suppressed": True}))
            if parent is not None and None not in others:
                cases["county minus the other municipalities"].append((parent - sum(others), n))
            rest = [shown(v["LISTED_PERSONS"]) for (c, g, s), v in cells.items()
                    if (g, s) == (group, gender) and c != m]  # fmt: skip
            nation_cell = shown(whole[group, gender]["LISTED_PERSONS"])
            if nation_cell is not None and None not in rest:
                cases["nation minus the other municipalities"].append((nation_cell - sum(rest), n))
            other = shown(cells[m, group, "MALE" if gender == "FEMALE" else "FEMALE"]["LISTED_PERSONS"])
            both = shown(ages[m, group]["LISTED_PERSONS"])
            if both is not None and other is not None:
                cases["age group minus the other gender"].append((both - other, n))
    assert sum(len(c) for c in cases.values()) >= 15, {k: len(v) for k, v in cases.items()}
    for route, found in cases.items():
        hits = sum(derived == true for derived, true in found) / len(found)
        assert hits < MOST_HITS, (route, hits, len(found))
        assert all(abs(derived - true) <= 2 * 25 for derived, true in found)  # noise of the parts, no more


async def test_key_figure_ratios_multiplied_back_give_the_perturbed_count_only(graph, nation) -> None:
    """Ratios in the key figures and SSB 12005 multiplied back by the exact public count in them (GPs,
    lists, listetak at the reference date) give a count of persons: it must be the published perturbed
    count (nothing more), and where that differs from the true count the true one is not what the
    ratio gives."""
    query = """query($m: String, $at: Date) { statistics { keyFigures(municipality: $m, at: $at) { code value }
      ssb12005(by: null, municipality: $m, at: $at) { meanListLength reserveCapacity patients { value } } } }"""
    checked = differ = 0
    for on in (TODAY, date(2024, 6, 30), date(2023, 8, 15)):
        ref = reference_date(on, TODAY)
        for code in (*MUNICIPALITIES, None):
            data = await graph.data(query, {"m": code, "at": on.isoformat()}, token=token(nation, "analyst"))
            figures = {f["code"]: f["value"] for f in data["statistics"]["keyFigures"]}
            ssb = data["statistics"]["ssb12005"][0]
            area = {"municipalities": [code]} if code else None
            public = (await rows(graph, nation, ["GPS", "LISTS", "LISTS_WITH_GP", "CAPACITY"], [], area, ref))[()]
            persons = (await rows(graph, nation, ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP"], [], area, ref))[()]
            where = "" if code is None else "AND c.municipality_code = :m"
            true = db_rows(nation, f"SELECT count(*) AS n FROM flr_list_membership l JOIN flr_gp_contract c ON "
                           "c.id = l.contract_id WHERE l.valid_from <= :on AND (l.valid_to IS NULL OR "
                           "l.valid_to > :on) "
                           f"AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on) {where}",
                           on=ref.isoformat(), m=code)[0].n  # fmt: skip
            published = persons["LISTED_PERSONS"]["value"]
            with_gp = persons["LISTED_PERSONS_WITH_GP"]["value"]
            gps, lists, capacity = (public[m]["value"] for m in ("GPS", "LISTS", "CAPACITY"))
            # Each ratio as the server rounds it, and the counts of persons it admits (the attacker's candidates).
            routes = {
                "GPS_PER_1000_LISTED": (lambda n, g=gps: 1000 * g / n, figures["GPS_PER_1000_LISTED"]),
                "MEAN_LIST_LENGTH": (lambda n, k=lists: n / k, figures["MEAN_LIST_LENGTH"]),
                "ssb meanListLength": (lambda n, k=lists: n / k, ssb["meanListLength"]),
                "ssb reserveCapacity": (lambda n, c=capacity: 100 * c / n, ssb["reserveCapacity"]),
            }
            span = range(max(1, published - 60), published + 60)
            admitted = set(span)
            for name, (ratio, value) in routes.items():
                found = {n for n in span if round(ratio(n), 2) == value}
                assert published in found, (name, code, on)
                admitted &= found
            assert true == published or admitted != {true}, (code, on)  # the ratios pin the published count
            assert round(with_gp / public["LISTS_WITH_GP"]["value"], 2) == figures["MEAN_LIST_LENGTH_FIXED_GP"]
            assert ssb["patients"]["value"] == published
            checked += 1
            differ += published != true
    assert checked == 12
    assert differ, "no published count differed from the true one: the check above tells nothing"


# --- dates ---------------------------------------------------------------------------------------------


async def test_every_date_of_a_quarter_and_the_day_after_its_end_give_its_reference_date(graph, nation) -> None:
    """Dates: a date that is not a quarter end, the day before and after a quarter end, 31 December
    against 1 January, and `at` omitted. Counts of persons at every date of a quarter are those of its
    quarter end (no day-by-day difference), the day before a quarter end gives the previous one."""
    measures = ["LISTED_PERSONS", "HEALTH_PERSONNEL"]

    async def persons(at: date | None) -> tuple[str, dict]:
        found = {}
        reference = None
        for measure, by in (("LISTED_PERSONS", ["MUNICIPALITY", "AGE_GROUP", "GENDER"]),
                            ("HEALTH_PERSONNEL", ["HEALTH_PERSONNEL_CATEGORY"])):  # fmt: skip
            data = await graph.data(TABLE, {"m": [measure], "by": by, "at": at.isoformat() if at else None},
                                    token=token(nation, "analyst"))  # fmt: skip
            table = data["statistics"]["table"]
            reference = table["referenceDate"]
            found[measure] = [[v["value"] for v in r["values"]] for r in table["rows"]]
        return reference, found

    assert measures
    for end in (date(2023, 12, 31), date(2024, 3, 31), date(2024, 9, 30)):
        at_end = await persons(end)
        assert at_end[0] == end.isoformat()
        for day in (end + timedelta(days=1), end + timedelta(days=40), end + timedelta(days=89)):
            assert await persons(day) == at_end, day
        before = await persons(end - timedelta(days=1))
        assert before[0] == reference_date(end - timedelta(days=1)).isoformat()
        assert before != at_end
    omitted = await persons(None)
    assert omitted[0] == REF.isoformat()
    assert omitted == await persons(TODAY)


async def test_today_at_a_quarter_end_publishes_the_previous_one(graph, nation, monkeypatch) -> None:
    """Around midnight: the server's day is Norway's. On a quarter end's own day (however late) its
    counts are not yet published (the day's registrations would move them); from the next day they are."""
    import helsegraf.http.context  # noqa: PLC0415

    for end in (date(2024, 12, 31), date(2025, 3, 31)):
        for today, expected in ((end, reference_date(end - timedelta(days=1))), (end + timedelta(days=1), end)):
            monkeypatch.setattr(helsegraf.http.context, "oslo_today", lambda today=today: today)
            for at in (None, today.isoformat()):
                data = await graph.data(TABLE, {"m": ["LISTED_PERSONS"], "at": at}, token=token(nation, "analyst"))
                assert data["statistics"]["table"]["referenceDate"] == expected.isoformat(), (today, at)
            error = await refusal(graph, nation, TABLE, {"m": ["LISTED_PERSONS"],
                                                         "at": (today + timedelta(days=1)).isoformat()})  # fmt: skip
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "at" in error["message"]


async def test_a_backdated_registration_moves_no_published_count_of_a_past_reference_date(graph, nation) -> None:
    """Asked twice for the same past quarter end, before and after FLR receives a membership that began
    before it (a late registration or a correction; a death registered days after the quarter end is
    the same with valid_to): if exactly the new person's cell moves, the two answers name the person's
    age group and gender (and list attributes), as the day-by-day attack did. The protection: a
    reference date's counts of persons are published once (stats/published.py) and do not move after."""
    end = reference_date(TODAY - timedelta(days=200))
    query = {"m": ["LISTED_PERSONS"], "by": ["MUNICIPALITY", "AGE_GROUP", "GENDER"], "at": end.isoformat()}
    analyst = token(nation, "analyst")
    before = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
    people = db_rows(nation, f"SELECT nin, patient_birth_date, patient_gender FROM flr_list_membership WHERE {ON} "
                     "AND patient_birth_date IS NOT NULL ORDER BY id LIMIT 4", on=end.isoformat())  # fmt: skip
    contract = db_rows(nation, f"SELECT id FROM flr_gp_contract WHERE {ON} ORDER BY id", on=end.isoformat())[0].id
    new_id = db_rows(nation, "SELECT max(id) + 5000 AS n FROM flr_list_membership")[0].n
    municipality = db_rows(nation, "SELECT municipality_code AS m FROM flr_gp_contract WHERE id = :c", c=contract)[0].m
    moved, named = [], 0
    for i, person in enumerate(people):  # one late registration at a time, each asked about before and after
        cell = [municipality, group_of(person.patient_birth_date, end), person.patient_gender]
        try:
            db_execute(nation, "INSERT INTO flr_list_membership (id, nin, contract_id, valid_from, "
                       f"patient_birth_date, patient_gender) VALUES ({new_id + i}, '{person.nin}', {contract}, "
                       f"'{(end - timedelta(days=30)).isoformat()}', '{person.patient_birth_date.isoformat()}', "
                       f"'{person.patient_gender}')", republish=False)  # fmt: skip
            after = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
        finally:
            db_execute(nation, f"DELETE FROM flr_list_membership WHERE id = {new_id + i}", republish=False)
        changed = [[k["code"] for k in a["key"]] for a, b in zip(before, after, strict=True) if a != b]
        named += changed == [cell]  # the one cell that moved is the late-registered person's
        moved += changed
    # A death (or move) registered after the quarter end, dated before it: the membership ends earlier.
    ended = db_rows(nation, f"SELECT id FROM flr_list_membership WHERE {ON} AND valid_to IS NULL ORDER BY id DESC "
                    "LIMIT 1", on=end.isoformat())[0].id  # fmt: skip
    try:
        db_execute(nation, f"UPDATE flr_list_membership SET valid_to = '{(end - timedelta(days=5)).isoformat()}' "
                   f"WHERE id = {ended}", republish=False)  # fmt: skip
        after = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
    finally:
        db_execute(nation, f"UPDATE flr_list_membership SET valid_to = NULL WHERE id = {ended}", republish=False)
    moved += [[k["code"] for k in a["key"]] for a, b in zip(before, after, strict=True) if a != b]
    assert not moved, (f"{named} of {len(people)} late registrations moved exactly their person's cell", moved)


async def test_a_past_table_of_public_counts_does_not_change_when_a_list_changes_today(graph, nation) -> None:
    """A wrong number, not a leak: SSB 12005 or a table of a past quarter end gives that date's open lists,
    listetak and fixed-salary lists. Changed today (a list closes, its listetak is raised), the past
    quarter's table changed with it while the registers' rows kept only the current values; the past
    values are read from the list's periods (flr_gp_contract_terms)."""
    end = reference_date(TODAY - timedelta(days=200))
    query = {"m": ["OPEN_LISTS", "CAPACITY", "LISTS"], "by": ["FIXED_SALARY"], "at": end.isoformat()}
    analyst = token(nation, "analyst")
    before = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
    contract = db_rows(nation, f"SELECT id, is_open, max_patients, fixed_salary FROM flr_gp_contract WHERE {ON} "
                       "ORDER BY id", on=end.isoformat())[0]  # fmt: skip
    flip = "TRUE" if not contract.is_open else "FALSE"
    try:
        db_execute(nation, f"UPDATE flr_gp_contract SET is_open = {flip}, max_patients = max_patients + 100 "
                   f"WHERE id = {contract.id}")  # fmt: skip
        after = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
    finally:
        db_execute(nation, f"UPDATE flr_gp_contract SET is_open = {'TRUE' if contract.is_open else 'FALSE'}, "
                   f"max_patients = {contract.max_patients} WHERE id = {contract.id}")  # fmt: skip
    assert after == before


# --- health personnel (HPR) ------------------------------------------------------------------------------


async def test_health_personnel_are_perturbed_persons_and_small_categories_do_not_come_back(  # noqa: C901
    graph, nation
) -> None:
    """Health personnel by category are counts of persons: perturbed, a category of 1-4 suppressed; by
    area or gender they are refused; the total (a cell of its own) minus the visible categories gives
    the hidden categories' sum no more exactly than noise allows; the old field and a category filter
    give the table's values."""
    hits, seen = 0, set()
    for on in [reference_date(date(year, month, 28)) for year in range(2016, 2027) for month in (3, 9)]:
        if on >= TODAY:
            continue
        ref = reference_date(on, TODAY)
        true = Counter(r.category for r in db_rows(
            nation, f"SELECT DISTINCT hpr_number, category FROM hpr_approval WHERE {ON}",
            on=ref.isoformat()))  # fmt: skip
        persons = len({r.hpr_number for r in db_rows(nation, f"SELECT hpr_number FROM hpr_approval WHERE {ON}",
                                                         on=ref.isoformat())})  # fmt: skip
        table = await rows(graph, nation, ["HEALTH_PERSONNEL"], ["HEALTH_PERSONNEL_CATEGORY"], at=on, total=True)
        hidden = 0
        for key, v in table.items():
            cell = v["HEALTH_PERSONNEL"]
            assert cell["perturbed"] is True
            n = persons if key == () else true[key[0]]
            if key and 0 < n < disclosure.THRESHOLD and not cell["suppressed"]:
                assert cell["value"] >= disclosure.THRESHOLD
            if not cell["suppressed"]:
                assert abs(cell["value"] - n) <= disclosure.MAX_NOISE
            elif key:
                hidden += n
        visible = sum(v["HEALTH_PERSONNEL"]["value"] for k, v in table.items()
                      if k and not v["HEALTH_PERSONNEL"]["suppressed"])  # fmt: skip
        total = table[()]["HEALTH_PERSONNEL"]
        published = tuple(sorted((k, v["HEALTH_PERSONNEL"]["value"]) for k, v in table.items()))
        if not total["suppressed"] and hidden > 0 and published not in seen:  # a table seen before is no new draw
            seen.add(published)
            hits += total["value"] - visible == hidden
        if on == REF:
            for code in ("LE", "FA2", "KI"):
                alone = await rows(graph, nation, ["HEALTH_PERSONNEL"], [], {"categories": [code]}, on)
                assert alone[()] == table[(code,)]
    assert len(seen) >= 3, len(seen)
    assert hits <= max(1, len(seen) // 2), (hits, len(seen))
    old = await graph.data("{ statistics { healthPersonnelByCategory { category { code } personnel { value } } } }",
                           token=token(nation, "analyst"))  # fmt: skip
    now = await rows(graph, nation, ["HEALTH_PERSONNEL"], ["HEALTH_PERSONNEL_CATEGORY"])
    for c in old["statistics"]["healthPersonnelByCategory"]:
        assert c["personnel"]["value"] == now[(c["category"]["code"],)]["HEALTH_PERSONNEL"]["value"]
    for dimension in ("MUNICIPALITY", "COUNTY", "GENDER", "AGE_GROUP", "FIXED_SALARY"):
        error = await refusal(graph, nation, TABLE, {"m": ["HEALTH_PERSONNEL"], "by": [dimension]})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "HEALTH_PERSONNEL" in error["message"]
        assert dimension in error["message"]
    error = await refusal(graph, nation, TABLE, {"m": ["HEALTH_PERSONNEL"], "f": {"categories": ["LE", "SP"]}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "categories" in error["message"]


# --- GPs by gender -----------------------------------------------------------------------------------------


async def test_gp_specialists_by_gender_are_exact_and_so_are_gps_by_gender_and_speciality(graph, nation) -> None:
    """With GPs by gender perturbed, GPS by GENDER minus GP_SPECIALISTS by GENDER (or GPS by GENDER and
    GP_SPECIALITY) was a fresh draw of noise at every area and quarter end, and averaged told a named
    non-specialist's gender; so they were refused. A GP's gender is public now, and every count of GPs exact:
    the combinations answer, with no noise to average, and agree with each other exactly."""
    answered = [
        (["GPS"], ["GENDER", "GP_SPECIALITY"], None),
        (["GPS"], ["GENDER"], {"gpSpecialist": True}),
        (["GP_SPECIALISTS"], ["GENDER"], None),
        (["GP_SPECIALISTS"], ["MUNICIPALITY", "GENDER"], None),
        (["GP_SPECIALISTS"], ["COUNTY"], {"genders": ["FEMALE"]}),
        (["GPS", "GP_SPECIALISTS"], ["GENDER"], {"municipalities": ["0301"]}),
    ]
    for measures, by, f in answered:
        found = await rows(graph, nation, measures, by, f, total=True)
        assert found, (measures, by, f)
        assert not any(v["perturbed"] or v["suppressed"] for row in found.values() for v in row.values())
    by_speciality = await rows(graph, nation, ["GPS"], ["COUNTY", "GENDER", "GP_SPECIALITY"])
    specialists = await rows(graph, nation, ["GP_SPECIALISTS"], ["COUNTY", "GENDER"])
    for (county, gender), row in specialists.items():
        assert row["GP_SPECIALISTS"]["value"] == by_speciality[county, gender, "YES"]["GPS"]["value"]


# --- the small-group rule at its boundary ---------------------------------------------------------------

SMALL = 2000101
MAIN = 1000001  # Oslo's list (not fixed salary, closed, with a fastlege)
MOVED = ("SELECT id FROM flr_list_membership WHERE contract_id = :main AND valid_to IS NULL AND valid_from < :early "
         "ORDER BY id")  # fmt: skip
EARLY = date(2023, 12, 31)


@pytest.fixture(scope="module", params=[
    pytest.param(("sqlite", 9)), pytest.param(("sqlite", 10)),
    pytest.param(("postgres", 9), marks=pytest.mark.postgres),
])  # fmt: skip
def boundary_nation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The seeded nation with a fixed-salary copy of Oslo's list holding exactly 9 or 10 persons since
    EARLY, one of whom joined after EARLY (the group is one smaller at EARLY than at REF)."""
    backend, size = request.param
    home = tmp_path_factory.mktemp(f"boundary-{size}")
    if backend == "postgres":
        require_postgres()
        url = create_postgres_database("helsegraf_boundary")
    else:
        url = f"sqlite:///{home / 'nation.db'}"
    seeded = _seed(url, home)
    ids = [r.id for r in db_rows(seeded, MOVED, main=MAIN, early=EARLY.isoformat())][:size]
    assert len(ids) == size
    late = (EARLY + timedelta(days=10)).isoformat()
    _execute(seeded, (COPY_LIST.format(fixed="NOT fixed_salary", is_open="is_open"), {"small": SMALL, "main": MAIN}),
             (COPY_FASTLEGE, {"small": SMALL, "main": MAIN}),
             *((MOVE, {"small": SMALL, "id": i}) for i in ids),
             (f"UPDATE flr_list_membership SET valid_from = '{late}' WHERE id = :id", {"id": ids[-1]}))  # fmt: skip
    seeded.small_size = size  # type: ignore[attr-defined]
    yield seeded
    if backend == "postgres":
        drop_postgres_database(url)


@pytest.fixture
async def boundary_graph(boundary_nation) -> AsyncIterator[Graph]:
    """A client for the boundary nation."""
    async for graph in serve(boundary_nation):
        yield graph


def holds_oslo(by: list[str], key: tuple[str, ...]) -> bool:
    """Tell whether a row's area holds Oslo and its list restriction admits lists with a fastlege."""
    if "MUNICIPALITY" in by and key[by.index("MUNICIPALITY")] != "0301":
        return False
    if "COUNTY" in by and key[by.index("COUNTY")] != "03":
        return False
    return "WITHOUT_GP" not in key  # every list of the nation has a fastlege: that row takes no list of a block


async def test_a_group_of_nine_is_withheld_by_every_split_and_a_group_of_ten_is_not(
    boundary_graph, boundary_nation
) -> None:
    """The rule's boundary: a small list of exactly 9 persons (MIN_GROUP - 1) beside Oslo's list, one
    attribute apart (fixed salary), and of exactly 10. With 9 every count by age or gender whose list
    restriction parts it from Oslo's list is withheld: `by` FIXED_SALARY, its filter, two filters
    combined (fixed salary and list status), `by` with four dimensions, for Oslo, its county and the
    nation, total rows too; the splits that keep the group with its block (list status, open list: both
    lists share them) and Oslo's own counts answer. With 10 the splits answer. At EARLY the group was one
    smaller: 9 -> 8 (withheld too), 10 -> 9 (withheld then, answered at REF: a group growing to 10)."""
    nation, graph = boundary_nation, boundary_graph
    size = nation.small_size
    sizes = Counter(r.contract_id for r in db_rows(nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}",
                                                    on=REF.isoformat()))  # fmt: skip
    assert sizes[SMALL] == size
    splits = [
        (["AGE_GROUP", "GENDER", "FIXED_SALARY"], None),
        (["AGE_GROUP", "GENDER"], {"fixedSalary": True}),
        (["AGE_GROUP", "GENDER"], {"fixedSalary": False}),
        (["AGE_GROUP"], {"fixedSalary": False, "listStatus": "WITH_GP"}),
        (["GENDER"], {"fixedSalary": True, "openList": False}),
        (["AGE_GROUP", "GENDER", "FIXED_SALARY", "LIST_STATUS"], None),
        (["MUNICIPALITY", "AGE_GROUP", "GENDER", "FIXED_SALARY"], None),
        (["COUNTY", "GENDER", "FIXED_SALARY"], None),
    ]
    kept = [(["AGE_GROUP", "GENDER", "LIST_STATUS"], None), (["AGE_GROUP", "GENDER"], {"openList": False}),
            (["AGE_GROUP", "GENDER"], None)]  # fmt: skip
    for on, group in ((REF, size), (EARLY, size - 1)):
        small = group < disclosure.MIN_GROUP
        for area in ({"municipalities": ["0301"]}, {"counties": ["03"]}, None):
            for by, f in splits:
                if "MUNICIPALITY" in by and area:
                    continue
                table = await rows(graph, nation, ["LISTED_PERSONS"], by, {**(area or {}), **(f or {})}, on,
                                   total=True)  # fmt: skip
                oslo = [v for k, v in table.items() if k and holds_oslo(by, k)]
                reasons = Counter(v["LISTED_PERSONS"]["reason"] for v in oslo)
                if small:
                    assert set(reasons) == {"SMALL_GROUP"}, (on, area, by, f, reasons)
                else:
                    assert "SMALL_GROUP" not in reasons, (on, area, by, f, reasons)
            for by, f in kept:
                table = await rows(graph, nation, ["LISTED_PERSONS"], by, {**(area or {}), **(f or {})}, on)
                reasons = Counter(v["LISTED_PERSONS"]["reason"] for v in table.values())
                assert "SMALL_GROUP" not in reasons, (on, area, by, f, reasons)
                assert reasons[None] > 0, (on, area, by, f, reasons)
        # Over every age and gender the small list alone is public in size: withheld exactly when 1-9.
        alone = await rows(graph, nation, ["LISTED_PERSONS"], [], {"municipalities": ["0301"], "fixedSalary": True}, on)
        assert (alone[()]["LISTED_PERSONS"]["reason"] == "SMALL_GROUP") is small


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unknown_nation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The seeded nation with a fixed-salary copy of Oslo's list holding 10 persons (MIN_GROUP), 9 of whom
    neither FLR nor PREG gives an age or a gender (a membership stored without the patient, for a number the
    local PREG does not hold): the list's size is 10, but only one of its persons is in any cell by age or
    gender."""
    backend = request.param
    home = tmp_path_factory.mktemp("unknown-ages")
    if backend == "postgres":
        require_postgres()
        url = create_postgres_database("helsegraf_unknown")
    else:
        url = f"sqlite:///{home / 'nation.db'}"
    seeded = _seed(url, home)
    ids = [r.id for r in db_rows(seeded, MOVED, main=MAIN, early=EARLY.isoformat())][: disclosure.MIN_GROUP]
    unknown = ("UPDATE flr_list_membership SET patient_birth_date = NULL, patient_gender = NULL, "
               "nin = :nin WHERE id = :id")  # fmt: skip
    _execute(seeded, (COPY_LIST.format(fixed="NOT fixed_salary", is_open="is_open"), {"small": SMALL, "main": MAIN}),
             (COPY_FASTLEGE, {"small": SMALL, "main": MAIN}),
             *((MOVE, {"small": SMALL, "id": i}) for i in ids),
             *((unknown, {"id": i, "nin": f"0181019{n:04d}"}) for n, i in enumerate(ids[1:])))  # fmt: skip
    seeded.known = db_rows(seeded, "SELECT patient_birth_date, patient_gender FROM flr_list_membership "  # type: ignore[attr-defined]
                           "WHERE id = :id", id=ids[0])[0]  # fmt: skip
    yield seeded
    if backend == "postgres":
        drop_postgres_database(url)


async def test_a_group_of_ten_with_one_known_person_is_withheld_as_a_group_of_one(unknown_nation) -> None:
    """The small-group rule counts a group's persons where the cells count them. A list of 10 whose other 9
    persons neither FLR nor PREG gives an age or a gender holds one person in the cells by age or gender:
    "Oslo's lists" by gender and the same without the fixed-salary list hold the same persons except that
    one, so the two are equal in the other gender's cell and differ (3 times in 4) in that person's, which
    tells their gender (and by age group, their age). Sized by listSize (10, not small), both were
    published. Sized by the persons in its cells (1), the group is small: every split that parts it from
    Oslo's list is withheld, and the splits that keep it with its block answer."""
    nation = unknown_nation
    sizes = Counter(r.contract_id for r in db_rows(nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}",
                                                    on=REF.isoformat()))  # fmt: skip
    assert sizes[SMALL] == disclosure.MIN_GROUP
    async for graph in serve(nation):
        for by in (["GENDER"], ["AGE_GROUP"], ["AGE_GROUP", "GENDER"]):
            for area, f in product(({"municipalities": ["0301"]}, {"counties": ["03"]}, {}),
                                   ({"fixedSalary": False}, {"fixedSalary": True})):  # fmt: skip
                table = await rows(graph, nation, ["LISTED_PERSONS"], by, {**area, **f} or None, REF)
                reasons = Counter(v["LISTED_PERSONS"]["reason"] for v in table.values())
                assert set(reasons) == {"SMALL_GROUP"}, (by, area, f, reasons)
            kept = await rows(graph, nation, ["LISTED_PERSONS"], by, {"municipalities": ["0301"]}, REF)
            assert "SMALL_GROUP" not in {v["LISTED_PERSONS"]["reason"] for v in kept.values()}, by
        # Over every age and gender the list's persons are 10, its public size: published.
        alone = await rows(graph, nation, ["LISTED_PERSONS"], [], {"municipalities": ["0301"], "fixedSalary": True},
                           REF)  # fmt: skip
        assert alone[()]["LISTED_PERSONS"]["reason"] != "SMALL_GROUP"


# --- limits, errors and the query log ----------------------------------------------------------------------


async def test_invalid_combinations_and_odd_filters_are_clear_errors_never_internal(graph, nation) -> None:
    """Invalid combinations name the measure and the dimension; huge, empty, duplicate and all-value
    filters are refused or answered, never INTERNAL."""
    combinations = [
        (["LISTS"], ["AGE_GROUP"], None, ("LISTS", "AGE_GROUP")),
        (["CAPACITY"], ["GENDER"], None, ("CAPACITY", "GENDER")),
        (["FREE_PLACES"], None, {"ageGroups": ["AGE_80_PLUS"]}, ("FREE_PLACES", "AGE_GROUP")),
        (["LISTED_PERSONS"], ["GP_SPECIALITY"], None, ("LISTED_PERSONS", "GP_SPECIALITY")),
        (["LISTED_PERSONS_WITHOUT_GP"], ["HEALTH_PERSONNEL_CATEGORY"], None,
         ("LISTED_PERSONS_WITHOUT_GP", "HEALTH_PERSONNEL_CATEGORY")),
        (["LISTS", "HEALTH_PERSONNEL"], ["MUNICIPALITY"], None, ("HEALTH_PERSONNEL", "MUNICIPALITY")),
        (["GPS"], ["AGE_GROUP"], None, ("GPS", "AGE_GROUP")),
        (["LISTED_PERSONS"], None, {"gpSpecialist": True}, ("LISTED_PERSONS", "GP_SPECIALITY")),
        (["LISTED_PERSONS"], None, {"categories": ["LE"]}, ("LISTED_PERSONS", "HEALTH_PERSONNEL_CATEGORY")),
    ]  # fmt: skip
    for measures, by, f, named in combinations:
        error = await refusal(graph, nation, TABLE, {"m": measures, "by": by, "f": f})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (measures, by, error)
        assert all(n in error["message"] for n in named), (named, error["message"])
    other = [
        ({"m": [], "by": None, "f": None}, "BAD_USER_INPUT", "measures"),
        ({"m": ["LISTS"], "by": ["COUNTY", "MUNICIPALITY"], "f": None}, "BAD_USER_INPUT", "by"),
        ({"m": ["LISTS"], "by": ["COUNTY", "COUNTY"], "f": None}, "BAD_USER_INPUT", "by"),
        ({"m": ["LISTED_PERSONS"], "by": ["MUNICIPALITY", "AGE_GROUP", "GENDER", "FIXED_SALARY", "OPEN_LIST"],
          "f": None}, None, "by"),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"genders": ["FEMALE", "MALE"]}}, "BAD_USER_INPUT", "genders"),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"genders": ["FEMALE", "FEMALE"]}}, "BAD_USER_INPUT", "genders"),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"ageGroups": [enum(g) for g in GROUPS]}}, "BAD_USER_INPUT",
         "ageGroups"),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"municipalities": ["0301", "4601"]}}, "BAD_USER_INPUT",
         "municipalities"),
        ({"m": ["LISTS"], "by": None, "f": {"municipalities": [f"{i:04d}" for i in range(401)]}}, None,
         "municipalities"),
        ({"m": ["LISTS"], "by": None, "f": {"counties": ["3"]}}, "BAD_USER_INPUT", "counties"),
        ({"m": ["LISTS"], "by": None, "f": None, "at": "2001-05-31"}, "BAD_USER_INPUT", "at"),
        ({"m": ["LISTS"], "by": None, "f": None, "at": "2999-01-01"}, "BAD_USER_INPUT", "at"),
    ]  # fmt: skip
    for variables, code, named in other:
        error = await refusal(graph, nation, TABLE, variables)
        assert code is None or error["extensions"]["code"] == code, (variables, error)
        assert named in error["message"], (named, error["message"])
    # Answered, and sensible: empty filters hold nobody, duplicates of a public filter count once, a
    # filter of every value equals no filter.
    empty = await rows(graph, nation, ["LISTS", "LISTED_PERSONS"], ["MUNICIPALITY"], {"municipalities": []},
                       total=True)  # fmt: skip
    assert list(empty) == [()]
    assert empty[()]["LISTS"]["value"] == 0
    assert empty[()]["LISTED_PERSONS"]["suppressed"]
    nobody = await rows(graph, nation, ["LISTED_PERSONS"], [], {"genders": []})
    assert nobody[()]["LISTED_PERSONS"]["suppressed"]
    twice = await rows(graph, nation, ["LISTS", "CAPACITY"], [], {"municipalities": ["0301", "0301"]})
    once = await rows(graph, nation, ["LISTS", "CAPACITY"], [], {"municipalities": ["0301"]})
    assert twice == once
    every = await rows(graph, nation, ["LISTS"], ["COUNTY"], {"counties": sorted(set(COUNTY.values()))}, total=True)
    plain = await rows(graph, nation, ["LISTS"], ["COUNTY"], total=True)
    assert every[()] == plain[()]
    for query in ('{ statistics { keyFigures(county: "03", municipality: "0301") { code } } }',
                  '{ statistics { keyFigures(municipality: "03011") { code } } }',
                  "{ statistics { ssb12005(by: AGE_GROUP) { code } } }",
                  '{ statistics { keyFigures(at: "1999-12-31") { code } } }',
                  '{ statistics { ssb12005(at: "2999-12-31") { code } } }',
                  '{ statistics { patientsByAgeGroupAndGender(municipality: "x") { gender } } }',
                  '{ statistics { healthPersonnelByCategory(at: "2001-01-01") { personnel { value } } } }',
                  '{ statistics { gpListsByMunicipality(at: "2999-01-01") { lists } } }'):  # fmt: skip
        error = await refusal(graph, nation, query)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, error)


LOG = """{ statisticsQueryLog(first: 20) { totalCount edges { node { table parameters outcome role subject } } } }"""


async def test_the_query_log_keeps_parameters_and_outcomes_never_results_and_only_for_audit_read(graph, nation) -> None:
    """The analysts' query log: readable with audit:read only (not by the analyst who asks), every
    attempt with its parameters and outcome (refused ones too), and no result: no value of any table."""
    analyst = token(nation, "analyst")
    denied = (await graph.post(LOG, token=analyst)).json()
    assert denied["data"]["statisticsQueryLog"] is None, denied
    assert denied["extensions"]["redactions"] == [{"path": ["statisticsQueryLog"], "reason": "MISSING_SCOPE"}]
    published = await rows(
        graph, nation, ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP"], ["AGE_GROUP"], {"municipalities": ["0301"]}
    )
    values = {v["value"] for r in published.values() for v in r.values() if v["value"] is not None}
    await refusal(graph, nation, TABLE, {"m": ["LISTS"], "by": ["GENDER"]})
    await graph.data('{ statistics { keyFigures(municipality: "4601") { value } } }', token=analyst)
    log = (await graph.data(LOG))["statisticsQueryLog"]["edges"]
    newest = [e["node"] for e in log[:3]]
    assert [(n["table"], n["outcome"]) for n in newest] == [("keyFigures", "OK"), ("table", "BAD_USER_INPUT"),
                                                            ("table", "OK")]  # fmt: skip
    assert newest[2]["parameters"] == {
        "measures": ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP"],
        "by": ["AGE_GROUP"],
        "filter": {"MUNICIPALITY": ["0301"]},
        "at": TODAY.isoformat(),
        "total": False,
    }
    assert newest[1]["parameters"]["by"] == ["GENDER"]
    assert (newest[0]["parameters"]["municipality"], newest[0]["parameters"]["at"]) == ("4601", TODAY.isoformat())
    assert set(newest[0]["parameters"]) <= {"county", "municipality", "at"}
    assert all(n["role"] == "analyst" for n in newest)
    text = json.dumps([n["parameters"] for n in newest])
    assert "value" not in text
    assert "rows" not in text
    assert values
    assert not any(f" {v}," in text or f" {v}}}" in text for v in values)  # no published count


async def test_the_documented_perturbation_parameters_are_the_codes(graph, nation) -> None:
    """The parameters the docs promise (noise -2..+2, threshold 5, 0 with probability 0.30, +-1 0.20,
    +-2 0.15, mean 0, a count of 1 -1..+2) are those of the published table and of the code."""
    data = await graph.data(
        "{ statistics { perturbationTable { cellKeys threshold maxNoise "
        "ranges { count firstCellKey lastCellKey noise } } } }",
        token=token(nation, "analyst"),
    )
    table = data["statistics"]["perturbationTable"]
    assert (table["cellKeys"], table["threshold"], table["maxNoise"]) == (256, 5, 2)
    shares: dict[int, Counter] = defaultdict(Counter)
    for r in table["ranges"]:
        shares[r["count"]][r["noise"]] += r["lastCellKey"] - r["firstCellKey"] + 1
    for count, share in shares.items():
        assert sum(share.values()) == 256, count
        assert sum(n * k for n, k in share.items()) == 0, count  # mean 0
    assert set(shares[1]) == {-1, 0, 1, 2}
    for count in (2, 3):
        p = {n: k / 256 for n, k in shares[count].items()}
        assert set(p) == {-2, -1, 0, 1, 2}
        assert round(p[0], 2) == 0.30
        assert round(p[1], 2) == round(p[-1], 2) == 0.20
        assert round(p[2], 2) == round(p[-2], 2) == 0.15
    for count in range(1, 40):  # no published value is negative, none under the threshold
        for key in range(256):
            published = disclosure.publish(count, key)
            assert published.suppressed or published.value >= 5
            assert abs(disclosure.noise(count, key)) <= 2
    from pathlib import Path  # noqa: PLC0415

    docs = (Path(__file__).parents[1] / "docs" / "statistics.md").read_text()
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for text in (docs, readme):
        assert "0.30" in text
        assert "0.20" in text
        assert "0.15" in text
    assert "-2..+2" in docs
    assert "`THRESHOLD`" in docs
    assert "`MIN_GROUP` = 10" in docs
    assert tuple(GROUPS) == AGE_LABELS


MEASURES = ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP", "LISTS", "LISTS_WITH_GP",
            "LISTS_WITHOUT_GP", "LISTS_VACANT_OVER_A_YEAR", "OPEN_LISTS", "CAPACITY", "FREE_PLACES", "GPS",
            "GP_SPECIALISTS", "HEALTH_PERSONNEL"]  # fmt: skip
DIMENSIONS = ["COUNTY", "MUNICIPALITY", "AGE_GROUP", "GENDER", "LIST_STATUS", "FIXED_SALARY", "OPEN_LIST",
              "GP_SPECIALITY", "HEALTH_PERSONNEL_CATEGORY"]  # fmt: skip
FILTERS = [{}, {"municipalities": []}, {"municipalities": ["0301"]}, {"municipalities": ["9999"]},
           {"counties": ["46"]}, {"counties": ["03", "46"]}, {"ageGroups": ["AGE_0_5"]}, {"ageGroups": []},
           {"genders": ["MALE"]}, {"genders": []}, {"listStatus": "WITHOUT_GP"}, {"fixedSalary": True},
           {"openList": False}, {"gpSpecialist": False}, {"categories": ["LE"]}, {"categories": ["ZZ"]},
           {"categories": []}, {"municipalities": ["0301"], "fixedSalary": True, "genders": ["FEMALE"]}]  # fmt: skip
LIST_DIMENSIONS = ["COUNTY", "MUNICIPALITY", "LIST_STATUS", "FIXED_SALARY", "OPEN_LIST"]
FAMILIES = [  # measures with dimensions they take, so that most combinations drawn from them answer
    (MEASURES[:3], [*LIST_DIMENSIONS, "AGE_GROUP", "GENDER"]),
    (MEASURES[3:10], LIST_DIMENSIONS),
    (["GPS"], ["COUNTY", "MUNICIPALITY", "GENDER", "GP_SPECIALITY"]),
]


async def test_random_combinations_answer_or_refuse_clearly_and_persons_stay_protected(graph, nation) -> None:
    """Combinations of features, drawn at random (a fixed seed): 1-3 measures, 0-4 dimensions, one or two
    filters, a date of any kind, a total row or not. Each answers or is refused with BAD_USER_INPUT or
    QUERY_TOO_COMPLEX (never INTERNAL); in an answer every count of persons is perturbed, published at 5
    or more or withheld with a reason, and every public count is a whole number of 0 or more."""
    import random  # noqa: PLC0415

    rng = random.Random(12)
    dates = [None, TODAY.isoformat(), "2024-06-30", "2024-07-01", "2019-02-28", "2001-06-01"]
    outcomes: Counter = Counter()
    for _ in range(400):
        f: dict = {}
        for extra in rng.sample(FILTERS, rng.choice([1, 2])):
            f.update(extra)
        measures, dimensions = rng.choice(FAMILIES) if rng.random() < 0.6 else (MEASURES, DIMENSIONS)
        variables = {"m": rng.sample(measures, min(len(measures), rng.choice([1, 1, 2, 3]))),
                     "by": rng.sample(dimensions, rng.randint(0, 4)),
                     "f": f or None, "at": rng.choice(dates), "total": rng.random() < 0.5}  # fmt: skip
        body = (await graph.post(TABLE, variables, token=token(nation, "analyst"))).json()
        if body.get("errors"):
            code = body["errors"][0]["extensions"]["code"]
            assert code in {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}, (variables, body["errors"])
            outcomes[code] += 1
            continue
        outcomes["OK"] += 1
        for row in body["data"]["statistics"]["table"]["rows"]:
            for v in row["values"]:
                if v["perturbed"]:
                    if v["suppressed"]:
                        assert v["value"] is None
                        assert v["reason"] in {"SUPPRESSED", "SMALL_GROUP"}
                    elif v["measure"] != "FREE_PLACES":
                        assert v["value"] >= disclosure.THRESHOLD, (variables, row)
                else:
                    assert v["measure"] not in {
                        "LISTED_PERSONS",
                        "LISTED_PERSONS_WITH_GP",
                        "LISTED_PERSONS_WITHOUT_GP",
                        "HEALTH_PERSONNEL",
                        "FREE_PLACES",
                    }
                    assert isinstance(v["value"], int)
                    assert v["value"] >= 0
    assert outcomes["OK"] >= 80, outcomes
    assert outcomes["BAD_USER_INPUT"] >= 20, outcomes


@pytest.mark.parametrize("boundary_nation", [("sqlite", 10)], indirect=True)  # a group the rule publishes
async def test_a_group_of_ten_averaged_with_its_support_and_size_does_not_pin_its_small_cells(  # noqa: C901
    boundary_graph, boundary_nation, monkeypatch
) -> None:
    """The strongest play found against a group the rule publishes (10 persons, a fixed-salary list beside
    Oslo's): the group's support by equality (Oslo's lists against Oslo's other list: equal where the group
    has nobody), its size (public), and every independent estimate of each occupied cell (Oslo minus its
    other list; the nation's fixed-salary lists minus Trondheim's, the nation's other one; the nation minus
    its lists without fixed salary minus Trondheim; the group's own cell where published), averaged, and
    also scaled to the known size. Over 32 deployments' secrets, a small cell (1-4) of the group is not
    recovered exactly more often than a coincidence of noise, nor pinned closer than about one draw of
    noise (the support and the size alone, spread evenly, would do better)."""
    nation, graph = boundary_nation, boundary_graph
    assert nation.small_size == disclosure.MIN_GROUP
    truth = Counter()
    for row in db_rows(nation, "SELECT patient_birth_date AS born, patient_gender AS gender FROM flr_list_membership "
                       f"WHERE contract_id = :c AND {ON}", c=SMALL, on=REF.isoformat()):  # fmt: skip
        born = row.born if isinstance(row.born, date) else date.fromisoformat(row.born)
        truth[group_of(born, REF), row.gender] += 1
    assert sum(truth.values()) == disclosure.MIN_GROUP
    errors: list[tuple[float, float]] = []
    hits: Counter = Counter()
    for trial in range(32):
        monkeypatch.setenv(disclosure.SECRET_ENV, f"review-secret-{trial}")
        by = ["AGE_GROUP", "GENDER"]
        oslo = {"municipalities": ["0301"]}
        own = await rows(graph, nation, ["LISTED_PERSONS"], by, {**oslo, "fixedSalary": True})
        estimates: dict[tuple, list[float]] = defaultdict(list)
        every = await rows(graph, nation, ["LISTED_PERSONS"], by, oslo)
        other = await rows(graph, nation, ["LISTED_PERSONS"], by, {**oslo, "fixedSalary": False})
        fixed = await rows(graph, nation, ["LISTED_PERSONS"], by, {"fixedSalary": True})  # with 5001's list
        plain = await rows(graph, nation, ["LISTED_PERSONS"], by)
        unfixed = await rows(graph, nation, ["LISTED_PERSONS"], by, {"fixedSalary": False})
        trondheim = await rows(graph, nation, ["LISTED_PERSONS"], by, {"municipalities": ["5001"]})
        empty: dict[tuple, bool] = {}
        for cell in every:
            a, b = shown(every[cell]["LISTED_PERSONS"]), shown(other[cell]["LISTED_PERSONS"])
            c, t = shown(fixed[cell]["LISTED_PERSONS"]), shown(trondheim[cell]["LISTED_PERSONS"])
            p, u = shown(plain[cell]["LISTED_PERSONS"]), shown(unfixed[cell]["LISTED_PERSONS"])
            if a is not None and b is not None:
                estimates[cell].append(a - b)
                empty[cell] = a == b
            if c is not None and t is not None:
                estimates[cell].append(c - t)
            if p is not None and u is not None and t is not None:
                estimates[cell].append(p - u - t)
            if shown(own[cell]["LISTED_PERSONS"]) is not None:
                estimates[cell].append(shown(own[cell]["LISTED_PERSONS"]))
        support = [c for c in own if not empty.get(c, False)]
        guess = {c: sum(estimates[c]) / len(estimates[c]) if estimates[c] else 2.0 for c in support}
        scale = disclosure.MIN_GROUP / sum(guess.values()) if sum(guess.values()) > 0 else 1.0
        for cell, n in truth.items():
            if 0 < n < disclosure.THRESHOLD:
                averaged, scaled = guess.get(cell, 0.0), guess.get(cell, 0.0) * scale
                errors.append((abs(averaged - n), abs(scaled - n)))
                hits[0] += round(averaged) == n
                hits[1] += round(scaled) == n
    assert len(errors) >= 100
    for way, name in enumerate(("averaged", "averaged and scaled to the size")):
        assert hits[way] / len(errors) < MOST_HITS, (name, hits[way], len(errors))
        # No closer than about one draw of noise (1.0); a guess from the support and the size alone
        # (10 persons spread evenly) would be 0.75 off on these cells: the tables add nothing to it.
        assert mean(e[way] for e in errors) >= 0.9, (name, mean(e[way] for e in errors))


GP_QUARTERS = [reference_date(date(2024, 4, 1) + timedelta(days=91 * k)) for k in range(10)]
BY_GENDER_AND_SPECIALITY = """query($f: StatisticsFilter, $at: Date) { statistics {
  table(measures: [GPS, GP_SPECIALISTS], by: [GENDER], filter: $f, at: $at) {
    rows { key { code } values { measure value } } } } }"""


APPROVE = (
    "INSERT INTO hpr_approval (id, hpr_number, category, authorization, valid_from) VALUES "
    "(:id, :hpr, 'LE', 'AU', '2001-01-01')"
)
SPECIALISE = "INSERT INTO hpr_speciality (id, approval_id, code, valid_from) VALUES (:id, :id, '1', '2001-01-01')"


@pytest.fixture(scope="module")
def gp_nation(tmp_path_factory: pytest.TempPathFactory):
    """The seeded nation (SQLite: the engine's arithmetic is the same on both backends) with 16 specialists
    in general medicine on Oslo's list since 2023, 8 women and 8 men, and one more specialist around
    each of ten quarter ends (the area's GPs change every quarter, as they do)."""
    home = tmp_path_factory.mktemp("gp-speciality")
    nation = _seed(f"sqlite:///{home / 'nation.db'}", home)
    doctors = db_rows(nation, "SELECT h.hpr_number, p.gender FROM hpr_person h JOIN preg_person p ON "
                      "p.nin = h.nin WHERE h.hpr_number NOT IN (SELECT hpr_number FROM flr_gp_period) "
                      "ORDER BY h.hpr_number")  # fmt: skip
    women = [d.hpr_number for d in doctors if d.gender == "FEMALE"]
    men = [d.hpr_number for d in doctors if d.gender == "MALE"]
    base, rotating = women[:8] + men[:8], [x for pair in zip(women[8:13], men[8:13], strict=True) for x in pair]
    nation.candidates = [(x, "FEMALE") for x in women[20:26]] + [(x, "MALE") for x in men[20:26]]  # type: ignore[attr-defined]
    first = db_rows(nation, "SELECT max(id) + 1000 AS n FROM hpr_approval")[0].n
    nation.first_period = period = db_rows(nation, "SELECT max(id) + 1000 AS n FROM flr_gp_period")[0].n  # type: ignore[attr-defined]
    statements: list[tuple[str, dict]] = []
    for i, hpr in enumerate(base + rotating + [x for x, _g in nation.candidates]):  # type: ignore[attr-defined]
        statements.append((APPROVE, {"id": first + i, "hpr": hpr}))
        if hpr in base or hpr in rotating:  # specialists in general medicine; the candidates are not
            statements.append((SPECIALISE, {"id": first + i}))
    add = ("INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, working_percentage, valid_from, "
           "valid_to, gp_gender) VALUES (:id, 1000001, :hpr, 'LPDL', 50, :start, :end, :gender)")  # fmt: skip
    gender = {d.hpr_number: d.gender for d in doctors}  # as FLR holds it
    statements += [(add, {"id": period + j, "hpr": hpr, "start": "2023-01-01", "end": None, "gender": gender[hpr]})
                   for j, hpr in enumerate(base)]  # fmt: skip
    statements += [(add, {"id": period + 100 + k, "hpr": hpr, "start": (q - timedelta(days=10)).isoformat(),
                          "end": (q + timedelta(days=10)).isoformat(), "gender": gender[hpr]})
                   for k, (hpr, q) in enumerate(zip(rotating, GP_QUARTERS, strict=True))]  # fmt: skip
    _execute(nation, *statements)
    return nation


GP_GENDER_OF = "query($h: Int!, $at: Date) { healthPersonnel(hprNumber: $h) { gpGender(at: $at) { code } } }"
SPECIALISTS_AT = ("SELECT a.hpr_number FROM hpr_approval a JOIN hpr_speciality s ON s.approval_id = a.id WHERE "
                  "s.code = '1' AND a.valid_from <= :on AND (a.valid_to IS NULL OR a.valid_to > :on) AND "
                  "s.valid_from <= :on AND (s.valid_to IS NULL OR s.valid_to > :on)")  # fmt: skip
GENDER_OF_CODE = {"1": "MALE", "2": "FEMALE"}


async def test_a_named_gps_gender_over_many_quarter_ends_is_what_the_graph_publishes(gp_nation) -> None:
    """The longitudinal form of "which cell moved", and the specialists' route, against exact counts. X joins
    Oslo's list halfway through ten quarter ends at which the area's other GPs change (one more GP around
    each). Perturbed, every quarter end's women minus men was a fresh draw, and the mean after X joined minus
    the mean before pointed at X's gender for 12 of 12 GPs: a GP's gender told by averaging, which no
    threshold bounds. A GP's gender is public (FLR holds it; helsenorge shows it; `HealthPersonnel.gpGender`),
    so GPs by gender are exact: each quarter end's cells are FLR's counts, they move by X exactly when X
    joins, and the graph says the same of X at each quarter end. Nothing is left to average, and the
    statistics tell of X no more than the graph does. The specialists' route (X the only non-specialist:
    GPS by gender minus GP_SPECIALISTS by gender) gives the same, exactly."""
    nation = gp_nation
    joined = GP_QUARTERS[4] + timedelta(days=30)
    truth = ("SELECT p.hpr_number, p.gp_gender, p.valid_from, p.id FROM flr_gp_period p WHERE p.contract_id = 1000001 "
             "AND p.relationship IN ('LPFL', 'LPDL') AND p.valid_from <= :on AND "
             "(p.valid_to IS NULL OR p.valid_to > :on) ORDER BY p.valid_from, p.id")  # fmt: skip
    async for graph in serve(nation):
        analyst = token(nation, "analyst")
        for n, (x, gender) in enumerate(nation.candidates):
            x_period = nation.first_period + 700 + n
            db_execute(nation, "INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, "
                       f"working_percentage, valid_from, gp_gender) VALUES ({x_period}, 1000001, {x}, 'LPDL', 50, "
                       f"'{joined.isoformat()}', '{gender}')")  # fmt: skip
            try:
                for q in GP_QUARTERS:
                    asked = {"f": {"municipalities": ["0301"]}, "at": q.isoformat()}
                    body = (await graph.post(BY_GENDER_AND_SPECIALITY, asked, token=analyst)).json()
                    assert "errors" not in body, body
                    v = {(r["key"][0]["code"], c["measure"]): c["value"]
                         for r in body["data"]["statistics"]["table"]["rows"] for c in r["values"]}  # fmt: skip
                    genders = {r.hpr_number: r.gp_gender for r in db_rows(nation, truth, on=q.isoformat())}
                    experts = {r.hpr_number for r in db_rows(nation, SPECIALISTS_AT, on=q.isoformat())}
                    for g in ("FEMALE", "MALE"):
                        ours = {h for h, found in genders.items() if found == g}
                        assert (v[g, "GPS"], v[g, "GP_SPECIALISTS"]) == (len(ours), len(ours & experts)), (q, g)
                    # X is not a specialist: GPS minus GP_SPECIALISTS by gender counts X, in X's gender, once X
                    # has joined (beside the list's own fastlege, whoever that is).
                    assert x not in experts
                    assert genders.get(x) == (gender if q > joined else None), (q, x)
                    told = await graph.data(GP_GENDER_OF, {"h": x, "at": q.isoformat()}, token=None)
                    code = (told["healthPersonnel"]["gpGender"] or {}).get("code")
                    assert GENDER_OF_CODE.get(code) == (gender if q > joined else None), (q, x)
            finally:
                db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {x_period}")


async def test_every_combination_of_the_presets_arguments_answers_or_refuses_clearly(graph, nation) -> None:
    """keyFigures and ssb12005 over every combination of area (valid, unknown, malformed, both), level and
    date (today, a quarter end, the day after one, before the scheme, the future): an answer, or a
    BAD_USER_INPUT naming the argument; never INTERNAL. Answered person counts are perturbed."""
    areas = [None, "03", "99", "3x"]
    municipalities = [None, "0301", "9999", "x"]
    dates = [None, "2024-06-30", "2024-07-01", "2001-05-31", "2999-01-01"]
    key_figures = """query($c: String, $m: String, $at: Date) { statistics {
      keyFigures(county: $c, municipality: $m, at: $at) { code value perturbed reason } } }"""
    ssb = """query($by: StatisticsDimension, $c: String, $m: String, $at: Date) { statistics {
      ssb12005(by: $by, county: $c, municipality: $m, at: $at) { code patients { value suppressed } } } }"""
    outcomes: Counter = Counter()
    analyst = token(nation, "analyst")
    for county, municipality, at in product(areas, municipalities, dates):
        for query, variables in ((key_figures, {}), *((ssb, {"by": by}) for by in (None, "MUNICIPALITY", "COUNTY",
                                                                                  "AGE_GROUP"))):  # fmt: skip
            body = (await graph.post(query, {"c": county, "m": municipality, "at": at, **variables},
                                     token=analyst)).json()  # fmt: skip
            if body.get("errors"):
                error = body["errors"][0]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", (county, municipality, at, variables, error)
                assert any(name in error["message"] for name in ("county", "municipality", "at", "by")), error
                outcomes["refused"] += 1
                continue
            outcomes["answered"] += 1
            for figure in body["data"]["statistics"].get("keyFigures") or []:
                if figure["code"].startswith("LISTED_PERSONS"):
                    assert figure["perturbed"] is True
    assert outcomes["answered"] >= 50, outcomes
    assert outcomes["refused"] >= 50, outcomes


@pytest.mark.parametrize(("instant", "reference"), [
    ("2025-03-31T21:59:00+00:00", "2024-12-31"),  # 23:59 in Oslo (CEST): still the quarter end's own day
    ("2025-03-31T22:00:00+00:00", "2025-03-31"),  # 00:00 in Oslo: the quarter end is published
    ("2024-12-31T22:59:00+00:00", "2024-09-30"),  # 23:59 in Oslo (CET) on 31 December
    ("2024-12-31T23:00:00+00:00", "2024-12-31"),  # midnight in Oslo, still 31 December in UTC
])  # fmt: skip
async def test_the_reference_date_turns_at_midnight_in_norway_not_in_utc(graph, nation, monkeypatch, instant,
                                                                         reference) -> None:  # fmt: skip
    """Time zones: the day (and so the reference date of `at` omitted) is Norway's, summer and winter."""
    import helsegraf.http.context  # noqa: PLC0415

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromisoformat(instant).astimezone(tz)

    monkeypatch.setattr(helsegraf.http.context, "datetime", Frozen)
    data = await graph.data(TABLE, {"m": ["LISTED_PERSONS"]}, token=token(nation, "analyst"))
    assert data["statistics"]["table"]["referenceDate"] == reference
