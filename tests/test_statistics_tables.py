"""The analysts' tables against the registers: every count that is not of persons exact, persons within +-2."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from conftest import TODAY, db_rows, token
from helsegraf.stats.engine import reference_date
from test_statistics import assert_perturbed

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
# Today (mid-quarter: counts of persons describe the last quarter end) and a quarter end (every count at it).
DATES = [TODAY, date(2024, 6, 30)]
KEY_FIGURES = """query($at: Date, $m: String, $c: String) { statistics {
  keyFigures(at: $at, municipality: $m, county: $c) {
    code unit value perturbed suppressed reason at referenceDate } } }"""
SSB = """query($at: Date, $by: StatisticsDimension) { statistics { ssb12005(at: $at, by: $by) {
  code lists openLists capacity meanListLength reserveCapacity municipality { code } referenceDate
  patients { value suppressed referenceDate } patientsOnListsWithGp { value suppressed }
  patientsOnListsWithoutGp { value suppressed } } } }"""


_RAW: dict = {}


def truth(nation, on: date, municipality: str | None = None, county: str | None = None) -> dict:
    """Compute the key figures' parts with SQL over the data (tests may join registers; the server may not)."""
    key = (nation.backend, on)
    if key not in _RAW:
        _RAW[key] = raw(nation, on)
    contracts, periods, recent, sizes, specialists, genders_of = _RAW[key]
    if municipality:
        contracts = [c for c in contracts if c.municipality_code == municipality]
    if county:
        from helsegraf.data import reference  # noqa: PLC0415

        inside = {m.code for m in reference.municipalities() if m.county_code == county}
        contracts = [c for c in contracts if c.municipality_code in inside]
    ids = {c.id for c in contracts}
    periods = [p for p in periods if p.contract_id in ids]
    with_gp = {p.contract_id for p in periods if p.relationship == "LPFL"}
    gps = {p.hpr_number for p in periods if p.relationship in {"LPFL", "LPDL"}}
    specialists = specialists & gps
    genders = Counter(g for hpr, g in genders_of.items() if hpr in gps)
    return {
        "GPS": len(gps), "GP_SPECIALISTS": len(specialists), "LISTS": len(contracts),
        "LISTS_WITH_GP": len(with_gp), "LISTS_WITHOUT_GP": len(ids - with_gp),
        "LISTS_VACANT_OVER_A_YEAR": sum(1 for c in contracts if c.id not in with_gp and c.id not in recent
                                        and (on - c.valid_from).days > 365),
        "LISTED_PERSONS_WITH_GP": sum(sizes[i] for i in with_gp),
        "LISTED_PERSONS_WITHOUT_GP": sum(sizes[i] for i in ids - with_gp),
        "LISTED_PERSONS": sum(sizes[i] for i in ids),
        # Free places: the open lists' listetak minus the persons on them (perturbed when published).
        "FREE_PLACES": max(0, sum(c.max_patients - sizes[c.id] for c in contracts if c.is_open)),
        "FIXED_SALARY_LISTS": sum(1 for c in contracts if c.fixed_salary),
        "WOMEN": genders["FEMALE"], "KNOWN_GENDER": sum(genders.values()),
        "CAPACITY": sum(c.max_patients for c in contracts), "OPEN_LISTS": sum(1 for c in contracts if c.is_open),
    }  # fmt: skip


def raw(nation, on: date) -> tuple:
    params = {"on": on.isoformat()}
    contracts = db_rows(nation, f"SELECT id, municipality_code, is_open, fixed_salary, max_patients, valid_from "
                                f"FROM flr_gp_contract WHERE {ON}", **params)  # fmt: skip
    periods = db_rows(nation, f"SELECT id, contract_id, hpr_number, relationship, valid_from, gp_gender "
                      f"FROM flr_gp_period WHERE {ON} ORDER BY valid_from, id", **params)  # fmt: skip
    year_ago = (on - timedelta(days=365)).isoformat()
    recent = {r.contract_id for r in db_rows(
        nation, "SELECT contract_id FROM flr_gp_period WHERE relationship = 'LPFL' AND valid_from <= :on "
                "AND (valid_to IS NULL OR valid_to > :y)", on=on.isoformat(), y=year_ago)}  # fmt: skip
    sizes = Counter(r.contract_id for r in db_rows(nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}",
                                                   **params))  # fmt: skip
    specialists = {r.hpr_number for r in db_rows(
        nation, "SELECT a.hpr_number FROM hpr_approval a JOIN hpr_speciality s ON s.approval_id = a.id "
                "WHERE s.code = '1' AND a.valid_from <= :on AND (a.valid_to IS NULL OR a.valid_to > :on) "
                "AND s.valid_from <= :on AND (s.valid_to IS NULL OR s.valid_to > :on)", **params)}  # fmt: skip
    # A GP's gender as FLR holds it (public): that of their newest GP period at the date.
    genders = {p.hpr_number: p.gp_gender for p in periods if p.relationship in {"LPFL", "LPDL"} and p.gp_gender}
    return contracts, periods, recent, sizes, specialists, genders


