"""Statistics for analysts: exact counts of lists, perturbed counts of persons, nothing identifying reachable."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from conftest import TODAY, db_rows, token, unpublish
from helsegraf.stats.engine import reference_date

REF = reference_date(TODAY, TODAY)  # the date counts of persons asked for today describe (the last quarter end)

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
STATS = """{ statistics {
  gpListsByMunicipality { municipality { code name } lists openLists patients { value suppressed } }
  patientsByAgeGroupAndGender { ageGroup gender patients { value suppressed } }
  healthPersonnelByCategory { category { code text } personnel { value suppressed } } } }"""


async def test_analyst_gets_counts_that_match_the_registers(graph, nation) -> None:
    on, ref = TODAY.isoformat(), REF.isoformat()
    contracts = db_rows(nation, f"SELECT id, municipality_code, is_open FROM flr_gp_contract WHERE {ON}", on=on)
    then = db_rows(nation, f"SELECT id, municipality_code FROM flr_gp_contract WHERE {ON}", on=ref)
    sizes = Counter(
        r.contract_id for r in db_rows(nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}", on=ref)
    )
    personnel = Counter(r.category for r in db_rows(
        nation, f"SELECT DISTINCT hpr_number, category FROM hpr_approval WHERE {ON}", on=ref))  # fmt: skip

    stats = (await graph.data(STATS, token=token(nation, "analyst")))["statistics"]

    by_code = {row["municipality"]["code"]: row for row in stats["gpListsByMunicipality"]}
    for code in {c.municipality_code for c in contracts}:
        mine = [c for c in contracts if c.municipality_code == code]
        patients = sum(sizes[c.id] for c in then if c.municipality_code == code)  # at the reference date
        row = by_code[code]
        assert row["lists"] == len(mine)
        assert row["openLists"] == sum(1 for c in mine if c.is_open)
        assert_perturbed(row["patients"], patients)
    for row in stats["healthPersonnelByCategory"]:
        assert_perturbed(row["personnel"], personnel[row["category"]["code"]])
    assert any(row["personnel"]["suppressed"] for row in stats["healthPersonnelByCategory"]), (
        "no small cell to suppress"
    )
    assert_cells(stats["patientsByAgeGroupAndGender"], expected_age_gender_cells(nation))


def assert_perturbed(published: dict, true: int) -> None:
    """A published count of persons is the true count give or take 2, suppressed when under 5."""
    if published["suppressed"]:
        assert published["value"] is None
        assert true < 5 + 2, f"a true count of {true} cannot come out under 5 with noise of at most -2"
    else:
        assert published["value"] >= 5, published
        assert abs(published["value"] - true) <= 2, (published, true)


def assert_cells(cells: list[dict], expected: list[dict]) -> None:
    assert [(c["ageGroup"], c["gender"]) for c in cells] == [(c["ageGroup"], c["gender"]) for c in expected]
    for cell, true in zip(cells, expected, strict=True):
        assert_perturbed(cell["patients"], true["count"])


# The listed patients at a date, as PREG has them (the test may join registers; the server may not).
LISTED = """SELECT p.birth_date, p.gender FROM flr_list_membership m
  JOIN flr_gp_contract c ON c.id = m.contract_id JOIN preg_person p ON p.nin = m.nin
  WHERE m.valid_from <= :on AND (m.valid_to IS NULL OR m.valid_to > :on)
    AND c.valid_from <= :on AND (c.valid_to IS NULL OR c.valid_to > :on)"""
STATEMENTS = 3  # a published reference date: its publication row, its lists (with their groups); the query-log row
# The first table of a reference date publishes it: the publication row (none), FLR's lists and their
# doctors, the listed persons grouped in FLR, HPR's health personnel grouped, the claim, whether other
# secrets' publications are there, the lists (with their groups) and the health personnel written; the
# query-log row.
PUBLISHING = 10
AGE_GENDER = """query($m: String) { statistics {
  patientsByAgeGroupAndGender(municipality: $m) { ageGroup gender patients { value suppressed } } } }"""


def expected_age_gender_cells(nation, municipality: str | None = None) -> list[dict]:
    sql = LISTED + (" AND c.municipality_code = :m" if municipality else "")
    cells: Counter[tuple[str, str]] = Counter()
    for row in db_rows(nation, sql, on=REF.isoformat(), m=municipality):
        age = REF.year - row.birth_date.year - ((REF.month, REF.day) < (row.birth_date.month, row.birth_date.day))
        bounds = [5, 15, 19, 29, 39, 49, 59, 69, 79]
        index = next((i for i, high in enumerate(bounds) if age <= high), len(bounds))
        low = [0, 6, 16, 20, 30, 40, 50, 60, 70, 80][index]
        cells[f"{low}+" if index == len(bounds) else f"{low}-{bounds[index]}", row.gender] += 1
    groups = ["0-5", "6-15", "16-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
    return [{"ageGroup": group, "gender": gender, "count": cells[group, gender]}
            for group in groups for gender in ("FEMALE", "MALE")]  # fmt: skip


async def test_age_and_gender_are_counted_in_flr_with_one_statement(graph, nation) -> None:
    oslo = await graph.query(AGE_GENDER, {"m": "0301"}, token=token(nation, "analyst"))
    national = await graph.query(AGE_GENDER, token=token(nation, "analyst"))

    assert_cells(oslo["data"]["statistics"]["patientsByAgeGroupAndGender"], expected_age_gender_cells(nation, "0301"))
    assert_cells(national["data"]["statistics"]["patientsByAgeGroupAndGender"], expected_age_gender_cells(nation))
    assert sum(c["patients"]["value"] or 0 for c in oslo["data"]["statistics"]["patientsByAgeGroupAndGender"]) > 0
    # Published by the first: read from the publication, not FLR
    assert national["extensions"]["sql"]["statements"] == STATEMENTS


RESTORE = """UPDATE flr_list_membership SET
  patient_birth_date = (SELECT birth_date FROM preg_person p WHERE p.nin = flr_list_membership.nin),
  patient_gender = (SELECT gender FROM preg_person p WHERE p.nin = flr_list_membership.nin)
  WHERE patient_birth_date IS NULL"""


async def test_memberships_without_the_patients_data_are_looked_up_in_preg(graph, nation) -> None:
    """Rows recorded before FLR held the patient's birth date and gender still count, through PREG."""
    before = await graph.query(AGE_GENDER, token=token(nation, "analyst"))
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE flr_list_membership SET patient_birth_date = NULL, patient_gender = NULL "
                              "WHERE id % 3 = 0"))  # fmt: skip
            unpublish(conn)  # the rows as if always recorded so
        body = await graph.query(AGE_GENDER, token=token(nation, "analyst"))
    finally:
        with engine.begin() as conn:
            conn.execute(text(RESTORE))
            unpublish(conn)  # the rows as if always recorded so
        engine.dispose()

    # The same records get the same record keys whichever way their age and gender is found: the same noise.
    assert (
        body["data"]["statistics"]["patientsByAgeGroupAndGender"]
        == before["data"]["statistics"]["patientsByAgeGroupAndGender"]
    )
    assert_cells(body["data"]["statistics"]["patientsByAgeGroupAndGender"], expected_age_gender_cells(nation))
    # Published anew (the rows changed as if always so), and the memberships without them, PREG
    assert body["extensions"]["sql"]["statements"] == PUBLISHING + 2


