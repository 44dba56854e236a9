"""Sample ids read from the served data, for GraphiQL's example query and the demo sign-in."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from helsegraf.config import Settings
from helsegraf.data.sample import SampleNotFoundError, sample_ids
from helsegraf.http.context import oslo_today

log = logging.getLogger("helsegraf")


class Samples:
    """`sample_ids` of the served data, read once a day on first use (never at start-up: the database may be down)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._day: date | None = None
        self._ids: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, Any] | None:
        """Return today's sample ids, or None when the data cannot be read (not seeded, database down)."""
        today = oslo_today()
        if self._day == today:
            return self._ids
        async with self._lock:
            if self._day != today:
                try:
                    self._ids = await run_in_threadpool(sample_ids, self.settings, today)
                except (SampleNotFoundError, SQLAlchemyError) as exc:
                    # Not remembered: the next request tries again, once the database answers or is seeded.
                    log.warning("cannot read sample ids: %s", exc.__class__.__name__)
                    return None
                self._day = today
        return self._ids