PERSONS = {"LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP", "LISTED_PERSONS"}


@pytest.mark.parametrize("on", DATES)
async def test_key_figures_are_the_registers_figures(graph, nation, on: date) -> None:
    for area in ({}, {"m": "0301"}, {"c": "46"}):
        data = await graph.data(KEY_FIGURES, {"at": on.isoformat(), **area}, token=token(nation, "analyst"))
        figures = {f["code"]: f for f in data["statistics"]["keyFigures"]}
        true = truth(nation, on, municipality=area.get("m"), county=area.get("c"))
        # Counts of persons, and ratios with one in them (both parts), describe the reference date.
        ref = reference_date(on, TODAY)
        then = truth(nation, ref, municipality=area.get("m"), county=area.get("c"))
        assert true["LISTS"] > 0 or area, "the nation has no lists"
        for figure in figures.values():
            assert figure["referenceDate"] == ref.isoformat()
            assert figure["at"] == (ref if figure["perturbed"] else on).isoformat(), figure
        for code in ("GPS", "GP_SPECIALISTS", "LISTS", "LISTS_WITH_GP", "LISTS_WITHOUT_GP", "LISTS_VACANT_OVER_A_YEAR"):
            assert figures[code]["value"] == true[code], (code, area)
            assert figures[code]["perturbed"] is False
        for code in PERSONS:
            published = figures[code]
            assert published["perturbed"] is True
            assert_perturbed({"value": published["value"] and int(published["value"]),
                              "suppressed": published["suppressed"]}, then[code])  # fmt: skip

        def ratio(top: float | None, bottom: float | None, scale: float) -> float | None:
            return None if top is None or bottom is None else (round(scale * top / bottom, 2) if bottom else None)

        listed = figures["LISTED_PERSONS"]["value"]
        assert figures["SHARE_LISTS_WITHOUT_GP"]["value"] == ratio(true["LISTS_WITHOUT_GP"], true["LISTS"], 100)
        assert figures["SHARE_FIXED_SALARY_LISTS"]["value"] == ratio(true["FIXED_SALARY_LISTS"], true["LISTS"], 100)
        share = figures["SHARE_WOMEN_GPS"]  # GPs by gender are exact (a GP's gender is public), at `at`
        assert (share["perturbed"], share["suppressed"], share["at"]) == (False, False, on.isoformat())
        assert true["KNOWN_GENDER"] == true["GPS"]  # FLR holds every GP's gender in the seeded nation
        assert share["value"] == ratio(true["WOMEN"], true["KNOWN_GENDER"], 100), area
        # Ratios over persons use the published count (its own cell), never the true one.
        assert figures["GPS_PER_1000_LISTED"]["value"] == ratio(then["GPS"], listed, 1000)
        free = figures["FREE_PLACES_PER_1000"]
        assert free["perturbed"] is True  # free places are listetak minus a (perturbed) count of persons
        assert free["value"] in {ratio(max(0, then["FREE_PLACES"] + d), listed, 1000) for d in range(-2, 3)}
        assert figures["MEAN_LIST_LENGTH"]["value"] == ratio(listed, then["LISTS"], 1)
        assert figures["MEAN_LIST_LENGTH_FIXED_GP"]["value"] == ratio(
            figures["LISTED_PERSONS_WITH_GP"]["value"], then["LISTS_WITH_GP"], 1
        )
    assert figures["SHARE_FIXED_SALARY_LISTS"]["value"] is not None


@pytest.mark.parametrize("on", DATES)
async def test_ssb_12005_for_every_municipality_and_county(graph, nation, on: date) -> None:
    from helsegraf.data import reference  # noqa: PLC0415

    analyst = token(nation, "analyst")
    municipalities = (await graph.data(SSB, {"at": on.isoformat()}, token=analyst))["statistics"]["ssb12005"]
    counties = (await graph.data(SSB, {"at": on.isoformat(), "by": "COUNTY"}, token=analyst))["statistics"]["ssb12005"]
    nation_row = (await graph.data(SSB, {"at": on.isoformat(), "by": None}, token=analyst))["statistics"]["ssb12005"]

    assert [r["code"] for r in municipalities] == sorted(m.code for m in reference.municipalities())
    assert len(municipalities) == 357
    assert all(r["municipality"]["code"] == r["code"] for r in municipalities)
    assert [r["code"] for r in nation_row] == [None]
    checked = 0
    for rows, level in ((municipalities, "m"), (counties, "c"), (nation_row, None)):
        for row in rows:
            area = {"municipality": row["code"]} if level == "m" else {"county": row["code"]} if level == "c" else {}
            true, then = truth(nation, on, **area), truth(nation, reference_date(on, TODAY), **area)
            assert row["referenceDate"] == row["patients"]["referenceDate"] == reference_date(on, TODAY).isoformat()
            assert (row["lists"], row["openLists"], row["capacity"]) == (true["LISTS"], true["OPEN_LISTS"],
                                                                       true["CAPACITY"])  # fmt: skip
            assert_perturbed(row["patients"], then["LISTED_PERSONS"])
            assert_perturbed(row["patientsOnListsWithGp"], then["LISTED_PERSONS_WITH_GP"])
            assert_perturbed(row["patientsOnListsWithoutGp"], then["LISTED_PERSONS_WITHOUT_GP"])
            published = row["patients"]["value"]
            assert row["meanListLength"] == (round(published / then["LISTS"], 2) if published and then["LISTS"]
                                             else None)  # fmt: skip
            assert row["reserveCapacity"] == (round(100 * then["CAPACITY"] / published, 2) if published else None)
            checked += bool(true["LISTS"])
    assert checked >= 3


