"""Feeds named by change times rather than sequence numbers (HPR, RESH, FLR): a window since a moment.

HPR's `HentRegisterEndringer(fra, til)`, RESH's `GetModifiedReshIds(date)` and FLR's contract list
(`QueryGPContracts`, each contract with its `UpdatedOn`) name what changed since a moment. Their
position is a time, in whole seconds since 1970: position P means every change stamped before
second P has been applied, and a record changed at moment t has the position `floor(t) + 1`.
`head` reads the whole window since the stored position once (the records, each with its change
time); `page` hands it out in position order, cut only between seconds, so every record stamped in
one second is applied in the same batch as the others of that second.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx

from helsegraf.sync.engine import Adapter, Entry

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def position_of(moment: datetime) -> int:
    """Return a change's position: the second after the one it was stamped in."""
    return int((moment - EPOCH).total_seconds()) + 1


def moment_of(position: int) -> datetime:
    """Return the moment a position begins at (the `since` of the window after it)."""
    return EPOCH + timedelta(seconds=max(position, 0))


class WindowAdapter(Adapter):
    """An adapter whose feed is a window of changes since a moment."""

    page_size = 500

    _window: tuple[int, list[Entry]] | None = None
    last_position: int | None = None  # the last position of the window's final page, once handed out

    def contiguous(self, feed: str, after: int) -> bool:
        """Positions are seconds: holes between them are quiet seconds, not lost changes."""
        del feed, after
        return False

    @abstractmethod
    async def changed(self, client: httpx.AsyncClient, feed: str, since: datetime, after: int) -> list[Entry]:
        """Return an entry per record changed at or after `since` (positions from `position_of`)."""

    async def head(self, client: httpx.AsyncClient, feed: str, after: int) -> int:
        """Read the window since the position; return the position after its newest change."""
        entries = sorted(await self.changed(client, feed, moment_of(after), after),
                         key=lambda e: (e.position, e.key))  # fmt: skip
        self._window = (after, entries)
        self.last_position = None
        return max((e.position for e in entries), default=after)

    async def page(self, client: httpx.AsyncClient, feed: str, after: int) -> list[Entry]:
        """Return the next changes after the position, cut between seconds."""
        if self._window is None or after < self._window[0]:
            await self.head(client, feed, after)
        assert self._window is not None  # noqa: S101 - set by head
        entries = [e for e in self._window[1] if e.position > after]
        if len(entries) > self.page_size:
            boundary = entries[self.page_size - 1].position
            entries = [e for e in entries if e.position <= boundary]
        elif entries:
            self.last_position = entries[-1].position
        return entries
