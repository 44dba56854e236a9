"""`helsegraf sync`: lock each register, bootstrap with a progress bar, then follow with a status line."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from helsegraf.config import Settings
from helsegraf.sync import Sources, adapters
from helsegraf.sync.engine import Engine, SyncError, lag_seconds, register_lock

BOOTSTRAP_BAR_FROM = 1000  # entries behind before a progress bar is worth drawing


def status_line(engines: Sequence[Engine]) -> str:
    """Return one line saying where every feed is and how far behind it may be."""
    parts = []
    now = datetime.now(UTC)
    for engine in engines:
        for feed, state in engine.states().items():
            lag = lag_seconds(state, now)
            behind = (state.source_head or state.position) - state.position
            errors = sum(engine.errors.values())
            parts.append(
                f"{engine.register}/{feed} @{state.position} behind {max(behind, 0)}"
                f" lag {'-' if lag is None else f'{lag:.0f}s'}{f' errors {errors}' if errors else ''}"
            )
    return " · ".join(parts)


async def run(  # noqa: C901 - locking, bootstrap and following read as one story
    settings: Settings,
    sources: Sources,
    registers: frozenset[str],
    *,
    follow: bool,
    console: Console,
    stop: asyncio.Event | None = None,
) -> list[Engine]:
    """Sync the registers once, or follow them until SIGINT/SIGTERM (or `stop`)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    chosen = adapters(sources, registers)
    timeout = httpx.Timeout(sources.timeout_s, connect=min(10.0, sources.timeout_s))
    limits = httpx.Limits(max_connections=4 * sources.concurrency)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True,
    )  # fmt: skip
    tasks: dict[tuple[str, str], TaskID] = {}

    def on_progress(register: str, feed: str, position: int, head: int | None) -> None:
        key = (register, feed)
        if key not in tasks:
            if head is None or head - position < BOOTSTRAP_BAR_FROM:
                return
            tasks[key] = progress.add_task(f"{register} {feed}", total=head, completed=position)
        progress.update(tasks[key], completed=position, total=max(head or 0, position))

    async with contextlib.AsyncExitStack() as stack:
        engines: list[Engine] = []
        for adapter in chosen:
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, limits=limits))
            engine = Engine(
                adapter, settings.url_for(adapter.register), client, on_progress=on_progress, batch_size=sources.batch,
                bulk_from=sources.bulk_from,
            )  # fmt: skip
            stack.callback(engine.close)
            stack.enter_context(register_lock(engine.engine, adapter.register))
            engines.append(engine)
        with progress:
            results = await asyncio.gather(*(engine.run_once() for engine in engines), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if not isinstance(failure, SyncError):
                raise failure
            console.print(f"[yellow]sync:[/] {failure}", highlight=False)
        if failures and not follow:
            raise failures[0]
        console.print(status_line(engines), highlight=False)
        if not follow:
            return engines
        with Live(status_line(engines), console=console, refresh_per_second=1, transient=False) as live:

            def show(_engine: Engine) -> None:
                live.update(status_line(engines))

            await asyncio.gather(*(e.follow(sources.interval_s, stop, show) for e in engines))
        return engines
