"""Rounds: the independent reads of one level share one PostgreSQL round trip (psycopg's pipeline mode).

The answers, the redactions, the access log and the statements are the same with rounds and without
them; only the round trips differ. A statement that fails in a round fails as it would alone, and the
others of its round are answered all the same.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import httpx
import psycopg
import pytest
from sqlalchemy import select, text

from conftest import TODAY, db_rows, token
from helsegraf.config import HttpSettings
from helsegraf.db import Database, track_sql
from helsegraf.http.app import create_app
from helsegraf.loaders.flr import MEMBERSHIP, MEMBERSHIPS
from helsegraf.loaders.hpr import PERSON as HPR_PERSON
from helsegraf.loaders.hpr import PERSONS as HPR_PERSONS
from helsegraf.loaders.preg import PERSON, PERSONS
from helsegraf.registers import FLR, HPR, PREG

INTEGRATOR_QUERY = """
query($nins: [ID!]!) { persons(nins: $nins) { nin gp {
  gp { hprNumber name { full } } gpHerId
  contract { id office { orgNumber name } }
  officeCommunicationParty { herId electronicAddresses } } } }
"""
# Persons, parents and the GP relation with its nested edges: several levels, several registers.
WIDE_QUERY = """
query($nins: [ID!]!) { persons(nins: $nins) { nin name { full } parents { nin }
  healthPersonnel { hprNumber }
  gp { gpHerId gp { hprNumber approvals { category { code } } } contract { id listSize office { name } } } } }
