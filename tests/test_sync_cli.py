"""`helsegraf upstream` and `helsegraf sync` as an operator runs them: separate processes over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from helsegraf.config import Settings
from helsegraf.data.load import load
from helsegraf.data.nation import TABLE_ORDER, generate
from helsegraf.migrate import upgrade
from test_sync import SYNCED, register_tables, table_rows

PERSONS = 400


@contextmanager
def upstream(tmp: Path, *args: str, persons: int = PERSONS) -> Iterator[str]:
    """Run `helsegraf upstream` on a free port; yield its URL."""
    port = free_port()
    log = (tmp / f"upstream-{port}.log").open("w")
    command = [sys.executable, "-m", "helsegraf.cli", "upstream", "--persons", str(persons), "--port", str(port), *args]
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HELSEGRAF_HOME": str(tmp)}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp / f"upstream-{port}.log").read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def sync(tmp: Path, url: str, database: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `helsegraf sync` to completion."""
    env = {**os.environ, "HELSEGRAF_HOME": str(tmp), "HELSEGRAF_UPSTREAM_URL": url}
    command = [sys.executable, "-m", "helsegraf.cli", "sync", "--database-url", database, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_sync_once_against_upstream_reproduces_the_nation_and_a_second_sync_refuses(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'synced.db'}"
    with upstream(tmp_path, "--day-seconds", "0") as url:
        done = sync(tmp_path, url, database, "--once")
        assert done.returncode == 0, done.stderr
        assert "preg/events @" in done.stderr
        # A follower holds the lock; a second sync of the same register refuses, naming why.
        env = {**os.environ, "HELSEGRAF_HOME": str(tmp_path), "HELSEGRAF_UPSTREAM_URL": url}
        follower = subprocess.Popen(
            [sys.executable, "-m", "helsegraf.cli", "sync", "--database-url", database, "--registers", "preg",
             "--follow", "--interval", "0.5"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            time.sleep(4)
            second = sync(tmp_path, url, database, "--once", "--registers", "preg")
        finally:
            follower.send_signal(signal.SIGTERM)
            _out, follower_err = follower.communicate(timeout=30)
        assert second.returncode == 1
        assert "another sync of preg is running" in second.stderr
        assert "Traceback" not in second.stderr + follower_err
    reference = f"sqlite:///{tmp_path / 'generated.db'}"
    settings = Settings(home=tmp_path, database_url=reference)
    upgrade(settings, stores=SYNCED)
    world = generate(PERSONS, 1)
    load(settings, world, tables=[t for t in TABLE_ORDER if t.split("_", 1)[0] in SYNCED])
    for register in SYNCED:
        for table in register_tables(register):
            assert table_rows(database, table) == table_rows(reference, table), table


def test_sync_reports_an_unreachable_source_in_one_line(tmp_path: Path) -> None:
    env_url = f"http://127.0.0.1:{free_port()}"
    done = sync(tmp_path, env_url, f"sqlite:///{tmp_path / 'x.db'}", "--once", "--registers", "bed",
                timeout=240)  # fmt: skip
    assert done.returncode == 1
    assert "failed 8 times" in done.stderr
    assert "Traceback" not in done.stderr


def test_sigkill_during_bootstrap_then_restart_gives_the_generated_nation(tmp_path: Path) -> None:
    """A real kill -9 of `helsegraf sync` part-way through, then `sync --once`: the same rows as the generator's."""
    database = f"sqlite:///{tmp_path / 'killed.db'}"
    env_home = {**os.environ, "HELSEGRAF_HOME": str(tmp_path)}
    persons = 5000  # five batches of 1,000 events: the kill lands after the first and before the last
    with upstream(tmp_path, "--day-seconds", "0", persons=persons) as url:
        env = {**env_home, "HELSEGRAF_UPSTREAM_URL": url, "HELSEGRAF_SYNC_CONCURRENCY": "1",
               "HELSEGRAF_SYNC_BATCH": "1000"}  # fmt: skip
        first = subprocess.Popen(
            [sys.executable, "-m", "helsegraf.cli", "sync", "--database-url", database, "--once"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        killed_at = _first_batch(tmp_path / "killed.db", first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert 0 < killed_at < persons
        again = sync(tmp_path, url, database, "--once")
        assert again.returncode == 0, again.stderr
    reference = f"sqlite:///{tmp_path / 'generated.db'}"
    settings = Settings(home=tmp_path, database_url=reference)
    upgrade(settings, stores=SYNCED)
    load(settings, generate(persons, 1), tables=[t for t in TABLE_ORDER if t.split("_", 1)[0] in SYNCED])
    for register in SYNCED:
        for table in register_tables(register):
            assert table_rows(database, table) == table_rows(reference, table), table


def _first_batch(path: Path, process: subprocess.Popen[bytes]) -> int:
    """Wait until the sync has committed its first batch of events; return the cursor's position."""
    import sqlite3  # noqa: PLC0415

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(path, timeout=0.1) as conn:
                row = conn.execute("SELECT position FROM preg_sync_cursor WHERE feed = 'events'").fetchone()
            if row and row[0] > 0:
                return int(row[0])
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    pytest.fail("the sync committed no batch")


def test_sync_with_worker_processes_reproduces_the_nation(backend: str, tmp_path: Path) -> None:
    """HELSEGRAF_SYNC_WORKERS: the bulk calls, their validation and mapping in worker processes, same rows."""
    from conftest import create_postgres_database, drop_postgres_database  # noqa: PLC0415

    made: list[str] = []

    def database(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        made.append(create_postgres_database(f"helsegraf_sync_cli_{name}"))
        return made[-1]

    try:
        synced = database("workers")
        upgrade(Settings(home=tmp_path, database_url=synced), stores=SYNCED)
        with upstream(tmp_path, "--day-seconds", "0") as url:
            env = {**os.environ, "HELSEGRAF_HOME": str(tmp_path), "HELSEGRAF_UPSTREAM_URL": url,
                   "HELSEGRAF_SYNC_WORKERS": "2", "HELSEGRAF_SYNC_BATCH": "250"}  # fmt: skip
            done = subprocess.run(
                [sys.executable, "-m", "helsegraf.cli", "sync", "--database-url", synced, "--once"],
                env=env, capture_output=True, text=True, timeout=180, check=False,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        reference = database("generated")
        settings = Settings(home=tmp_path, database_url=reference)
        upgrade(settings, stores=SYNCED)
        load(settings, generate(PERSONS, 1), tables=[t for t in TABLE_ORDER if t.split("_", 1)[0] in SYNCED])
        for register in SYNCED:
            for table in register_tables(register):
                assert table_rows(synced, table) == table_rows(reference, table), table
    finally:
        for url in made:
            drop_postgres_database(url)


def test_worker_processes_default_to_one_per_core_and_none_on_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """HELSEGRAF_SYNC_WORKERS unset: a worker per core the process may use (at most 8); one core: none."""
    from helsegraf import sync  # noqa: PLC0415

    for cores, workers in ((1, 0), (2, 2), (4, 4), (64, sync.MAX_DEFAULT_WORKERS)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert sync.default_workers() == workers
        assert sync.sources_from_env({}).workers == workers
        assert sync.sources_from_env({"HELSEGRAF_SYNC_WORKERS": "0"}).workers == 0
        assert sync.sources_from_env({"HELSEGRAF_SYNC_WORKERS": "3"}).workers == 3
