"""The access log: one entry per (request, person) released, nothing for nothing, and no release without it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import create_postgres_database, db_rows, drop_postgres_database, token
from helsegraf import migrate
from helsegraf.config import Settings

NAMES = "query($nins: [ID!]!) { persons(nins: $nins) { nin name { full } } }"


def entries(nation, request_id: str) -> list:
    return db_rows(nation, "SELECT * FROM audit_access_log WHERE request_id = :r ORDER BY nin", r=request_id)


def clinician(nation) -> str:
    samples = nation.samples
    return token(nation, "clinician", hpr_number=samples["gpHprNumber"], org_number=samples["officeOrgNumber"],
                 subject="dr-who")  # fmt: skip


async def test_a_clinician_looking_up_fifty_persons_writes_fifty_entries(graph, nation) -> None:
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 50")]
    request_id = uuid.uuid4().hex

    body = await graph.query(
        NAMES, {"nins": nins}, token=clinician(nation), **{"x-purpose": "behandling", "x-request-id": request_id}
    )

    assert all(p["name"]["full"] for p in body["data"]["persons"])
    logged = entries(nation, request_id)
    assert [e.nin for e in logged] == sorted(nins)
    for entry in logged:
        assert (entry.subject, entry.role, entry.hpr_number, entry.org_number) == (
            "dr-who",
            "clinician",
            nation.samples["gpHprNumber"],
            nation.samples["officeOrgNumber"],
        )
        assert entry.client_id == "helsegraf-dev-client"
        assert entry.purpose == "behandling"
        assert entry.fields == "identity"


async def test_every_released_field_group_is_named_once_per_person(graph, nation) -> None:
    nin, request_id = nation.samples["personWithGp"], uuid.uuid4().hex
    query = "query($nin: ID!) { person(nin: $nin) { name { full } birthDate address { street } gp { id } } }"

    await graph.query(query, {"nin": nin}, **{"x-request-id": request_id})

    [entry] = entries(nation, request_id)
    assert entry.nin == nin
    assert entry.fields == "address gp identity"


async def test_a_query_that_releases_nothing_personal_writes_nothing(graph, nation) -> None:
    public, anonymous = uuid.uuid4().hex, uuid.uuid4().hex

    await graph.query(
        "{ gpContracts(first: 5) { totalCount edges { node { id office { name } } } } }", **{"x-request-id": public}
    )
    await graph.query(NAMES, {"nins": [nation.samples["personWithGp"]]}, token=None, **{"x-request-id": anonymous})

    assert entries(nation, public) == []
    assert entries(nation, anonymous) == []


async def test_with_authorisation_switched_off_for_benchmarks_the_graph_answers_and_logs_nothing(
    make_graph, nation
) -> None:
    """`AuthSettings(mode="disabled")` (bench graph's comparison, never from the environment): all data, no log."""
    from helsegraf.authz.tokens import AuthSettings  # noqa: PLC0415

    graph = await make_graph(auth=AuthSettings(mode="disabled"))
    request_id = uuid.uuid4().hex
    nin = nation.samples["personWithGp"]

    body = await graph.query(NAMES, {"nins": [nin]}, token=None, **{"x-request-id": request_id})

    assert body["data"]["persons"][0]["name"]["full"]
    assert "extensions" not in body  # nothing redacted
    assert entries(nation, request_id) == []


async def test_family_and_patient_lists_log_the_persons_they_reveal(graph, nation) -> None:
    child, parent = nation.samples["childWithParent"], nation.samples["parentOfChild"]
    request_id = uuid.uuid4().hex

    await graph.query(
        "query($c: ID!) { person(nin: $c) { parents { nin } } }", {"c": child}, **{"x-request-id": request_id}
    )

    logged = {e.nin: e.fields for e in entries(nation, request_id)}
    assert logged[child] == "family identity"  # found (so registered), and their family asked for
    assert logged[parent] == "family"


async def test_a_citizen_reads_who_looked_at_them(graph, nation) -> None:
    nin = nation.samples["personWithGp"]
    await graph.query(NAMES, {"nins": [nin]}, token=clinician(nation), **{"x-purpose": "konsultasjon"})
    citizen = token(nation, "citizen", pid=nin)

    query = ("{ me { nin accessLog(first: 100) { totalCount edges { node { at purpose fields "
             "actor { subject role hprNumber orgNumber clientId } } } } } }")  # fmt: skip
    body = await graph.query(query, token=citizen)

    log = body["data"]["me"]["accessLog"]
    assert log["totalCount"] >= 1
    looked = [e["node"] for e in log["edges"] if e["node"]["purpose"] == "konsultasjon"]
    assert looked
    assert looked[0]["actor"] == {
        "subject": "dr-who",
        "role": "clinician",
        "hprNumber": nation.samples["gpHprNumber"],
        "orgNumber": nation.samples["officeOrgNumber"],
        "clientId": "helsegraf-dev-client",
    }
    assert looked[0]["fields"] == ["identity"]


async def test_only_audit_read_reads_someone_elses_log(graph, nation) -> None:
    nin = nation.samples["personWithGp"]
    query = "query($nin: ID!) { person(nin: $nin) { accessLog { totalCount } } }"

    as_clinician = (await graph.post(query, {"nin": nin}, token=clinician(nation))).json()
    as_auditor = (
        await graph.post(query, {"nin": nin}, token=token(nation, "integrator", scopes=("audit:read",)))
    ).json()

    assert as_clinician["data"]["person"]["accessLog"] is None
    assert as_clinician["extensions"]["redactions"][0]["reason"] == "MISSING_SCOPE"
    assert as_auditor["data"]["person"]["accessLog"]["totalCount"] >= 0


@contextmanager
def blocked_audit_store(backend: str) -> Iterator[str]:
    """An access-log store whose table refuses every insert (its trigger's message names the refused nin)."""
    folder = Path(tempfile.mkdtemp())
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'audit.db'}"
        block = "CREATE TRIGGER refuse BEFORE INSERT ON audit_access_log BEGIN SELECT RAISE(ABORT, 'read-only'); END"
        statements = [block]
    else:
        url = create_postgres_database("helsegraf_audit")
        statements = [
            (
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'read-only: %', NEW.nin; END $$ "
                "LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_access_log FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]

    migrate.upgrade(Settings(database_url=url), ["audit"])
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
    try:
        yield url
    finally:
        if backend == "postgres":
            drop_postgres_database(url)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def blocked_audit_url(backend: str) -> Iterator[str]:
    """An access-log store whose table refuses every insert."""
    with blocked_audit_store(backend) as url:
        yield url


async def test_no_personal_data_leaves_when_the_log_cannot_be_written(make_graph, nation, blocked_audit_url) -> None:
    graph = await make_graph(default_token=clinician(nation), register_urls={"audit": blocked_audit_url})

    response = await graph.post(NAMES, {"nins": [nation.samples["personWithGp"]]})
    public = await graph.post("{ gpContracts(first: 1) { totalCount } }")

    assert response.status_code == 503
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "access log" in body["errors"][0]["message"]
    assert public.status_code == 200
    assert public.json()["data"]["gpContracts"]["totalCount"] > 0


async def test_concurrent_requests_share_commits_and_each_waits_for_its_own(make_graph, nation) -> None:
    graph = await make_graph(default_token=clinician(nation))
    group_commit = graph.client._transport.app.state.access_log  # noqa: SLF001 - the app behind the test client
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 40")]
    requests = {uuid.uuid4().hex: nin for nin in nins}

    responses = await asyncio.gather(*(graph.post(NAMES, {"nins": [nin]}, **{"x-request-id": request_id})
                                       for request_id, nin in requests.items()))  # fmt: skip

    assert all(r.status_code == 200 for r in responses)
    for request_id, nin in requests.items():
        assert [(e.nin, e.fields) for e in entries(nation, request_id)] == [(nin, "identity")]
    assert group_commit.commits < len(requests)  # requests that came while a commit was in flight joined the next


async def test_a_failed_group_commit_releases_nothing_to_any_request_in_it(make_graph, nation, blocked_audit_url):
    graph = await make_graph(default_token=clinician(nation), register_urls={"audit": blocked_audit_url})
    nins = [r.nin for r in db_rows(nation, "SELECT nin FROM preg_person ORDER BY nin LIMIT 20")]

    responses = await asyncio.gather(*(graph.post(NAMES, {"nins": [nin]}) for nin in nins))

    assert [r.status_code for r in responses] == [503] * len(nins)
    assert all("data" not in r.json() for r in responses)
