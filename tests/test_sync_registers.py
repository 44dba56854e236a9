"""HPR, AR and Kodeverk followed through their contracts: bootstrap, a day of changes, one source down.

Each register is synced by its own engine into its own database from the fakes of `helsegraf
upstream`, reached in-process over HTTP (httpx's ASGI transport), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from conftest import create_postgres_database, drop_postgres_database
from helsegraf.config import HttpSettings, Settings
from helsegraf.data.load import load
from helsegraf.data.nation import TABLE_ORDER, generate
from helsegraf.migrate import upgrade
from helsegraf.models import METADATA
from helsegraf.sync import adapters, sources_from_env
from helsegraf.sync.engine import Backoff, Engine
from helsegraf.upstream.server import Upstream

PERSONS = 1500
SEED = 11
FOLLOWED = ("hpr", "ar", "kodeverk")
# AR's addresses and certificates and RESH's parent links have no id in the contract: the adapters
# number them, so they compare by content.
NUMBERED_HERE = frozenset({"ar_electronic_address", "ar_physical_address", "ar_certificate", "ar_coverage_area",
                           "ar_future_electronic_address", "resh_parent_link"})  # fmt: skip


# Tables the source does not give as they are generated: FLR gives a list's listetak, open status and
# fixed salary of today only; their history (flr_gp_contract_terms) is the sync's own, one period per
# contract from its first load on (tests/test_flr_terms.py).
KEPT_BY_THE_SYNC = frozenset({"flr_gp_contract_terms"})


def register_tables(register: str) -> list[str]:
    return [name for name in METADATA[register].tables if "_sync_" not in name and name not in KEPT_BY_THE_SYNC]


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table in key order (rows numbered by the adapter: by content, without their id)."""
    model = next(m.tables[table] for m in METADATA.values() if table in m.tables)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(model).order_by(*model.primary_key.columns)).mappings().all()
    finally:
        engine.dispose()
    if table in NUMBERED_HERE:
        ids = [r["id"] for r in rows]
        assert len(set(ids)) == len(ids)
        return sorted((tuple(_norm(v) for k, v in r.items() if k != "id") for r in rows), key=repr)
    return [tuple(_norm(v) for v in r.values()) for r in rows]


@dataclass
class Rig:
    upstream: Upstream
    client: httpx.AsyncClient
    backend: str
    tmp: Path
    urls: list[str]
    transport: Any = None  # the fakes' transport, when a test wraps it (see `rig_of`)

    def database(self, name: str, stores: tuple[str, ...] = FOLLOWED) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / name}.db"
        else:
            url = create_postgres_database(f"reg14_sync_{name}")
            self.urls.append(url)
        upgrade(Settings(home=self.tmp, database_url=url), stores=list(stores))
        return url

    def engines(self, urls: dict[str, str], **options: Any) -> list[Engine]:
        """An engine per register, each on its own database."""
        sources = sources_from_env({"HELSEGRAF_UPSTREAM_URL": "http://upstream"})
        options.setdefault("backoff", Backoff(base_s=0.01, cap_s=0.05))
        return [Engine(a, urls[a.register], self.client, **options) for a in adapters(sources, set(urls))]

    async def sync_once(self, urls: dict[str, str], **options: Any) -> list[Engine]:
        engines = self.engines(urls, **options)
        try:
            for engine in engines:
                await engine.run_once()
        finally:
            for engine in engines:
                engine.close()
        return engines


