"""`registers`: how current each register is (public: it says nothing about anyone)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from helsegraf.registers import TITLES
from helsegraf.schema.base import Info
from helsegraf.sync.freshness import freshness


@strawberry.type(description="A register and how current helsegraf's copy of it is.")
class RegisterFreshness:
    """One register's sync position."""

    name: str = strawberry.field(description="The register: preg, flr, hpr, resh, ar, bed or kodeverk.")
    title: str = strawberry.field(description="What the register is.")
    cursor: str | None = strawberry.field(
        description="Where the sync stands in the source's change feed (feed:position, per feed); "
        "null when the register is not synced from a source (a generated nation)."
    )
    last_synced_at: datetime | None = strawberry.field(
        description="The last moment the sync saw it had applied everything the source had."
    )
    lag: float | None = strawberry.field(
        description="Seconds since lastSyncedAt: how stale an answer may be. It grows while the source "
        "cannot be reached; the graph keeps answering from what it has."
    )
    lag_events: int | None = strawberry.field(description="Changes the source had that were not yet applied.")
    skipped: int = strawberry.field(description="Changes the sync skipped, each with a recorded reason.")


@strawberry.type
class FreshnessQuery:
    """The `registers` root field."""

    @strawberry.field(description="Every register with how current it is (public).")
    async def registers(self, info: Info) -> list[RegisterFreshness]:
        """Return each register's sync position and lag."""
        return [
            RegisterFreshness(
                name=f.name, title=TITLES[f.name], cursor=f.cursor, last_synced_at=f.last_synced_at,
                lag=f.lag_seconds, lag_events=f.lag_events, skipped=f.skipped,
            )  # fmt: skip
            for f in await freshness(info.context.db)
        ]
