"""Faults, timed: statement timeouts, outages, a blackholed network, a restart, an access log that takes no writes.

PostgreSQL is reached through a TCP proxy these tests control (an asyncio proxy in a thread): it can
refuse connections (an outage), drop every byte while keeping the connections open (a blackhole: no
reset ever arrives), or reset every connection and keep listening (the server restarted). The shared
server itself is never touched. SQLite's access-log store is put on a small tmpfs that is filled or
remounted read-only, or locked by another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest

from conftest import Graph, free_port, token
from helsegraf.config import HttpSettings
from helsegraf.http.app import create_app
from helsegraf.migrate import upgrade

PUBLIC = "{ gpContracts(first: 3) { totalCount edges { node { id office { name } } } } }"
PERSONAL = "query($nin: ID!) { person(nin: $nin) { name { full } } }"


class FaultProxy:
    """A TCP proxy in front of PostgreSQL that can refuse, blackhole or reset its connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.mode = "forward"  # forward | refuse | blackhole
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._call(self._listen())

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.transport.abort()
            return
        self.writers.add(writer)
        if self.mode == "blackhole":  # accepted, and never answered
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            while self.mode == "blackhole":  # bytes are dropped on the floor: the peers wait forever
                await asyncio.sleep(0.05)
                data = b""
            if data:
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def _reset(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()  # RST
        self.writers.clear()

    def refuse(self) -> None:
        """An outage: every connection is reset, new ones are refused."""
        self.mode = "refuse"
        self._call(self._reset())

    def blackhole(self) -> None:
        """A partition: every byte is dropped, no connection is reset."""
        self.mode = "blackhole"

    def restart(self) -> None:
        """The server restarted: every connection is reset, new ones reach the (same) server."""
        self.mode = "forward"
        self._call(self._reset())

    def restore(self) -> None:
        """Back to forwarding."""
        self.mode = "forward"

    def close(self) -> None:
        """Stop the proxy."""
        self.mode = "refuse"
        self._call(self._reset())
        if self.server is not None:
            self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)


def _through(proxy: FaultProxy, url: str) -> str:
    database = url.rsplit("/", 1)[1]
    return f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"


@pytest.fixture
def proxy(postgres_nation):
    url = postgres_nation.settings.effective_database_url
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":") if ":" in host_port else (host_port, "5432")
    fault = FaultProxy((host, int(port)))
    yield fault
    fault.close()


@pytest.fixture
async def pg_graph(postgres_nation):
    """Build clients for apps on the PostgreSQL nation with changed settings."""
    apps, clients = [], []

    async def build(default_token: str | None = None, **changes):
        app = create_app(replace(postgres_nation.settings, **changes))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        apps.append(app)
        clients.append(client)
        return Graph(client, default_token)

    yield build
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.db.dispose()


@pytest.fixture
async def sqlite_graph(sqlite_nation):
    """Build clients for apps on the SQLite nation with changed settings."""
    apps, clients = [], []

    async def build(default_token: str | None = None, **changes):
        app = create_app(replace(sqlite_nation.settings, **changes))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        apps.append(app)
        clients.append(client)
        return Graph(client, default_token)

    yield build
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.db.dispose()


async def _timed(call):
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


@pytest.mark.postgres
async def test_a_statement_past_the_timeout_is_answered_once_and_not_retried(pg_graph, postgres_nation) -> None:
    """The statement timeout (1 s) is answered after 1 s, not 2: a cancelled statement is never run again."""
    graph = await pg_graph(http=HttpSettings(statement_timeout_ms=1000))
    await graph.post(PUBLIC)  # connections are open
    with psycopg.connect(postgres_nation.settings.effective_database_url.replace("+psycopg", "")) as locker:
        locker.execute("LOCK TABLE flr_gp_contract IN ACCESS EXCLUSIVE MODE")  # every read of it waits
        response, elapsed = await _timed(graph.post(PUBLIC))
        locker.rollback()

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == "statement timeout"
    assert 1.0 <= elapsed < 1.8, f"answered after {elapsed:.2f} s: the statement ran twice"


@pytest.mark.postgres
async def test_an_outage_is_answered_within_the_pool_timeout(pg_graph, proxy, postgres_nation) -> None:
    url = _through(proxy, postgres_nation.settings.effective_database_url)
    graph = await pg_graph(database_url=url, http=HttpSettings(pool_timeout_s=2.0))
    assert (await graph.post(PUBLIC)).status_code == 200

    proxy.refuse()
    response, elapsed = await _timed(graph.post(PUBLIC))
    ready, ready_elapsed = await _timed(graph.client.get("/readyz"))

    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert elapsed < 3.0, f"answered after {elapsed:.2f} s (pool timeout 2 s)"
    assert ready.status_code == 503
    assert ready_elapsed < 2.2


