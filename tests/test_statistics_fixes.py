"""Defects a reviewer found in the statistics engine, each played through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

from conftest import TODAY, db_rows, token
from test_statistics import assert_perturbed
from test_statistics_tables import TABLE, table

ON = "valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)"


async def test_every_filter_works_on_both_backends(graph, nation) -> None:
    on = TODAY.isoformat()
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
