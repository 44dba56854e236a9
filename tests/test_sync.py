"""The sync engine against the registers' fakes: bootstrap, following, faults, restarts (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from sqlalchemy import create_engine, select, text
from starlette.datastructures import Headers
from werkzeug.datastructures import ImmutableMultiDict

from conftest import create_postgres_database, drop_postgres_database
from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import TABLE_ORDER, generate
from helsegraf.migrate import upgrade
from helsegraf.models import METADATA
from helsegraf.sync import Sources, adapters
from helsegraf.sync.bed import BedSource
from helsegraf.sync.engine import Backoff, Engine, SyncLockedError, missing_indexes, register_lock
from helsegraf.sync.preg import PregSource
from helsegraf.upstream.contracts import openapi_document
from helsegraf.upstream.server import Upstream

PERSONS = 1500
FAST_PATHS = Settings.from_env().fast_paths  # CI runs the suite with the fast paths on and off
SEED = 7
SYNCED = ("preg", "bed")


def register_tables(register: str) -> list[str]:
    """The register's data tables (not the sync bookkeeping)."""
    return [name for name in METADATA[register].tables if "_sync_" not in name]


def table_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, in key order, with times normalised to UTC."""
    model = next(m.tables[table] for m in METADATA.values() if table in m.tables)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(model).order_by(*model.primary_key.columns)).all()
    finally:
        engine.dispose()

    def norm(value: Any) -> Any:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return value

    return [tuple(norm(v) for v in row) for row in rows]


@dataclass
class Rig:
    """A nation's fakes, a client that reaches them in-process, and databases to sync into."""

    upstream: Upstream
    client: httpx.AsyncClient
    backend: str
    tmp: Path
    urls: list[str]
    transport: ContractCheckingTransport
    malformed_on_purpose: bool = False

    def database(self, name: str) -> str:
        """Return a new, migrated database URL on the backend under test."""
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / name}.db"
        else:
            url = create_postgres_database(f"helsegraf_sync_{name}")
            self.urls.append(url)
        upgrade(Settings(home=self.tmp, database_url=url), stores=SYNCED)
        return url

    def engines(self, url: str, **options: Any) -> list[Engine]:
        """Return an engine per register, on one database."""
        sources = Sources(PregSource("http://upstream/persontjenesten", "http://upstream/persontjenesten/connect/token",
                                     "helsegraf-sync", "rehearsal-secret"),
                          BedSource("http://upstream/enhetsregisteret/api"))  # fmt: skip
        options.setdefault("backoff", Backoff(base_s=0.01, cap_s=0.05))
        return [Engine(a, url, self.client, **options) for a in adapters(sources, set(SYNCED))]

    async def sync_once(self, url: str, **options: Any) -> list[Engine]:
        """Run every register's engine once."""
        engines = self.engines(url, **options)
        try:
            for engine in engines:
                await engine.run_once()
        finally:
            for engine in engines:
                engine.close()
        return engines


class _Request:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = f"{request.url.scheme}://{request.url.host}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content
        self.content_type = request.headers.get("content-type", "application/octet-stream")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())), header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(), path={},
        )  # fmt: skip


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


CONTRACTS = {"/persontjenesten": "persontjenesten", "/enhetsregisteret/api": "enhetsregisteret"}


