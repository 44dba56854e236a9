"""Statistics for analysts: right counts, small cells suppressed, nothing identifying reachable."""

from __future__ import annotations

from collections import Counter

from conftest import TODAY, db_rows, token

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"
STATS = """{ statistics {
  gpListsByMunicipality { municipality { code name } lists openLists patients { value suppressed } }
  patientsByAgeGroupAndGender { ageGroup gender patients { value suppressed } }
  healthPersonnelByCategory { category { code text } personnel { value suppressed } } } }"""


async def test_analyst_gets_counts_that_match_the_registers(graph, nation) -> None:
    on = TODAY.isoformat()
    contracts = db_rows(nation, f"SELECT id, municipality_code, is_open FROM flr_gp_contract WHERE {ON}", on=on)
    sizes = Counter(
        r.contract_id for r in db_rows(nation, f"SELECT contract_id FROM flr_list_membership WHERE {ON}", on=on)
    )
    personnel = Counter(r.category for r in db_rows(
        nation, f"SELECT DISTINCT hpr_number, category FROM hpr_approval WHERE {ON}", on=on))  # fmt: skip

    stats = (await graph.data(STATS, token=token(nation, "analyst")))["statistics"]

    by_code = {row["municipality"]["code"]: row for row in stats["gpListsByMunicipality"]}
    for code in {c.municipality_code for c in contracts}:
        mine = [c for c in contracts if c.municipality_code == code]
        patients = sum(sizes[c.id] for c in mine)
        row = by_code[code]
        assert row["lists"] == len(mine)
        assert row["openLists"] == sum(1 for c in mine if c.is_open)
        assert row["patients"] == (
            {"value": None, "suppressed": True} if 0 < patients < 5 else {"value": patients, "suppressed": False}
        )
    for row in stats["healthPersonnelByCategory"]:
        count = personnel[row["category"]["code"]]
        assert row["personnel"]["suppressed"] is (0 < count < 5)
        assert row["personnel"]["value"] == (None if 0 < count < 5 else count)
    assert any(row["personnel"]["suppressed"] for row in stats["healthPersonnelByCategory"]), (
        "no small cell to suppress"
    )
    total = sum(c["patients"]["value"] or 0 for c in stats["patientsByAgeGroupAndGender"])
    assert total <= sum(sizes.values())
    assert total > 0.9 * sum(sizes.values())


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
