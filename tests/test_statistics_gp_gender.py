"""GPs by gender: exact counts of a public fact, and no route to anyone else's gender (SQLite and PostgreSQL).

A GP's gender is public: FLR holds it (the GP's `Sex`), helsenorge's GP choice service shows it to every
citizen choosing a GP, Helsedirektoratet publishes the share of GPs who are women, and the graph gives it
as `HealthPersonnel.gpGender` while a doctor serves a list as fastlege or delelege. So GPs by gender are
published exactly, by any area, date and public breakdown (docs/statistics.md, "GPs by gender"): played
here against SQL over the data. What stays protected is the gender of a health worker who is not a GP (HPR's
`gender` is behind `hpr:extended`): a substitute on a list, a doctor with no list, a GP who has left, asked
after. No table counts them by gender, health personnel take no gender, and the graph gives them none.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from conftest import TODAY, db_rows, token
from helsegraf.stats.engine import reference_date
from test_statistics_fixes import db_execute

TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $f: StatisticsFilter, $at: Date) {
  statistics { table(measures: $m, by: $by, filter: $f, at: $at, total: true) { at
    rows { key { code } values { measure value perturbed suppressed reason } } } } }"""
GP_GENDER = "query($h: Int!, $at: Date) { healthPersonnel(hprNumber: $h) { gpGender(at: $at) { code } } }"
PERIODS = """SELECT p.id, p.hpr_number, p.relationship, p.gp_gender, p.valid_from, c.municipality_code, c.fixed_salary
  FROM flr_gp_period p JOIN flr_gp_contract c ON c.id = p.contract_id WHERE p.relationship IN ('LPFL', 'LPDL')
  AND p.valid_from <= :on AND (p.valid_to IS NULL OR p.valid_to > :on)
  AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on) ORDER BY p.valid_from, p.id"""
SPECIALISTS = """SELECT a.hpr_number FROM hpr_approval a JOIN hpr_speciality s ON s.approval_id = a.id
  WHERE s.code = '1' AND a.valid_from <= :on AND (a.valid_to IS NULL OR a.valid_to > :on)
  AND s.valid_from <= :on AND (s.valid_to IS NULL OR s.valid_to > :on)"""
BREAKDOWNS = (["GENDER"], ["COUNTY", "GENDER"], ["MUNICIPALITY", "GENDER"], ["GENDER", "FIXED_SALARY"],
              ["COUNTY", "GENDER", "GP_SPECIALITY"])  # fmt: skip


def _county(municipality: str) -> str:
    from helsegraf.data import reference  # noqa: PLC0415

    return next(m.county_code for m in reference.municipalities() if m.code == municipality)


def expected(nation, on: date, by: list[str], measure: str) -> Counter:
    """GPs per cell by SQL over the data: distinct GPs, each with FLR's gender (their newest period's)."""
    periods = db_rows(nation, PERIODS, on=on.isoformat())
    experts = {r.hpr_number for r in db_rows(nation, SPECIALISTS, on=on.isoformat())}
    gender = {p.hpr_number: p.gp_gender for p in periods}
    cells: dict[tuple[str, ...], set[int]] = {}
    for p in periods:
        if measure == "GP_SPECIALISTS" and p.hpr_number not in experts:
            continue
        value = {"GENDER": gender[p.hpr_number], "COUNTY": _county(p.municipality_code),
                 "MUNICIPALITY": p.municipality_code, "FIXED_SALARY": "YES" if p.fixed_salary else "NO",
                 "GP_SPECIALITY": "YES" if p.hpr_number in experts else "NO"}  # fmt: skip
        cells.setdefault(tuple(value[d] for d in by), set()).add(p.hpr_number)
        cells.setdefault((), set()).add(p.hpr_number)
    return Counter({k: len(v) for k, v in cells.items()})