class ContractCheckingTransport(httpx.AsyncBaseTransport):
    """Validates every request the sync sends and every response a fake answers against the contract."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.checked = 0
        self.violations: list[str] = []
        self.specs = {}
        for prefix, name in CONTRACTS.items():
            document = openapi_document(name)
            document["servers"] = [{"url": f"http://upstream{prefix}"}]
            self.specs[prefix] = OpenAPI.from_dict(document)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        prefix = next((p for p in CONTRACTS if request.url.path.startswith(p + "/")), None)
        # The token endpoint is HelseID's, not the register's; faults (5xx, 429) are not in the contracts.
        if prefix and not request.url.path.endswith("/connect/token") and response.status_code < 429:
            spec = self.specs[prefix]
            try:
                spec.validate_request(_Request(request))
                spec.validate_response(_Request(request), _Response(response))
                self.checked += 1
            except Exception as exc:  # noqa: BLE001 - every violation is collected and reported
                details = getattr(exc, "schema_errors", None) or getattr(exc, "__cause__", None) or exc
                self.violations.append(f"{request.method} {request.url.path}: {exc}: {details}"[:2000])
        return response


@pytest.fixture
async def rig(backend: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """Fakes of PREG and BED over a fresh nation, reached through httpx's ASGI transport.

    Every exchange is checked against the registers' OpenAPI documents; a test that makes a fake
    send a malformed document on purpose sets `rig.malformed_on_purpose`.
    """
    world = generate(PERSONS, SEED)
    upstream = Upstream(world, frozenset(SYNCED))
    transport = ContractCheckingTransport(httpx.ASGITransport(app=upstream.app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://upstream", timeout=5) as client:
        rig = Rig(upstream, client, backend, tmp_path, [], transport)
        yield rig
    for url in rig.urls:
        drop_postgres_database(url)
    if not rig.malformed_on_purpose:
        assert transport.violations == []
        assert transport.checked > 0


def generated(world: Any, tmp: Path, backend: str, urls: list[str]) -> str:
    """Load the generated nation the ordinary way (the generator's own rows) and return the URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'generated.db'}"
    else:
        url = create_postgres_database("helsegraf_sync_generated")
        urls.append(url)
    settings = Settings(home=tmp, database_url=url)
    upgrade(settings, stores=SYNCED)
    only = type(world)(seed=world.seed, persons=world.persons, as_of=world.as_of)
    only.tables = {name: table for name, table in world.tables.items() if name.split("_", 1)[0] in SYNCED}
    _load_only(settings, only)
    return url


def _load_only(settings: Settings, world: Any) -> None:
    load(settings, world, tables=[t for t in TABLE_ORDER if t in world.tables])


async def test_bootstrap_reproduces_the_generated_nation_row_for_row(rig: Rig) -> None:
    synced = rig.database("synced")
    engines = await rig.sync_once(synced)
    reference = generated(rig.upstream.world, rig.tmp, rig.backend, rig.urls)
    for register in SYNCED:
        for table in register_tables(register):
            expected = table_rows(reference, table)
            assert expected, f"the generator made no {table} rows"
            assert table_rows(synced, table) == expected, table
    preg = engines[0]
    assert preg.status.applied["events"] == PERSONS
    assert preg.status.positions["events"] == rig.upstream.preg.latest  # type: ignore[union-attr]
    # The credentials were used: a token was fetched from the fake HelseID, once.
    assert rig.upstream.issuer.issued == 1


async def test_the_contract_check_catches_a_fake_that_drifts(rig: Rig) -> None:
    """The checking transport is not a rubber stamp: a response off the contract is reported."""
    rig.malformed_on_purpose = True
    await rig.sync_once(rig.database("checked"))
    assert rig.transport.checked > 10
    assert rig.transport.violations == []
    some = next(iter(rig.upstream.preg.people))  # type: ignore[union-attr]
    rig.upstream.preg_faults.malformed.add(some)
    await rig.client.post(
        "http://upstream/persontjenesten/api/legal-basis/person/bulk-by-id",
        params={"informationParts": ["Name"]}, data={"personIds": [some]},
        headers={"api-version": "2", "authorization": rig.client.headers.get("authorization", "")},
    )  # fmt: skip
    assert len(rig.transport.violations) == 1
    assert "bulk-by-id" in rig.transport.violations[0]


def _whole_nation(rig: Rig) -> str:
    """A database with every store migrated, the other registers loaded the ordinary way, PREG/BED empty."""
    url = rig.database("graph")
    settings = Settings(home=rig.tmp, database_url=url)
    upgrade(settings)
    others = [t for t in TABLE_ORDER if t.split("_", 1)[0] not in SYNCED]
    load(settings, rig.upstream.world, tables=others)
    return url


async def test_a_day_of_changes_reaches_the_graph_within_one_poll_interval(rig: Rig) -> None:
    from helsegraf.authz.tokens import mint  # noqa: PLC0415
    from helsegraf.http.app import create_app  # noqa: PLC0415

    url = _whole_nation(rig)
    await rig.sync_once(url)
    preg, bed = rig.upstream.preg, rig.upstream.bed
    assert preg is not None and bed is not None  # noqa: PT018
    done = rig.upstream.day_of_changes()
    moved = preg.people[done["preg"]["moves"][0]].row
    renumbered = preg.people[done["preg"]["nins"][0]]
    old_nin = next(n["number"] for n in renumbered.numbers if n["status"] == "Discontinued")
    duplicate, survivor = (preg.people[p] for p in done["preg"]["merges"])
    closed = done["bed"]["closed"][0]

    interval = 0.2
    stop = asyncio.Event()
    engines = rig.engines(url)
    follower = asyncio.gather(*(e.follow(interval, stop, lambda _e: None) for e in engines))
    await asyncio.sleep(interval * 3)  # one poll interval, with room for the poll itself on a busy machine
    stop.set()
    await follower
    for engine in engines:
        engine.close()

    settings = Settings(home=rig.tmp, database_url=url, fast_paths=FAST_PATHS)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph") as client:
        headers = {"authorization": f"Bearer {mint(rig.tmp, role='admin')}"}
        query = """query($moved: ID!, $old: ID!, $dup: ID!, $org: ID!) {
          moved: person(nin: $moved) { address { street } lastChanged }
          renumbered: person(nin: $old) { nin currentNin replacedBy name { family }
                                          identificationNumbers { number numberType status validTo } }
          merged: person(nin: $dup) { currentNin replacedBy }
          closed: organization(orgNumber: $org) { validTo lastChanged }
          registers { name cursor lastSyncedAt lag lagEvents skipped }
        }"""
        variables = {"moved": moved["nin"], "old": old_nin, "dup": duplicate.numbers[0]["number"], "org": closed}
        response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
    await app.state.db.dispose()
    assert "errors" not in body, body
    data = body["data"]
    assert data["moved"]["address"]["street"] == moved["street"]
    assert data["moved"]["lastChanged"].startswith(str(moved["last_changed"].date()))
    numbers = data["renumbered"].pop("identificationNumbers")
    assert {(n["number"], n["status"]) for n in numbers} == {
        (old_nin, "Discontinued"),
        (renumbered.row["nin"], "InUse"),
    }
    assert data["renumbered"] == {"nin": old_nin, "currentNin": renumbered.row["nin"],
                                  "replacedBy": renumbered.row["nin"],
                                  "name": {"family": renumbered.row["family_name"]}}  # fmt: skip
    assert data["merged"] == {"currentNin": survivor.row["nin"], "replacedBy": survivor.row["nin"]}
    assert data["closed"]["validTo"] == str(bed.units[closed]["valid_to"])
    by_name = {r["name"]: r for r in data["registers"]}
    assert by_name["preg"]["cursor"] == f"events:{preg.latest}"
    assert by_name["preg"]["lagEvents"] == 0 and by_name["preg"]["lag"] < 30  # noqa: PT018
    assert by_name["bed"]["cursor"] == f"enheter:{bed.latest('enheter')},underenheter:{bed.latest('underenheter')}"
    assert by_name["hpr"]["cursor"] is None and by_name["hpr"]["lag"] is None  # noqa: PT018


def _skips(url: str, register: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r) for r in conn.execute(text(f"SELECT event_id, reason FROM {register}_sync_skip ORDER BY id"))
            ]
    finally:
        engine.dispose()


