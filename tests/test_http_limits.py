"""Limits: just under passes, just over is refused with QUERY_TOO_COMPLEX naming the limit and the value."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import replace

import psycopg
import pytest
from graphql import GraphQLError, parse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from conftest import db_rows
from helsegraf.config import HttpSettings
from helsegraf.db import Database, track_sql
from helsegraf.http.errors import format_error
from helsegraf.http.limits import Limits, check
from helsegraf.schema import build_schema


def nested(depth: int) -> str:
    """A RESH query whose deepest field sits at `depth`."""
    return (
        "query($r: Int!) { reshUnit(reshId: $r) { " + "parent { " * (depth - 1) + "reshId" + " }" * (depth - 1) + " } }"
    )


def refusal(body: dict) -> dict:
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert "data" not in body
    return error


async def test_depth_just_under_passes_and_just_over_is_refused(make_graph, nation) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(max_depth=5))
    resh = {"r": nation.samples["reshIdWithParentHistory"]}

    under = await graph.post(nested(5), resh)
    over = await graph.post(nested(6), resh, accept="application/graphql-response+json")

    assert under.status_code == 200
    assert "errors" not in under.json()
    assert over.status_code == 400
    error = refusal(over.json())
    assert error["message"] == "query depth 6 exceeds the limit of 5"
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "query depth", "value": 6, "maximum": 5}


async def test_aliases_limit(make_graph) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(max_aliases=3))
    query = lambda n: "{ " + " ".join(f'a{i}: codes(system: "9060") {{ code }}' for i in range(n)) + " }"  # noqa: E731

    under, over = await graph.post(query(3)), await graph.post(query(4))

    assert "errors" not in under.json()
    assert refusal(over.json())["extensions"]["value"] == 4


async def test_tokens_limit(make_graph) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(max_tokens=10))
    query = lambda n: "{" + " __typename" * (n - 2) + " }"  # noqa: E731 - n tokens

    under, over = await graph.post(query(10)), await graph.post(query(11))

    assert under.json() == {"data": {"__typename": "Query"}}
    error = refusal(over.json())
    assert error["extensions"]["limit"] == "tokens"
    assert "10 tokens" in error["message"]


async def test_body_size_limit(make_graph) -> None:
    graph = await make_graph(default_token=None, http=HttpSettings(max_body_bytes=200))

    def body(size: int) -> bytes:
        raw = json.dumps({"query": "{ __typename }", "pad": ""}).encode()
        return json.dumps({"query": "{ __typename }", "pad": "x" * (size - len(raw))}).encode()

    under = await graph.client.post("/graphql", content=body(200), headers={"content-type": "application/json"})
    over = await graph.client.post("/graphql", content=body(201), headers={"content-type": "application/json"})

    assert under.status_code == 200
    assert over.status_code == 413
    error = over.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "201 exceeds the limit of 200" in error["message"]


QUERY = "query($nins: [ID!]!) { persons(nins: $nins) { nin gp { contract { gps { gp { name { full } } } } } } }"


async def test_cost_limit_counts_list_sizes(make_graph, nation) -> None:
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 20")]
    cost = check(parse(QUERY), build_schema()._schema, None, {"nins": nins}, Limits())  # noqa: SLF001
    at_limit = await make_graph(http=HttpSettings(max_cost=cost))
    below = await make_graph(http=HttpSettings(max_cost=cost - 1))

    passes = await at_limit.post(QUERY, {"nins": nins})
    refused = await below.post(QUERY, {"nins": nins})

    assert cost == 20 + 20 * (
        1 + 1 + 1 + 3 + 3 * 3
    )  # persons; each: nin, gp, contract, 3 gps, each gps: gp, name, full
    assert "errors" not in passes.json()
    assert refusal(refused.json())["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "query cost", "value": cost,
                                                      "maximum": cost - 1}  # fmt: skip


async def test_a_document_asked_again_is_measured_by_the_sizes_of_its_variables(make_graph, nation) -> None:
    """A measure kept for a document asked again (by its lists' lengths) never lets a longer list past the limit."""
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 21")]
    cost = check(parse(QUERY), build_schema()._schema, None, {"nins": nins[:20]}, Limits())  # noqa: SLF001
    graph = await make_graph(http=HttpSettings(max_cost=cost))

    for asked in (nins[:20], nins, nins[1:], nins[:20], nins[:1], nins):
        body = (await graph.post(QUERY, {"nins": asked})).json()
        if len(asked) <= 20:  # the size the limit was measured for
            assert "errors" not in body, (len(asked), body)
        else:
            assert refusal(body)["extensions"]["value"] > cost


async def test_a_query_that_would_touch_millions_of_rows_is_refused_before_it_runs(graph) -> None:
    query = ("{ gpContracts(first: 100) { edges { node { patients(first: 100) { edges { node { name { full } "
             "gpHistory { contract { gps { gp { approvals { category { text } } } } } } } } } } } } }")  # fmt: skip

    with track_sql() as stats:
        response = await graph.post(query)

    error = refusal(response.json())
    assert error["extensions"]["limit"] == "query cost"
    assert error["extensions"]["value"] > 1_000_000
    assert stats.statements == 0


@pytest.mark.postgres
async def test_the_statement_timeout_stops_a_runaway_statement(postgres_nation) -> None:

    settings = replace(postgres_nation.settings, http=HttpSettings(statement_timeout_ms=50))
    db = Database(settings)
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            await db._run_pg("flr", "SELECT pg_sleep(1)", {})  # noqa: SLF001
    finally:
        await db.dispose()
    error = format_error(
        GraphQLError("x", original_error=psycopg.errors.QueryCanceled("canceling statement")), "r1", pre_execution=False
    )
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "statement timeout" in error["message"]


COUNT_TO = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT count(*) FROM c"
RUNAWAY = text(COUNT_TO.format(n=20_000_000))  # several seconds of SQLite work
QUICK = text(COUNT_TO.format(n=20_000))


async def test_the_statement_timeout_stops_a_runaway_statement_on_sqlite(sqlite_nation) -> None:
    settings = replace(sqlite_nation.settings, http=HttpSettings(statement_timeout_ms=200))
    db = Database(settings)
    try:
        async with db.engine("flr").connect() as conn:
            started = time.monotonic()
            with pytest.raises(OperationalError) as stopped:
                await conn.execute(RUNAWAY)
            elapsed = time.monotonic() - started
            # The deadline is per statement: the next one on the same connection runs in full.
            [(count,)] = (await conn.execute(QUICK)).all()
    finally:
        await db.dispose()

    assert 0.2 <= elapsed < 2, f"the statement was stopped after {elapsed:.2f} s (limit 0.2 s)"
    assert count == 20000
    error = format_error(GraphQLError("x", original_error=stopped.value), "r1", pre_execution=False)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == "statement timeout"


async def test_a_cancelled_sqlite_statement_is_still_stopped_by_the_timeout(sqlite_nation) -> None:
    """A cancelled request's statement keeps running in aiosqlite's thread: the deadline must still stop it."""
    db = Database(replace(sqlite_nation.settings, http=HttpSettings(statement_timeout_ms=200)))

    async def runaway() -> None:
        async with db.engine("flr").connect() as conn:
            await conn.execute(RUNAWAY)

    try:
        started = time.monotonic()
        task = asyncio.create_task(runaway())
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, OperationalError):
            await task
        settled = time.monotonic() - started
    finally:
        await db.dispose()

    assert settled < 2, f"the cancelled statement ran for {settled:.2f} s (limit 0.2 s)"


async def test_sqlite_statements_are_unbounded_when_the_timeout_is_off(sqlite_nation) -> None:
    db = Database(replace(sqlite_nation.settings, http=HttpSettings(statement_timeout_ms=0)))
    try:
        async with db.engine("flr").connect() as conn:
            [(count,)] = (await conn.execute(QUICK)).all()
    finally:
        await db.dispose()

    assert count == 20000
