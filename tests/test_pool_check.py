"""The read pool's check as a connection leaves it: a round trip only for a suspect connection.

A dead connection (its backend terminated, as a server restart does) is still found and replaced
before a read or an access-log write uses it, and a healthy one costs no extra statement; with
`HELSEGRAF_FAST_PATHS=0` every checkout sends psycopg's empty check query, as before.

The read pool exists on PostgreSQL only; on SQLite the same request is asked and must issue the
same statements with the check either way (it has no pool check at all).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select

from conftest import POSTGRES_ADMIN_URL, db_rows, token
from helsegraf.authz.access_log import LOG
from helsegraf.db import Database, check_if_suspect, suspect
from helsegraf.http.app import create_app
from helsegraf.loaders.preg import PERSON
from helsegraf.registers import AUDIT, PREG

QUERY = """query($nins: [ID!]!) { persons(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId contract { id office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }"""


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement text psycopg sends through `AsyncConnection.execute` (the pool's check among them)."""
    texts: list[str] = []
    real = psycopg.AsyncConnection.execute

    async def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        texts.append(query if isinstance(query, str) else str(query))
        return await real(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", execute)
    return texts


async def _ask(app: Any, nation: Any, sent: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Ask the integrator query once (after a first request that opens the pool); return its SQL and what was sent."""
    bearer = token(nation, "clinician", hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    headers = {"authorization": f"Bearer {bearer}"}
    body = {"query": QUERY, "variables": {"nins": [nation.samples["personWithGp"]]}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        first = await client.post("/graphql", json=body, headers=headers)
        assert first.status_code == 200, first.text
        sent.clear()
        response = await client.post("/graphql", json=body, headers=headers)
    answer = response.json()
    assert response.status_code == 200, answer
    assert "errors" not in answer, answer
    assert answer["data"]["persons"][0]["gp"]["gp"]["hprNumber"]
    return answer["extensions"]["sql"], list(sent)


async def test_a_healthy_connection_costs_no_extra_statement(nation, sent) -> None:
    app = create_app(replace(nation.settings, debug=True, fast_paths=True))
    try:
        sql, texts = await _ask(app, nation, sent)
    finally:
        await app.state.db.dispose()
    if nation.backend == "sqlite":
        assert texts == []  # no psycopg at all
        assert sql["statements"] == 7
        return
    # Exactly the request's own statements went to the server: 6 reads and the access log's insert.
    assert sql["statements"] == 7
    assert len(texts) == 7
    assert "" not in texts
    assert sql["roundTrips"] == 3


async def test_without_the_fast_paths_every_checkout_is_checked(nation, sent) -> None:
    app = create_app(replace(nation.settings, debug=True, fast_paths=False))
    try:
        sql, texts = await _ask(app, nation, sent)
    finally:
        await app.state.db.dispose()
    assert sql["statements"] == 7
    if nation.backend == "sqlite":
        assert texts == []
        return
    # No rounds without the fast paths: each statement its own checkout, each checkout its empty query.
    assert sql["roundTrips"] == 7
    assert texts.count("") == 7
    assert len(texts) == 14


async def _terminate_backends(database: str) -> None:
    """Terminate every other session on a database (as a restart would) and wait until they are gone."""
    async with await psycopg.AsyncConnection.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", [database])  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor = await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                         "AND pid <> pg_backend_pid()", [database])  # fmt: skip
            row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.05)
    pytest.fail("the terminated sessions did not go away")


@pytest.mark.postgres
@pytest.mark.parametrize("fast", [True, False])
async def test_a_dead_connection_is_found_and_replaced(postgres_nation, sent, fast: bool) -> None:
    """A write is never retried: it succeeds after a restart only because the check replaced the dead connection."""
    settings = replace(postgres_nation.settings, fast_paths=fast)
    db = Database(settings, pool_size=2)
    database = settings.url_for(AUDIT).rsplit("/", 1)[1]
    request_id = uuid.uuid4().hex
    try:
        await db.fetch(PREG, _one_person())  # the pool's connection, healthy
        pool = db.read_pools()[database]
        async with pool.connection() as conn:
            assert not suspect(conn)
        lost_before = pool.get_stats().get("connections_lost", 0)
        await _terminate_backends(database)
        # The connection's socket now holds the server's goodbye: suspect, and found dead by the check.
        conn = pool._pool[0]  # noqa: SLF001 - the idle connection itself, to look at it without a checkout
        assert suspect(conn)
        with pytest.raises(psycopg.OperationalError):
            await check_if_suspect(conn)
        sent.clear()
        await db.append(AUDIT, LOG, {}, _entry(request_id))  # a write: never run twice
        assert [t for t in sent if t.startswith("INSERT")] != []
        assert pool.get_stats().get("connections_lost", 0) > lost_before
    finally:
        await db.dispose()
    rows = db_rows(postgres_nation, "SELECT request_id FROM audit_access_log WHERE request_id = :r", r=request_id)
    assert len(rows) == 1


@pytest.mark.postgres
async def test_a_quiet_connection_is_not_suspect_and_goes_out_unchecked(postgres_nation, sent, monkeypatch) -> None:
    """The check function alone: a quiet connection costs nothing, a closed one is suspect."""
    checked: list[Any] = []
    real = AsyncConnectionPool.check_connection

    async def counting(conn: Any) -> None:
        checked.append(conn)
        await real(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counting))
    url = postgres_nation.settings.effective_database_url.replace("+psycopg", "")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT 1")
        sent.clear()
        await check_if_suspect(conn)
        assert checked == []
        assert sent == []
        await conn.close()
        assert suspect(conn)
        with pytest.raises(psycopg.OperationalError):
            await check_if_suspect(conn)
        assert checked == [conn]


def _one_person() -> Any:
    return select(PERSON).limit(1)


def _entry(request_id: str) -> dict[str, list[Any]]:
    """One access-log row (a synthetic person), column by column as `Database.append` takes it."""
    return {"at": [datetime.now(UTC)], "request_id": [request_id], "nin": [None], "subject_hpr_number": [1],
            "subject": ["pool-check"], "role": ["clinician"], "hpr_number": [1], "org_number": [None],
            "client_id": [None], "purpose": [None], "scopes": ["test"], "fields": ["test"]}  # fmt: skip