@pytest.mark.postgres
async def test_a_blackholed_database_is_answered_at_the_deadline(pg_graph, proxy, postgres_nation) -> None:
    """Packets dropped, no reset: requests answer 503 at their deadline, /readyz within its 2 s, /healthz at once."""
    url = _through(proxy, postgres_nation.settings.effective_database_url)
    graph = await pg_graph(database_url=url, http=HttpSettings(request_deadline_s=3.0))
    assert (await graph.post(PUBLIC)).status_code == 200

    proxy.blackhole()
    response, elapsed = await _timed(graph.post(PUBLIC))
    ready, ready_elapsed = await _timed(graph.client.get("/readyz"))
    alive, alive_elapsed = await _timed(graph.client.get("/healthz"))
    proxy.restore()

    assert response.status_code == 503
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "3 s" in error["message"]
    assert response.headers["x-request-id"]
    assert 3.0 <= elapsed < 4.0, f"answered after {elapsed:.2f} s (deadline 3 s)"
    assert ready.status_code == 503
    assert ready_elapsed < 2.0, f"/readyz took {ready_elapsed:.2f} s (its timeout is 2 s)"
    assert alive.status_code == 200
    assert alive_elapsed < 0.5


@pytest.mark.postgres
async def test_the_default_deadline_is_the_statement_timeout_and_a_margin() -> None:
    assert HttpSettings(statement_timeout_ms=4000).deadline_s == 9.0
    assert HttpSettings(statement_timeout_ms=0).deadline_s == 60.0
    assert HttpSettings(request_deadline_s=2.5).deadline_s == 2.5
    assert HttpSettings.from_env({"HELSEGRAF_REQUEST_DEADLINE_S": "7"}).deadline_s == 7.0
    with pytest.raises(ValueError, match="HELSEGRAF_REQUEST_DEADLINE_S"):
        HttpSettings.from_env({"HELSEGRAF_REQUEST_DEADLINE_S": "soon"})


@pytest.mark.postgres
async def test_once_ready_after_a_restart_every_request_succeeds(pg_graph, proxy, postgres_nation) -> None:
    url = _through(proxy, postgres_nation.settings.effective_database_url)
    graph = await pg_graph(database_url=url, default_token=token(postgres_nation))
    nin = postgres_nation.samples["personWithGp"]
    # Fill the pools: several requests at once hold several connections.
    await asyncio.gather(*(graph.post(PERSONAL, {"nin": nin}) for _ in range(8)))

    proxy.restart()  # every pooled connection is now dead
    deadline = time.monotonic() + 10
    while (await graph.client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    answers = [await graph.post(PERSONAL, {"nin": nin}) for _ in range(5)]
    answers += await asyncio.gather(*(graph.post(PERSONAL, {"nin": nin}) for _ in range(8)))

    assert [a.status_code for a in answers] == [200] * 13, [a.text[:200] for a in answers if a.status_code != 200]
    assert all(a.json()["data"]["person"]["name"]["full"] for a in answers)


@pytest.mark.postgres
async def test_a_citizen_during_a_population_register_outage_gets_503(pg_graph, proxy, postgres_nation) -> None:
    url = _through(proxy, postgres_nation.settings.effective_database_url)
    parent = postgres_nation.samples["parentOfChild"]
    graph = await pg_graph(register_urls={"preg": url}, default_token=token(postgres_nation, "citizen", pid=parent),
                             http=HttpSettings(pool_timeout_s=1.0))  # fmt: skip
    query = "{ me { name { full } children { name { full } } } }"
    assert (await graph.post(query)).status_code == 200

    proxy.refuse()
    response, elapsed = await _timed(graph.post(query))

    assert response.status_code == 503, response.text
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {"SERVICE_UNAVAILABLE"}
    assert "Traceback" not in response.text
    assert elapsed < 3


# --- The access-log store (SQLite) that takes no writes --------------------------------------------------------


def _mount_tmpfs(folder: Path, size: str) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],  # noqa: S607
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the access-log fault tests mount a tmpfs (root): {result.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")


@pytest.fixture
def audit_on_tmpfs(sqlite_nation, tmp_path):
    """The SQLite nation with its access log in a database on a 4 MB tmpfs of its own."""
    folder = tmp_path / "audit"
    folder.mkdir()
    _mount_tmpfs(folder, "4m")
    settings = replace(sqlite_nation.settings, register_urls={"audit": f"sqlite:///{folder / 'audit.db'}"})
    upgrade(settings)
    yield settings, folder
    subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S607


async def _ready_and_personal(graph, nation) -> tuple[int, float, int]:
    ready, elapsed = await _timed(graph.client.get("/readyz"))
    personal = await graph.post(PERSONAL, {"nin": nation.samples["personWithGp"]})
    return ready.status_code, elapsed, personal.status_code


async def test_readyz_says_unavailable_when_the_access_log_disk_is_full(sqlite_graph, sqlite_nation, audit_on_tmpfs):
    settings, folder = audit_on_tmpfs
    graph = await sqlite_graph(register_urls=settings.register_urls, default_token=token(sqlite_nation))
    assert await _ready_and_personal(graph, sqlite_nation) == (200, pytest.approx(0, abs=2), 200)

    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
    full = await _ready_and_personal(graph, sqlite_nation)
    filler.unlink()
    freed = await _ready_and_personal(graph, sqlite_nation)

    assert full[0] == 503
    assert full[1] < 2
    assert full[2] == 503
    assert freed[0] == 200
    assert freed[2] == 200


async def test_readyz_says_unavailable_when_the_access_log_is_read_only(sqlite_graph, sqlite_nation, audit_on_tmpfs):
    """The access log's volume is read-only (remounted so while no file on it is open for writing)."""
    settings, folder = audit_on_tmpfs
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)  # noqa: S607, ASYNC221
    graph = await sqlite_graph(register_urls=settings.register_urls, default_token=token(sqlite_nation))
    read_only = await _ready_and_personal(graph, sqlite_nation)
    await graph.client._transport.app.state.db.dispose()  # noqa: SLF001 - closes the files before the remount
    subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)  # noqa: S607, ASYNC221

    assert read_only[0] == 503
    assert read_only[1] < 2
    assert read_only[2] == 503


