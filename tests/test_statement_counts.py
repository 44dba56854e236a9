"""The SQL statements a request issues depend on the query's shape, never on the number of rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from conftest import TODAY, db_rows
from helsegraf.db import track_sql

INTEGRATOR_QUERY = """
query($nins: [ID!]!) { persons(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId
  contract { id office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }
"""
CONTRACTS_QUERY = """
query($first: Int) { gpContracts(first: $first) { totalCount edges { node { id listSize
  office { name } gps { relationship gp { name { full } approvals { category { text } validFrom } } } } } } }
"""
RESH_TREE_QUERY = """
query($r: Int!) { reshUnit(reshId: $r) { name children { name children { name children { name unitType } } } } }
"""


@contextmanager
def statements(graph) -> Iterator[list[str]]:
    """Collect every SQL statement the app issues inside the block (the app's own accounting)."""
    del graph
    with track_sql() as stats:
        yield stats.log


def explain(seen: list[str]) -> str:
    return f"{len(seen)} statements:\n" + "\n---\n".join(s if len(s) < 400 else s[:400] + " ..." for s in seen)


async def count(graph, query: str, variables: dict) -> tuple[int, dict, list[str]]:
    with statements(graph) as seen:
        body = await graph.query(query, variables)
    assert body["extensions"]["sql"]["statements"] == len(seen), explain(seen)
    return len(seen), body["data"], seen


async def test_integrator_query_costs_the_same_for_one_and_a_thousand_patients(graph, nation) -> None:
    on = TODAY.isoformat()
    nins = [r.nin for r in db_rows(
        nation, "SELECT DISTINCT nin FROM flr_list_membership WHERE gp_her_id IS NOT NULL AND valid_from <= :on "
        "AND (valid_to IS NULL OR valid_to > :on) ORDER BY nin", on=on)][:1000]  # fmt: skip
    assert len(nins) == 1000

    one, _, seen_one = await count(graph, INTEGRATOR_QUERY, {"nins": nins[:1]})
    thousand, data, seen_thousand = await count(graph, INTEGRATOR_QUERY, {"nins": nins})

    assert one == thousand, f"one patient: {explain(seen_one)}\n\na thousand: {explain(seen_thousand)}"
    assert thousand <= 10, explain(seen_thousand)
    # Six reads and the access log's one insert: PREG's persons; FLR's memberships, and beside them the lists'
    # contracts with their GP periods (one statement over FLR's tables); AR's parties; HPR's doctors; BED's offices.
    assert thousand == 7, explain(seen_thousand)
    assert all(p["gp"]["officeCommunicationParty"]["electronicAddresses"] for p in data["persons"])


async def test_contract_list_costs_the_same_for_one_and_a_hundred(graph) -> None:
    one, _, seen_one = await count(graph, CONTRACTS_QUERY, {"first": 1})
    hundred, data, seen_hundred = await count(graph, CONTRACTS_QUERY, {"first": 100})

    assert len(data["gpContracts"]["edges"]) > 1
    assert one == hundred, f"one: {explain(seen_one)}\n\nhundred: {explain(seen_hundred)}"
    assert hundred == 8, explain(seen_hundred)


@pytest.mark.parametrize("root_type", ["RHF", "HF"])
async def test_resh_subtree_costs_the_same_for_any_root(graph, nation, root_type: str) -> None:
    roots = [
        r.resh_id
        for r in db_rows(nation, "SELECT resh_id FROM resh_unit WHERE unit_type = :t ORDER BY resh_id", t=root_type)
    ]

    costs = [(await count(graph, RESH_TREE_QUERY, {"r": root}))[0] for root in roots]

    assert set(costs) == {7}, costs


HPR_CONTRACT_QUERY = """
query($first: Int) { gpContracts(first: $first) { edges { node { gps { gp {
  lastChanged replacedHprNumbers gender { text } alternativeIds { value } administrativeReactions { validFrom }
  approvals { closingStatus { code } conditions { freeText } additionalCompetences { code text }
    specialities { code suspensions { validFrom } } }
  authorization(category: "LE", at: "2025-06-01", speciality: "1") { authorized reason } } } } } } }
"""


async def test_hpr_contract_fields_cost_the_same_for_one_and_many_contracts(graph) -> None:
    one, _, seen_one = await count(graph, HPR_CONTRACT_QUERY, {"first": 1})
    many, data, seen_many = await count(graph, HPR_CONTRACT_QUERY, {"first": 25})

    assert len(data["gpContracts"]["edges"]) > 1
    assert one == many, f"one: {explain(seen_one)}\n\nmany: {explain(seen_many)}"
    assert many == 14, explain(seen_many)  # one per table and level, whatever the number of contracts


AR_CONTRACT_QUERY = """
query($first: Int) { gpContracts(first: $first) { edges { node { office { communicationParties {
  displayName businessType { text } certificates(usage: SIGNING) { serialNumber validTo }
  physicalAddresses { type { text } postalCode } futureElectronicAddresses { address }
  children { service { code } coverageAreas { name } certificates { usage } } } } } } } }
"""


async def test_ar_contract_fields_cost_the_same_for_one_and_many_contracts(graph) -> None:
    one, _, seen_one = await count(graph, AR_CONTRACT_QUERY, {"first": 1})
    many, data, seen_many = await count(graph, AR_CONTRACT_QUERY, {"first": 25})

    assert len(data["gpContracts"]["edges"]) > 1
    assert one == many, f"one: {explain(seen_one)}\n\nmany: {explain(seen_many)}"
    assert many == 12, explain(seen_many)  # one per table and level, whatever the number of contracts


RESH_CONTRACT_QUERY = """
query($r: Int!) { reshUnit(reshId: $r) { children { children { displayName organizationalLevel { text }
  organizationalDesignation { text } treatmentFacility { name } topOrganization { name }
  serviceDetails { code { text } owner { name } } } } } }
"""


async def test_resh_contract_fields_cost_the_same_for_any_health_trust(graph, nation) -> None:
    trusts = [
        r.resh_id for r in db_rows(nation, "SELECT resh_id FROM resh_unit WHERE unit_type = 'HF' ORDER BY resh_id")
    ]

    costs = {(await count(graph, RESH_CONTRACT_QUERY, {"r": trust}))[0] for trust in trusts}

    assert costs == {9}, costs  # one per table and level, whatever the tree