def _position(url: str, register: str, feed: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(f"SELECT position FROM {register}_sync_cursor WHERE feed = :f"), {"f": feed}
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_bad_documents_and_events_are_skipped_with_a_reason_and_the_rest_applied(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    url = rig.database("faults")
    await rig.sync_once(url)
    preg = rig.upstream.preg
    assert preg is not None
    rig.malformed_on_purpose = True
    done = rig.upstream.day_of_changes()
    malformed, withheld = done["preg"]["moves"][:2]
    rig.upstream.preg_faults.malformed.add(malformed)
    rig.upstream.preg_faults.withheld.add(withheld)
    unknown = preg.people[done["preg"]["moves"][2]]
    preg.events.append((preg.latest + 1, unknown.person_id, "ChangeInSomethingNew"))
    with caplog.at_level("WARNING", logger="helsegraf.sync"):
        [engine, _bed] = await rig.sync_once(url)
    reasons = dict(_skips(url, "preg"))
    by_id = {p: str(s) for s, p, _t in preg.events}
    last_event = {p: str(s) for s, p, _t in preg.events if _t != "ChangeInSomethingNew"}
    assert reasons[last_event[malformed]].startswith("malformed document: ")
    assert reasons[last_event[withheld]] == "person not returned by bulk-by-id"
    assert reasons[str(preg.latest)] == "unknown event type"
    assert len(reasons) == 3
    del by_id
    # The cursor moved past what was skipped (each recorded), and the rest of the day was applied.
    assert _position(url, "preg", "events") == preg.latest
    assert engine.status.skipped["events"] == 3
    other = preg.people[done["preg"]["moves"][3]].row
    [(street,)] = (
        create_engine(url)
        .connect()
        .execute(text("SELECT street FROM preg_person WHERE nin = :n"), {"n": other["nin"]})
        .all()
    )
    assert street == other["street"]
    # Logged by event id and reason, never with a person's number or name.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert last_event[malformed] in logged
    for record in (preg.people[malformed].row, preg.people[withheld].row):
        assert record["nin"] not in logged and record["family_name"] not in logged  # noqa: PT018


async def test_a_sequence_gap_is_recorded_and_passed(rig: Rig) -> None:
    url = rig.database("gap")
    preg = rig.upstream.preg
    assert preg is not None
    hidden = preg.events[700]
    preg.events[700] = (hidden[0], hidden[1], "__hidden__")
    original = preg.events_from
    preg.events_from = lambda seq, types=None: [e for e in original(seq, types) if e[2] != "__hidden__"]  # type: ignore[method-assign]
    await rig.sync_once(url)
    assert ("701", "sequence gap: positions 701 missing") in _skips(url, "preg")
    assert _position(url, "preg", "events") == preg.latest


async def test_500s_timeouts_and_429_are_retried_and_retry_after_obeyed(rig: Rig) -> None:
    url = rig.database("retry")
    faults = rig.upstream.preg_faults
    faults.fail_next = 2
    faults.throttle_next = 1
    faults.retry_after_s = 1
    flaky = _Flaky(rig.client._transport, timeouts=2)  # noqa: SLF001 - wrap the rig's own transport
    rig.client._transport = flaky  # noqa: SLF001
    started = asyncio.get_running_loop().time()
    [engine, _bed] = await rig.sync_once(url)
    elapsed = asyncio.get_running_loop().time() - started
    assert flaky.raised == 2
    assert faults.fail_next == 0 and faults.throttle_next == 0  # noqa: PT018
    assert elapsed >= 1.0  # the 429's Retry-After: 1 was waited out
    assert engine.errors["source"] >= 5  # two timeouts, two 500s and a 429, each counted
    assert _position(url, "preg", "events") == rig.upstream.preg.latest  # type: ignore[union-attr]


class _Flaky(httpx.AsyncBaseTransport):
    """Times out the first few calls, as a source that stops answering would."""

    def __init__(self, inner: httpx.AsyncBaseTransport, timeouts: int) -> None:
        self.inner, self.left, self.raised = inner, timeouts, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.left > 0 and "/event" in request.url.path:
            self.left -= 1
            self.raised += 1
            raise httpx.ReadTimeout("the source did not answer", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_source_that_goes_back_in_time_moves_nothing(rig: Rig) -> None:
    from helsegraf.sync.engine import RetryableError  # noqa: PLC0415

    url = rig.database("rewound")
    await rig.sync_once(url)
    preg = rig.upstream.preg
    assert preg is not None
    before = table_rows(url, "preg_person")
    stored = _position(url, "preg", "events")
    del preg.events[stored - 10 :]  # restored from an older backup
    [engine] = [e for e in rig.engines(url) if e.register == "preg"]
    with pytest.raises(RetryableError, match="behind the stored cursor"):
        await engine.run_once()
    engine.close()
    assert _position(url, "preg", "events") == stored
    assert table_rows(url, "preg_person") == before


def test_a_second_sync_of_the_same_register_refuses_to_run(empty_database_url: str) -> None:
    url = empty_database_url
    engine = create_engine(url)
    other = create_engine(url)
    try:
        with register_lock(engine, "preg"), pytest.raises(SyncLockedError, match="another sync of preg"):  # noqa: SIM117
            with register_lock(other, "preg"):
                pass
        with register_lock(engine, "preg"), register_lock(other, "bed"):
            pass  # another register is not blocked, and the lock is free again after use
    finally:
        engine.dispose()
        other.dispose()


class Crash(Exception):  # noqa: N818 - what it stands for
    """The sync process dying."""


def _assert_same(url: str, expected_url: str, registers: tuple[str, ...]) -> None:
    """Compare the registers' tables and cursors of two databases row by row."""
    for register in registers:
        for table in [*register_tables(register), f"{register}_sync_cursor"]:
            rows, expected = table_rows(url, table), table_rows(expected_url, table)
            if table.endswith("_sync_cursor"):  # times differ between runs; positions and counts may not
                rows, expected = ([r[:4] + r[6:] for r in rs] for rs in (rows, expected))
            assert rows == expected, table


def test_copy_rows_of_documents_sharing_a_number_keep_the_last_row_per_key() -> None:
    """Two answers whose documents share a current number: as COPY text, the same rows as `apply` keeps."""
    import orjson  # noqa: PLC0415

    from helsegraf.sync.preg import CopyRows, map_answer  # noqa: PLC0415
    from helsegraf.upstream.preg import PregSource as Fake  # noqa: PLC0415

    fake = Fake(generate(50, SEED))
    first = orjson.loads(fake.document(next(iter(fake.people))) or b"{}")
    second = {**first, "id": "00000000-0000-4000-8000-000000000001"}
    second["name"] = [{**first["name"][0], "familyName": "Tvilling"}]
    second["residentialAddress"] = [*first.get("residentialAddress", []), {
        **first["residentialAddress"][0], "validFrom": "2001-02-03T00:00:00Z", "isValid": False,
    }]  # fmt: skip
    answers = [orjson.dumps([document]) for document in (first, second)]
    apart, together = CopyRows(), map_answer(orjson.dumps([first, second]), copy=True)[0]
    for answer in answers:
        apart.extend(map_answer(answer, copy=True)[0])
    assert apart.nins == together.nins == [first["norwegianIdentificationNumber"][-1]["identificationNumber"]] * 2
    assert apart.unique() == together.unique()
    assert b"Tvilling" in apart.unique().text["persons"]
    assert apart.unique().text["addresses"].count(b"\n") == len(first["residentialAddress"]) + 1


def test_every_part_of_the_rows_has_its_table_in_the_copy_path_and_the_bulk_load() -> None:
    """A part added to `Rows` (a new PREG table) must be written on PostgreSQL too (PARTS, bulk_tables)."""
    from dataclasses import fields  # noqa: PLC0415

    from helsegraf.sync.preg import PARTS, REPLACED, PregAdapter, Rows  # noqa: PLC0415

    parts = {part for part, _model, _keys in PARTS}
    assert parts == {f.name for f in fields(Rows)} - {"redirects", "mapped"}
    assert parts >= REPLACED
    assert set(PregAdapter.bulk_tables) == {model.__tablename__ for _part, model, _keys in PARTS}


def test_copy_rows_of_answers_whose_rows_list_their_columns_in_another_order_agree() -> None:
    """The mapping may build a row's keys in another order (an address abroad); the COPY text follows the table."""
    from helsegraf.sync.preg import CopyRows, Rows  # noqa: PLC0415

    columns = [c.name for c in METADATA["preg"].tables["preg_address"].columns]
    first, second = Rows(), Rows()
    first.addresses.append(dict.fromkeys(columns) | {"nin": "01010112345", "kind": "RESIDENTIAL", "street": "Vei 1"})
    second.addresses.append({c: first.addresses[0][c] for c in reversed(columns)} | {"nin": "02020212345"})
    rows = CopyRows.of(first)
    rows.extend(CopyRows.of(second))
    assert rows.columns["addresses"] == tuple(columns)
    lines = rows.unique().text["addresses"].splitlines()
    assert [line.split(b"\t")[:3] for line in lines] == [
        [b"01010112345", b"RESIDENTIAL", b"\\N"], [b"02020212345", b"RESIDENTIAL", b"\\N"],
    ]  # fmt: skip


def test_the_bulk_form_is_encoded_as_urlencode_encodes_it() -> None:
    from urllib.parse import urlencode  # noqa: PLC0415

    from helsegraf.sync.preg import bulk_form  # noqa: PLC0415

    ids = ["c1123f62-75e6-429f-9053-748c57cfead0", "a b&c=d", "æøå/+", "x~y.z_"]
    assert bulk_form(ids) == urlencode({"personIds": ids}, doseq=True).encode()


def _check_bulk_crash(url: str, crash_at: int) -> None:
    """After a crash in the first PREG batch the tables lack indexes; in the second (repeats), they have them."""
    if crash_at == 1:
        assert "pk_preg_address" in _missing_indexes(url)  # the crash came in the middle of a bulk load
    elif crash_at == 2:
        assert _missing_indexes(url) == []  # built before the batch that crashed
        _drop_index(url, "ix_preg_identification_number_person_id")  # and a crash in the middle of building them


def _drop_index(url: str, name: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP INDEX "{name}"'))
    finally:
        engine.dispose()


def _missing_indexes(url: str) -> list[str]:
    """Name the PREG primary keys and indexes the models declare that a PostgreSQL database lacks."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = list(METADATA["preg"].tables.values())
            return [str(index.name) for _table, index in missing_indexes(conn, tables)]
    finally:
        engine.dispose()


async def test_a_bulk_bootstrap_builds_the_indexes_after_the_load_and_gives_the_same_database(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A bootstrap into empty tables (PostgreSQL: index-less, indexes built at the end) equals an ordinary one.

    The day of changes after the nation's PersonPopulated events names persons loaded already: the
    bulk load ends at that batch (its indexes built in the batch's transaction) and the rest is
    applied the ordinary way.
    """
    rig.upstream.day_of_changes(scale=3)
    ordinary, bulk = rig.database("ordinary"), rig.database("bulk")
    await rig.sync_once(ordinary, batch_size=1000, bulk_from=10**9)
    with caplog.at_level("INFO", logger="helsegraf.sync"):
        await rig.sync_once(bulk, batch_size=1000, bulk_from=1)
    _assert_same(bulk, ordinary, ("preg",))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    if rig.backend == "postgres":
        assert "bulk load of" in logged
        assert "bulk load done at entry 1000," in logged  # the first batch was appended; the second repeats persons
        assert _missing_indexes(bulk) == []
    else:
        assert "bulk load" not in logged  # SQLite loads the ordinary way


@pytest.mark.parametrize("bulk_from", [10**9, 1], ids=["ordinary", "bulk"])
async def test_killing_sync_at_any_batch_and_restarting_gives_the_same_database(rig: Rig, bulk_from: int) -> None:
    """Crash inside a batch's transaction (after its rows were written, before the commit), restart, compare.

    With `bulk` (PostgreSQL) the first PREG batch is a bulk load's: the crash leaves the tables without
    indexes, and the restart goes on appending, then builds them. The second names persons loaded
    already: the indexes are built before it; that crash is followed by one in the middle of the
    builds (an index dropped again), so the restart resumes the bulk load over the rows it has.
    """
    rig.upstream.day_of_changes(scale=3)
    uninterrupted = rig.database("whole")
    batches = {"batch_size": 1000, "bulk_from": bulk_from}  # a page a batch, so PREG and BED take several
    await rig.sync_once(uninterrupted, **batches)
    for crash_at in (1, 2, 3):  # the first PREG batch (bulk: before any row), the second, the first BED batch
        url = rig.database(f"crashed{crash_at}")
        engines = rig.engines(url, **batches)
        calls = {"n": 0}
        for engine in engines:
            for method in ("apply", "apply_bulk"):
                original = getattr(engine.adapter, method)

                def crashing(conn: Any, batch: Any, original: Any = original) -> int:
                    written = original(conn, batch)
                    calls["n"] += 1  # noqa: B023
                    if calls["n"] == crash_at:  # noqa: B023
                        raise Crash  # the process dies mid-transaction
                    return written

                setattr(engine.adapter, method, crashing)
        with pytest.raises(Crash):  # noqa: PT012
            for engine in engines:
                await engine.run_once()
        for engine in engines:
            engine.close()
        if rig.backend == "postgres" and bulk_from == 1:
            _check_bulk_crash(url, crash_at)
        await rig.sync_once(url, **batches)
        if rig.backend == "postgres":
            assert _missing_indexes(url) == []
        _assert_same(url, uninterrupted, SYNCED)


async def test_an_unreachable_source_keeps_the_graph_answering_with_lag_growing(rig: Rig) -> None:
    """/readyz says which register is degraded (ready or not, by setting); /metrics has lag, cursor, errors."""
    from dataclasses import replace  # noqa: PLC0415

    from helsegraf.authz.tokens import mint  # noqa: PLC0415
    from helsegraf.config import HttpSettings  # noqa: PLC0415
    from helsegraf.http.app import create_app  # noqa: PLC0415

    url = _whole_nation(rig)
    await rig.sync_once(url)
    rig.upstream.preg_faults.down = True
    [preg] = [e for e in rig.engines(url, max_attempts=2) if e.register == "preg"]
    stop = asyncio.Event()
    follower = asyncio.create_task(preg.follow(0.05, stop, lambda _e: None))
    await asyncio.sleep(1.2)
    stop.set()
    await follower
    preg.close()
    assert preg.errors["source"] >= 2

    person = next(iter(rig.upstream.preg.people.values())).row  # type: ignore[union-attr]
    answers = {}
    for ready_while_lagging in (True, False):
        settings = Settings(home=rig.tmp, database_url=url, fast_paths=FAST_PATHS,
                            http=replace(HttpSettings(), max_lag_s=1, ready_while_lagging=ready_while_lagging))  # fmt: skip  # noqa: E501
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph") as client:
            headers = {"authorization": f"Bearer {mint(rig.tmp, role='admin')}"}
            query = "query($n: ID!) { person(nin: $n) { name { family } } registers { name lag } }"
            first = (await client.post("/graphql", json={"query": query, "variables": {"n": person["nin"]}},
                                       headers=headers)).json()  # fmt: skip
            await asyncio.sleep(0.3)
            second = (await client.post("/graphql", json={"query": query, "variables": {"n": person["nin"]}},
                                        headers=headers)).json()  # fmt: skip
            ready = await client.get("/readyz")
            metrics = (await client.get("/metrics")).text
        await app.state.db.dispose()
        answers[ready_while_lagging] = ready
        assert first["data"]["person"]["name"]["family"] == person["family_name"]
        lag = {r["name"]: r["lag"] for r in first["data"]["registers"]}
        later = {r["name"]: r["lag"] for r in second["data"]["registers"]}
        assert lag["preg"] > 1 and later["preg"] > lag["preg"]  # noqa: PT018
    assert answers[True].status_code == 200 and answers[True].json()["status"] == "degraded"  # noqa: PT018
    assert set(answers[True].json()["degraded"]) == {"preg", "bed"}
    assert answers[False].status_code == 503 and "preg" in answers[False].json()["degraded"]  # noqa: PT018
    assert 'helsegraf_sync_lag_seconds{register="preg"}' in metrics
    assert f'helsegraf_sync_cursor{{feed="events",register="preg"}} {float(rig.upstream.preg.latest)}' in metrics  # type: ignore[union-attr]
    errors = next(line for line in metrics.splitlines() if line.startswith('helsegraf_sync_errors{register="preg"}'))
    assert float(errors.split()[-1]) >= 2
