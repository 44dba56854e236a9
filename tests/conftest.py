"""Shared fixtures: a seeded nation on SQLite and on PostgreSQL, and an HTTP client for the app.

PostgreSQL tests use the server at HELSEGRAF_TEST_POSTGRES_URL (default the local one). Without
a server they are skipped, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, create_engine

from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import generate
from helsegraf.data.sample import sample_ids
from helsegraf.data.world import World
from helsegraf.http.app import create_app
from helsegraf.http.context import oslo_today
from helsegraf.migrate import upgrade

# The statistics' record keys derive from a secret (stats/disclosure.py): fixed here, so that the noise
# the tests see is the same on every run.
os.environ.setdefault("HELSEGRAF_STATS_SECRET", "helsegraf-test-statistics-secret")
POSTGRES_ADMIN_URL = os.environ.get("HELSEGRAF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATION_PERSONS = 3000
NATION_SEED = 7


def postgres_available() -> bool:
    """Tell whether the test PostgreSQL server answers."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skip a PostgreSQL test when no server answers, unless CI demands it."""
    if postgres_available():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true but {POSTGRES_ADMIN_URL} does not answer")
    pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}")


def create_postgres_database(prefix: str) -> str:
    """Create a fresh PostgreSQL database and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database created by `create_postgres_database`."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = create_postgres_database("helsegraf_test")
    yield url
    drop_postgres_database(url)


@dataclass
class Nation:
    """A seeded nation: its settings, its generated rows and sample ids."""

    backend: str
    settings: Settings
    world: World
    samples: dict[str, Any]

    def engine(self) -> Engine:
        """Return a sync engine on the nation's database (dispose after use)."""
        return create_engine(self.settings.effective_database_url)


# `HELSEGRAF_FAST_PATHS=0 pytest` runs the whole suite without the preloader and the executor's
# shortcuts (CI runs it both ways): answers, redactions and the access log must not change.
FAST_PATHS = Settings.from_env().fast_paths


def _seed(url: str, home: Path) -> Nation:
    settings = Settings(home=home, database_url=url, fast_paths=FAST_PATHS)
    upgrade(settings)
    world = generate(NATION_PERSONS, NATION_SEED)
    load(settings, world)
    backend = "postgres" if url.startswith("postgresql") else "sqlite"
    return Nation(backend, settings, world, sample_ids(settings, oslo_today()))


@pytest.fixture(scope="session")
def sqlite_nation(tmp_path_factory: pytest.TempPathFactory) -> Nation:
    """A nation seeded once per session into a SQLite file."""
    home = tmp_path_factory.mktemp("sqlite-nation")
    return _seed(f"sqlite:///{home / 'nation.db'}", home)


@pytest.fixture(scope="session")
def postgres_nation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nation]:
    """A nation seeded once per session into a PostgreSQL database."""
    require_postgres()
    url = create_postgres_database("helsegraf_nation")
    yield _seed(url, tmp_path_factory.mktemp("pg-nation"))
    drop_postgres_database(url)


@pytest.fixture
def nation(backend: str, request: pytest.FixtureRequest) -> Nation:
    """The seeded nation on the backend under test."""
    return request.getfixturevalue(f"{backend}_nation")  # type: ignore[no-any-return]


def sealed(nation: Nation, kind: str, number: int) -> str:
    """Return the opaque id the nation's server hands out for an internal number (authz/opaque.py)."""
    from helsegraf.authz.opaque import Sealer, load_secret  # noqa: PLC0415

    return Sealer(load_secret(nation.settings.home, nation.settings.id_secret)).seal(kind, number)


def token(nation: Nation, role: str = "admin", **claims: Any) -> str:
    """Mint a development token (signed with the nation's development key)."""
    from helsegraf.authz.tokens import mint  # noqa: PLC0415

    return mint(nation.settings.home, role=role, **claims)