ONE_MISSING = """UPDATE flr_list_membership SET
  patient_gender = CASE WHEN id % 3 = 0 THEN NULL ELSE patient_gender END,
  patient_birth_date = CASE WHEN id % 3 = 1 THEN NULL ELSE patient_birth_date END"""
RESTORE_EITHER = """UPDATE flr_list_membership SET
  patient_birth_date = (SELECT birth_date FROM preg_person p WHERE p.nin = flr_list_membership.nin),
  patient_gender = (SELECT gender FROM preg_person p WHERE p.nin = flr_list_membership.nin)
  WHERE patient_birth_date IS NULL OR patient_gender IS NULL"""
BY = """query($by: [StatisticsDimension!]) { statistics { table(measures: [LISTED_PERSONS], by: $by, total: true) {
  rows { key { code } values { value suppressed } } } } }"""


async def test_a_membership_missing_only_its_gender_or_only_its_birth_date_is_counted_once(graph, nation) -> None:
    """A row with its birth date but no gender is in the grouped statement's age groups *and* among the rows
    looked up in PREG (which took every row missing either): by age group alone it counted twice."""
    analyst = token(nation, "analyst")
    expected = {(c["ageGroup"], c["gender"]): c["count"] for c in expected_age_gender_cells(nation)}
    by_age, by_gender = Counter(), Counter()
    for (age, gender), n in expected.items():
        by_age[age] += n
        by_gender[gender] += n
    engine = nation.engine()
    try:
        with engine.begin() as conn:
            conn.execute(text(ONE_MISSING))
            unpublish(conn)  # the rows as if always recorded so
        tables = {}
        for by in (["AGE_GROUP"], ["GENDER"], ["AGE_GROUP", "GENDER"]):
            rows = (await graph.data(BY, {"by": by}, token=analyst))["statistics"]["table"]["rows"]
            tables[tuple(by)] = {tuple(k["code"] for k in r["key"]): r["values"][0] for r in rows}
    finally:
        with engine.begin() as conn:
            conn.execute(text(RESTORE_EITHER))
            unpublish(conn)  # the rows as if always recorded so
        engine.dispose()
    everyone = sum(expected.values())
    for cells, truth in ((tables["AGE_GROUP",], by_age), (tables["GENDER",], by_gender)):
        for key, published in cells.items():
            assert_perturbed(published, truth[key[0]] if key else everyone)
    for key, published in tables["AGE_GROUP", "GENDER"].items():
        assert_perturbed(published, expected[key] if key else everyone)


async def test_statistics_need_stats_read(graph, nation) -> None:
    clinician = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    query = "{ statistics { healthPersonnelByCategory { personnel { value } } } }"
    body = (await graph.post(query, token=clinician)).json()

    assert body["data"] == {"statistics": None}
    assert body["extensions"]["redactions"] == [{"path": ["statistics"], "reason": "MISSING_SCOPE"}]


async def test_an_analyst_reaches_no_direct_identifier(graph, nation) -> None:
    analyst = token(nation, "analyst")
    query = ("query($nin: ID!, $c: ID!) { person(nin: $nin) { name { full } birthDate address { street } gp { id } "
             "parents { nin } healthPersonnel { hprNumber } } "
             "gpContract(id: $c) { patients { edges { node { nin } } } } }")  # fmt: skip

    body = (
        await graph.post(
            query, {"nin": nation.samples["personWithGp"], "c": nation.samples["gpContractId"]}, token=analyst
        )
    ).json()

    person = body["data"]["person"]
    assert all(value is None for key, value in person.items())
    assert body["data"]["gpContract"]["patients"] is None
    assert {r["reason"] for r in body["extensions"]["redactions"]} == {"MISSING_SCOPE"}
