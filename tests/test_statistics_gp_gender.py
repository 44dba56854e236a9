"""A named GP's gender by every route the table builder has (SQLite and PostgreSQL, through HTTP).

HPR's gender of a health professional is behind `hpr:extended` in the graph, so the statistics keep it
personal: GPs by gender are perturbed counts, by area only (README, "GPs by gender"). Who serves which
list is public. Played here: a named GP X joins a list of their own beside areas of many GPs, for six
women and six men in turn, and the attacker compares a county with its municipality, the nation with its
counties, two quarter ends, and filters by gender with breakdowns by gender. Which of X's two cells
moved tells X's gender no better than a coin; the nation minus its counties, a noisy estimate of X's
cell, points at the right gender no more often than the noise of the cells in the sum allows, and never
gives X's cell exactly more often than a coincidence of noise.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import product
from math import erf, sqrt

from conftest import TODAY, db_rows, token
from helsegraf.stats import disclosure
from helsegraf.stats.engine import reference_date
from test_statistics_attacks import MOST_HITS
from test_statistics_fixes import db_execute

GP_TABLE = """query($by: [StatisticsDimension!], $f: StatisticsFilter, $at: Date) { statistics {
  table(measures: [GPS], by: $by, filter: $f, at: $at) { rows { key { code } values { value } } } } }"""
LISTS = {"0301": 1000001, "4601": 1000004, "5001": 1000007}  # the seeded nation's lists (one per county)
COLUMNS = "office_org_number, district, max_patients, is_open, valid_from, valid_to, fixed_salary"
OWN_LIST = 3000001  # X's list: a copy of Bergen's, in another municipality
GENDERS = ("FEMALE", "MALE")


def _noise_allows(cells: int) -> float:
    """The chance that the nation minus its counties points at the right gender: 1 + noise > noise'.

    The two genders' estimates each carry the noise of `cells` independent perturbed cells (variance 1.6
    each, stats/disclosure.py); their difference is about normal with variance 2 x 1.6 x cells.
    """
    variance = 2 * cells * sum((b - a + 1) / disclosure.CELL_KEYS * n * n for a, b, n in disclosure.PTABLE[3])
    return 0.5 * (1 + erf(1 / sqrt(2 * variance)))


async def test_no_route_tells_a_named_gps_gender_better_than_the_noise_allows(graph, nation) -> None:  # noqa: C901, PLR0915
    q2 = reference_date(TODAY, TODAY)
    q1 = reference_date(q2 - timedelta(days=1))
    doctors = db_rows(nation, "SELECT h.hpr_number, p.gender FROM hpr_person h JOIN preg_person p "
                      "ON p.nin = h.nin WHERE h.hpr_number NOT IN (SELECT hpr_number FROM flr_gp_period) "
                      "ORDER BY h.hpr_number")  # fmt: skip
    women = [d.hpr_number for d in doctors if d.gender == "FEMALE"]
    men = [d.hpr_number for d in doctors if d.gender == "MALE"]
    assert min(len(women), len(men)) >= 30, (len(women), len(men))
    # Eight women and eight men on each county's list: every county's cells of either gender are published.
    base = {m: women[8 * i : 8 * i + 8] + men[8 * i : 8 * i + 8] for i, m in enumerate(LISTS)}
    candidates = [(x, "FEMALE") for x in women[24:30]] + [(x, "MALE") for x in men[24:30]]
    first_period = db_rows(nation, "SELECT max(id) + 1000 AS n FROM flr_gp_period")[0].n
    analyst = token(nation, "analyst")

    async def cells(by: list[str], f: dict | None, on) -> dict:
        data = await graph.data(GP_TABLE, {"by": by, "f": f, "at": on.isoformat()}, token=analyst)
        rows = data["statistics"]["table"]["rows"]
        found = {tuple(k["code"] for k in r["key"]): r["values"][0]["value"] for r in rows}
        return {k[0]: v for k, v in found.items()} if by == ["GENDER"] else found

    def period(i: int, contract: int, hpr: int, start: str, relationship: str = "LPDL") -> str:
        return ("INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, working_percentage, valid_from) "
                f"VALUES ({first_period + i}, {contract}, {hpr}, '{relationship}', 50, '{start}')")  # fmt: skip

    def moved(a: dict, b: dict) -> str:
        """The moved attacker: X's gender is the one cell that differs between two routes."""
        differ = [g for g in GENDERS if a[g] != b[g]]
        return "none" if len(differ) != 1 else "right" if differ == [gender] else "wrong"

    guesses: dict[str, Counter] = {}
    estimates: list[tuple[bool, bool]] = []  # (pointed at the right gender, gave X's cell exactly)
    db_execute(nation, f"INSERT INTO flr_gp_contract (id, municipality_code, {COLUMNS}) SELECT {OWN_LIST}, '4602', "
               f"{COLUMNS} FROM flr_gp_contract WHERE id = {LISTS['4601']}")  # fmt: skip
    try:
        n = 0
        for m, hprs in base.items():
            for hpr in hprs:
                db_execute(nation, period(n, LISTS[m], hpr, "2010-01-01"))
                n += 1
        for x, gender in candidates:
            # X alone on a list of their own in Kinn (4602), beside Bergen in county 46, since before q1.
            db_execute(nation, f"UPDATE flr_gp_contract SET municipality_code = '4602' WHERE id = {OWN_LIST}")
            db_execute(nation, period(n, OWN_LIST, x, "2010-01-01", "LPFL"))
            by_area = {f"county vs municipality {on}": (await cells(["GENDER"], {"counties": ["46"]}, on),
                                                         await cells(["GENDER"], {"municipalities": ["4601"]}, on))
                       for on in (q1, q2)}  # fmt: skip
            county = await cells(["COUNTY", "GENDER"], None, q2)
            municipality = await cells(["MUNICIPALITY", "GENDER"], None, q2)
            by_area["by county vs by municipality"] = ({g: county["46", g] for g in GENDERS},
                                                       {g: municipality["4601", g] for g in GENDERS})  # fmt: skip
            filtered = {}
            for place, g in product(({"counties": ["46"]}, {"municipalities": ["4601"]}), GENDERS):
                filtered[next(iter(place.values()))[0], g] = (await cells([], {**place, "genders": [g]}, q2))[()]
            by_area["filter by gender"] = ({g: filtered["46", g] for g in GENDERS},
                                           {g: filtered["4601", g] for g in GENDERS})  # fmt: skip
            for route, (a, b) in by_area.items():
                guesses.setdefault(route, Counter())[moved(a, b)] += 1
            # X joins between the two quarter ends: the county's cells at q1 and at q2.
            db_execute(nation, f"UPDATE flr_gp_period SET valid_from = '{(q2 - timedelta(days=10)).isoformat()}' "
                       f"WHERE id = {first_period + n}")  # fmt: skip
            before, after = (
                await cells(["GENDER"], {"counties": ["46"]}, q1),
                await cells(["GENDER"], {"counties": ["46"]}, q2),
            )
            guesses.setdefault("quarter ends", Counter())[moved(before, after)] += 1
            # X's list in Stavanger (1103), a county of its own: the nation against its other counties.
            db_execute(nation, f"UPDATE flr_gp_contract SET municipality_code = '1103' WHERE id = {OWN_LIST}")
            national = await cells(["GENDER"], None, q2)
            counties = await cells(["COUNTY", "GENDER"], None, q2)
            if None in (*national.values(), *(counties[c, g] for c in ("03", "46", "50") for g in GENDERS)):
                guesses.setdefault("nation vs counties", Counter())["none"] += 1  # a suppressed part: no estimate
                db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {first_period + n}")
                continue
            rest = {g: national[g] - sum(counties[c, g] for c in ("03", "46", "50")) for g in GENDERS}
            summed = {g: sum(counties[c, g] for c in ("03", "46", "50")) for g in GENDERS}
            guesses.setdefault("nation vs counties", Counter())[moved(national, summed)] += 1
            other = next(g for g in GENDERS if g != gender)
            estimates.append((rest[gender] > rest[other], rest[gender] == 1 and rest[other] == 0))
            db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {first_period + n}")
    finally:
        db_execute(nation, f"DELETE FROM flr_gp_period WHERE id >= {first_period}")
        db_execute(nation, f"DELETE FROM flr_gp_contract WHERE id = {OWN_LIST}")
    tries = len(candidates)
    for route, found in guesses.items():
        assert sum(found.values()) == tries, (route, found)
        # Which cell moved names X's gender no more often than a coincidence of noise: both moved alike.
        assert found["right"] < tries / 2, (route, found)
        assert found["right"] - found["wrong"] < tries / 4, (route, found)
    assert len(estimates) >= tries / 2, estimates
    pointed = sum(right for right, _exact in estimates)
    # A noisy estimate of X's cell: right a little more often than a coin (the noise of 4 cells each), never
    # with certainty, and X's cell exactly (1 and 0) no more often than the noise coincides.
    allows = _noise_allows(4)
    made = len(estimates)
    assert pointed <= made * allows + 2 * sqrt(made * allows * (1 - allows)), (pointed, made, allows)
    assert sum(exact for _right, exact in estimates) / made < MOST_HITS, estimates