class Graph:
    """An HTTP client for /graphql of an app; sends an admin token unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, default_token: str | None) -> None:
        self.client = client
        self.default_token = default_token

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = "default", **headers: str
    ) -> httpx.Response:
        """POST a query and return the raw response (`token=None` for an anonymous call)."""
        bearer = self.default_token if token == "default" else token
        if bearer:
            headers = {"authorization": f"Bearer {bearer}", **headers}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def query(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """POST a query that must succeed without errors; return the whole body."""
        response = await self.post(query, variables, **kwargs)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body  # type: ignore[no-any-return]

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """POST a query that must succeed; return its data."""
        return (await self.query(query, variables, **kwargs))["data"]  # type: ignore[no-any-return]


@pytest.fixture
async def graph(nation: Nation) -> AsyncIterator[Graph]:
    """A client for the app serving the nation, with SQL statement reporting on."""
    app = create_app(replace(nation.settings, debug=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Graph(client, token(nation))
    await app.state.db.dispose()


TODAY = oslo_today()  # the server's notion of today (Norway's date, not the machine's)


PUBLICATIONS = (
    "audit_statistics_published_cell",
    "audit_statistics_published_list",
    "audit_statistics_published_personnel",
    "audit_statistics_publication",
)


def unpublish(conn: Any) -> None:
    """Forget every stored statistics publication (stats/published.py), on a connection in a transaction.

    A test that rewrites a register's past (a list added in 2010, memberships moved) plays a nation that
    was always so: the reference dates published from the nation before are not that nation's.
    """
    from sqlalchemy import text  # noqa: PLC0415

    for name in PUBLICATIONS:
        conn.execute(text(f"DELETE FROM {name}"))


def db_rows(nation: Nation, sql: str, **params: Any) -> list[Any]:
    """Run a read query against the nation's database and return its rows."""
    from types import SimpleNamespace  # noqa: PLC0415

    from sqlalchemy import text  # noqa: PLC0415

    def typed(key: str, value: Any) -> Any:
        # SQLite hands dates back as ISO text from a raw query; the models' columns say they are dates.
        if isinstance(value, str) and key.endswith(("_from", "_to", "_date")):
            return datetime.fromisoformat(value) if len(value) > len("2000-01-01") else date.fromisoformat(value)
        return value

    engine = nation.engine()
    try:
        with engine.connect() as conn:
            result = conn.execute(text(sql), params)
            return [SimpleNamespace(**{k: typed(k, v) for k, v in row.items()}) for row in result.mappings()]
    finally:
        engine.dispose()


@pytest.fixture
async def make_graph(nation: Nation) -> AsyncIterator[Any]:
    """Build clients for apps on the nation with changed settings (`await make_graph(debug=True, ...)`)."""
    apps: list[Any] = []
    clients: list[httpx.AsyncClient] = []

    async def build(default_token: str | None = None, **changes: Any) -> Graph:
        app = create_app(replace(nation.settings, **changes))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        apps.append(app)
        clients.append(client)
        return Graph(client, default_token)

    yield build
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.db.dispose()


def free_port() -> int:
    """Return a TCP port nothing listens on."""
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


from contextlib import contextmanager  # noqa: E402


@dataclass
class Server:
    """A `helsegraf serve` process and its base URL."""

    url: str
    process: Any


@contextmanager
def running_server(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run `helsegraf serve` in a subprocess on a free port; yield it; stop it after."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    port = free_port()
    environment = {**os.environ, "HELSEGRAF_HOME": str(settings.home), "HELSEGRAF_LOG_FORMAT": "plain", **(env or {})}
    command = [sys.executable, "-m", "helsegraf.cli", "serve", "--database-url", settings.effective_database_url,
               "--port", str(port), *args]  # fmt: skip
    log_path = Path(settings.home) / f"serve-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.kill()
            process.wait()
            pytest.fail(f"helsegraf serve did not start: {log_path.read_text()}")
        yield Server(url, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