async def test_readyz_says_unavailable_when_another_process_locks_the_access_log(
    sqlite_graph, sqlite_nation, audit_on_tmpfs
) -> None:
    settings, folder = audit_on_tmpfs
    graph = await sqlite_graph(register_urls=settings.register_urls, default_token=token(sqlite_nation))
    locker = subprocess.Popen(  # noqa: ASYNC220 - a process of its own holds the lock
        [sys.executable, "-c", ("import sqlite3, sys, time\n"
                                f"c = sqlite3.connect({str(folder / 'audit.db')!r}, isolation_level=None)\n"
                                "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert locker.stdout is not None
        assert locker.stdout.readline().strip() == "locked"
        ready, elapsed = await _timed(graph.client.get("/readyz"))
    finally:
        locker.kill()
        locker.wait()
        if locker.stdout is not None:
            locker.stdout.close()
    after = await graph.client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["stores"]["audit"] == "down"
    assert elapsed < 2
    assert after.status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param("ALTER TABLE audit_access_log RENAME TO audit_access_log_gone", id="table renamed"),
        pytest.param("ALTER TABLE audit_statistics_query RENAME TO audit_statistics_query_gone", id="query log gone"),
        pytest.param("ALTER DATABASE {db} SET default_transaction_read_only = on", id="read-only database"),
    ],
)
async def test_readyz_says_unavailable_when_postgresql_will_not_take_the_access_log(pg_graph, postgres_nation,
                                                                                 break_it: str) -> None:  # fmt: skip
    from conftest import create_postgres_database, drop_postgres_database  # noqa: PLC0415
    from helsegraf.config import Settings  # noqa: PLC0415

    url = create_postgres_database("helsegraf_audit_ready")
    try:
        upgrade(Settings(database_url=url), ["audit"])
        graph = await pg_graph(register_urls={"audit": url}, default_token=token(postgres_nation))
        assert await _ready_and_personal(graph, postgres_nation) == (200, pytest.approx(0, abs=2), 200)

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(break_it.format(db=url.rsplit("/", 1)[1]))
        broken = await pg_graph(register_urls={"audit": url}, default_token=token(postgres_nation))
        ready, elapsed, personal = await _ready_and_personal(broken, postgres_nation)

        assert ready == 503
        assert elapsed < 2
        if "statistics" not in break_it:
            assert personal == 503
    finally:
        drop_postgres_database(url)
