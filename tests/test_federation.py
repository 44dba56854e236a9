"""Federation: subgraphs compose, entities resolve in batches, and Hive Gateway answers as the monolith does."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date

import httpx
import pytest

from conftest import Graph, db_rows, free_port, token
from helsegraf.authz.tokens import AuthSettings
from helsegraf.db import track_sql
from helsegraf.federation import Subgraph, compose, node_ready, running, write_subgraphs
from helsegraf.http.app import create_app
from helsegraf.registers import REGISTERS
from helsegraf.schema import build_schema


def require_node() -> None:
    missing = node_ready()
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the federation tests must run under CI=true: {missing}")
    pytest.skip(missing)


def test_every_register_subgraph_composes_into_one_supergraph(tmp_path) -> None:
    require_node()
    listing = write_subgraphs(tmp_path, [Subgraph(name, 5000 + i) for i, name in enumerate(REGISTERS)])

    compose(listing, tmp_path / "supergraph.graphql")

    supergraph = (tmp_path / "supergraph.graphql").read_text()
    assert '@join__graph(name: "flr", url: "http://127.0.0.1:5001/graphql")' in supergraph
    assert "gp(at: Date = null): GpAssignment @join__field(graph: FLR)" in " ".join(supergraph.split())


def test_a_register_subgraph_serves_only_its_fields_and_stubs_other_entities() -> None:
    flr = " ".join(build_schema(["flr"]).as_str().split())
    ar = " ".join(build_schema(["ar"]).as_str().split())

    assert 'type Person @key(fields: "nin") {' in flr
    person = flr.split('type Person @key(fields: "nin") {', 1)[1].split("}", 1)[0]
    assert "gp(" in person
    assert "gpHistory" in person
    assert "name" not in person
    assert "birthDate" not in person
    assert "person(nin" not in flr
    assert "gpContracts(" in flr
    assert 'officeCommunicationParty: CommunicationParty @requires(fields: "gpHerId")' in ar
    assert "gpHerId: Int @external" in ar


async def test_entities_resolve_a_thousand_representations_in_one_statement_per_register(make_graph, nation) -> None:
    hprs = [r.hpr_number for r in db_rows(nation, "SELECT hpr_number FROM hpr_person ORDER BY hpr_number LIMIT 200")]
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT :n", n=1000 - len(hprs))]
    graph = await make_graph(default_token=token(nation), registers=frozenset({"preg", "hpr"}))
    representations = [{"__typename": "Person", "nin": n} for n in nins] + [
        {"__typename": "HealthPersonnel", "hprNumber": h} for h in hprs
    ]
    query = ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { nin name { full } } "
             "... on HealthPersonnel { hprNumber name { full } } } }")  # fmt: skip

    with track_sql() as stats:
        body = await graph.query(query, {"r": representations})

    found = body["data"]["_entities"]
    assert [e["nin"] for e in found[: len(nins)]] == nins
    assert [e["hprNumber"] for e in found[len(nins) :]] == hprs
    assert all(e["name"]["full"] for e in found)
    reads = [s for s in stats.log if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, stats.log  # one for PREG, one for HPR
    assert stats.statements == 3  # and the access log's one insert


QUERIES = {
    "patients": ("query($nins: [ID!]!) { persons(nins: $nins) { nin name { full } gp { gp { hprNumber name { full } } "
                 "gpHerId contract { id office { orgNumber name } } "
                 "officeCommunicationParty { herId electronicAddresses } } } }"),
    "authorization": ("query($h: Int!, $c: String!, $d: Date!) { healthPersonnel(hprNumber: $h) { name { full } "
                      "authorization(category: $c, at: $d) { authorized reason "
                      "approval { category { code text } } } } }"),
    "contracts": ("query($m: String!) { gpContracts(municipality: $m, first: 20) { totalCount edges { node { id isOpen "
                  "placesAvailable municipality { name } office { name } gps { relationship gp { name { full } } } "
                  "patients(first: 3) { totalCount } } } } }"),
    "resh": ("query($r: Int!) { reshUnit(reshId: $r) { name services { text } children { name children { name "
             "organization { name } children { name unitType } } } } }"),
    "family": ("query($nin: ID!) { person(nin: $nin) { nin name { full } address { street } "
               "children { nin name { full } gp { id } } } }"),
}  # fmt: skip


def _variables(nation, name: str) -> dict:
    samples = nation.samples
    if name == "patients":
        return {
            "nins": [
                r.nin for r in db_rows(nation, "SELECT DISTINCT nin FROM flr_list_membership ORDER BY nin LIMIT 100")
            ]
        }
    if name == "authorization":
        return {
            "h": samples["suspendedHprNumber"],
            "c": samples["suspendedCategory"],
            "d": samples["dateInsideSuspension"],
        }
    if name == "contracts":
        return {"m": samples["municipalityWithOpenLists"]}
    if name == "resh":
        return {
            "r": db_rows(nation, "SELECT resh_id FROM resh_unit WHERE unit_type = 'HF' ORDER BY resh_id LIMIT 1")[
                0
            ].resh_id
        }
    return {"nin": samples["parentOfChild"]}


def _forbidden_paths(body: dict) -> set[tuple]:
    """Return the redactions reported as FORBIDDEN errors, as (field path without list indexes, reason).

    The gateway reports an error raised inside an entity batch at the field's path without the
    list index, so only the shape of the path is compared; the data comparison pins each null.
    """
    return {(tuple(p for p in e["path"] if isinstance(p, str)), e["extensions"]["reason"])
            for e in body.get("errors", []) if e.get("extensions", {}).get("code") == "FORBIDDEN"}  # fmt: skip


@pytest.mark.postgres
async def test_the_gateway_answers_as_the_monolith_does(postgres_nation, tmp_path) -> None:
    require_node()
    nation = postgres_nation
    roles = {
        "anonymous": None,
        "clinician": token(
            nation, "clinician", hpr_number=nation.samples["gpHprNumber"], org_number=nation.samples["officeOrgNumber"]
        ),
        "citizen": token(nation, "citizen", pid=nation.samples["parentOfChild"]),
        "admin": token(nation, "admin"),
    }
    settings = replace(nation.settings, auth=AuthSettings(redactions_as_errors=True))
    app = create_app(settings)
    monolith = Graph(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monolith"), None)
    mismatches = []

    with running(settings, work=tmp_path / "federation", gateway_port=free_port(), base_port=0,
                 env={"HELSEGRAF_AUTH_REDACTIONS_AS_ERRORS": "1"}) as gateway:  # fmt: skip
        async with httpx.AsyncClient(timeout=60) as client:
            for name, query in QUERIES.items():
                variables = _variables(nation, name)
                for role, bearer in roles.items():
                    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
                    expected = (await monolith.post(query, variables, token=bearer)).json()
                    answered = (
                        await client.post(gateway, json={"query": query, "variables": variables}, headers=headers)
                    ).json()
                    if answered.get("data") != expected.get("data"):
                        mismatches.append(
                            f"{name} as {role}: data differs\n"
                            f" gateway: {str(answered)[:600]}\n monolith: {str(expected)[:600]}"
                        )
                    if _forbidden_paths(answered) != _forbidden_paths(expected):
                        mismatches.append(
                            f"{name} as {role}: redactions differ "
                            f"{_forbidden_paths(answered) ^ _forbidden_paths(expected)}"
                        )

    await monolith.client.aclose()
    await app.state.db.dispose()
    assert not mismatches, "\n".join(mismatches)
    assert date.fromisoformat(nation.samples["dateInsideSuspension"])