async def rig_of(
    backend: str,
    tmp_path: Path,
    registers: frozenset[str],
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] = lambda inner: inner,
    persons: int = PERSONS,
    seed: int = SEED,
    timeout_s: float = 10,
) -> AsyncIterator[Rig]:
    """A rig whose fakes of `registers` answer through `wrap` of their ASGI transport (kept as `rig.transport`)."""
    upstream = Upstream(generate(persons, seed), registers)
    transport = wrap(httpx.ASGITransport(app=upstream.app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream", timeout=timeout_s) as client:
        rig = Rig(upstream, client, backend, tmp_path, [], transport)
        yield rig
    for url in rig.urls:
        drop_postgres_database(url)


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_of(backend, tmp_path, frozenset(FOLLOWED)):
        yield made


def generated(rig: Rig, register: str) -> str:
    """The register's tables as the generator made them, loaded the ordinary way."""
    url = rig.database(f"generated_{register}", (register,))
    world = rig.upstream.world
    load(Settings(home=rig.tmp, database_url=url), world,
         tables=[t for t in TABLE_ORDER if t.split("_", 1)[0] == register])  # fmt: skip
    return url


async def test_bootstrap_from_empty_databases_reproduces_each_register_row_for_row(rig: Rig) -> None:
    urls = {register: rig.database(f"synced_{register}", (register,)) for register in FOLLOWED}
    engines = await rig.sync_once(urls)
    for register in FOLLOWED:
        reference = generated(rig, register)
        for table in register_tables(register):
            expected = table_rows(reference, table)
            assert expected, f"the generator made no {table} rows"
            assert table_rows(urls[register], table) == expected, table
    by_register = {e.register: e for e in engines}
    assert by_register["hpr"].status.applied["changes"] == len(rig.upstream.world.tables["hpr_person"].rows)
    assert by_register["ar"].status.positions["events"] == rig.upstream.ar.latest  # type: ignore[union-attr]
    assert by_register["kodeverk"].status.positions["versions"] == rig.upstream.kodeverk.latest  # type: ignore[union-attr]
    # A second run finds nothing new and changes nothing.
    before = {r: {t: table_rows(urls[r], t) for t in register_tables(r)} for r in FOLLOWED}
    await rig.sync_once(urls)
    assert {r: {t: table_rows(urls[r], t) for t in register_tables(r)} for r in FOLLOWED} == before


def _whole_nation(rig: Rig) -> dict[str, str]:
    """Every store migrated; the followed registers each in a database of its own, empty; the rest loaded."""
    shared = rig.database("graph", ())
    settings = Settings(home=rig.tmp, database_url=shared)
    upgrade(settings)
    load(settings, rig.upstream.world, tables=[t for t in TABLE_ORDER if t.split("_", 1)[0] not in FOLLOWED])
    urls = {register: rig.database(f"own_{register}", (register,)) for register in FOLLOWED}
    return {"shared": shared, **urls}


def _graph_settings(rig: Rig, urls: dict[str, str], **http: Any) -> Settings:
    settings = Settings(home=rig.tmp, database_url=urls["shared"],
                        register_urls={r: urls[r] for r in FOLLOWED})  # fmt: skip
    return replace(settings, http=replace(HttpSettings(), **http)) if http else settings


async def _ask(settings: Settings, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], httpx.Response]:
    from helsegraf.authz.tokens import mint  # noqa: PLC0415
    from helsegraf.http.app import create_app  # noqa: PLC0415

    app = create_app(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph") as client:
            headers = {"authorization": f"Bearer {mint(settings.home, role='admin')}"}
            body = (await client.post("/graphql", json={"query": query, "variables": variables},
                                      headers=headers)).json()  # fmt: skip
            ready = await client.get("/readyz")
    finally:
        await app.state.db.dispose()
    return body, ready


async def test_a_day_of_changes_reaches_the_graph_within_one_poll_interval(rig: Rig) -> None:
    urls = _whole_nation(rig)
    own = {r: urls[r] for r in FOLLOWED}
    await rig.sync_once(own)
    done = rig.upstream.day_of_changes()
    suspended = done["hpr"]["suspended"][0]
    old, new = done["hpr"]["merged"]
    renewed = done["ar"]["renewed"][0]
    [reworded] = done["kodeverk"]["reworded"]
    system, value = reworded.split("/")
    changed_on = rig.upstream.world.as_of + timedelta(days=1)  # the first day of changes

    interval = 0.2
    stop = asyncio.Event()
    engines = rig.engines(own)
    follower = asyncio.gather(*(e.follow(interval, stop, lambda _e: None) for e in engines))
    await asyncio.sleep(interval * 3)  # one poll interval, with room for the poll itself on a busy machine
    stop.set()
    await follower
    for engine in engines:
        engine.close()

    query = """query($s: Int!, $old: Int!, $her: Int!, $system: String!, $on: Date!) {
      suspended: healthPersonnel(hprNumber: $s) { hprNumber approvals(at: $on) { category { code } }
                                                 lastChanged }
      merged: healthPersonnel(hprNumber: $old) { hprNumber replacedHprNumbers }
      party: communicationParty(herId: $her) { certificates { usage validFrom validTo serialNumber } lastChanged }
      codes(system: $system) { code text version }
      registers { name cursor lag lagEvents }
    }"""
    variables = {"s": suspended, "old": old, "her": renewed, "system": system, "on": str(changed_on)}
    body, _ready = await _ask(_graph_settings(rig, urls), query, variables)
    assert "errors" not in body, body
    data = body["data"]
    assert data["merged"]["hprNumber"] == new and old in data["merged"]["replacedHprNumbers"]  # noqa: PT018
    assert data["suspended"]["lastChanged"].startswith(str(changed_on))
    newest = max(data["party"]["certificates"], key=lambda c: c["validFrom"])
    assert newest["validFrom"].startswith(str(changed_on))
    assert {c["usage"] for c in data["party"]["certificates"] if c["validFrom"].startswith(str(changed_on))} == {
        "ENCRYPTION", "SIGNING"}  # fmt: skip
    texts = {c["code"]: c for c in data["codes"]}
    assert texts[value]["text"].endswith("(revidert)") and texts[value]["version"] == "2"  # noqa: PT018
    registers = {r["name"]: r for r in data["registers"]}
    for register in FOLLOWED:
        assert registers[register]["cursor"] is not None and registers[register]["lag"] < 30, register  # noqa: PT018
    assert registers["ar"]["cursor"] == f"events:{rig.upstream.ar.latest}"  # type: ignore[union-attr]
    assert registers["kodeverk"]["cursor"] == f"versions:{rig.upstream.kodeverk.latest}"  # type: ignore[union-attr]

    # The suspension is honoured: the approval does not authorise on the day it began.
    check = """query($s: Int!, $on: Date!, $c: String!) { healthPersonnel(hprNumber: $s) {
      authorization(category: $c, at: $on) { authorized reason } } }"""
    category = data["suspended"]["approvals"][0]["category"]["code"]
    answer, _ = await _ask(_graph_settings(rig, urls), check, {"s": suspended, "on": str(changed_on), "c": category})
    assert answer["data"]["healthPersonnel"]["authorization"] == {"authorized": False, "reason": "SUSPENDED"}


async def test_hprs_source_down_degrades_only_hpr(rig: Rig) -> None:
    urls = _whole_nation(rig)
    own = {r: urls[r] for r in FOLLOWED}
    await rig.sync_once(own)
    rig.upstream.faults["hpr"].down = True
    engines = rig.engines(own, max_attempts=2)
    stop = asyncio.Event()
    follower = asyncio.gather(*(e.follow(0.1, stop, lambda _e: None) for e in engines))
    await asyncio.sleep(1.5)
    stop.set()
    await follower
    for engine in engines:
        engine.close()
    hpr = next(e for e in engines if e.register == "hpr")
    assert hpr.errors["source"] >= 2
    assert all(not e.errors for e in engines if e.register != "hpr")

    person = rig.upstream.world.tables["hpr_person"].rows[0][0]
    settings = _graph_settings(rig, urls, max_lag_s=1, ready_while_lagging=True)
    body, ready = await _ask(settings, "query($n: Int!) { healthPersonnel(hprNumber: $n) { hprNumber } "
                                       "registers { name lag } }", {"n": person})  # fmt: skip
    assert body["data"]["healthPersonnel"]["hprNumber"] == person  # still answering from what it has
    lag = {r["name"]: r["lag"] for r in body["data"]["registers"]}
    assert lag["hpr"] > 1
    assert lag["ar"] < 1 and lag["kodeverk"] < 1  # noqa: PT018
    assert ready.status_code == 200
    degraded = set(ready.json()["degraded"])
    assert "hpr" in degraded
    assert not degraded & {"ar", "kodeverk"}


def test_sync_once_against_helsegraf_upstream_reproduces_each_register(backend: str, tmp_path: Path) -> None:
    """The operator's way: `helsegraf upstream` and `helsegraf sync --once` as processes, one database per register."""
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from test_sync_cli import PERSONS as CLI_PERSONS  # noqa: PLC0415
    from test_sync_cli import upstream  # noqa: PLC0415

    urls: list[str] = []
    rig = Rig(Upstream(generate(CLI_PERSONS, 1), frozenset()), None, backend, tmp_path, urls)  # type: ignore[arg-type]
    try:
        part_two = (*FOLLOWED, "resh", "flr")
        own = {register: rig.database(f"cli_{register}", (register,)) for register in part_two}
        with upstream(tmp_path, "--day-seconds", "0", "--registers", ",".join(part_two)) as url:
            env = {**os.environ, "HELSEGRAF_HOME": str(tmp_path), "HELSEGRAF_UPSTREAM_URL": url,
                   **{f"HELSEGRAF_{r.upper()}_DATABASE_URL": u for r, u in own.items()}}  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-m", "helsegraf.cli", "sync", "--once", "--registers", ",".join(part_two)],
                env=env, capture_output=True, text=True, timeout=240, check=False,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for register in part_two:
            assert f"{register}/" in done.stderr
            reference = generated(rig, register)
            for table in register_tables(register):
                assert table_rows(own[register], table) == table_rows(reference, table), table
    finally:
        for url in urls:
            drop_postgres_database(url)


async def test_every_register_syncs_at_once_into_one_shared_database(rig: Rig) -> None:
    """One database for every register (the default): the engines write it concurrently without 'database is locked'.

    AR's first batch holds its transaction for longer than SQLite's default busy timeout (5 s) while
    HPR's and Kodeverk's want to write: on SQLite they wait for the file's write lock instead of failing.
    """
    import time  # noqa: PLC0415

    shared = rig.database("shared_all")
    engines = rig.engines(dict.fromkeys(FOLLOWED, shared))
    slow = next(e for e in engines if e.register == "ar")
    original = slow.adapter.apply

    import threading  # noqa: PLC0415

    holds = threading.Event()

    def holding(conn: Any, batch: Any) -> int:
        written = original(conn, batch)
        holds.set()
        time.sleep(7)  # still inside the transaction: SQLite's write lock is held
        return written

    slow.adapter.apply = holding  # type: ignore[method-assign]

    async def later(engine: Engine) -> Any:
        if engine is not slow:
            await asyncio.to_thread(holds.wait, 30)
        return await engine.run_once()

    try:
        await asyncio.gather(*(later(e) for e in engines))
    finally:
        for engine in engines:
            engine.close()
    assert all(not e.errors for e in engines), [e.errors for e in engines]
    for register in FOLLOWED:
        reference = generated(rig, register)
        for table in register_tables(register):
            assert table_rows(shared, table) == table_rows(reference, table), table


@pytest.mark.parametrize("overlap", [300, 0])
async def test_hpr_reads_an_overlap_before_its_cursor_so_a_late_change_in_the_same_second_is_not_lost(
    rig: Rig, overlap: int
) -> None:
    """A change stamped in the second the cursor passed, visible only after that read, still arrives (overlap 300 s);
    without the overlap (0) it would be lost. Persons already applied with their stamp are not fetched again."""
    from sqlalchemy import text as sql  # noqa: PLC0415

    url = rig.database(f"overlap_{overlap}", ("hpr",))
    [engine] = rig.engines({"hpr": url})
    engine.adapter.overlap_s = overlap  # type: ignore[attr-defined]
    source = rig.upstream.hpr
    assert source is not None
    try:
        await engine.run_once()
        done = source.day_of_changes(rig.upstream.rng)
        await engine.run_once()
        with source.engine.connect() as conn:
            stamp = conn.execute(
                sql("SELECT last_changed FROM hpr_person WHERE hpr_number = :n"), {"n": done["suspended"][0]}
            ).scalar_one()
        late = next(n for n in (r[0] for r in rig.upstream.world.tables["hpr_person"].rows)
                    if n not in done["suspended"] + done["merged"])  # fmt: skip
        with source.engine.begin() as conn:  # committed after the read: the same second as the day's changes
            conn.execute(sql("UPDATE hpr_person SET family_name = 'Sent', last_changed = :t WHERE hpr_number = :n"),
                         {"t": stamp, "n": late})  # fmt: skip
        asked: list[int] = []
        answer = source.answer

        def counting(operation: str, request: Any) -> Any:
            if operation == "HentPerson":
                asked.append(int(request.hprNummer))
            elif operation == "HentPersoner":
                asked.extend(int(n) for n in request.hprNummer.int)
            return answer(operation, request)

        source.answer = counting  # type: ignore[method-assign]
        await engine.run_once()
    finally:
        engine.close()
    synced = create_engine(url)
    try:
        with synced.connect() as conn:
            family = conn.execute(sql("SELECT family_name FROM hpr_person WHERE hpr_number = :n"), {"n": late}).scalar()
    finally:
        synced.dispose()
    if overlap:
        assert family == "Sent"
        assert asked == [late]  # the others in the overlap were applied with that stamp already
    else:
        assert family != "Sent"
        assert asked == []


def test_the_demo_follows_every_registers_fake(tmp_path: Path) -> None:
    """`helsegraf demo`'s follower starts at each fake's head (the seeded database holds that state) and then
    applies the days of changes of every register, not only PREG's and BED's."""
    import io  # noqa: PLC0415
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from conftest import free_port  # noqa: PLC0415
    from helsegraf.seeding import seed  # noqa: PLC0415
    from helsegraf.sync import SYNCABLE, demo  # noqa: PLC0415
    from helsegraf.sync.engine import read_states  # noqa: PLC0415

    persons = 400
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(settings)
    seed(settings, persons=persons, seed_value=1, reset=False, console=Console(file=io.StringIO()))
    heads = demo.fake_heads(Upstream(generate(persons, 1), frozenset(SYNCABLE)))
    stop = threading.Event()
    assert demo.start(settings, persons, 1, port=free_port(), day_seconds=1.0, poll_seconds=0.3, stop=stop)
    engine = create_engine(settings.url_for("preg"))
    try:
        deadline = time.monotonic() + 90
        behind: dict[str, list[str]] = {}
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                behind = {}
                for register, feeds in heads.items():
                    states = read_states(conn, register, list(feeds))
                    late = [f for f, head in feeds.items() if states[f].position <= head]
                    if late:
                        behind[register] = late
            if not behind:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        engine.dispose()
    assert behind == {}, f"never followed past the seeded state: {behind}"
    assert set(heads) == set(SYNCABLE)