"""


def _listed(nation, count: int) -> list[str]:
    on = TODAY.isoformat()
    return [r.nin for r in db_rows(
        nation, "SELECT DISTINCT nin FROM flr_list_membership WHERE gp_her_id IS NOT NULL AND valid_from <= :on "
        "AND (valid_to IS NULL OR valid_to > :on) ORDER BY nin", on=on)][:count]  # fmt: skip


async def _ask(nation, *, pipeline: bool, query: str, nins: list[str], role: str) -> tuple[dict, set, int, int]:
    """Answer a query with rounds on or off; return the body, its access-log entries, statements and round trips."""
    app = create_app(replace(nation.settings, debug=True))
    app.state.db.pipeline = pipeline
    bearer = token(nation, role, hpr_number=1, org_number=nation.samples["officeOrgNumber"])
    request_id = uuid.uuid4().hex
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            headers = {"authorization": f"Bearer {bearer}", "x-request-id": request_id}
            response = await client.post(
                "/graphql", json={"query": query, "variables": {"nins": nins}}, headers=headers
            )
    finally:
        await app.state.db.dispose()
    body = response.json()
    assert response.status_code == 200, body
    sql = body["extensions"].pop("sql")
    log = {(e.nin, e.subject_hpr_number, e.fields, e.scopes, e.role) for e in db_rows(
        nation, "SELECT * FROM audit_access_log WHERE request_id = :r", r=request_id)}  # fmt: skip
    timing = response.headers["server-timing"]
    assert f'desc="{sql["statements"]} statements, {sql["roundTrips"]} round trips"' in timing
    return body, log, sql["statements"], sql["roundTrips"]


@pytest.mark.parametrize("size", [1, 1000])
async def test_the_integrator_query_takes_three_round_trips_on_postgresql(postgres_nation, size: int) -> None:
    nins = _listed(postgres_nation, size)
    assert len(nins) == size

    on = await _ask(postgres_nation, pipeline=True, query=INTEGRATOR_QUERY, nins=nins, role="clinician")
    off = await _ask(postgres_nation, pipeline=False, query=INTEGRATOR_QUERY, nins=nins, role="clinician")

    assert on[0] == off[0]  # the same answer
    assert on[1] == off[1]  # the same access log
    assert len(on[1]) == size
    assert on[2] == off[2] == 7  # the same statements: six reads and the access log's insert
    # Without rounds every statement is a round trip. With them: PREG's persons with FLR's memberships and
    # their lists (contracts with GP periods); AR's parties with HPR's doctors and BED's offices; the log's insert.
    assert off[3] == 7
    if postgres_nation.settings.fast_paths:  # without the preloader, edges load as graphql-core reaches them
        assert on[3] == 3
    else:
        assert on[3] <= off[3]


@pytest.mark.parametrize("role", ["admin", "clinician", "citizen"])
async def test_answers_and_logs_are_the_same_with_rounds_and_without(nation, role: str) -> None:
    nins = _listed(nation, 30)
    nins.append(nation.samples["personWithGp"])

    on = await _ask(nation, pipeline=True, query=WIDE_QUERY, nins=nins, role=role)
    off = await _ask(nation, pipeline=False, query=WIDE_QUERY, nins=nins, role=role)

    assert on[0] == off[0]
    assert on[1] == off[1]
    assert on[2] == off[2]
    if nation.backend == "sqlite":
        assert on[3] == off[3] == on[2]  # no rounds on SQLite: each statement runs by itself
    elif role != "citizen":  # a citizen asking about others reads PREG alone: one statement
        assert on[3] < off[3] == on[2]


async def _round(db: Database, *statements) -> list:
    """Issue statements at once in one request's scope (with rounds); return each one's rows or error."""
    db.pipeline = True  # as with the fast paths on, whatever the suite runs with
    scoped = db.for_request()
    return await asyncio.gather(*(scoped.fetch(store, statement) for store, statement in statements),
                                return_exceptions=True)  # fmt: skip


async def test_a_failing_statement_fails_alone_and_its_round_is_answered(postgres_nation) -> None:
    db = Database(replace(postgres_nation.settings, http=HttpSettings(statement_timeout_ms=100)))
    nin = postgres_nation.samples["personWithGp"]
    person = select(PERSON).where(PERSON.c.nin == nin)
    membership = select(MEMBERSHIP).where(MEMBERSHIP.c.nin == nin)
    try:
        with track_sql() as stats:
            alone = await _round(db, (PREG, person), (FLR, membership))
        assert stats.round_trips == 1
        assert stats.statements == 2

        # A statement stopped by the timeout in the middle of its round: the ones before it are answered
        # from the round, the one after it (aborted by the pipeline) runs again by itself.
        with track_sql() as stats:
            found = await _round(db, (PREG, person), (HPR, select(text("pg_sleep(1)"))), (FLR, membership))
        assert [list(r) for r in (found[0], found[2])] == [list(r) for r in alone]
        assert isinstance(found[1], psycopg.errors.QueryCanceled)
        assert stats.statements == 2  # the answered ones (a failed statement is not counted, as alone)

        # An error that is the statement's own (not the database's state) is raised at once, never retried.
        with track_sql() as stats:
            found = await _round(db, (HPR, select(text("1")).select_from(text("no_such_table"))), (PREG, person))
        assert isinstance(found[0], psycopg.errors.UndefinedTable)
        assert list(found[1]) == list(alone[0])
    finally:
        await db.dispose()


async def test_rounds_stay_within_one_database(postgres_nation) -> None:
    """Stores in different databases never share a round: each database gets a round of its own."""
    from conftest import create_postgres_database, drop_postgres_database  # noqa: PLC0415

    other = create_postgres_database("helsegraf_rounds")
    try:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE hpr_person AS SELECT 1 AS hpr_number, NULL::text AS nin WHERE false")
        settings = replace(postgres_nation.settings, register_urls={HPR: other})
        db = Database(settings)
        nin = postgres_nation.samples["personWithGp"]
        try:
            with track_sql() as stats:
                found = await _round(
                    db,
                    (PREG, PERSONS.where(PERSON.c.nin == nin)),
                    (FLR, MEMBERSHIPS.where(MEMBERSHIP.c.nin == nin)),
                    (HPR, HPR_PERSONS.with_only_columns(HPR_PERSON.c.hpr_number)),
                )
            assert not any(isinstance(r, Exception) for r in found), found
            assert len(found[0]) == 1
            assert list(found[2]) == []
            assert stats.statements == 3
            assert stats.round_trips == 2  # PREG and FLR together; HPR's database alone
        finally:
            await db.dispose()
    finally:
        drop_postgres_database(other)


@pytest.mark.parametrize(
    "keys",
    [
        ["01814694352", 'quo"te', "back\\slash", "NULL", "", "com,ma", "{brace}", " spaced ", "æøå", 'a\\"b'],
        [1, 2, 2_147_483_647, -5],
        [None, "a", None, "NULL"],
        [3, None, None],
        [None, None],
        ["01814694352", "x", "", " spaced ", "{brace}", "com,ma", "NULL", "æøå", "a b,c}"],  # joined in one call
        [],
    ],
)
async def test_keys_reach_postgresql_whole_as_array_text(postgres_nation, keys) -> None:
    """Keys go to PostgreSQL as array text (cheaper than psycopg's per-element dumping); every key survives."""
    from helsegraf.db import array_literal  # noqa: PLC0415

    cast = "integer[]" if any(isinstance(k, int) for k in keys) else "varchar[]"
    with psycopg.connect(postgres_nation.settings.effective_database_url.replace("+psycopg", "")) as conn:
        back = conn.execute(f"SELECT unnest(%s::{cast})", (array_literal(keys),)).fetchall()
    assert [row[0] for row in back] == keys


async def test_datetimes_reach_postgresql_whole_as_array_text(postgres_nation) -> None:
    """Access-log times go as ISO 8601 array text, each distinct one formatted once; every instant survives."""
    from helsegraf.db import array_literal  # noqa: PLC0415

    at = datetime(2026, 12, 3, 10, 11, 12, 345678, tzinfo=UTC)
    oslo = datetime(2026, 7, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=2)))
    times = [at, at, None, oslo, at.replace(microsecond=0), at]
    text = array_literal(times)
    assert isinstance(text, str)
    with psycopg.connect(postgres_nation.settings.effective_database_url.replace("+psycopg", "")) as conn:
        back = conn.execute("SELECT unnest(%s::timestamptz[])", (text,)).fetchall()
    assert [row[0] for row in back] == times
