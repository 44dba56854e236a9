"""The demo's living registers: every register's fake and a follower, beside the graph.

`helsegraf demo` seeds the nation the ordinary way (a fast bulk load), so the fakes, generated from
the same seed, start where the database already is: the follower's cursors are set to the fakes'
newest positions and it applies only the days of changes that follow. Everything runs in one
background thread (its own event loop): the fakes on a local port, the follower polling them over
HTTP like any sync, so the demo's answers change while you watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
from datetime import UTC
from pathlib import Path
from typing import Any

from rich.console import Console

from helsegraf.config import Settings
from helsegraf.sync.engine import FeedState, write_state

log = logging.getLogger("helsegraf.sync")
NATION_FILE = "demo-nation.json"
DAY_SECONDS = 20.0
POLL_SECONDS = 2.0


def remember_nation(settings: Settings, persons: int, seed: int) -> None:
    """Record what the demo seeded, so the fakes can be generated the same way on the next start."""
    (settings.home / NATION_FILE).write_text(json.dumps({"persons": persons, "seed": seed}), encoding="utf-8")


def seeded_nation(settings: Settings, default_persons: int) -> tuple[int, int]:
    """Return the (persons, seed) the demo database was seeded with."""
    path: Path = settings.home / NATION_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return int(recorded["persons"]), int(recorded["seed"])
    return default_persons, 1


def _free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start(
    settings: Settings, persons: int, seed: int, host: str = "127.0.0.1", port: int = 8700,
    day_seconds: float = DAY_SECONDS, poll_seconds: float = POLL_SECONDS, stop: threading.Event | None = None,
) -> str | None:  # fmt: skip
    """Start the fakes and the follower in a daemon thread; return the fakes' URL (None if the port is taken).

    Setting `stop` ends the follower and the fakes (the demo itself just exits with the process).
    """
    if not _free(host, port):
        return None
    url = f"http://{host}:{port}"
    thread = threading.Thread(
        target=lambda: asyncio.run(_run(settings, persons, seed, host, port, day_seconds, poll_seconds, stop)),
        daemon=True, name="helsegraf-demo-sync",
    )  # fmt: skip
    thread.start()
    return url


async def _run(
    settings: Settings, persons: int, seed: int, host: str, port: int, day_seconds: float, poll_seconds: float,
    stop: threading.Event | None,
) -> None:  # fmt: skip
    import uvicorn  # noqa: PLC0415

    from helsegraf.data.nation import generate  # noqa: PLC0415
    from helsegraf.sync import SYNCABLE, sources_from_env  # noqa: PLC0415
    from helsegraf.sync.runner import run  # noqa: PLC0415
    from helsegraf.upstream.server import Upstream  # noqa: PLC0415

    try:
        fake = Upstream(generate(persons, seed), frozenset(SYNCABLE))
        _start_at_heads(settings, fake)
        server = uvicorn.Server(uvicorn.Config(fake.app(day_seconds=day_seconds), host=host, port=port,
                                               log_level="warning", lifespan="on"))  # fmt: skip
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
        sources = sources_from_env({"HELSEGRAF_UPSTREAM_URL": f"http://{host}:{port}",
                                    "HELSEGRAF_SYNC_INTERVAL_S": str(poll_seconds)})  # fmt: skip
        # The follower's status line is not shown beside the server's output; it goes nowhere.
        sink = open(os.devnull, "w")  # noqa: ASYNC230, SIM115, PTH123 - once, at start
        quiet = Console(file=sink, force_terminal=False)
        stopping = asyncio.Event()

        async def watch() -> None:
            if stop is not None:
                await asyncio.to_thread(stop.wait)
                stopping.set()
                server.should_exit = True

        watcher = asyncio.create_task(watch())
        await run(settings, sources, frozenset(SYNCABLE), follow=True, console=quiet, stop=stopping)
        await serving
        await watcher
        sink.close()
    except Exception:
        log.exception("the demo's follower stopped")


def fake_heads(fake: Any) -> dict[str, dict[str, int]]:
    """Return every fake's newest position per feed, as each register's adapter counts positions."""
    from helsegraf.sync.window import position_of  # noqa: PLC0415
    from helsegraf.upstream.bed import FEEDS  # noqa: PLC0415

    def newest(moments: Any) -> int:
        return max((position_of(m) for m in moments if m is not None), default=0)

    with fake.hpr.engine.connect() as conn:
        from sqlalchemy import func, select  # noqa: PLC0415

        from helsegraf.models.hpr import HealthPersonnel  # noqa: PLC0415

        hpr_newest = conn.execute(select(func.max(HealthPersonnel.__table__.c.last_changed))).scalar()
    if hpr_newest is not None and hpr_newest.tzinfo is None:
        hpr_newest = hpr_newest.replace(tzinfo=UTC)  # SQLite keeps UTC without its zone
    return {
        "preg": {"events": fake.preg.latest},
        "bed": {f: fake.bed.latest(f) for f in FEEDS},
        "hpr": {"changes": newest([hpr_newest])},
        "ar": {"events": fake.ar.latest},
        "kodeverk": {"versions": fake.kodeverk.latest},
        "resh": {"units": newest(u["last_changed"] for u in fake.resh.units.values())},
        "flr": {"contracts": newest(c["updated_on"] for c in fake.flr.contracts.values())},
    }


def _start_at_heads(settings: Settings, fake: object) -> None:
    """Point the cursors at the fakes' newest positions: the seeded database already holds that state."""
    from sqlalchemy import create_engine  # noqa: PLC0415

    from helsegraf.sync.engine import read_states  # noqa: PLC0415

    heads = fake_heads(fake)
    for register, feeds in heads.items():
        engine = create_engine(settings.url_for(register))
        try:
            with engine.begin() as conn:
                stored = read_states(conn, register, list(feeds))
                for feed, head in feeds.items():
                    # A fresh fake each start: its feed begins again at the seeded nation.
                    state = FeedState(feed, position=head, source_head=head, applied=stored[feed].applied,
                                      skipped=stored[feed].skipped, errors=stored[feed].errors)  # fmt: skip
                    write_state(conn, register, state)
        finally:
            engine.dispose()
