"""Defects a reviewer found in the statistics engine, each played through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from conftest import TODAY, db_rows, token
from helsegraf.stats.engine import reference_date
from test_statistics import assert_perturbed
from test_statistics_tables import TABLE, table


def db_execute(nation, sql: str) -> None:
    from sqlalchemy import text  # noqa: PLC0415

    engine = nation.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"


async def test_every_filter_works_on_both_backends(graph, nation) -> None:
    on = reference_date(TODAY, TODAY).isoformat()  # health personnel are counts of persons: at the reference date
    personnel = Counter(r.category for r in db_rows(
        nation, f"SELECT DISTINCT hpr_number, category FROM hpr_approval WHERE {ON}", on=on))  # fmt: skip
    municipality = db_rows(nation, "SELECT municipality_code FROM flr_gp_contract LIMIT 1")[0].municipality_code
    cases = [
        (["HEALTH_PERSONNEL"], {"categories": ["LE"]}),
        (["LISTS"], {"counties": [municipality[:2]]}),
        (["LISTS"], {"municipalities": [municipality]}),
        (["LISTED_PERSONS"], {"ageGroups": ["AGE_20_29"]}),
        (["LISTED_PERSONS"], {"genders": ["FEMALE"]}),
        (["LISTS"], {"listStatus": "WITH_GP"}),
        (["LISTS"], {"fixedSalary": True}),
        (["LISTS"], {"openList": False}),
        (["GPS"], {"gpSpecialist": True}),
    ]
    for measures, f in cases:
        body = (await graph.post(TABLE, {"m": measures, "by": None, "f": f, "total": False},
                                 token=token(nation, "analyst"))).json()  # fmt: skip
        assert "errors" not in body, (f, body)
    doctors = await table(graph, nation, ["HEALTH_PERSONNEL"], [], {"categories": ["LE"]})
    assert_perturbed(doctors[()]["HEALTH_PERSONNEL"], personnel["LE"])


LOG = "{ statisticsQueryLog(first: 10) { totalCount edges { node { table parameters outcome } } } }"


async def test_refused_attempts_are_logged_with_their_outcome(graph, nation) -> None:
    analyst = token(nation, "analyst")
    before = (await graph.data(LOG))["statisticsQueryLog"]["totalCount"]
    attempts = [
        ({"m": ["LISTS"], "by": ["AGE_GROUP"], "f": None}, "BAD_USER_INPUT"),
        ({"m": ["LISTS"], "by": None, "f": {"municipalities": ["01858010043"]}}, "BAD_USER_INPUT"),
        ({"m": ["LISTS"], "by": None, "f": {"municipalities": [f"{i:04d}" for i in range(401)]}}, "QUERY_TOO_COMPLEX"),
        ({"m": ["LISTED_PERSONS", "LISTED_PERSONS_WITH_GP", "LISTED_PERSONS_WITHOUT_GP"],
          "by": ["MUNICIPALITY", "AGE_GROUP", "GENDER", "FIXED_SALARY"], "f": None}, "QUERY_TOO_COMPLEX"),
    ]  # fmt: skip
    for variables, code in attempts:
        body = (await graph.post(TABLE, {"total": False, **variables}, token=analyst)).json()
        assert body["errors"][0]["extensions"]["code"] == code, body
    ssb = (await graph.post('{ statistics { ssb12005(by: COUNTY, municipality: "0301") { code } } }',
                            token=analyst)).json()  # fmt: skip
    assert ssb["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "municipality" in ssb["errors"][0]["message"]

    log = (await graph.data(LOG))["statisticsQueryLog"]
    assert log["totalCount"] == before + len(attempts) + 1
    outcomes = [e["node"]["outcome"] for e in log["edges"][: len(attempts) + 1]]
    assert outcomes == ["BAD_USER_INPUT", *reversed([code for _v, code in attempts])]
    assert "01858010043" not in str(log)  # the caller's strings are masked in the log


async def test_a_query_log_that_cannot_be_written_refuses_the_table_with_503(graph, nation, backend) -> None:
    db_execute(nation, "ALTER TABLE audit_statistics_query RENAME TO audit_statistics_query_away")
    try:
        response = await graph.post(TABLE, {"m": ["LISTED_PERSONS"], "by": None, "f": None, "total": False},
                                    token=token(nation, "analyst"))  # fmt: skip
    finally:
        db_execute(nation, "ALTER TABLE audit_statistics_query_away RENAME TO audit_statistics_query")
    body = response.json()
    assert response.status_code == 503, body
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert not ((body.get("data") or {}).get("statistics") or {}).get("table")  # no table was released


async def test_capacity_minus_free_places_gives_no_exact_count_of_persons(graph, nation) -> None:

    derived_exact, cells = 0, 0
    # Quarter ends: there capacity (at the date) and free places (at its reference date) describe one date.
    for on in sorted({reference_date(TODAY - timedelta(days=91 * k), TODAY) for k in range(24)}):
        contracts = db_rows(nation, f"SELECT id, municipality_code FROM flr_gp_contract WHERE {ON} AND is_open = :t",
                            on=on.isoformat(), t=True)  # fmt: skip
        sizes = Counter(r.contract_id for r in db_rows(
            nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}", on=on.isoformat()))  # fmt: skip
        true = Counter()
        for c in contracts:
            true[c.municipality_code] += sizes[c.id]
        data = await graph.data(
            """query($at: Date) { statistics { table(measures: [CAPACITY, FREE_PLACES, LISTED_PERSONS],
               by: [MUNICIPALITY], filter: {openList: true}, at: $at) {
               rows { key { code } values { measure value perturbed suppressed } } } } }""",
            {"at": on.isoformat()}, token=token(nation, "analyst"))  # fmt: skip
        for row in data["statistics"]["table"]["rows"]:
            v = {x["measure"]: x for x in row["values"]}
            code = row["key"][0]["code"]
            assert v["FREE_PLACES"]["perturbed"] is True
            if v["FREE_PLACES"]["suppressed"] or not v["FREE_PLACES"]["value"]:
                continue
            derived = v["CAPACITY"]["value"] - v["FREE_PLACES"]["value"]
            # The same records, the same noise: free places add nothing LISTED_PERSONS does not publish.
            assert derived == v["LISTED_PERSONS"]["value"], code
            assert abs(derived - true[code]) <= 2
            cells += 1
            derived_exact += derived == true[code]
    assert cells >= 20
    assert derived_exact / cells < 0.5


GPS_AT = ("SELECT DISTINCT p.hpr_number, p.gp_gender, c.municipality_code FROM flr_gp_period p JOIN flr_gp_contract c "
          "ON c.id = p.contract_id WHERE p.relationship IN ('LPFL', 'LPDL') AND "
          "p.valid_from <= :on AND (p.valid_to IS NULL OR p.valid_to > :on) AND "
          "c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)")  # fmt: skip


async def test_gps_by_gender_are_exact_counts_of_flrs_genders(graph, nation) -> None:
    """A GP's gender is public (FLR holds it, helsenorge shows it): GPs by gender are exact at `at`, every
    cell (small ones, 0 and 1 included) the count of FLR's GPs of that gender, by any route."""
    periods = db_rows(nation, GPS_AT, on=TODAY.isoformat())
    municipalities = sorted({p.municipality_code for p in periods})
    small = 0
    for code in municipalities:
        by_gender = await table(graph, nation, ["GPS"], ["GENDER"], {"municipalities": [code]})
        filtered = await table(graph, nation, ["GPS"], [], {"municipalities": [code], "genders": ["MALE"]})
        exact = await table(graph, nation, ["GPS"], ["GP_SPECIALITY"], {"municipalities": [code]})
        for (gender,), row in by_gender.items():
            true = len({p.hpr_number for p in periods if (p.municipality_code, p.gp_gender) == (code, gender)})
            assert row["GPS"] == {"measure": "GPS", "value": true, "perturbed": False, "suppressed": False}, code
            small += 0 < true < 5  # under the persons' threshold: published all the same
        assert filtered[()]["GPS"] == by_gender[("MALE",)]["GPS"]
        assert all(not v["GPS"]["perturbed"] for v in exact.values())  # speciality is public in HPR
        assert sum(v["GPS"]["value"] for v in exact.values()) == len(
            {p.hpr_number for p in periods if p.municipality_code == code}
        )
    assert small, "no municipality with few GPs of a gender"