async def test_gps_by_gender_are_flrs_counts_by_every_area_and_date(graph, nation) -> None:
    """Every cell of GPs and GP specialists by gender, by area, list attribute and speciality, at today, quarter
    ends and a day within a quarter, is SQL's count over FLR and HPR: exact, never suppressed (0, 1 and 2
    too), never perturbed, at the date asked for (not the reference date of counts of persons)."""
    analyst = token(nation, "analyst")
    dates = [TODAY, reference_date(TODAY, TODAY), date(2024, 6, 30), date(2024, 8, 15), date(2019, 12, 31)]
    small = 0
    for on in dates:
        for by in BREAKDOWNS:
            measures = ["GPS"] if "GP_SPECIALITY" in by else ["GPS", "GP_SPECIALISTS"]
            data = await graph.data(TABLE, {"m": measures, "by": by, "at": on.isoformat()}, token=analyst)
            table = data["statistics"]["table"]
            assert table["at"] == on.isoformat()
            for measure in measures:
                true = expected(nation, on, by, measure)
                found = {tuple(k["code"] for k in r["key"]): v for r in table["rows"] for v in r["values"]
                         if v["measure"] == measure}  # fmt: skip
                for key, v in found.items():
                    published = (v["value"], v["perturbed"], v["suppressed"], v["reason"])
                    assert published == (true[key], False, False, None), (on, by, key)
                    small += 0 < true[key] < 5  # a count of persons this small would be suppressed
                assert set(true) <= set(found), (on, by)
    assert small >= 10, small
    # The key figure is women over the GPs whose gender is known, exact, at the date asked for.
    figures = await graph.data("{ statistics { keyFigures { code value perturbed at } } }", token=analyst)
    share = next(f for f in figures["statistics"]["keyFigures"] if f["code"] == "SHARE_WOMEN_GPS")
    true = expected(nation, TODAY, ["GENDER"], "GPS")
    assert share == {"code": "SHARE_WOMEN_GPS", "value": round(100 * true["FEMALE",] / true[()], 2),
                     "perturbed": False, "at": TODAY.isoformat()}  # fmt: skip


async def test_the_counts_are_the_graphs_genders_and_a_period_without_one_counts_through_preg(graph, nation) -> None:
    """GPs by gender count what the graph publishes GP by GP (`gpGender`). A period FLR sent without the GP's
    gender (stored before FLR's rows held it) is counted with the gender PREG holds for the doctor's nin,
    the same person: the counts stay, while the graph gives that GP no gender until FLR's row has one."""
    analyst = token(nation, "analyst")
    periods = db_rows(nation, PERIODS, on=TODAY.isoformat())
    oslo = sorted({p.hpr_number for p in periods if p.municipality_code == "0301"})
    told: Counter = Counter()
    for hpr in oslo:
        gp = (await graph.data(GP_GENDER, {"h": hpr}, token=None))["healthPersonnel"]["gpGender"]
        told[{"1": "MALE", "2": "FEMALE"}[gp["code"]]] += 1
    query = {"m": ["GPS"], "by": ["GENDER"], "f": {"municipalities": ["0301"]}, "at": None}
    before = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
    assert {r["key"][0]["code"]: r["values"][0]["value"] for r in before if r["key"]} == {
        g: told[g] for g in ("FEMALE", "MALE")
    }
    chosen = next(p for p in periods if p.municipality_code == "0301")
    nin = db_rows(nation, "SELECT nin FROM hpr_person WHERE hpr_number = :h", h=chosen.hpr_number)[0].nin
    assert nin is not None
    db_execute(nation, f"UPDATE flr_gp_period SET gp_gender = NULL WHERE hpr_number = {chosen.hpr_number}")
    try:
        after = (await graph.data(TABLE, query, token=analyst))["statistics"]["table"]["rows"]
        gp = (await graph.data(GP_GENDER, {"h": chosen.hpr_number}, token=None))["healthPersonnel"]["gpGender"]
    finally:
        db_execute(nation, f"UPDATE flr_gp_period SET gp_gender = '{chosen.gp_gender}' "
                   f"WHERE hpr_number = {chosen.hpr_number}")  # fmt: skip
    assert after == before
    assert gp is None


