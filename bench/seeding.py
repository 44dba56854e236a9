"""Seeding throughput on PostgreSQL: generate and bulk-load a nation, reporting rows per second."""

from __future__ import annotations

from typing import Any

from bench.common import database_name, recreate_database, table, write_results
from helsegraf import migrate
from helsegraf.config import Settings
from helsegraf.seeding import seed


def run(persons: int, seed_value: int = 1) -> dict[str, Any]:
    """Seed a fresh database and report the timings."""
    url = recreate_database(database_name(f"seed_{persons}"))
    settings = Settings(database_url=url)
    migrate.upgrade(settings)
    report = seed(settings, persons=persons, seed_value=seed_value, reset=False)
    total = report.generate_seconds + report.load_seconds
    results = {
        "persons": persons,
        "rows": report.total_rows,
        "generate_s": round(report.generate_seconds, 2),
        "load_s": round(report.load_seconds, 2),
        "total_s": round(total, 2),
        "rows_per_s": round(report.total_rows / total),
        "tables": report.rows,
    }
    row = (f"{persons:,}", f"{report.total_rows:,}", f"{report.generate_seconds:.1f}", f"{report.load_seconds:.1f}",
           f"{total:.1f}", f"{results['rows_per_s']:,}")  # fmt: skip
    print(table([row], ("persons", "rows", "generate s", "load s", "total s", "rows/s")))
    print(f"results: {write_results(f'seed-{persons}', results)}")
    return results
