"""Limits and refusals of the statistics fields, played through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import token
from test_statistics_tables import TABLE

SATURATED = "9,007,199,254,740,991"


async def test_every_list_argument_of_a_table_is_capped_naming_the_argument_and_its_limit(graph, nation) -> None:
    analyst = token(nation, "analyst")
    huge = 5_000
    cases = [
        ({"m": ["LISTS"], "by": ["MUNICIPALITY"] * huge, "f": None}, "by", 4),
        ({"m": ["LISTS"], "by": ["GENDER", "AGE_GROUP", "MUNICIPALITY", "OPEN_LIST", "FIXED_SALARY"]}, "by", 4),
        ({"m": ["LISTS"] * huge, "by": ["MUNICIPALITY"], "f": None}, "measures", 20),
        ({"m": ["LISTS"] * huge, "by": None, "f": None}, "measures", 20),
        ({"m": ["LISTS"] * huge, "by": ["MUNICIPALITY"] * huge, "f": None}, "measures", 20),
        ({"m": ["LISTS"], "by": None, "f": {"municipalities": ["0301"] * huge}}, "filter.municipalities", 400),
        ({"m": ["LISTS"], "by": None, "f": {"counties": ["03"] * huge}}, "filter.counties", 400),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"ageGroups": ["AGE_0_5"] * huge}}, "filter.ageGroups", 400),
        ({"m": ["LISTED_PERSONS"], "by": None, "f": {"genders": ["MALE"] * huge}}, "filter.genders", 400),
        ({"m": ["HEALTH_PERSONNEL"], "by": None, "f": {"categories": ["LE"] * huge}}, "filter.categories", 400),
    ]
    for variables, argument, limit in cases:
        response = await graph.post(TABLE, {"total": False, "f": None, **variables}, token=analyst)
        body = response.json()
        error = body["errors"][0]
        assert error["extensions"]["code"] in {"BAD_USER_INPUT", "QUERY_TOO_COMPLEX"}, (argument, body)
        assert argument in error["message"], (argument, error)
        assert f"at most {limit:,}" in error["message"], (argument, error)
        assert SATURATED not in error["message"], (argument, error)
        given = variables["m"] if argument == "measures" else variables["by"] if argument == "by" else variables["f"]
        figure = len(given) if isinstance(given, list) else len(next(iter(given.values())))
        assert f"got {figure:,}" in error["message"], (argument, error)


LOG = "{ statisticsQueryLog(first: 10) { totalCount edges { node { table outcome } } } }"
BESIDE = """{ statistics {
  big: table(measures: [LISTED_PERSONS, LISTED_PERSONS_WITH_GP, LISTED_PERSONS_WITHOUT_GP],
             by: [MUNICIPALITY, AGE_GROUP, GENDER, FIXED_SALARY]) { rows { values { value } } }
  wrong: table(measures: [LISTS], by: [AGE_GROUP]) { rows { values { value } } }
  keyFigures(county: "03") { code value }
  lists: table(measures: [LISTS]) { rows { values { value } } }
} }"""


async def test_a_refused_table_is_refused_alone_and_its_neighbours_answer_and_are_logged(graph, nation) -> None:
    analyst = token(nation, "analyst")
    before = (await graph.post(LOG, token=token(nation))).json()["data"]["statisticsQueryLog"]["totalCount"]
    response = await graph.post(BESIDE, token=analyst)
    body = response.json()
    assert response.status_code == 200, body
    statistics = body["data"]["statistics"]
    assert statistics["big"] is None, body
    assert statistics["wrong"] is None, body
    assert {f["code"] for f in statistics["keyFigures"]} >= {"GPS", "LISTS"}, body
    assert statistics["lists"]["rows"][0]["values"][0]["value"] > 0, body
    errors = {e["path"][-1]: e for e in body["errors"]}
    assert set(errors) == {"big", "wrong"}, body
    assert errors["big"]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "40,000" in errors["big"]["message"]
    assert "request" in errors["big"]["message"]
    assert errors["wrong"]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "AGE_GROUP" in errors["wrong"]["message"]

    log = (await graph.post(LOG, token=token(nation))).json()["data"]["statisticsQueryLog"]
    assert log["totalCount"] == before + 4
    logged = sorted((e["node"]["table"], e["node"]["outcome"]) for e in log["edges"][:4])
    assert logged == [("keyFigures", "OK"), ("table", "BAD_USER_INPUT"), ("table", "OK"),
                      ("table", "QUERY_TOO_COMPLEX")]  # fmt: skip