async def test_a_key_figure_without_a_value_says_why(graph, nation) -> None:
    data = await graph.data("""{ statistics { keyFigures(municipality: "9999") { code value suppressed reason } } }""",
                            token=token(nation, "analyst"))  # fmt: skip
    figures = {f["code"]: f for f in data["statistics"]["keyFigures"]}
    # No GPs in the area: the share of women (exact counts) has no denominator; nothing is suppressed.
    assert figures["SHARE_WOMEN_GPS"] == {"code": "SHARE_WOMEN_GPS", "value": None, "suppressed": False,
                                          "reason": "NO_DENOMINATOR"}  # fmt: skip
    assert figures["LISTED_PERSONS"]["reason"] == "SUPPRESSED"  # a count of persons, empty
    assert figures["SHARE_LISTS_WITHOUT_GP"]["reason"] == "NO_DENOMINATOR"
    assert figures["LISTS"]["reason"] is None


HEAVY = """{ statistics { %s } }"""
ALIAS = """t%d: table(measures: [LISTED_PERSONS, LISTED_PERSONS_WITH_GP, LISTED_PERSONS_WITHOUT_GP],
  by: [MUNICIPALITY, AGE_GROUP, GENDER]) { rows { key { dimension code label }
  values { measure value perturbed suppressed } } }"""


