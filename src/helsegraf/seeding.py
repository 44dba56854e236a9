"""`helsegraf seed`: migrate every store, generate a nation and bulk-load it, with progress."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from helsegraf import migrate
from helsegraf.config import Settings
from helsegraf.data.load import load, populated_registers
from helsegraf.data.nation import DEFAULT_AS_OF, TABLE_ORDER, generate


class AlreadySeededError(RuntimeError):
    """Raised when seeding a database that already holds a nation, without --reset."""


@dataclass(frozen=True)
class SeedReport:
    """What a seed run loaded and how long it took."""

    rows: dict[str, int]
    generate_seconds: float
    load_seconds: float

    @property
    def total_rows(self) -> int:
        """Return the number of rows loaded across all tables."""
        return sum(self.rows.values())


def seed(
    settings: Settings,
    *,
    persons: int,
    seed_value: int,
    reset: bool,
    as_of: date = DEFAULT_AS_OF,
    console: Console | None = None,
) -> SeedReport:
    """Create the schema and load a nation; refuse a populated database unless `reset`."""
    console = console or Console(stderr=True, quiet=True)
    if reset:
        migrate.downgrade(settings)
    migrate.upgrade(settings)
    populated = populated_registers(settings)
    if populated:
        found = ", ".join(f"{register} ({count:,} rows)" for register, count in populated.items())
        msg = f"the database already holds a nation: {found}. Pass --reset to drop it and seed anew."
        raise AlreadySeededError(msg)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        phases = progress.add_task(f"Generating {persons:,} persons (seed {seed_value})", total=5)

        def on_phase(name: str) -> None:
            progress.update(phases, description=f"Generating: {name}")
            progress.advance(phases)

        started = time.perf_counter()
        world = generate(persons, seed_value, as_of, on_phase=on_phase)
        progress.update(phases, description="Generated", completed=5)
        generated = time.perf_counter()
        total = sum(len(world.tables[name].rows) for name in TABLE_ORDER)
        rows_task = progress.add_task("Loading", total=total)

        def on_rows(table: str, count: int) -> None:
            progress.update(rows_task, description=f"Loading {table}", advance=count)

        rows = load(settings, world, on_rows)
        progress.update(rows_task, description="Loaded")
    return SeedReport(rows, generated - started, time.perf_counter() - generated)