TABLE = """query($m: [StatisticsMeasure!]!, $by: [StatisticsDimension!], $f: StatisticsFilter, $total: Boolean!) {
  statistics { table(measures: $m, by: $by, filter: $f, total: $total) {
    rows { key { dimension code } values { measure value perturbed suppressed } } } } }"""


async def table(graph, nation, measures, by=(), f=None, *, total=False) -> dict:
    data = await graph.data(TABLE, {"m": list(measures), "by": list(by), "f": f, "total": total},
                            token=token(nation, "analyst"))  # fmt: skip
    return {tuple(k["code"] for k in r["key"]): {v["measure"]: v for v in r["values"]}
            for r in data["statistics"]["table"]["rows"]}  # fmt: skip


async def test_the_same_records_get_the_same_noise_whichever_route_reaches_them(graph, nation) -> None:
    by_municipality = await table(graph, nation, ["LISTED_PERSONS"], ["MUNICIPALITY"], total=True)
    oslo_filtered = await table(graph, nation, ["LISTED_PERSONS"], [], {"municipalities": ["0301"]})
    county = await table(graph, nation, ["LISTED_PERSONS"], [], {"counties": ["03"]})  # Oslo is a county too
    whole = await table(graph, nation, ["LISTED_PERSONS", "LISTS"], [])
    salary = await table(graph, nation, ["LISTED_PERSONS"], ["FIXED_SALARY"], total=True)

    assert by_municipality[("0301",)] == oslo_filtered[()] == county[()]
    assert by_municipality[()]["LISTED_PERSONS"] == whole[()]["LISTED_PERSONS"] == salary[()]["LISTED_PERSONS"]
    assert by_municipality[()]["LISTED_PERSONS"]["perturbed"] is True
    assert whole[()]["LISTS"]["perturbed"] is False


async def test_a_combination_that_cannot_be_made_names_the_measure_and_the_dimension(graph, nation) -> None:
    analyst = token(nation, "analyst")
    cases = [
        ({"m": ["LISTS"], "by": ["AGE_GROUP"]}, ["LISTS", "AGE_GROUP"]),
        ({"m": ["LISTED_PERSONS", "HEALTH_PERSONNEL"], "by": ["MUNICIPALITY"]}, ["HEALTH_PERSONNEL", "MUNICIPALITY"]),
        ({"m": ["GPS"], "f": {"ageGroups": ["AGE_80_PLUS"]}}, ["GPS", "AGE_GROUP", "filter"]),
        ({"m": ["LISTS"], "by": ["COUNTY", "MUNICIPALITY"]}, ["COUNTY", "MUNICIPALITY"]),
        ({"m": ["LISTS"], "by": ["GENDER", "GENDER"]}, ["twice"]),
        ({"m": []}, ["measure"]),
        ({"m": ["LISTS"], "f": {"municipalities": ["Oslo"]}}, ["kommunenummer"]),
        ({"m": ["LISTS"], "f": {"counties": ["3"]}}, ["county number"]),
    ]
    for variables, words in cases:
        body = (await graph.post(TABLE, {"by": None, "f": None, "total": False, **variables}, token=analyst)).json()
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert all(word in error["message"] for word in words), error["message"]
        assert "Traceback" not in str(body)


async def test_list_arguments_and_table_size_are_capped(graph, nation) -> None:
    analyst = token(nation, "analyst")
    many = {"m": ["LISTS"], "by": None, "f": {"municipalities": [f"{i:04d}" for i in range(401)]}, "total": False}
    body = (await graph.post(TABLE, many, token=analyst)).json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["extensions"]["limit"] == "filter.municipalities"
    huge = {"m": ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP"],
            "by": ["MUNICIPALITY", "AGE_GROUP", "GENDER", "FIXED_SALARY"], "f": None, "total": False}  # fmt: skip
    body = (await graph.post(TABLE, huge, token=analyst)).json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["extensions"]["limit"] == "cells"