async def test_a_request_of_many_large_tables_is_refused_and_healthz_stays_responsive(graph, nation) -> None:
    import asyncio  # noqa: PLC0415

    analyst = token(nation, "analyst")
    before = (await graph.data(LOG))["statisticsQueryLog"]["totalCount"]
    five = (await graph.post(HEAVY % " ".join(ALIAS % i for i in range(5)), token=analyst)).json()
    assert five["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", five
    assert "data" not in five or not five["data"]
    log = (await graph.data(LOG))["statisticsQueryLog"]
    assert log["totalCount"] == before + 1  # refused before it ran, and still logged (an analyst's token)
    assert log["edges"][0]["node"]["outcome"] == "QUERY_TOO_COMPLEX"
    assert log["edges"][0]["node"]["parameters"]["limit"] == "query cost"
    await graph.post(HEAVY % " ".join(ALIAS % i for i in range(5)), token=None)  # no token: no row
    assert (await graph.data(LOG))["statisticsQueryLog"]["totalCount"] == before + 1
    # Two tables pass the cost estimate, but the cells of one request are capped over all its tables.
    two = (await graph.post(HEAVY % " ".join(ALIAS % i for i in range(2)), token=analyst)).json()
    assert two["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", two
    assert two["errors"][0]["extensions"]["limit"] == "cells"
    # The refusal is the over-budget table's alone: the table that fitted is answered.
    assert len(two["errors"]) == 1, two
    assert two["errors"][0]["path"][-1] in {"t0", "t1"}, two
    answered = [t for t in two["data"]["statistics"].values() if t is not None]
    assert len(answered) == 1
    assert len(answered[0]["rows"]) > 7000
    # One such table is answered; meanwhile the event loop answers /healthz.
    heavy = asyncio.create_task(graph.post(HEAVY % (ALIAS % 0), token=analyst))
    answered_while_busy = False
    while not heavy.done():
        health = await graph.client.get("/healthz")
        assert health.status_code == 200
        answered_while_busy |= not heavy.done()
        await asyncio.sleep(0)
    assert answered_while_busy
    one = (await heavy).json()
    assert "errors" not in one
    assert len(one["data"]["statistics"]["t0"]["rows"]) > 7000


async def test_a_read_cancelled_mid_statement_leaves_no_lock_for_the_query_log(nation) -> None:
    """A sibling table cancelled mid-read (graphql-core cancels the others when one fails) must not keep
    SQLite's read lock until garbage collection: the query log written next would wait out SQLite's busy
    timeout and fail "database is locked" (the cause of the flaky test above)."""
    import asyncio  # noqa: PLC0415
    import gc  # noqa: PLC0415
    import time  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from helsegraf.db import Database  # noqa: PLC0415
    from helsegraf.models.flr import ListMembership  # noqa: PLC0415
    from helsegraf.registers import FLR  # noqa: PLC0415
    from helsegraf.stats import querylog  # noqa: PLC0415

    db = Database(nation.settings)
    m, n = ListMembership.__table__.alias("m"), ListMembership.__table__.alias("n")
    slow = select(func.count()).select_from(m.join(n, m.c.id < n.c.id + 1000))  # a second or so of work
    thresholds = gc.get_threshold()
    gc.disable()  # the leaked connection would otherwise be closed whenever a collection happens to run
    try:
        for _ in range(2):
            read = asyncio.ensure_future(db.fetch(FLR, slow))
            await asyncio.sleep(0.2)  # the statement is running
            read.cancel()
            started = time.perf_counter()
            await querylog.record(db, principal=None, request_id="cancelled-read", purpose=None, table="test",
                                  parameters={})  # fmt: skip
            assert time.perf_counter() - started < 4  # SQLite's busy timeout is 5 s
    finally:
        gc.enable()
        gc.set_threshold(*thresholds)
        await db.dispose()


async def test_the_total_row_of_gps_by_gender_counts_every_gp_exactly(graph, nation) -> None:
    """GPs are public in FLR and HPR: the total of GPs by gender is every GP of the area, exact (as GPS without
    a breakdown publishes it); a row of one gender (a cell, or a total under a gender filter) is exact too."""
    periods = db_rows(nation, GPS_AT, on=TODAY.isoformat())
    areas = [None, *sorted({p.municipality_code for p in periods})]
    for area in areas:
        f = {"municipalities": [area]} if area else None
        by_gender = await table(graph, nation, ["GPS"], ["GENDER"], f, total=True)
        plain = await table(graph, nation, ["GPS"], [], f)
        total = by_gender[()]
        assert total == plain[()], area  # the same exact counts
        assert not total["GPS"]["perturbed"]
        assert total["GPS"]["value"] == len({p.hpr_number for p in periods if area in {None, p.municipality_code}})
        assert not any(row["GPS"]["perturbed"] for row in by_gender.values())
    women = await table(graph, nation, ["GPS"], ["MUNICIPALITY"], {"genders": ["FEMALE"]}, total=True)
    alone = await table(graph, nation, ["GPS"], [], {"genders": ["FEMALE"]})
    assert women[()]["GPS"]["perturbed"] is False
    assert women[()] == alone[()]
    assert women[()]["GPS"]["value"] == len({p.hpr_number for p in periods if p.gp_gender == "FEMALE"})


async def test_lists_and_their_doctors_are_read_in_one_round(graph, nation) -> None:
    body = await graph.query("{ statistics { table(measures: [LISTS, LISTS_WITH_GP]) { rows { values { value } } } } }",
                             token=token(nation, "analyst"))  # fmt: skip
    sql = body["extensions"]["sql"]
    assert sql["statements"] == 3  # FLR's lists, their doctors, the query-log row
    # On PostgreSQL the two reads go in one round trip (one pipeline); SQLite has no rounds, and
    # HELSEGRAF_FAST_PATHS=0 turns rounds off (db.py).
    from conftest import FAST_PATHS  # noqa: PLC0415

    assert sql["roundTrips"] == (2 if nation.backend == "postgres" and FAST_PATHS else 3)


async def test_fetch_alone_runs_outside_the_requests_round(nation) -> None:
    """Two reads at once share a round (one round trip on PostgreSQL); `fetch_alone` runs on its own connection."""
    import asyncio  # noqa: PLC0415

    from sqlalchemy import func, select  # noqa: PLC0415

    from helsegraf.db import Database, track_sql  # noqa: PLC0415
    from helsegraf.models.flr import GpContract, ListMembership  # noqa: PLC0415
    from helsegraf.registers import FLR  # noqa: PLC0415

    base = Database(nation.settings)
    try:
        counts = select(func.count()).select_from(ListMembership.__table__)
        lists = select(func.count()).select_from(GpContract.__table__)
        trips = {}
        for name, second in (("fetch", "fetch"), ("fetch_alone", "fetch_alone")):
            db = base.for_request()
            with track_sql() as stats:
                a, b = await asyncio.gather(db.fetch(FLR, lists), getattr(db, second)(FLR, counts))
            trips[name] = (stats.statements, stats.round_trips)
            assert (a[0][0], b[0][0]) == (len(db_rows(nation, "SELECT id FROM flr_gp_contract")),
                                          len(db_rows(nation, "SELECT id FROM flr_list_membership")))  # fmt: skip
    finally:
        await base.dispose()
    postgres = nation.backend == "postgres" and nation.settings.fast_paths
    assert trips == {"fetch": (2, 1 if postgres else 2), "fetch_alone": (2, 2)}


EVERY_FIELD = [  # every statistics field, each asked on its own at a date
    "table(measures: [LISTED_PERSONS, LISTS_VACANT_OVER_A_YEAR], by: [MUNICIPALITY], at: $at) { referenceDate }",
    "table(measures: [LISTED_PERSONS, HEALTH_PERSONNEL, GPS], at: $at) { referenceDate }",
    "table(measures: [LISTED_PERSONS], by: [AGE_GROUP, GENDER], at: $at) { referenceDate }",
    "keyFigures(at: $at) { code }",
    "ssb12005(at: $at) { code }",
    "gpListsByMunicipality(at: $at) { lists }",
    "patientsByAgeGroupAndGender(at: $at) { ageGroup }",
    "healthPersonnelByCategory(at: $at) { personnel { value } }",
]


async def refused_everywhere(graph, nation, on: str) -> list[dict]:
    """Ask every statistics field at a date; return the errors (each must be BAD_USER_INPUT naming `at`)."""
    errors = []
    for field in EVERY_FIELD:
        before = (await graph.data(LOG))["statisticsQueryLog"]["totalCount"]
        body = (await graph.post(f"query($at: Date) {{ statistics {{ {field} }} }}", {"at": on},
                                 token=token(nation, "analyst"))).json()  # fmt: skip
        found = body.get("errors", [])
        refused = all(e["extensions"]["code"] == "BAD_USER_INPUT" and e["message"].startswith("at: ") for e in found)
        assert refused, (field, body)
        log = (await graph.data(LOG))["statisticsQueryLog"]
        assert log["totalCount"] == before + 1, (field, log)  # every attempt is logged, answered or refused
        assert log["edges"][0]["node"]["outcome"] == ("BAD_USER_INPUT" if found else "OK"), (field, log)
        assert log["edges"][0]["node"]["parameters"]["at"] == on
        errors += found
    return errors


async def test_dates_before_the_gp_scheme_are_refused_naming_at_not_internal(graph, nation) -> None:
    """Year 1 (no quarter end before it), years under 80 (no birth date 80 years before) failed INTERNAL."""
    for on in ("0001-01-01", "0001-03-31", "0050-06-30", "0080-12-31", "1900-01-01", "2001-05-31"):
        errors = await refused_everywhere(graph, nation, on)
        assert len(errors) == len(EVERY_FIELD), (on, errors)
        assert "2001-06-01" in errors[0]["message"]
    assert not await refused_everywhere(graph, nation, "2001-06-01")  # the scheme's first day: empty, answered


FINE = """query($at: Date) { statistics { table(measures: [LISTED_PERSONS], by: [MUNICIPALITY, AGE_GROUP, GENDER],
  at: $at, total: true) { referenceDate rows { key { code } values { value } } } } }"""


async def test_a_day_of_membership_changes_moves_no_count_of_persons(graph, nation, monkeypatch) -> None:
    """Counts of persons at a future quarter end, or at today when today is a quarter end, were today's
    memberships: polled before and after a day's change, the one cell that moved named the group of the
    person who joined a list (the issue's third derivation, through `at`). Now a future `at` is refused
    and a quarter end's counts are published from the day after it."""
    import helsegraf.http.context  # noqa: PLC0415

    quarter_end = reference_date(TODAY - timedelta(days=100))  # a quarter end in the data, taken as today
    monkeypatch.setattr(helsegraf.http.context, "oslo_today", lambda: quarter_end)
    analyst = token(nation, "analyst")
    tomorrow, next_quarter_end = quarter_end + timedelta(days=1), reference_date(quarter_end + timedelta(days=95))
    for on in (tomorrow, next_quarter_end, date(2100, 1, 1)):
        errors = await refused_everywhere(graph, nation, on.isoformat())
        assert len(errors) == len(EVERY_FIELD), (on, errors)
        assert "after today" in errors[0]["message"]
    asks = [None, quarter_end.isoformat()]
    before = [(await graph.data(FINE, {"at": at}, token=analyst))["statistics"]["table"] for at in asks]
    assert {t["referenceDate"] for t in before} == {reference_date(quarter_end - timedelta(days=1)).isoformat()}
    people = db_rows(nation, f"SELECT nin, patient_birth_date, patient_gender FROM flr_list_membership WHERE {ON} "
                     "AND patient_birth_date IS NOT NULL ORDER BY id LIMIT 6", on=quarter_end.isoformat())  # fmt: skip
    contract = db_rows(nation, f"SELECT id FROM flr_gp_contract WHERE {ON} ORDER BY id", on=quarter_end.isoformat())
    first_id = db_rows(nation, "SELECT max(id) + 1000 AS n FROM flr_list_membership")[0].n
    try:
        for i, person in enumerate(people):  # the day's registrations: a few persons join a list on the day
            born = person.patient_birth_date.isoformat()
            db_execute(nation, "INSERT INTO flr_list_membership (id, nin, contract_id, valid_from, patient_birth_date, "
                       f"patient_gender) VALUES ({first_id + i}, '{person.nin}', {contract[-1].id}, "
                       f"'{quarter_end.isoformat()}', '{born}', '{person.patient_gender}')")  # fmt: skip
            after = [(await graph.data(FINE, {"at": at}, token=analyst))["statistics"]["table"] for at in asks]
            assert after == before, i  # no cell follows the day's change
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")


GP_GENDERS = """query($f: StatisticsFilter, $at: Date) { statistics { table(measures: [GPS], by: [GENDER], filter: $f,
  at: $at) { rows { key { code } values { value } } } } }"""
GP_GENDER_OF = "query($h: Int!, $at: Date) { healthPersonnel(hprNumber: $h) { gpGender(at: $at) { code } } }"


async def test_gps_by_gender_tell_of_a_named_gp_only_what_the_graph_publishes(graph, nation) -> None:
    """Who serves which list is public (`GpContract.gps`), and so is a GP's gender (`HealthPersonnel.gpGender`):
    with X joining a list of Oslo in a quarter, the one cell that moved between two quarter ends is X's gender,
    by exactly one, for six women and six men taken as X in turn, and the graph tells the same (and nothing
    before X joined). Published exactly, the statistics tell no more than the graph does."""
    q2 = reference_date(TODAY, TODAY)
    q1 = reference_date(q2 - timedelta(days=1))
    doctors = db_rows(nation, "SELECT h.hpr_number, h.gender FROM hpr_person h WHERE h.hpr_number NOT IN "
                      "(SELECT hpr_number FROM flr_gp_period) ORDER BY h.hpr_number")  # fmt: skip
    women = [d.hpr_number for d in doctors if d.gender == "2"]
    men = [d.hpr_number for d in doctors if d.gender == "1"]
    candidates = [(x, "FEMALE") for x in women[:6]] + [(x, "MALE") for x in men[:6]]
    assert len(candidates) == 12, (len(women), len(men))
    oslo = db_rows(nation, "SELECT id FROM flr_gp_contract WHERE municipality_code = '0301' AND valid_to IS NULL "
                   "ORDER BY id")[0].id  # fmt: skip
    first_period = db_rows(nation, "SELECT max(id) + 1000 AS n FROM flr_gp_period")[0].n
    analyst = token(nation, "analyst")

    async def genders(on) -> dict:
        data = await graph.data(GP_GENDERS, {"f": {"municipalities": ["0301"]}, "at": on.isoformat()}, token=analyst)
        return {r["key"][0]["code"]: r["values"][0]["value"] for r in data["statistics"]["table"]["rows"]}

    async def told(hpr: int, on) -> str | None:
        found = (await graph.data(GP_GENDER_OF, {"h": hpr, "at": on.isoformat()}, token=None))["healthPersonnel"]
        return {"1": "MALE", "2": "FEMALE"}[found["gpGender"]["code"]] if found["gpGender"] else None

    try:
        for j, (x, gender) in enumerate(candidates):
            db_execute(nation, "INSERT INTO flr_gp_period (id, contract_id, hpr_number, relationship, "
                       f"working_percentage, valid_from, gp_gender) VALUES ({first_period + j}, {oslo}, {x}, "
                       f"'LPDL', 50, '{(q2 - timedelta(days=10)).isoformat()}', '{gender}')")  # fmt: skip
            before, after = await genders(q1), await genders(q2)
            assert {g: after[g] - before[g] for g in before} == {g: int(g == gender) for g in before}, (x, gender)
            assert (await told(x, q1), await told(x, q2)) == (None, gender)
            db_execute(nation, f"DELETE FROM flr_gp_period WHERE id = {first_period + j}")
    finally:
        db_execute(nation, f"DELETE FROM flr_gp_period WHERE id >= {first_period}")


async def test_gps_by_gender_take_every_public_breakdown_exactly(graph, nation) -> None:
    """GPs by gender beside a list attribute or a speciality (all public) answer, exact and equal to SQL over
    FLR and HPR; so do GP_SPECIALISTS by gender, and filters of several areas with a gender (nothing to average:
    no noise). GP_SPECIALISTS by GP_SPECIALITY stays a mistake, named."""
    on = TODAY.isoformat()
    periods = db_rows(nation, "SELECT DISTINCT p.hpr_number, p.gp_gender, c.fixed_salary, c.municipality_code "
                      "FROM flr_gp_period p JOIN flr_gp_contract c ON c.id = p.contract_id WHERE p.relationship IN "
                      "('LPFL', 'LPDL') AND p.valid_from <= :on AND (p.valid_to IS NULL OR p.valid_to > :on) AND "
                      "c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)", on=on)  # fmt: skip
    specialists = {r.hpr_number for r in db_rows(
        nation, "SELECT a.hpr_number FROM hpr_approval a JOIN hpr_speciality s ON s.approval_id = a.id WHERE "
                "s.code = '1' AND a.valid_from <= :on AND (a.valid_to IS NULL OR a.valid_to > :on) AND "
                "s.valid_from <= :on AND (s.valid_to IS NULL OR s.valid_to > :on)", on=on)}  # fmt: skip
    by_salary = await table(graph, nation, ["GPS", "GP_SPECIALISTS"], ["GENDER", "FIXED_SALARY"], total=True)
    for key, row in by_salary.items():
        inside = {p.hpr_number for p in periods
                  if not key or (p.gp_gender, "YES" if p.fixed_salary else "NO") == key}  # fmt: skip
        assert row["GPS"]["value"] == len(inside), key
        assert row["GP_SPECIALISTS"]["value"] == len(inside & specialists), key
        assert not row["GPS"]["perturbed"]
        assert not row["GP_SPECIALISTS"]["perturbed"]
    by_speciality = await table(graph, nation, ["GPS"], ["GENDER", "GP_SPECIALITY"])
    for (gender, specialist), row in by_speciality.items():
        inside = {p.hpr_number for p in periods if p.gp_gender == gender}
        assert row["GPS"]["value"] == len(inside & specialists if specialist == "YES" else inside - specialists)
    two = sorted({p.municipality_code for p in periods})[:2]
    several = await table(graph, nation, ["GPS"], [], {"municipalities": two, "genders": ["FEMALE", "MALE"]})
    assert several[()]["GPS"]["value"] == len({p.hpr_number for p in periods if p.municipality_code in two})
    body = (await graph.post(TABLE, {"m": ["GP_SPECIALISTS"], "by": ["GENDER", "GP_SPECIALITY"], "f": None,
                                     "total": False}, token=token(nation, "analyst"))).json()  # fmt: skip
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "GP_SPECIALISTS" in error["message"], error
    assert "GP_SPECIALITY" in error["message"], error
