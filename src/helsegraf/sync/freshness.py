"""How current each register is, read from its sync cursors (for the graph, /metrics and /readyz).

The sync engine writes `<register>_sync_cursor`; everything that reports freshness reads it here,
so the graph's `registers` field, the `helsegraf_sync_*` metrics and /readyz say the same thing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from helsegraf.models import METADATA
from helsegraf.registers import REGISTERS


@dataclass(frozen=True)
class Freshness:
    """One register's position: its cursor, when it was last seen current, and how far behind it may be."""

    name: str
    cursor: str | None  # "feed:position" per feed, comma-separated; None when the register is not synced
    last_synced_at: datetime | None
    lag_seconds: float | None
    lag_events: int | None
    skipped: int

    @property
    def synced(self) -> bool:
        """Tell whether a sync has ever run for the register."""
        return self.cursor is not None


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def summarize(name: str, rows: Sequence[Any], now: datetime | None = None) -> Freshness:
    """Fold a register's cursor rows (one per feed) into one answer: the stalest feed decides."""
    if not rows:
        return Freshness(name, None, None, None, None, 0)
    now = now or datetime.now(UTC)
    rows = sorted(rows, key=lambda r: r.feed)
    synced = [_aware(r.last_synced_at) for r in rows]
    last = None if any(s is None for s in synced) else min(s for s in synced if s is not None)
    behind = sum(max((r.source_head or r.position) - r.position, 0) for r in rows)
    return Freshness(
        name=name,
        cursor=",".join(f"{r.feed}:{r.position}" for r in rows),
        last_synced_at=last,
        lag_seconds=max(0.0, (now - last).total_seconds()) if last is not None else None,
        lag_events=behind,
        skipped=sum(r.skipped for r in rows),
    )


def cursor_statement(register: str) -> Any:  # noqa: ANN401 - a SQLAlchemy Select
    """Return the SELECT of a register's cursor rows, or None for a register without sync tables."""
    table = METADATA[register].tables.get(f"{register}_sync_cursor")
    return select(table) if table is not None else None


async def freshness(db: Any, registers: Sequence[str] = REGISTERS) -> list[Freshness]:  # noqa: ANN401 - helsegraf.db.Database
    """Return every register's freshness (a register whose cursor cannot be read counts as not synced)."""
    answers = []
    for register in registers:
        statement = cursor_statement(register)
        rows: Sequence[Any] = ()
        if statement is not None:
            with contextlib.suppress(SQLAlchemyError, KeyError, OSError):
                rows = await db.fetch(register, statement)
        answers.append(summarize(register, rows))
    return answers