LOG = """{ statisticsQueryLog(first: 5) { totalCount
  edges { node { at role subject purpose table parameters outcome } } } }"""


async def test_every_statistics_query_is_logged_without_its_result_and_read_with_audit_read(graph, nation) -> None:
    analyst = token(nation, "analyst", subject="analyst-42")
    before = (await graph.data(LOG))["statisticsQueryLog"]["totalCount"]
    await graph.query(TABLE, {"m": ["LISTED_PERSONS"], "by": ["AGE_GROUP"], "f": {"genders": ["FEMALE"]},
                              "total": True}, token=analyst, **{"X-Purpose": "kvartalsrapport"})  # fmt: skip
    refused = (await graph.post(TABLE, {"m": ["LISTS"], "by": ["AGE_GROUP"], "f": None, "total": False},
                                token=analyst)).json()  # fmt: skip

    log = (await graph.data(LOG))["statisticsQueryLog"]
    by_analyst = (await graph.post(LOG, token=analyst)).json()

    assert "errors" in refused
    assert log["totalCount"] == before + 2  # a refused table is logged too, with its outcome
    attempt = log["edges"][0]["node"]
    assert (attempt["outcome"], attempt["parameters"]["by"]) == ("BAD_USER_INPUT", ["AGE_GROUP"])
    entry = log["edges"][1]["node"]
    assert entry["outcome"] == "OK"
    assert (entry["role"], entry["subject"], entry["purpose"], entry["table"]) == (
        "analyst",
        "analyst-42",
        "kvartalsrapport",
        "table",
    )
    assert entry["parameters"]["measures"] == ["LISTED_PERSONS"]
    assert entry["parameters"]["by"] == ["AGE_GROUP"]
    assert entry["parameters"]["filter"] == {"GENDER": ["FEMALE"]}
    assert entry["parameters"]["total"] is True
    assert "value" not in str(entry["parameters"])
    assert by_analyst["data"] == {"statisticsQueryLog": None}
    assert by_analyst["extensions"]["redactions"] == [{"path": ["statisticsQueryLog"], "reason": "MISSING_SCOPE"}]


async def test_gp_contracts_carry_their_fixed_salary(graph, nation) -> None:
    rows = db_rows(nation, "SELECT id, fixed_salary FROM flr_gp_contract ORDER BY id")
    salaried = [r for r in rows if r.fixed_salary]
    assert 0 < len(salaried) < len(rows)
    query = "query($id: ID!) { gpContract(id: $id) { fixedSalary } }"
    for row in (salaried[0], next(r for r in rows if not r.fixed_salary)):
        contract = (await graph.data(query, {"id": str(row.id)}))["gpContract"]
        assert contract == {"fixedSalary": bool(row.fixed_salary)}


def test_the_perturbation_table_has_mean_zero_and_no_negative_values() -> None:
    from helsegraf.stats.disclosure import CELL_KEYS, MAX_NOISE, PTABLE, noise  # noqa: PLC0415

    for count in (1, 2, 3, 4, 10, 1000):
        noises = [noise(count, key) for key in range(CELL_KEYS)]
        assert sum(noises) == 0, count
        assert all(count + n >= 0 and abs(n) <= MAX_NOISE for n in noises)
    spread = defaultdict(int)
    for key in range(CELL_KEYS):
        spread[noise(10, key)] += 1
    assert spread == {-2: 38, -1: 52, 0: 76, 1: 52, 2: 38}
    assert set(PTABLE) == {1, 2, 3}


def test_the_statistics_secret_is_configured_or_kept_in_the_home(tmp_path, monkeypatch) -> None:
    from helsegraf.authz.opaque import load_secret  # noqa: PLC0415
    from helsegraf.stats.disclosure import SECRET_FILE, KeyParameters, stats_secret  # noqa: PLC0415

    def load_secret_file(home, configured):
        return load_secret(home, configured, SECRET_FILE)

    created = load_secret_file(tmp_path, None)
    path = tmp_path / "stats-secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_secret_file(tmp_path, None) == created == path.read_bytes().strip()
    assert load_secret_file(tmp_path, "configured") == b"configured"
    monkeypatch.setenv("HELSEGRAF_STATS_SECRET", "rotated")
    assert stats_secret(tmp_path) == b"rotated"
    # Rotating the secret gives every record a new key (and so every cell new noise).
    old, new = KeyParameters.of(created, "flr"), KeyParameters.of(b"rotated", "flr")
    assert [old.python(i) for i in range(1, 50)] != [new.python(i) for i in range(1, 50)]
    assert KeyParameters.of(b"rotated", "hpr") != new  # each register's records get keys of their own