async def test_no_table_tells_the_gender_of_a_health_worker_who_is_not_a_gp(graph, nation) -> None:
    """A named doctor X who is not a GP, six women and six men in turn: X a substitute (vikar) on Oslo's list
    since before the last quarter end, with the gender FLR holds for every doctor on a list, and X with a new
    approval in HPR. Every table of GPs by gender (the area's, the county's, the nation's, by list attribute,
    at two quarter ends) is exactly what it is without X; health personnel take no gender (refused, naming
    it) and stay perturbed; and the graph gives X no gender."""
    analyst = token(nation, "analyst")
    q2 = reference_date(TODAY, TODAY)
    q1 = reference_date(q2 - timedelta(days=1))
    doctors = db_rows(nation, "SELECT h.hpr_number, h.gender FROM hpr_person h WHERE h.hpr_number NOT IN "
                      "(SELECT hpr_number FROM flr_gp_period) ORDER BY h.hpr_number")  # fmt: skip
    women = [d.hpr_number for d in doctors if d.gender == "2"][:6]
    men = [d.hpr_number for d in doctors if d.gender == "1"][:6]
    assert (len(women), len(men)) == (6, 6)
    oslo = db_rows(nation, "SELECT id FROM flr_gp_contract WHERE municipality_code = '0301' AND valid_to IS NULL "
                   "ORDER BY id")[0].id  # fmt: skip
    fastlege = db_rows(nation, "SELECT hpr_number FROM flr_gp_period WHERE contract_id = :c AND relationship = 'LPFL' "
                       "ORDER BY valid_from DESC", c=oslo)[0].hpr_number  # fmt: skip
    period = db_rows(nation, "SELECT max(id) + 1000 AS n FROM flr_gp_period")[0].n
    approval = db_rows(nation, "SELECT max(id) + 1000 AS n FROM hpr_approval")[0].n
    breakdowns = ((["GENDER"], {"municipalities": ["0301"]}), (["COUNTY", "GENDER"], None),
                  (["GENDER", "LIST_STATUS"], None), (["GENDER", "OPEN_LIST"], None))  # fmt: skip
    routes = [(["GPS"], by, f, on) for by, f in breakdowns for on in (q1, q2, TODAY)]

    async def tables() -> list:
        found = []
        for measures, by, f, on in routes:
            data = await graph.data(TABLE, {"m": measures, "by": by, "f": f, "at": on.isoformat()}, token=analyst)
            found.append(data["statistics"]["table"]["rows"])
        return found

    async def doctors_now() -> None:
        data = await graph.data(TABLE, {"m": ["HEALTH_PERSONNEL"], "by": ["HEALTH_PERSONNEL_CATEGORY"], "f": None,
                                        "at": None}, token=analyst)  # fmt: skip
        [le] = [r for r in data["statistics"]["table"]["rows"] if r["key"] and r["key"][0]["code"] == "LE"]
        assert le["values"][0]["perturbed"] is True

    without = await tables()
    for n, (x, gender) in enumerate([(x, "FEMALE") for x in women] + [(x, "MALE") for x in men]):
        try:
            db_execute(nation, "INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, "
                       "substitute_for_hpr_number, working_percentage, valid_from, gp_gender) VALUES "
                       f"({period + n}, {oslo}, {x}, 'LPVI', {fastlege}, 100, '2020-01-01', '{gender}')")  # fmt: skip
            db_execute(nation, 'INSERT INTO hpr_approval (id, hpr_number, category, "authorization", valid_from) '
                       f"VALUES ({approval + n}, {x}, 'LE', 'AU', '2001-01-01')")  # fmt: skip
            assert await tables() == without, (x, gender)  # a substitute is not a GP: no cell of GPs moved
            for on in (q1, q2, TODAY):
                assert (await graph.data(GP_GENDER, {"h": x, "at": on.isoformat()}, token=None))[
                    "healthPersonnel"]["gpGender"] is None  # fmt: skip
            await doctors_now()  # X counted among the doctors: a perturbed count, by category only
            for f, by in (({"genders": [gender]}, ["HEALTH_PERSONNEL_CATEGORY"]), (None, ["GENDER"])):
                body = (await graph.post(TABLE, {"m": ["HEALTH_PERSONNEL"], "by": by, "f": f, "at": None},
                                         token=analyst)).json()  # fmt: skip
                error = body["errors"][0]
                assert error["extensions"]["code"] == "BAD_USER_INPUT", body
                assert "HEALTH_PERSONNEL" in error["message"], error
                assert "GENDER" in error["message"], error
        finally:
            db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {period + n}")
            db_execute(nation, f"DELETE FROM hpr_approval WHERE id = {approval + n}")
