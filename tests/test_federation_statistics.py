"""Statistics in the federated layout: the FLR subgraph serves `statistics`, and publishes reference dates.

`statistics` belongs to the FLR subgraph (schema/assembly.py: the stats module's fields are FLR's). Its
engine reads HPR's and PREG's tables itself (registers are read one statement each, never through
another subgraph), and keeps publications and the analyst query log in the audit store, which every
subgraph process reaches through its settings (the shared database, or HELSEGRAF_AUDIT_DATABASE_URL).
Played through Hive Gateway on both backends: a reference date first asked through the gateway is
published there, a late membership and a late approval move nothing asked through the gateway or the
monolith afterwards, and the two answer alike from the one publication.
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from conftest import Graph, db_rows, free_port, token
from helsegraf.federation import running
from helsegraf.http.app import create_app
from helsegraf.schema import build_schema
from test_federation import require_node
from test_statistics_fixes import db_execute
from test_statistics_published import PAST, Hpr, a_list, late, persons, stored, stored_personnel

QUERY = """query($at: Date) { statistics {
  persons: table(measures: [LISTED_PERSONS, HEALTH_PERSONNEL, LISTS], at: $at) {
    referenceDate rows { values { measure value suppressed } } }
  categories: table(measures: [HEALTH_PERSONNEL], by: [HEALTH_PERSONNEL_CATEGORY], at: $at, total: true) {
    rows { key { code } values { value suppressed } } }
  ages: table(measures: [LISTED_PERSONS], by: [AGE_GROUP, GENDER], at: $at) { rows { key { code } values { value } } }
  keyFigures(at: $at) { code value suppressed } } }"""


def test_statistics_is_the_flr_subgraphs_field() -> None:
    """Only the FLR subgraph declares `statistics` (and the analyst query log stays with the audit fields)."""
    assert "statistics: Statistics" in build_schema(["flr"]).as_str()
    for register in ("preg", "hpr", "resh", "ar", "bed", "kodeverk"):
        assert "statistics: Statistics" not in build_schema([register]).as_str(), register


async def test_a_date_published_through_the_gateway_stays_published(nation, tmp_path) -> None:
    """Through the gateway, the first table of a past quarter end publishes it (listed persons and health
    personnel, into the audit store); a membership and an approval registered afterwards, dated before it,
    move no answer through the gateway, and the monolith, on the same store, answers the same."""
    require_node()
    db_execute(nation, "SELECT 1")  # nothing published
    analyst = token(nation, "analyst")
    variables = {"at": PAST.isoformat()}
    app = create_app(nation.settings)
    monolith = Graph(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monolith"), analyst)
    contract, _municipality, _county = a_list(nation, PAST)
    first_id = db_rows(nation, "SELECT max(id) + 9000 AS n FROM flr_list_membership")[0].n
    hpr = Hpr(nation)
    try:
        with running(nation.settings, work=tmp_path / "federation", gateway_port=free_port(), base_port=0) as url:
            async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {analyst}"}) as client:

                async def through_gateway() -> dict:
                    body = (await client.post(url, json={"query": QUERY, "variables": variables})).json()
                    assert "errors" not in body, body
                    return body["data"]  # type: ignore[no-any-return]

                assert stored(nation, "audit_statistics_publication", PAST) == 0
                first = await through_gateway()
                assert first["statistics"]["persons"]["referenceDate"] == PAST.isoformat()
                assert stored(nation, "audit_statistics_publication", PAST) == 1  # by the FLR subgraph
                kept = stored_personnel(nation, PAST)
                assert kept[""] > 0
                logged = db_rows(nation, "SELECT count(*) AS n FROM audit_statistics_query")[0].n
                for i, person in enumerate(persons(nation, PAST)[:10]):
                    db_execute(nation, late(first_id + i, contract, person, PAST - timedelta(days=30)),
                               republish=False)  # fmt: skip
                for category in ("LE", "SP", "SP"):
                    hpr.approve(hpr.new_person(), category, PAST - timedelta(days=30))
                assert await through_gateway() == first
                assert db_rows(nation, "SELECT count(*) AS n FROM audit_statistics_query")[0].n > logged
        assert await monolith.data(QUERY, variables) == first
        assert stored_personnel(nation, PAST) == kept
    finally:
        db_execute(nation, f"DELETE FROM flr_list_membership WHERE id >= {first_id}")
        hpr.undo()
        db_execute(nation, "SELECT 1")
        await monolith.client.aclose()
        await app.state.db.dispose()
